package tracker

// pinQueue is a FIFO of items waiting for a slot. It is a compact data structure owned by the
// tracker actor (not an actor): millions of queued pins cost one pointer each here plus their
// item. Entries are invalidated lazily: an entry counts only while its ticket matches the
// item's and the item is still queued.
type pinQueue struct {
	name    string
	entries []queueEntry
	head    int
}

type queueEntry struct {
	it     *item
	ticket uint64
}

func (q *pinQueue) push(it *item, ticket uint64) {
	q.entries = append(q.entries, queueEntry{it, ticket})
}

// pop returns the oldest valid entry, or nil.
func (q *pinQueue) pop() *item {
	for q.head < len(q.entries) {
		e := q.entries[q.head]
		q.entries[q.head] = queueEntry{}
		q.head++
		if e.it.ticket == e.ticket && e.it.phase == phaseQueued && e.it.pid == nil {
			q.compact()
			return e.it
		}
	}
	q.entries, q.head = q.entries[:0], 0
	return nil
}

// compact reclaims the consumed head once it is most of the slice.
func (q *pinQueue) compact() {
	if q.head > 1024 && q.head*2 > len(q.entries) {
		n := copy(q.entries, q.entries[q.head:])
		clear(q.entries[n:])
		q.entries, q.head = q.entries[:n], 0
	}
}

// size counts entries including stale ones (an upper bound).
func (q *pinQueue) size() int { return len(q.entries) - q.head }
