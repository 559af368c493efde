package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/pincluster/pincluster/api"
)

// Text renderings, following ipfs-cluster-ctl's so that scripts parsing them keep working.

const dateFormat = "2006-01-02 15:04:05"

// writePin writes a pin ls line.
func writePin(w io.Writer, p api.Pin) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s | %s | %s | ", p.Cid, p.Name, strings.ToUpper(string(orPin(p.Type))))
	if p.ReplicationFactorMin < 0 && p.ReplicationFactorMax < 0 {
		b.WriteString("Repl. Factor: -1 | Allocations: [everywhere]")
	} else {
		allocs := make([]string, len(p.Allocations))
		for i, a := range p.Allocations {
			allocs[i] = a.String()
		}
		sort.Strings(allocs)
		fmt.Fprintf(&b, "Repl. Factor: %d--%d | Allocations: [%s]", p.ReplicationFactorMin, p.ReplicationFactorMax, strings.Join(allocs, " "))
	}
	switch {
	case p.MaxDepth == 0:
		b.WriteString(" | Direct")
	case p.MaxDepth < 0:
		b.WriteString(" | Recursive")
	default:
		fmt.Fprintf(&b, " | Recursive-%d", p.MaxDepth)
	}
	if len(p.Metadata) == 0 {
		b.WriteString(" | Metadata: no")
	} else {
		b.WriteString(" | Metadata: yes")
	}
	exp := "∞"
	if !p.ExpireAt.IsZero() {
		exp = p.ExpireAt.Local().Format(dateFormat)
	}
	added := "unknown"
	if !p.Timestamp.IsZero() {
		added = p.Timestamp.Local().Format(dateFormat)
	}
	fmt.Fprintf(&b, " | Exp: %s | Added: %s\n", exp, added)
	io.WriteString(w, b.String())
}

func orPin(t api.PinType) api.PinType {
	if t == "" {
		return api.PinTypeData
	}
	return t
}

// writeStatus writes a status block: "<cid> | <name>:" then one line per peer.
func writeStatus(w io.Writer, g api.GlobalPinInfo) {
	w.Write(api.AppendStatusText(nil, g))
}

// writeID writes a peer identity.
func writeID(w io.Writer, id api.ID) {
	if id.Error != "" {
		fmt.Fprintf(w, "%s | ERROR: %s\n", id.ID, oneLine(id.Error))
		return
	}
	others := len(id.ClusterPeers) - 1
	if others < 0 {
		others = 0
	}
	fmt.Fprintf(w, "%s | %s | Sees %d other peers\n", id.ID, id.Peername, others)
	addrs := append([]string(nil), id.Addresses...)
	sort.Strings(addrs)
	fmt.Fprintln(w, "  > Addresses:")
	for _, a := range addrs {
		fmt.Fprintf(w, "    - %s\n", a)
	}
	if id.IPFS.Error != "" {
		fmt.Fprintf(w, "  > IPFS ERROR: %s\n", oneLine(id.IPFS.Error))
		return
	}
	fmt.Fprintf(w, "  > IPFS: %s\n", id.IPFS.ID)
	ipfsAddrs := append([]string(nil), id.IPFS.Addresses...)
	sort.Strings(ipfsAddrs)
	for _, a := range ipfsAddrs {
		fmt.Fprintf(w, "    - %s\n", a)
	}
}

// writeMetric writes one metric line.
func writeMetric(w io.Writer, m api.Metric, now time.Time) {
	v := m.Value
	if m.Name == "freespace" && m.Weight > 0 {
		v = humanize.IBytes(uint64(m.Weight))
	}
	exp := "never"
	if m.Expire > 0 {
		exp = humanize.RelTime(time.Unix(0, m.Expire), now, "ago", "from now")
	}
	fmt.Fprintf(w, "%s | %s: %s | Expires: %s\n", m.Peer, m.Name, v, exp)
}

// writeAlert writes one alert line.
func writeAlert(w io.Writer, a api.Alert) {
	fmt.Fprintf(w, "%s: %s. Expired at: %s. Triggered at: %s\n", a.Peer, a.Name,
		time.Unix(0, a.Expire).Local().Format(dateFormat), time.Unix(0, a.TriggeredAt).Local().Format(dateFormat))
}

// writeGC writes the outcome of a repo gc per peer.
func writeGC(w io.Writer, gc api.GlobalRepoGC) {
	ids := make([]string, 0, len(gc.PeerMap))
	for id := range gc.PeerMap {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		r := gc.PeerMap[id]
		name := id
		if r.Peername != "" {
			name = r.Peername
		}
		if r.Error != "" {
			fmt.Fprintf(w, "%-15s | ERROR: %s\n", name, oneLine(r.Error))
			continue
		}
		fmt.Fprintf(w, "%-15s | %d blocks removed\n", name, len(r.Keys))
		for _, k := range r.Keys {
			fmt.Fprintf(w, "    - %s\n", k)
		}
	}
}

// writeGraph writes the connectivity graph in Graphviz dot format.
func writeGraph(w io.Writer, g api.ConnectGraph) {
	name := func(id string) string {
		if n := g.IDtoPeername[id]; n != "" {
			return n
		}
		return id
	}
	fmt.Fprintln(w, "digraph cluster {")
	from := make([]string, 0, len(g.ClusterLinks))
	for id := range g.ClusterLinks {
		from = append(from, id)
	}
	sort.Strings(from)
	for _, id := range from {
		label := name(id)
		if id == g.ClusterID.String() {
			label += " (this peer)"
		}
		fmt.Fprintf(w, "  %q [label=%q]\n", id, label)
	}
	for _, id := range from {
		to := make([]string, len(g.ClusterLinks[id]))
		for i, p := range g.ClusterLinks[id] {
			to[i] = p.String()
		}
		sort.Strings(to)
		for _, t := range to {
			fmt.Fprintf(w, "  %q -> %q\n", id, t)
		}
	}
	ipfs := make([]string, 0, len(g.ClustertoIPFS))
	for id := range g.ClustertoIPFS {
		ipfs = append(ipfs, id)
	}
	sort.Strings(ipfs)
	for _, id := range ipfs {
		fmt.Fprintf(w, "  %q -> %q [style=dashed label=\"ipfs\"]\n", id, g.ClustertoIPFS[id])
	}
	fmt.Fprintln(w, "}")
}
