package tracker

import (
	"time"

	"github.com/pincluster/pincluster/api"
)

// The conversation between the tracker and its queue actors (see doc.go, "The slot
// protocol"). Every message carries the epoch of the queue actor's instance it is for or from:
// the incarnation number of that instance, so that after a queue actor's restart the fresh
// instance ignores what was sent to the crashed one and the tracker ignores what the crashed
// one reported.

// queueKind names one of the three queue actors, served in this order: the express queue
// (pins whose blocks were just pushed to this peer's IPFS node: express.go), the priority
// queue, the normal queue. The express queue follows the priority queue's rules.
type queueKind uint8

const (
	queueExpress queueKind = iota
	queuePriority
	queueNormal
	numQueues
)

func (k queueKind) String() string {
	switch k {
	case queueExpress:
		return "express"
	case queuePriority:
		return "priority"
	}
	return "normal"
}

// kindOf is the queue actor of an item.
func kindOf(it *item) queueKind {
	switch {
	case it.express:
		return queueExpress
	case it.priority:
		return queuePriority
	}
	return queueNormal
}

// qitem is an item as a queue actor holds it: what its cid actor needs and the inputs of the
// retry rules. ticket names this hand-off of the item (a new one on every hand-off).
type qitem struct {
	ticket   uint64
	cid      api.Cid
	created  time.Time
	attempts int
	mode     api.PinMode
	op       opKind
}

// runRef names an item's hand-off in a report: its CID key (the tracker's table key) and ticket.
type runRef struct {
	key    string
	ticket uint64
}

// queueItems (tracker -> queue actor) appends items to the queue actor's FIFO, in order: one
// message per queue actor and tracker message handled, whatever the number of items.
type queueItems struct {
	epoch int
	items []qitem
}

// slotGrant (tracker -> queue actor) grants n slots: the queue actor starts up to n items of
// its FIFO and answers slotsTaken.
type slotGrant struct {
	epoch int
	n     int
}

// cancelRun (tracker -> queue actor) withdraws a hand-off: a queued item leaves the FIFO
// (runEnded, outDropped, at once), a running one is cancelled and drains (runEnded when its cid
// actor has terminated).
type cancelRun struct {
	epoch int
	runRef
}

// retryNow (tracker -> queue actor) ends the backoff of a retrying item (Recover, RecoverAll).
type retryNow struct {
	epoch  int
	ticket uint64
}

// queueStarted (queue actor -> tracker): an instance started, empty; the tracker hands it every
// item it held before (a restart) and grants it slots from then on.
type queueStarted struct {
	kind  queueKind
	epoch int
}

// slotsTaken (queue actor -> tracker) answers a slotGrant: the items started (each holds a slot
// until its runEnded) and the grants it had no item for (free again).
type slotsTaken struct {
	kind    queueKind
	epoch   int
	started []runRef
	unused  int
}

// attemptStarted (queue actor -> tracker): a retrying item's cid actor restarted.
type attemptStarted struct {
	kind  queueKind
	epoch int
	runRef
}

// attemptFailed (queue actor -> tracker): an attempt failed; next says what follows.
type attemptFailed struct {
	kind     queueKind
	epoch    int
	attempts int
	err      string
	next     step
	runRef
}

// runEnded (queue actor -> tracker): the item's hand-off is over and its slot (if it was
// started) is free, or, when handedOver, already taken by the next item of the express or
// priority queue actor's FIFO (next), which that actor started in it: those queues are served
// before the normal one anyway, so their slots pass from one item to the next without a grant.
type runEnded struct {
	kind       queueKind
	epoch      int
	outcome    outcome
	handedOver bool
	next       runRef
	runRef
}

// outcome is how a hand-off ended.
type outcome uint8

const (
	outLost      outcome = iota // the cid actor stopped without a result (should not happen)
	outDone                     // pinned or unpinned
	outGaveUp                   // failed past the retries (attemptFailed said so)
	outDemoted                  // failed past the priority rules: retried from the normal queue
	outCancelled                // cancelled by cancelRun and drained
	outDropped                  // cancelled by cancelRun while queued: never started
)

// retryDue is the scheduled message that ends the backoff of a failed attempt in a queue
// actor; seq matches the run's retrySeq unless it was restarted (retryNow) meanwhile.
type retryDue struct {
	ticket uint64
	seq    uint64
}

// demotionDue is the tracker's scheduled message that hands a demoted item to the normal queue
// actor once its backoff ends; seq matches the item's retrySeq unless it moved on meanwhile.
type demotionDue struct {
	key string
	seq uint64
}
