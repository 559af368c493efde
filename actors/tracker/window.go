package tracker

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
)

const (
	// maxWriteOps bounds one WriteQueue run (the writer group-commits what waits meanwhile).
	maxWriteOps = 4096
	// maxPage bounds one QueuePage read.
	maxPage = 1024
)

// pendingAck is a facade request answered once the writes it caused are durable.
type pendingAck struct {
	to        *actor.PID
	remaining int
	err       error
	all       bool // answer RecoverAllPinsResponse (count) instead of TrackerAck
	count     int
}

// writeTag says what a queued write is for: a request to answer, an item to update.
type writeTag struct {
	ack *pendingAck
	it  *item
	gen uint64 // it.gen when written: a later change of the item makes an eviction stale
}

// writeBatch is one WriteQueue run.
type writeBatch struct {
	ops  []persistence.QueueOp
	tags []writeTag
	max  int // the durable queue's bound for new CIDs: max_pin_queue_size less the memory-only items
}

func (a *trackerActor) write(op persistence.QueueOp, tag writeTag) {
	if tag.ack != nil {
		tag.ack.remaining++
	}
	if op.Kind == persistence.QueuePut || op.Kind == persistence.QueuePutBatch {
		a.puts++
		if it := tag.it; it != nil && !it.durable {
			it.durable = true
			if it.batch == 0 { // a batch entry's items were never counted in memory
				a.memQueued--
			}
		}
	}
	if a.paging {
		a.notePuts(op)
	}
	a.pending.ops = append(a.pending.ops, op)
	a.pending.tags = append(a.pending.tags, tag)
}

// put queues the CID's operation durably (at the tail, or where it is queued already).
func (a *trackerActor) put(c api.Cid, unpin bool, mode api.PinMode, created time.Time, tag writeTag) {
	a.write(persistence.QueueOp{Kind: persistence.QueuePut, Entry: persistence.QueueEntry{Cid: c, Unpin: unpin, Mode: mode, Created: created}}, tag)
}

// putNew queues a CID the window does not hold in the durable queue, which refuses a pin when
// full; when the window's memory-only items alone fill max_pin_queue_size a pin is refused
// here. An unpin never is.
func (a *trackerActor) putNew(c api.Cid, unpin bool, mode api.PinMode, created time.Time, ack *pendingAck) {
	if a.cfg.MaxPinQueueSize > 0 && a.memQueued >= a.cfg.MaxPinQueueSize && !unpin { // unpins are never refused (persistence's queue)
		if ack != nil && ack.err == nil {
			ack.err = queueFull(a.cfg.MaxPinQueueSize) // answered with the request's other writes
		}
		return
	}
	a.queuedUnnoted()
	a.put(c, unpin, mode, created, writeTag{ack: ack})
}

// entryOf is the durable form of an item.
func entryOf(it *item) persistence.QueueEntry {
	return persistence.QueueEntry{Seq: it.seq, Cid: it.cid, Unpin: it.op == opUnpin, Mode: it.mode, Created: it.created,
		Attempts: it.attempts, Priority: it.priority, Err: it.err}
}

// flushWrites hands what waits to the writer goroutine unless a write is in flight.
func (a *trackerActor) flushWrites(ctx actor.Context) {
	if a.writing || a.closed || len(a.pending.ops) == 0 {
		return
	}
	b := &writeBatch{}
	if n := len(a.pending.ops); n > maxWriteOps {
		b.ops, b.tags = a.pending.ops[:maxWriteOps:maxWriteOps], a.pending.tags[:maxWriteOps:maxWriteOps]
		a.pending.ops, a.pending.tags = a.pending.ops[maxWriteOps:], a.pending.tags[maxWriteOps:]
	} else {
		b.ops, b.tags = a.pending.ops, a.pending.tags
		a.pending = writeBatch{}
	}
	if b.max = a.cfg.MaxPinQueueSize; b.max > 0 {
		b.max = max(1, b.max-a.memQueued) // putNew refuses when memQueued reaches the bound
	}
	a.writing, a.inflight = true, b
	if a.writeq == nil {
		// One long-lived I/O worker per incarnation: it writes and reports back by message.
		q := make(chan *writeBatch, 1)
		a.writeq = q
		done := make(chan struct{})
		a.writerDone = done
		self, system, queue := ctx.Self(), ctx.ActorSystem(), a.queue
		a.ops.Add(1)
		go func() {
			defer a.ops.Done()
			defer close(done)
			for w := range q {
				res, err := queue.WriteQueue(w.ops, w.max)
				system.Root.Send(self, queueWritten{w: w, res: res, err: err})
			}
		}()
	}
	a.writeq <- b // never blocks: one write in flight, and the worker is idle
}

// awaitWriter waits for the writer goroutine closed by closeWriter to end its write in
// flight: a restarted instance's first page read must not run before the old instance's last
// write lands, which no note of its tells (pagerace.go). One Badger write at most.
func (a *trackerActor) awaitWriter() {
	if a.writerDone != nil {
		<-a.writerDone
	}
}

