package cli

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/pincluster/pincluster/api"
)

// progress is the add progress bar on a terminal. A nil *progress is a no-op, so callers need
// not check whether a bar is shown.
type progress struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	perFile map[string]uint64 // bytes processed per file, from the daemon's progress lines
	sum     uint64
}

// newProgress sizes the bar from the files that will be sent.
func newProgress(w io.Writer, paths []string, recursive, hidden bool) *progress {
	var total int64
	for _, p := range paths {
		root := filepath.Clean(p)
		_ = filepath.WalkDir(root, func(fp string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			if fp != root && !hidden && strings.HasPrefix(d.Name(), ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() && fp != root && !recursive {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() {
				if st, err := os.Stat(fp); err == nil {
					total += st.Size()
				}
			}
			return nil
		})
	}
	bar := progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("adding"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetWidth(30),
	)
	return &progress{w: w, bar: bar, perFile: map[string]uint64{}}
}

func (p *progress) update(o api.AddedOutput) {
	if p == nil || o.Bytes == 0 {
		return
	}
	prev := p.perFile[o.Name]
	if o.Bytes > prev {
		p.sum += o.Bytes - prev
		p.perFile[o.Name] = o.Bytes
		_ = p.bar.Set64(int64(p.sum))
	}
}

// pushed shows a cluster add's push to one allocation (a progress line naming the peer): the
// bar's description while it runs, a line of its own when the peer holds everything.
func (p *progress) pushed(o api.AddedOutput) {
	if p == nil || o.Size == 0 {
		return
	}
	to := o.Allocations[0].String()
	if o.Bytes >= o.Size {
		_ = p.bar.Clear()
		fmt.Fprintf(p.w, "pushed %s (%s) to %s\n", o.Name, humanBytes(o.Size), to)
		return
	}
	p.bar.Describe(fmt.Sprintf("pushing %d%% to %s", o.Bytes*100/o.Size, shortID(to)))
}

// humanBytes is n in KiB, MiB or GiB.
func humanBytes(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// shortID is the tail of a peer ID, enough to tell peers apart on a progress bar.
func shortID(id string) string {
	if len(id) > 8 {
		return "…" + id[len(id)-6:]
	}
	return id
}

func (p *progress) clear() {
	if p != nil {
		_ = p.bar.Clear()
	}
}

func (p *progress) finish() {
	if p != nil {
		_ = p.bar.Finish()
	}
}
