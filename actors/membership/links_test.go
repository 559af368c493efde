package membership

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
)

// linkOf is the rule of relink for self among members.
func linkOf(self, other peer.ID, members []peer.ID, low int) bool {
	var others []peer.ID
	for _, m := range members {
		if m != self {
			others = append(others, m)
		}
	}
	next, prev := ringNeighbours(self, others)
	return pairScore(self, other) < linkShare(low, len(others)) || other == next || other == prev
}

// TestLinksAreMutualAndConnected: both ends of every pair agree on whether it is a link, the
// links make one connected graph whatever the random part gives, a peer has about low+2 of
// them, and a cluster of at most low+1 members is a full mesh.
func TestLinksAreMutualAndConnected(t *testing.T) {
	for _, tc := range []struct{ n, low int }{{8, 2}, {8, 1}, {60, 5}, {200, 10}, {12, 11}, {12, 100}} {
		ids := make([]peer.ID, tc.n)
		for i := range ids {
			ids[i] = newID(t)
		}
		degree := make([]int, tc.n)
		adj := make([][]int, tc.n)
		for i := range ids {
			for j := range ids {
				if i == j {
					continue
				}
				l := linkOf(ids[i], ids[j], ids, tc.low)
				if l != linkOf(ids[j], ids[i], ids, tc.low) {
					t.Fatalf("n=%d low=%d: peers %d and %d disagree on their link", tc.n, tc.low, i, j)
				}
				if l {
					degree[i]++
					adj[i] = append(adj[i], j)
				}
			}
		}
		seen := map[int]bool{0: true}
		for todo := []int{0}; len(todo) > 0; todo = todo[1:] {
			for _, j := range adj[todo[0]] {
				if !seen[j] {
					seen[j] = true
					todo = append(todo, j)
				}
			}
		}
		if len(seen) != tc.n {
			t.Fatalf("n=%d low=%d: the links reach %d of %d peers", tc.n, tc.low, len(seen), tc.n)
		}
		total := 0
		for _, d := range degree {
			total += d
		}
		mean := float64(total) / float64(tc.n)
		if tc.n-1 <= tc.low {
			if total != tc.n*(tc.n-1) {
				t.Fatalf("n=%d low=%d: not a full mesh (%d links of %d)", tc.n, tc.low, total/2, tc.n*(tc.n-1)/2)
			}
			continue
		}
		// Past the ring's n links, each of the other pairs is a link by an independent draw of
		// chance low/(n-1): their count is binomial. A fixed band around low+2 failed one run in
		// tens at n=8 (a mean degree of 4.0 at low=1 is seven such links of twenty, p about 2%);
		// six standard deviations (and one link of slack) fail about once in a billion runs.
		p := linkShare(tc.low, tc.n-1)
		pairs := float64(tc.n*(tc.n-1)/2 - tc.n)
		extra := float64(total/2 - tc.n)
		want, sd := pairs*p, math.Sqrt(pairs*p*(1-p))
		if math.Abs(extra-want) > 6*sd+1 {
			t.Fatalf("n=%d low=%d: %.0f links past the ring, want %.1f +- %.1f (mean degree %.1f)", tc.n, tc.low, extra, want, 6*sd+1, mean)
		}
		t.Logf("n=%d low=%d: mean degree %.1f", tc.n, tc.low, mean)
	}
}

// protectNet is fakeNet recording the protected members.
type protectNet struct {
	*fakeNet
	pmu       sync.Mutex
	protected map[peer.ID]bool
}

func (n *protectNet) Protect(id peer.ID, keep bool) {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	n.protected[id] = keep
}

func (n *protectNet) isProtected(id peer.ID) bool {
	n.pmu.Lock()
	defer n.pmu.Unlock()
	return n.protected[id]
}

func (n *protectNet) connectedTo(ids []peer.ID) (links, others int) {
	for _, id := range ids {
		if n.IsConnected(id) {
			if n.isProtected(id) {
				links++
			} else {
				others++
			}
		}
	}
	return links, others
}

