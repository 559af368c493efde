package rpcwire

import (
	"errors"
	"strings"
	"testing"

	libp2ppeer "github.com/libp2p/go-libp2p/core/peer"

	"github.com/pincluster/pincluster/api"
)

// TestRPCPolicyTable: every registered remote call is in the table once, a trusted caller may
// make any of them, an untrusted caller only reads and replies, and an undeclared type is
// refused for everyone.
func TestRPCPolicyTable(t *testing.T) {
	trustedID, untrustedID := libp2ppeer.ID("trusted"), libp2ppeer.ID("untrusted")
	authorize := Authorize(func(id libp2ppeer.ID) bool { return id == trustedID })
	wantUntrusted := map[string]bool{ // true: allowed from an untrusted peer
		"pincluster.IDRequest":                true,
		"pincluster.StatusRequest":            true,
		"pincluster.SyncRequest":              true,
		"pincluster.RecoverRequest":           false,
		"pincluster.RecoverAllRequest":        false,
		"pincluster.GCRequest":                false,
		"pincluster.LeaveRequest":             false,
		"pincluster.IDResponse":               true,
		"pincluster.StatusResponse":           true,
		"pincluster.SyncResponse":             true,
		"pincluster.GCResponse":               true,
		"pincluster.LeaveResponse":            true,
		"pincluster.TokenSyncRequest":         true,
		"pincluster.TokenSyncResponse":        true,
		"pincluster.StatusDigestPullRequest":  true,
		"pincluster.StatusDigestPullResponse": true,
		"pincluster.AppliedRequest":           true,
		"pincluster.AppliedResponse":          true,
	}
	if len(rpcPolicy) != len(wantUntrusted) || len(rpcAccessByType) != len(rpcPolicy) {
		t.Fatalf("the policy has %d entries (%d distinct), the test knows %d: declare the new call's access in both",
			len(rpcPolicy), len(rpcAccessByType), len(wantUntrusted))
	}
	for name, allowed := range wantUntrusted {
		isReply := strings.HasSuffix(name, "Response")
		if err := authorize(trustedID, name, isReply); err != nil {
			t.Errorf("%s from a trusted peer: %v", name, err)
		}
		if isReply {
			for _, id := range []libp2ppeer.ID{trustedID, untrustedID} {
				if err := authorize(id, name, false); !errors.Is(err, api.ErrForbidden) {
					t.Errorf("%s from %s answering no request: err = %v, want forbidden", name, id, err)
				}
			}
		}
		err := authorize(untrustedID, name, isReply)
		if allowed && err != nil {
			t.Errorf("%s from an untrusted peer: %v, want allowed", name, err)
		}
		if !allowed && !errors.Is(err, api.ErrForbidden) {
			t.Errorf("%s from an untrusted peer: err = %v, want forbidden", name, err)
		}
	}
	for _, id := range []libp2ppeer.ID{trustedID, untrustedID} {
		if err := authorize(id, "pincluster.Undeclared", true); !errors.Is(err, api.ErrForbidden) {
			t.Errorf("undeclared type from %s: err = %v, want forbidden", id, err)
		}
	}
}

// TestFollowerPolicy: a follower refuses IPFS GC even from a trusted peer, and decides every
// other call as the table does (a trusted peer may still remove it or recover its pins).
func TestFollowerPolicy(t *testing.T) {
	trustedID := libp2ppeer.ID("trusted")
	authorize := ForFollower(Authorize(func(id libp2ppeer.ID) bool { return id == trustedID }))
	if err := authorize(trustedID, "pincluster.GCRequest", false); !errors.Is(err, api.ErrForbidden) || !strings.Contains(err.Error(), "follower") {
		t.Fatalf("GC from a trusted peer on a follower: err = %v, want forbidden (follower)", err)
	}
	for _, name := range []string{"pincluster.LeaveRequest", "pincluster.RecoverRequest", "pincluster.IDRequest", "pincluster.SyncRequest"} {
		if err := authorize(trustedID, name, false); err != nil {
			t.Errorf("%s from a trusted peer on a follower: %v", name, err)
		}
	}
	if err := authorize("untrusted", "pincluster.LeaveRequest", false); !errors.Is(err, api.ErrForbidden) {
		t.Errorf("leave from an untrusted peer on a follower: err = %v, want forbidden", err)
	}
}
