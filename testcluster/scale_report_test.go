package testcluster

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// printScaleHeader prints the scale harness's table header (make bench-scale) on stdout.
func printScaleHeader() {
	fmt.Println()
	fmt.Println("scale harness: N peers in one process, real libp2p hosts on loopback, fake IPFS backends")
	fmt.Printf("(ping %s, batches 256 ops/200 ms, %d singles, %d bulk pins from %d clients, %d pins rf 2)\n",
		scalePing, scaleSingles, scaleBulk, scaleClients, scaleReplicated)
	cm := scaleConnMgr()
	fmt.Printf("(connection_manager low_water %d, high_water %d; PINCLUSTER_SCALE_LOW_WATER and _HIGH_WATER set them;\n conns/peer is counted after the catch-up, past grace_period)\n", cm.LowWater, cm.HighWater)
	fmt.Println("| peers | formed | conns/peer (max) | conv p50 | conv p99 | idle B/s/peer | idle CPU/peer | bulk accept | bulk all peers | B/pin/peer | CPU/pin/peer | catch-up | killed | pins moved | repinned | RSS/peer | RSS |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
}

// printScaleRow prints one size's row of the table.
func printScaleRow(r scaleRow) {
	fmt.Printf("| %d | %s | %.1f (%d) | %s | %s | %.0f | %.1f%% | %.0f/s | %s | %.0f | %s | %s | %d | %d | %s | %.0f MB | %.0f MB |\n",
		r.peers, r.formed.Round(time.Millisecond), r.connsMean, r.connsMax, r.convP50.Round(time.Millisecond), r.convP99.Round(time.Millisecond),
		r.idleBytesPerPeerSec, 100*r.idleCPUPerPeer, r.bulkRate, r.bulkConverged.Round(time.Millisecond),
		r.bytesPerPinPerPeer, r.cpuPerPinPerPeer.Round(time.Microsecond), r.catchUp.Round(time.Millisecond),
		r.killed, r.moved, r.repinned.Round(time.Millisecond), r.rssPerPeerMB, r.rssTotMB)
}

// cpuTime is this process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// rss is this process's resident set (VmRSS), 0 where /proc is not there.
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
