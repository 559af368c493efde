package connhold

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
	lpconnmgr "github.com/libp2p/go-libp2p/p2p/net/connmgr"
)

// Two holds on one peer: lifting one leaves the peer protected by the other.
func TestHoldsDoNotLiftEachOther(t *testing.T) {
	cm, err := lpconnmgr.NewConnManager(1, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	id := peer.ID("a-peer")
	var h Holds
	first, second := h.Hold(cm, "op", id), h.Hold(cm, "op", id)
	first()
	if !cm.IsProtected(id, "") {
		t.Fatal("lifting the first hold lifted the second")
	}
	second()
	if cm.IsProtected(id, "") {
		t.Fatal("still protected after both holds were lifted")
	}
}
