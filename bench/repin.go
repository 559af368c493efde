package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// repinOptions size the self-healing figure.
type repinOptions struct {
	peers int           // peers in the harness (5)
	pins  int           // random (never fetchable) pins, replication repl
	files int           // small files added through POST /add, replication repl (fetchable)
	repl  int           // replication factor (min = max)
	wait  time.Duration // bound on each wait
}

// repinResults are the self-healing figures of two kills in one harness.
type repinResults struct {
	pins, files int
	files1      healResult    // first kill: the cluster holds only the added files
	pins2       healResult    // second kill: the cluster also holds the random pins
	filesPinned time.Duration // setup: from the first add until every file was pinned on repl peers
}

// healResult is what happened after one peer was killed.
type healResult struct {
	onVictim       int           // pins allocated to the killed peer
	filesOnVictim  int           // added files among them
	reallocated    time.Duration // from the kill until no pin in peer 1's pinset lists the victim
	pinned         time.Duration // from the kill until every file that was on the victim is pinned on repl live peers
	reallocDone    bool
	pinnedDone     bool
	leftOnVictim   int // pins still listing the victim at the end (when not done)
	filesNotPinned int
}

// runRepin times self-healing in a cluster of ro.peers with replication ro.repl. First the
// cluster holds only ro.files small added files: the last peer is killed and the time until
// its files are reallocated and PINNED elsewhere is measured. Then ro.pins random pins (never
// fetchable: they stay queued, so they would hold every tracker slot and keep the files from
// pinning, hence the order) are added and the next peer is killed: the time until none of
// its pins lists it in the pinset is measured.
func runRepin(ctx context.Context, o options, ro repinOptions, tmp string, progress io.Writer) (res repinResults, err error) {
	logf := progressf(progress)
	res.pins, res.files = ro.pins, ro.files
	cl := newCluster(o.bin, filepath.Join(tmp, "repin"), nil,
		jsonEdit{[]string{"cluster", "monitor_ping_interval"}, "1s"},
		jsonEdit{[]string{"cluster", "disable_repinning"}, false},
		jsonEdit{[]string{"informer", "metric_ttl"}, "3s"},
		jsonEdit{[]string{"monitor", "check_interval"}, "1s"},
	)
	defer func() {
		if serr := cl.stop(); serr != nil && err == nil {
			err = fmt.Errorf("stopping the repin cluster: %w", serr)
		}
	}()
	logf("repin: starting %d peers in %s", ro.peers, cl.dir)
	if err := cl.start(ctx, ro.peers); err != nil {
		return res, cl.withLogs(err)
	}
	for _, m := range []string{"ping", "freespace"} {
		if err := cl.waitMetric(ctx, 0, m, ro.peers, 60*time.Second); err != nil {
			return res, cl.withLogs(err)
		}
	}
	hc := cl.hc
	base := cl.peers[0].base
	query := fmt.Sprintf("replication=%d", ro.repl)

	logf("repin: adding %d files, replication %d", ro.files, ro.repl)
	start := time.Now()
	files, err := addFiles(ctx, hc, base, ro.files, query, min(o.clients, 8))
	if err != nil {
		return res, cl.withLogs(err)
	}
	if err := waitFor(ctx, ro.wait, 250*time.Millisecond, func() (bool, string) {
		left := pinnedOn(ctx, hc, base, files, "", ro.repl)
		return len(left) == 0, fmt.Sprintf("%d of %d added files not pinned on %d peers", len(left), len(files), ro.repl)
	}); err != nil {
		return res, cl.withLogs(err)
	}
	res.filesPinned = time.Since(start)
	if res.files1, err = killAndWatch(ctx, cl, len(files), files, ro, logf); err != nil {
		return res, cl.withLogs(err)
	}
	if ro.pins == 0 {
		return res, nil
	}
	logf("repin: %d random pins, replication %d", ro.pins, ro.repl)
	if _, err := ingestWith(ctx, hc, base, newCIDGen(), 0, ro.pins, o.clients, progress, ingestHooks{query: query}); err != nil {
		return res, cl.withLogs(err)
	}
	if res.pins2, err = killAndWatch(ctx, cl, ro.pins+len(files), nil, ro, logf); err != nil {
		return res, cl.withLogs(err)
	}
	return res, nil
}