// closeWriter ends the writer goroutine after its write in flight.
func (a *trackerActor) closeWriter() {
	a.closed = true
	if a.writeq != nil {
		close(a.writeq)
		a.writeq = nil
	}
}

func (a *trackerActor) onQueueWritten(ctx actor.Context, m queueWritten) {
	if m.w != a.inflight {
		return // written for an earlier incarnation
	}
	a.writing, a.inflight = false, nil
	if m.err != nil {
		a.logger.Error("tracker: writing the durable queue (the state sync re-derives lost work)", "ops", len(m.w.ops), "err", m.err)
	}
	// QueueLen counts this write before the requests it answers return.
	a.stored = a.queue.QueueLen()
	a.publishLen()
	refused := 0
	for i, op := range m.w.ops {
		if op.Kind == persistence.QueuePutBatch {
			a.putLanded()
			if m.err == nil {
				refused += len(op.Entry.Batch) - len(m.res.Entries[i].Batch)
			}
			continue
		}
		tag := m.w.tags[i]
		var err error
		switch {
		case m.err != nil:
			err = fmt.Errorf("tracker: recording the queue: %w", m.err)
		case op.Kind == persistence.QueuePut && m.res.Refused[i]:
			err = queueFull(a.cfg.MaxPinQueueSize)
			refused++
		}
		switch op.Kind {
		case persistence.QueuePut:
			a.putLanded()
			if err == nil && tag.it != nil && a.items[tag.it.cid.KeyString()] == tag.it {
				tag.it.seq = m.res.Entries[i].Seq
			}
		case persistence.QueueRequeueFailed, persistence.QueueRequeueOne:
			a.epoch++
			a.exhausted = false
			if tag.ack != nil {
				tag.ack.count += m.res.Requeued
			}
		case persistence.QueueDel, persistence.QueueFail:
			if err == nil { // no entries when the write failed
				a.noteRemoved(op, m.res.Entries[i].Seq)
			}
			if err == nil && tag.it != nil && tag.it.gen == tag.gen {
				a.evict(tag.it)
			}
		}
		if tag.ack != nil {
			a.settleAck(ctx, tag.ack, err)
		}
	}
	if refused > 0 {
		a.logger.Warn("tracker: pins not queued", "count", refused, "err", queueFull(a.cfg.MaxPinQueueSize))
	}
	if m.err != nil {
		a.lostWork()
	}
}

// lostWork notes operations whose queue write failed, unpins among them (the queue refuses
// only pins, whose records tombstone collection never drops): until a state sync re-derives
// them, what the tracker holds is not complete, and collection keeps every tombstone
// (Tracker.Held). The periodic sync does it: asking for one at each failure would run a whole
// pass per failed write while the disk is full.
func (a *trackerActor) lostWork() {
	if a.gen != nil {
		a.gen.Add(1)
	}
}

// putLanded notes a put written (or failed): the queue may hold more to page in.
func (a *trackerActor) putLanded() {
	a.puts--
	a.epoch++
	a.exhausted = false
}

// evict drops a settled or failed item from the window once its durable entry says so.
func (a *trackerActor) evict(it *item) {
	k := it.cid.KeyString()
	if a.items[k] != it || (it.phase != phaseSettling && it.phase != phaseFailed) || len(it.waiters) > 0 {
		return
	}
	delete(a.items, k)
	if !it.durable && it.batch == 0 {
		a.memQueued--
	}
	a.leftBatch(it)
}

func (a *trackerActor) settleAck(ctx actor.Context, ack *pendingAck, err error) {
	if err != nil && ack.err == nil {
		ack.err = err
	}
	ack.remaining--
	if ack.remaining > 0 || ack.to == nil {
		return
	}
	if ack.all {
		ctx.Send(ack.to, recoverAllReply(ack.count))
		return
	}
	ctx.Send(ack.to, trackerAck(ack.err))
}

func recoverAllReply(n int) messages.RecoverAllPinsResponse {
	return messages.RecoverAllPinsResponse{Count: n}
}

func trackerAck(err error) messages.TrackerAck { return messages.TrackerAck{Err: err} }

// inflightTags are the tags of the write in flight.
func (a *trackerActor) inflightTags() []writeTag {
	if a.inflight == nil {
		return nil
	}
	return a.inflight.tags
}

// newAck returns a pending answer to the sender (nil when nobody waits).
func (a *trackerActor) newAck(ctx actor.Context) *pendingAck {
	if ctx.Sender() == nil {
		return nil
	}
	return &pendingAck{to: ctx.Sender()}
}

// finish answers an ack that caused no write at once; call it after the writes were queued.
func (a *trackerActor) finish(ctx actor.Context, ack *pendingAck) {
	if ack == nil || ack.remaining > 0 {
		return
	}
	ack.remaining = 1
	a.settleAck(ctx, ack, nil)
}

