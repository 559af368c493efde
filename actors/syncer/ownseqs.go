package syncer

import "github.com/libp2p/go-libp2p/core/peer"

// ownSeqs tells the pinset how far a trusted member holds this peer's own ops (its version
// vector's entry for self), so that a peer whose state was restored or cleaned numbers its
// new ops after those (actors/pinset ownseq.go).
type ownSeqs struct {
	self peer.ID
	tell func(seq uint64)
}

// WithOwnSeqs tells tell each entry for self, above those told before, of the version vectors
// trusted members report (pull answers and announcements).
func WithOwnSeqs(self peer.ID, tell func(seq uint64)) Option {
	return func(s *Syncer) { s.ownSeqs = ownSeqs{self: self, tell: tell} }
}

// tellOwnSeq passes on from's entry for this peer when it is new. The first report from a
// trusted member is passed on even when it is 0: it is what lets a peer whose own ops nobody
// holds take changes again.
func (a *syncerActor) tellOwnSeq(from peer.ID, vv map[peer.ID]uint64) {
	if a.ownSeqs.tell == nil || a.trust == nil || !a.trust(from) || from == a.ownSeqs.self {
		return
	}
	n := vv[a.ownSeqs.self]
	if n < a.ownSent || (n == a.ownSent && a.ownTold) {
		return
	}
	a.ownSent, a.ownTold = n, true
	a.ownSeqs.tell(n)
}
