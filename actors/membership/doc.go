// Package membership keeps a peer connected to the members of its cluster, for as long as it
// runs, and remembers them across restarts: to every member up to
// cluster.connection_manager.low_water of them, to about low_water chosen ones beyond.
//
// One actor owns the table of known members (peer ID, last known addresses, connected or not,
// redial backoff). It learns members from connections, from the addresses peers announce in
// their ping metric, from --bootstrap and from the peerstore file written at the previous run;
// it forgets them only on `peers rm`. A scheduled tick (every TickInterval) redials each
// disconnected member whose backoff has passed, in an I/O worker that reports back by message,
// and, while no member is connected at all, dials the bootstrap addresses again, so a peer cut
// off (killed, partitioned, restarted without --bootstrap, or bootstrapped to a peer that died)
// finds the cluster again as soon as any member is reachable.
//
// Decisions:
//   - A full mesh costs every peer a connection, a handshake and buffers per member (about 1 MB
//     each, docs/scale.md), and libp2p's resource manager refuses connections past a few
//     hundred, so beyond low_water+1 members each peer keeps links (links.go) to about
//     low_water+2 of them: a pair is a link when a hash of the two IDs, the same at both ends,
//     falls below low_water/members (a random graph of mean degree low_water, two or three hops
//     across), or when the two are neighbours on the ring of members sorted by ID (which keeps
//     the graph connected when low_water is small). Only live members count (connected, or
//     heard through a ping within LiveFor): a dead member some peers still know and others never
//     met would otherwise tilt their choices apart. So both ends agree, and neither closes what
//     the other redials. Links are protected in the host's connection manager, which closes
//     other connections (calls dialled on demand, stand-ins) once a peer holds more than
//     high_water, until low_water remain besides those it spares. While fewer than low_water
//     members are connected or being dialled (links down), the actor dials other members,
//     nearest pair score first, in their place. Gossip reaches every member through the links;
//     a call to a member outside them (a status fan-out, a block push, tombstone collection, a
//     pin's sources in the embedded node) dials it on demand from the addresses its ping
//     announced (kept 15 minutes after the last one).
//   - Backoff doubles from MinBackoff to MaxBackoff (default 250 ms to 5 s) and resets on
//     connection: a member that comes back is redialled within MaxBackoff, which keeps the
//     time for a restarted peer to rejoin, and for its ops to spread, within seconds; a dead
//     member costs one dial per MaxBackoff per peer. Beyond low_water+1 members that holds for
//     the dead members that would be links were they alive (about low_water+2 per peer: after a
//     partition longer than LiveFor, no ping crosses, and only these dials join the sides
//     again); other dead members are dialled only as stand-ins, and one that restarts dials
//     its own links.
//   - At most MaxDials (16) dials are in flight, those with the shortest backoff first.
//     Unbounded, a peer learning a large cluster started one handshake per member at once: at
//     100 peers forming on one 2-core machine, nearly all of them outlasted DialTimeout (then
//     5 s), were thrown away and started again (10k failed dials, formation 2-4 minutes or
//     never). A dial may take DialTimeout (10 s), so a few unreachable members cannot hold the
//     slots for long, and they sort last.
//   - A dial that reaches a member's listener and is broken off in the security handshake is
//     logged at WARN as a probable secret mismatch (once, until the two connect), not at INFO
//     as a member that is down: with another cluster secret the private network's encryption
//     turns the handshake into noise, and the peer would otherwise sit alone with nothing but
//     INFO lines to say why (dialerr.go says which failures count).
//   - The peerstore file (one multiaddress with /p2p/<id> per line) is rewritten, atomically,
//     whenever the table changes (at most once per tick), not only at shutdown, so a peer
//     restarted after kill -9 knows every member it knew before. The actor reads it when it
//     starts, so a restarted actor (supervision) starts again from it.
//
// Usage:
//
//	m, err := membership.Spawn(parent, self, host, membership.Config{PeerstorePath: p}, log)
//	m.Bootstrap(addrs)        // --bootstrap (the actor reads the peerstore file itself)
//	m.Connected(id)           // from the host's network notifications
//	m.Learned(id, addrs)      // addresses from a ping metric
//	m.Forget(id)              // peers rm
//	defer m.Stop()
package membership
