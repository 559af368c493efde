package cli

import (
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
	return &progress{bar: bar, perFile: map[string]uint64{}}
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
