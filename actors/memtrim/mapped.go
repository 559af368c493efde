package memtrim

import (
	"bufio"
	"encoding/binary"
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
// but an operator reads the RSS. After a burst (and, burst or not, once they pass memtrim's
// budget) the actor drops its mappings of those pages (madvise MADV_DONTNEED on the pinset
// store's mapped tables, held by the store meanwhile): the data stays in the page cache, and
// the next read of a page maps it again with a minor fault. Only .sst
// files: they are immutable once written; the value log and the memtables' logs are written
// through their maps and small.

// releaseMapped drops the resident pages of the .sst files under dir mapped into this process
// that hold returns as held, and returns the bytes of the ranges advised.
//
// A table compacted away is unmapped by Badger at any moment, and the kernel may give its
// addresses to the next mapping, anonymous memory included, where MADV_DONTNEED would discard
// data. So only tables that cannot be unmapped meanwhile are advised: hold keeps them (the
// store's HoldTables: an open iterator's references) until the loop ends. Each range is also
// checked to be mapped still from its file (/proc/self/map_files), in case the maps were read
// before some held table was mapped at all.
func releaseMapped(dir string, hold Hold) (uint64, error) {
	held, release, err := hold()
	if err != nil {
		return 0, err
	}
	defer release()
	ranges, err := mappedTables(dir)
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, r := range ranges {
		if !held[r.path] {
			continue // not held: it may be unmapped during the madvise
		}
		if path, err := os.Readlink(fmt.Sprintf("/proc/self/map_files/%x-%x", r.start, r.end)); err != nil || path != r.path {
			continue
		}
		// A shared file mapping: MADV_DONTNEED only unmaps its resident pages (they stay in
		// the page cache, dirty ones too), never the file's data.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, uintptr(r.start), uintptr(r.end-r.start), unix.MADV_DONTNEED); errno != 0 {
			return n, fmt.Errorf("madvise: %w", errno)
		}
		n += r.end - r.start
	}
	return n, nil
}

// Hold keeps the store's tables mapped until release and returns their paths
// (persistence.Store.HoldTables).
type Hold func() (held map[string]bool, release func(), err error)

// mappedTables lists this process's shared mappings of .sst files under dir.
func mappedTables(dir string) ([]mapping, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return sstRanges(f, dir)
}

// mapping is one line of /proc/self/maps: [start, end) maps path.
type mapping struct {
	start, end uint64
	path       string
}

// sstRanges reads /proc/self/maps lines ("start-end perms offset dev inode path") and returns
// the shared mappings of .sst files under dir.
func sstRanges(r io.Reader, dir string) ([]mapping, error) {
	prefix := filepath.Clean(dir) + string(filepath.Separator)
	var out []mapping
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
		out = append(out, mapping{start: a, end: b, path: f[5]})
	}
	return out, sc.Err()
}

// residentMapped is the bytes of the .sst files under dir mapped into this process that are
// resident in it (present in its page tables: /proc/self/pagemap, bit 63 of each page's
// entry), the figure MappedBudget bounds. RssFile would count the binary's text and the other
// maps too, so a budget on it dropped table pages a busy daemon was reading while the tables
// themselves were small; mincore tells the page cache, which keeps the pages after a release.
//
// While the tables mapped are no larger than budget in all, that sum is returned without a
// look at the page tables.
func residentMapped(dir string, budget uint64) (uint64, error) {
	ranges, err := mappedTables(dir)
	if err != nil || len(ranges) == 0 {
		return 0, err
	}
	var mapped uint64
	for _, r := range ranges {
		mapped += r.end - r.start
	}
	if mapped <= budget {
		return mapped, nil
	}
	pm, err := os.Open("/proc/self/pagemap")
	if err != nil {
		return 0, err
	}
	defer pm.Close()
	page := uint64(os.Getpagesize())
	buf := make([]byte, 8<<10) // 1,024 pages' entries a read
	var n uint64
	for _, r := range ranges {
		for off, end := r.start/page*8, (r.end+page-1)/page*8; off < end; {
			got, err := pm.ReadAt(buf[:min(uint64(len(buf)), end-off)], int64(off))
			if got == 0 {
				if err != nil {
					return n, fmt.Errorf("pagemap: %w", err)
				}
				break
			}
			for e := buf[:got-got%8]; len(e) >= 8; e = e[8:] {
				n += (binary.NativeEndian.Uint64(e) >> 63) * page // bit 63: present
			}
			off += uint64(got)
		}
	}
	return n, nil
}
