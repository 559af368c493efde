package rest

import (
	"errors"
	"sync"

	"github.com/pincluster/pincluster/api"
)

// addHoldBytes bounds the "added" lines held back until the add ends.
const addHoldBytes = 256 << 10

// addOutput streams the lines of POST /add, holding the "added" lines back until Adder.Add
// returns. Once a 200 has gone out, a later error can only travel in the X-Stream-Error
// trailer, which clients show as a server error after printing "added <cid>"; holding back
// keeps the status free, so a body found malformed or truncated halfway, or any other client
// error, is still answered with a 4xx and a JSON message, and nothing is shown as added. (The
// body having arrived says nothing: the multipart parser may still be behind it, and a
// truncated body arrives completely too.)
//
// Holding stops early, to keep memory bounded and progress bars live, after addHoldBytes of
// lines or at the first progress line (asked for with progress=true); an error after that goes
// in the trailer as before. Any error while the lines are still held, a server-side one
// included (a full disk: 507, a full pin queue: 503), is answered with its own status and
// nothing is shown as added: the content may be in the IPFS node, but it is not pinned by the
// cluster, and printing "added <cid>" would say otherwise. An error after the pin
// (api.AfterPinError: no replica in time) releases the lines first, since they are true.
type addOutput struct {
	st       *streamer
	progress bool

	mu        sync.Mutex
	held      []api.AddedOutput
	heldBytes int
	released  bool
	wrote     bool // a line was written or is held
}

// out is the Adder.Add callback.
func (a *addOutput) out(o api.AddedOutput) {
	if !o.Cid.Defined() && !a.progress {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.wrote = true
	if !a.released && o.Cid.Defined() && a.heldBytes < addHoldBytes {
		a.held = append(a.held, o)
		a.heldBytes += len(o.Name) + 128 // the other fields of a line take about that much
		return
	}
	a.releaseLocked()
	a.st.item(o)
}

func (a *addOutput) releaseLocked() {
	if a.released {
		return
	}
	a.released = true
	for _, o := range a.held {
		if a.st.item(o) != nil {
			break
		}
	}
	a.held = nil
}

// rootIfNothing writes the root when the add reported nothing (a CAR import, say).
func (a *addOutput) rootIfNothing(root api.Cid) {
	a.mu.Lock()
	nothing := !a.wrote
	a.mu.Unlock()
	if nothing && root.Defined() {
		a.out(api.AddedOutput{Name: root.String(), Cid: root})
	}
}

// finish ends the response: an error before anything went out is a JSON error with its status
// and the held lines are dropped; otherwise the held lines go out, then the error, if any, in
// the trailer.
func (a *addOutput) finish(err error) {
	a.mu.Lock()
	var afterPin *api.AfterPinError
	if err == nil || a.released || errors.As(err, &afterPin) {
		a.releaseLocked()
	} else {
		a.held = nil
	}
	a.mu.Unlock()
	a.st.finish(err)
}
