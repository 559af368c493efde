package memtrim

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Mapped tables: Badger reads its tables (.sst files) through shared memory maps, so every
// page of a table it touched (written at a flush or compaction, read by a listing) stays in
// the daemon's resident set: at 2.1 GB of tables during a 10M-pin fill, VmRSS was 2.9 GB of
// which 2.2 GB was RssFile. Those pages are the kernel's page cache, clean and reclaimable,
// but an operator reads the RSS. After a burst (and during one, past memtrim's budget) the
// actor drops its mappings of those pages
// (madvise MADV_DONTNEED on every mapped .sst under the daemon's folder): the data stays in
// the page cache, and the next read of a page maps it again with a minor fault. Only .sst
// files: they are immutable once written; the value log and the memtables' logs are written
// through their maps and small.

// releaseMapped drops the resident pages of every .sst file under dir mapped into this
// process and returns the bytes of the ranges advised.
func releaseMapped(dir string) (uint64, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	ranges, err := sstRanges(f, dir)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, r := range ranges {
		// The range is a whole mapping of a file that stays mapped: MADV_DONTNEED on a shared
		// file mapping only unmaps resident pages, never the file's data.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(r[0]), uintptr(r[1]-r[0]), unix.MADV_DONTNEED); errno != 0 {
			return n, fmt.Errorf("madvise: %w", errno)
		}
		n += r[1] - r[0]
	}
	return n, nil
}

// sstRanges reads /proc/self/maps lines ("start-end perms offset dev inode path") and returns
// the address ranges of shared mappings of .sst files under dir.
func sstRanges(r io.Reader, dir string) ([][2]uint64, error) {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	var out [][2]uint64
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || !strings.HasSuffix(f[5], ".sst") || !strings.HasPrefix(f[5], prefix) || !strings.Contains(f[1], "s") {
			continue
		}
		start, end, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, err1 := strconv.ParseUint(start, 16, 64)
		b, err2 := strconv.ParseUint(end, 16, 64)
		if err1 != nil || err2 != nil || b <= a {
			continue
		}
		out = append(out, [2]uint64{a, b})
	}
	return out, sc.Err()
}

// residentFile reads RssFile (resident file-backed pages: mapped tables, the binary's text)
// from /proc/self/status.
func residentFile() (uint64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return parseRssFile(string(b))
}

// parseRssFile finds the "RssFile:  <n> kB" line of a /proc/<pid>/status text.
func parseRssFile(status string) (uint64, error) {
	for line := range strings.Lines(status) {
		rest, ok := strings.CutPrefix(line, "RssFile:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			break
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no RssFile line in /proc/self/status")
}
