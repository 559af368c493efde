package tracker

import (
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
)

// maxChangesPerMessage bounds one messages.TrackerStatusChanged.
const maxChangesPerMessage = 4096

// noteChange records it's new status for the status digest actor (Tracker.NotifyChanges), sent
// in one message per handled message (sendChanges) or per maxChangesPerMessage: no message
// per pin on the ingest path. A settling item is pinned, or unpinned.
func (a *trackerActor) noteChange(it *item) {
	if a.changesTo == nil || a.changesTo.Load() == nil {
		return
	}
	info := it.short()
	if it.phase == phaseSettling {
		info = api.PinInfoShort{Status: api.TrackerStatusPinned, TS: it.ts, PriorityPin: it.priority}
		if it.op == opUnpin {
			info.Status = api.TrackerStatusUnpinned
		}
	}
	a.changed = append(a.changed, messages.StatusChange{Cid: it.cid, Info: info})
	if len(a.changed) >= maxChangesPerMessage {
		a.sendChanges()
	}
}

// queuedUnnoted counts an operation queued durably without a change told (Tracker.Unnoted).
func (a *trackerActor) queuedUnnoted() {
	if a.unnoted != nil {
		a.unnoted.Add(1)
	}
}

// sendChanges sends the recorded changes, if any.
func (a *trackerActor) sendChanges() {
	if len(a.changed) == 0 {
		return
	}
	if pid := a.changesTo.Load(); pid != nil {
		a.system.Root.Send(pid, messages.TrackerStatusChanged{Changes: a.changed})
	}
	a.changed = nil
}