// newMembers makes n member IDs with an address each.
func newMembers(t *testing.T, n int) ([]peer.ID, []peer.AddrInfo) {
	ids := make([]peer.ID, n)
	infos := make([]peer.AddrInfo, n)
	for i := range ids {
		ids[i] = newID(t)
		infos[i] = peer.AddrInfo{ID: ids[i], Addrs: []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/4001")}}
	}
	return ids, infos
}

// spawnFastLiveness starts an actor with low_water low whose members die after 100 ms of
// silence and are redialled every 20 ms at most, bootstrapped to infos.
func spawnFastLiveness(t *testing.T, self peer.ID, net Network, low int, infos []peer.AddrInfo) *Membership {
	m, err := Spawn(actor.NewActorSystem().Root, self, net, Config{TickInterval: 5 * time.Millisecond, LowWater: low,
		LiveFor: 100 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	m.Bootstrap(infos)
	return m
}

// TestKeepsLinksAndStandsInForDeadOnes: with low_water 4 among 40 members the actor connects
// to its links only, protects exactly those, and, when its links are down, dials other members
// until low_water are connected.
func TestKeepsLinksAndStandsInForDeadOnes(t *testing.T) {
	const members, low = 40, 4
	self := newID(t)
	ids, infos := newMembers(t, members)
	net := &protectNet{fakeNet: newFakeNet(), protected: map[peer.ID]bool{}}
	var links []peer.ID
	for _, id := range ids {
		if linkOf(self, id, append([]peer.ID{self}, ids...), low) {
			links = append(links, id)
		} else {
			net.set(id, true) // every member that is not a link is reachable
		}
	}
	for _, id := range links {
		net.set(id, true)
	}
	system := actor.NewActorSystem()
	m, err := Spawn(system.Root, self, net, Config{TickInterval: 5 * time.Millisecond, LowWater: low}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	m.Bootstrap(infos)
	waitFor(t, func() bool { l, _ := net.connectedTo(ids); return l == len(links) }, 5*time.Second, "every link connected")
	<-time.After(100 * time.Millisecond) // twenty ticks: nothing else is dialled
	if l, o := net.connectedTo(ids); o > max(0, low-l) {
		t.Fatalf("%d links connected and %d other members: stand-ins only up to low_water (%d)", l, o, low)
	}
	for _, id := range ids {
		if want := linkOf(self, id, append([]peer.ID{self}, ids...), low); net.isProtected(id) != want {
			t.Fatalf("member %s: protected %t, link %t", id, net.isProtected(id), want)
		}
	}

	// The links go down: the actor stands in with other members until low are connected.
	for _, id := range links {
		net.set(id, false)
		m.Disconnected(id)
	}
	waitFor(t, func() bool { _, o := net.connectedTo(ids); return o >= low }, 5*time.Second, "stand-ins for the dead links")
	<-time.After(100 * time.Millisecond)
	if _, o := net.connectedTo(ids); o > low {
		t.Fatalf("%d stand-ins connected for low_water %d", o, low)
	}
	n, _ := m.ConnectedCount(context.Background())
	t.Logf("%d links (down), %d members connected in their place", len(links), n)
}

// TestDeadMembersAreLeftOutOfTheLinks: a member neither connected nor heard from for LiveFor
// is no link and not protected, and the links are chosen among the live members only, as a
// peer that never met the dead ones chooses them. A ping keeps a member live whether or not
// it carries addresses.
func TestDeadMembersAreLeftOutOfTheLinks(t *testing.T) {
	for _, addrs := range []string{"with addresses", "without addresses"} {
		t.Run(addrs, func(t *testing.T) { deadLeftOut(t, addrs == "with addresses") })
	}
}

func deadLeftOut(t *testing.T, withAddrs bool) {
	const members, dead, low = 12, 3, 2
	self := newID(t)
	net := &protectNet{fakeNet: newFakeNet(), protected: map[peer.ID]bool{}}
	ids, infos := newMembers(t, members)
	live := ids[dead:]
	for _, id := range live {
		net.set(id, true)
	}
	m := spawnFastLiveness(t, self, net, low, infos)
	start := time.Now()
	all := append([]peer.ID{self}, live...)
	waitFor(t, func() bool {
		// The live members that are not links are not connected: they stay live by their
		// pings, as the gossip reader tells them (every 10 ms here).
		for _, id := range live {
			ping := peer.AddrInfo{ID: id}
			if withAddrs {
				ping.Addrs = infos[0].Addrs
			}
			m.Learned(ping)
		}
		if time.Since(start) < 300*time.Millisecond {
			return false // past LiveFor: the dead are no longer live
		}
		for _, id := range ids[:dead] {
			if net.isProtected(id) {
				return false
			}
		}
		for _, id := range live {
			if net.isProtected(id) != linkOf(self, id, all, low) {
				return false
			}
		}
		return true
	}, 5*time.Second, "links chosen among the live members only, the dead ones unprotected")
}

// TestDeadLinkIsRedialled: a link cut off for longer than LiveFor (a partition: no ping of it
// arrives) is no longer a link, yet is still redialled, so the two sides join again when the
// partition lifts, though the peer holds low_water connections meanwhile.
func TestDeadLinkIsRedialled(t *testing.T) {
	const members, low = 12, 2
	self := newID(t)
	net := &protectNet{fakeNet: newFakeNet(), protected: map[peer.ID]bool{}}
	ids, infos := newMembers(t, members)
	for _, id := range ids {
		net.set(id, true)
	}
	cut, _ := ringNeighbours(self, ids) // always a link
	m := spawnFastLiveness(t, self, net, low, infos)
	alive := func(skip peer.ID) {
		for _, inf := range infos {
			if inf.ID != skip {
				m.Learned(inf)
			}
		}
	}
	waitFor(t, func() bool { alive(""); return net.IsConnected(cut) }, 5*time.Second, "the ring neighbour connected")
	net.set(cut, false)
	m.Disconnected(cut)
	start := time.Now()
	waitFor(t, func() bool {
		alive(cut)
		return time.Since(start) > 300*time.Millisecond && !net.isProtected(cut)
	}, 5*time.Second, "the cut-off link is no longer live nor protected")
	if n, _ := m.ConnectedCount(context.Background()); n < low {
		t.Fatalf("%d members connected: the test needs low_water (%d) connected, so no stand-in is due", n, low)
	}
	net.set(cut, true) // the partition lifts; still no ping of it has arrived
	waitFor(t, func() bool { alive(cut); return net.IsConnected(cut) }, 5*time.Second, "the cut-off member redialled")
}
