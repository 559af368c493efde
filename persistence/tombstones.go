package persistence

import "sync/atomic"

// tombState tells whether the pin records may hold a tombstone, so that a collection round on
// a store that holds none skips its scan of every record. Collection runs every
// state_sync_interval on the pinset actor's writer: at 10M pins the scan was 7 s of CPU a
// round (profile of a quiet 10M-pin peer, 2026-12-03), and every pin posted meanwhile waited
// for it. A cluster that only pins (an archive, a batch ingest) never has a tombstone after
// its first round.
//
// It is memory only: at open nothing is known and the first round scans. Every tombstone
// record written (mergeRecord, also one whose commit then fails) and every load of a backup
// makes it unknown again; a scan that ran to its end and left no tombstone behind, with none
// written since it began, makes it known empty. Writers and collection hold writeMu, so no
// tombstone is written during a scan today; the counter keeps that true without relying on it.
type tombState struct {
	writes  atomic.Uint64 // tombstone records written since open
	cleanAt atomic.Uint64 // 1 + writes when a scan found none left; 0: unknown
}

// wrote notes a tombstone record about to be written.
func (t *tombState) wrote() { t.writes.Add(1) }

// forget makes the state unknown (records written behind mergeRecord's back).
func (t *tombState) forget() { t.cleanAt.Store(0) }

// none reports whether the records surely hold no tombstone.
func (t *tombState) none() bool {
	c := t.cleanAt.Load()
	return c != 0 && c == t.writes.Load()+1
}

// scanStart is the mark to give scanned after a scan that begins now.
func (t *tombState) scanStart() uint64 { return t.writes.Load() }

// scanned records the end of a whole scan begun at start that left no tombstone behind. A
// tombstone written since start keeps the state unknown (none compares with writes).
func (t *tombState) scanned(start uint64) { t.cleanAt.Store(start + 1) }