// killAndWatch waits until every live peer lists total pins, SIGKILLs the live peer (other
// than peer 1) that holds the most of files (or of all pins when files is empty) and polls
// peer 1 until no pin lists it and every one of files it held is pinned on ro.repl live peers.
func killAndWatch(ctx context.Context, cl *cluster, total int, files []string, ro repinOptions, logf func(string, ...any)) (res healResult, err error) {
	hc, base := cl.hc, cl.peers[0].base
	for i, d := range cl.peers {
		if d == nil {
			continue
		}
		if err := waitFor(ctx, ro.wait, 250*time.Millisecond, func() (bool, string) {
			lr, err := listAll(ctx, hc, d.base)
			return err == nil && lr.pins >= total, fmt.Sprintf("peer %d lists %d of %d pins (%v)", i+1, lr.pins, total, err)
		}); err != nil {
			return res, err
		}
	}
	vi, best := -1, -1
	var onVictim map[string]bool
	for i := 1; i < len(cl.peers); i++ {
		if cl.peers[i] == nil {
			continue
		}
		on, err := allocatedTo(ctx, hc, base, cl.ids[i])
		if err != nil {
			return res, err
		}
		n := len(on)
		if len(files) > 0 {
			n = 0
			for _, f := range files {
				if on[f] {
					n++
				}
			}
		}
		if n > best {
			vi, best, onVictim = i, n, on
		}
	}
	if vi < 0 {
		return res, fmt.Errorf("no live peer besides peer 1 to kill")
	}
	victim := cl.ids[vi]
	res.onVictim = len(onVictim)
	var pending []string
	for _, f := range files {
		if onVictim[f] {
			pending = append(pending, f)
		}
	}
	res.filesOnVictim = len(pending)
	res.pinnedDone = len(pending) == 0
	logf("repin: killing peer %d (%s), allocated %d pins (%d added files)", vi+1, victim, res.onVictim, res.filesOnVictim)

	kill := time.Now()
	cl.peers[vi].kill()
	cl.peers[vi] = nil
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	deadline := kill.Add(ro.wait)
	for time.Now().Before(deadline) && (!res.reallocDone || !res.pinnedDone) {
		if !res.reallocDone {
			left, err := allocatedTo(ctx, hc, base, victim)
			if err == nil {
				res.leftOnVictim = len(left)
				if len(left) == 0 {
					res.reallocDone, res.reallocated = true, time.Since(kill)
				}
			}
		}
		if !res.pinnedDone {
			pending = pinnedOn(ctx, hc, base, pending, victim, ro.repl)
			res.filesNotPinned = len(pending)
			if len(pending) == 0 {
				res.pinnedDone, res.pinned = true, time.Since(kill)
			}
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-tick.C:
		}
	}
	if !res.reallocDone || !res.pinnedDone {
		logf("repin: not healed within %s: %d pins still list the victim, %d files not pinned elsewhere", ro.wait, res.leftOnVictim, res.filesNotPinned)
	} else {
		logf("repin: reallocated after %s; files pinned elsewhere after %s", res.reallocated, res.pinned)
	}
	return res, nil
}

// addFiles adds n small distinct files (one multipart request each, clients at a time) and
// returns their CIDs.
func addFiles(ctx context.Context, hc *http.Client, base string, n int, query string, clients int) ([]string, error) {
	salt := newCIDGen().at(0)
	out := make([]string, n)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	next := make(chan int)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				c, err := addFile(ctx, hc, base, fmt.Sprintf("f%d.txt", i), fmt.Sprintf("pincluster bench file %d %s\n", i, salt), query)
				if err != nil {
					errs <- err
					return
				}
				out[i] = c
			}
		}()
	}
	var err error
feed:
	for i := range n {
		select {
		case next <- i:
		case err = <-errs:
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err == nil && len(errs) > 0 {
		err = <-errs
	}
	return out, err
}

func addFile(ctx context.Context, hc *http.Client, base, name, content, query string) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return "", err
	}
	_, _ = io.WriteString(fw, content)
	if err := mw.Close(); err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/add?"+query, &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST /add: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /add: %s: %s", resp.Status, bytes.TrimSpace(raw))
	}
	if e := resp.Trailer.Get("X-Stream-Error"); e != "" {
		return "", fmt.Errorf("POST /add: stream error: %s", e)
	}
	var last string
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		var o struct {
			Cid string `json:"cid"`
		}
		if json.Unmarshal(sc.Bytes(), &o) == nil && o.Cid != "" {
			last = o.Cid
		}
	}
	if last == "" {
		return "", fmt.Errorf("POST /add: no CID in the answer: %s", bytes.TrimSpace(raw))
	}
	return last, nil
}

// allocatedTo returns the CIDs whose allocations in base's pinset include id.
func allocatedTo(ctx context.Context, hc *http.Client, base, id string) (map[string]bool, error) {
	lines, err := getLines(ctx, hc, base+"/allocations")
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, l := range lines {
		var p struct {
			Cid         string   `json:"cid"`
			Allocations []string `json:"allocations"`
		}
		if err := json.Unmarshal(l, &p); err != nil {
			return nil, fmt.Errorf("GET %s/allocations: %w", base, err)
		}
		if slices.Contains(p.Allocations, id) {
			out[p.Cid] = true
		}
	}
	return out, nil
}

// pinnedOn returns the CIDs that are not yet pinned on repl peers other than dead (GET
// /pins/{cid} on base: at least repl allocations, none of them dead, each reporting pinned).
func pinnedOn(ctx context.Context, hc *http.Client, base string, cids []string, dead string, repl int) []string {
	var left []string
	for _, c := range cids {
		var g struct {
			Allocations []string `json:"allocations"`
			PeerMap     map[string]struct {
				Status string `json:"status"`
			} `json:"peer_map"`
		}
		if err := getJSON(ctx, hc, base+"/pins/"+c, &g); err != nil {
			left = append(left, c)
			continue
		}
		ok := len(g.Allocations) >= repl && !slices.Contains(g.Allocations, dead)
		for _, a := range g.Allocations {
			if g.PeerMap[a].Status != "pinned" {
				ok = false
			}
		}
		if !ok {
			left = append(left, c)
		}
	}
	return left
}