// publishLen updates what Tracker.QueueLen reads (before answering requests, so a caller
// that was answered sees its items counted).
func (a *trackerActor) publishLen() { a.queueLen.Store(int64(a.stored + a.memQueued)) }

// admitInMemory puts a CID the window does not hold straight into the window, in memory
// only, when the window has room and the durable queue has no backlog (nothing queued,
// no put on its way): a pin that settles while in the window then costs no queue write at
// all, and FIFO order holds since nothing waits in Badger ahead of it. It reports false
// (the caller writes to the durable queue) otherwise. Such an item is lost if the tracker
// crashes; the state sync re-derives it (the startup sync, or the one a restarted tracker
// asks for, tracker.go), as it did for the whole queue before the queue was durable.
func (a *trackerActor) admitInMemory(ctx actor.Context, c api.Cid, op opKind, mode api.PinMode, created time.Time) bool {
	if !a.roomInMemory() {
		return false
	}
	a.admit(ctx, c, op, mode, created, 0)
	return true
}

// roomInMemory: a CID the window does not hold may go into it in memory only.
func (a *trackerActor) roomInMemory() bool {
	return a.stored == 0 && a.puts == 0 && len(a.items) < a.cfg.QueueWindow && a.full() == nil
}

// admit puts a CID the window does not hold into it and queues it: in memory only, or as an
// item of the batch entry at seq batch.
func (a *trackerActor) admit(ctx actor.Context, c api.Cid, op opKind, mode api.PinMode, created time.Time, batch uint64) {
	it := &item{cid: c, mode: mode, created: created, op: op, batch: batch}
	a.items[c.KeyString()] = it
	if batch == 0 {
		a.memQueued++
	}
	a.publishLen() // before the request is answered
	a.enqueue(ctx, it, op == opUnpin || usePriorityQueue(0, created, time.Now(), a.cfg))
}

// page reads the next entries of the durable queue into free room of the window.
func (a *trackerActor) page(ctx actor.Context) {
	// Every item counts, settling and failed ones too: when the queue writes lag behind the
	// pins, the window stops taking work instead of growing.
	room := a.cfg.QueueWindow - len(a.items)
	if a.paging || a.exhausted || a.stopping || room <= 0 || room < a.needRoom {
		return
	}
	n := min(room, maxPage)
	a.paging = true
	a.pageStarts()
	self, system, queue, after, epoch := ctx.Self(), ctx.ActorSystem(), a.queue, a.cursor, a.epoch
	a.ops.Add(1)
	go func() { // an I/O worker: reads, reports back
		defer a.ops.Done()
		es, err := queue.QueuePage(after, n)
		system.Root.Send(self, queuePaged{from: a, entries: es, epoch: epoch, err: err})
	}()
}

func (a *trackerActor) onQueuePaged(ctx actor.Context, m queuePaged) {
	if m.from != a {
		return // read for an earlier incarnation
	}
	a.paging = false
	if m.err != nil {
		a.logger.Error("tracker: reading the durable queue", "err", m.err)
		a.exhausted = true // until the next write
		return
	}
	now := time.Now()
	full := false
	a.needRoom = 0
	for _, e := range m.entries {
		if e.Batch != nil {
			// Taken whole or not at all: read again once the window has the room. An entry
			// made for a larger window (queue_window lowered since) waits for an empty one.
			if need := min(len(e.Batch), a.cfg.QueueWindow); a.cfg.QueueWindow-len(a.items) < need {
				a.needRoom, full = need, true
				break
			}
			a.cursor = max(a.cursor, e.Seq)
			a.takeBatch(ctx, e)
			continue
		}
		if len(a.items) >= a.cfg.QueueWindow {
			// Items admitted in memory while the page was read took the room it was asked
			// for: the rest of the page is read again later (the cursor stays before it).
			full = true
			break
		}
		if e.Seq > a.cursor {
			a.cursor = e.Seq
		}
		k := e.Cid.KeyString()
		if a.items[k] != nil {
			continue // held already (its operation changed, or a recover put it in the window)
		}
		if e.Seq <= a.evictedWhilePaging[k] {
			continue // settled while the page was read: the page saw its entry before the delete
		}
		if !e.Unpin && a.unpinnedSince(k) {
			continue // unpinned since, at the tail (pagerace.go)
		}
		it := &item{seq: e.Seq, durable: true, cid: e.Cid, mode: e.Mode, created: e.Created, op: opPin, attempts: e.Attempts, err: e.Err}
		if e.Unpin {
			it.op = opUnpin
		}
		a.items[k] = it
		a.enqueue(ctx, it, it.op == opUnpin && it.attempts == 0 || usePriorityQueue(it.attempts, it.created, now, a.cfg))
	}
	// An empty page means the queue is read to its end, unless a write landed meanwhile. A
	// short one does not: a page stops before a batch entry that would take it over the room
	// asked for (QueuePage), and taking that for the end left the rest of the queue unread
	// until some later write. The end costs one more read of nothing.
	if !full && len(m.entries) == 0 && a.epoch == m.epoch {
		a.exhausted = true
	}
}
