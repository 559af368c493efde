package memtrim

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSstRanges: only shared mappings of .sst files under the folder are picked.
func TestSstRanges(t *testing.T) {
	maps := `7f0000000000-7f0000200000 rw-s 00000000 fd:01 1 /data/peer/pinset/000016.sst
7f0000200000-7f0000400000 rw-s 00000000 fd:01 2 /data/peer/pinset/000001.vlog
7f0000400000-7f0000600000 r--p 00000000 fd:01 3 /data/peer/pinset/000017.sst
7f0000600000-7f0000800000 rw-s 00000000 fd:01 4 /data/peerX/pinset/000018.sst
7f0000800000-7f0000a00000 rw-s 00000000 fd:01 5 /data/peer/ipfs/blocks/000002.sst
7f0000a00000-7f0000a01000 rw-p 00000000 00:00 0
garbage
`
	got, err := sstRanges(strings.NewReader(maps), "/data/peer/")
	if err != nil {
		t.Fatal(err)
	}
	want := []mapping{{0x7f0000000000, 0x7f0000200000, "/data/peer/pinset/000016.sst"}, {0x7f0000800000, 0x7f0000a00000, "/data/peer/ipfs/blocks/000002.sst"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("ranges %x, want %x", got, want)
	}
}

// mappingRss reads the resident kB of the mapping starting at addr (/proc/self/smaps).
func mappingRss(t *testing.T, addr uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip("no /proc/self/smaps here")
	}
	defer f.Close()
	head := strconv.FormatUint(uint64(addr), 16) + "-"
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if strings.Contains(l, "-") && len(strings.Fields(l)) >= 5 && !strings.HasSuffix(strings.Fields(l)[0], ":") {
			in = strings.HasPrefix(l, head)
			continue
		}
		if in && strings.HasPrefix(l, "Rss:") {
			kb, _ := strconv.Atoi(strings.Fields(l)[1])
			return kb
		}
	}
	t.Fatalf("mapping at %x not found", addr)
	return 0
}

// TestReleaseMappedDropsResidentPages maps a table file as Badger does (shared), touches it,
// and finds its resident pages gone after releaseMapped, its data intact.
func TestReleaseMappedDropsResidentPages(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "000001.sst")
	const size = 4 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	sum := 0
	for i := 0; i < size; i += 4096 {
		sum += int(m[i])
	}
	if sum != 0 { // every page starts with byte 0 (i%256 at a page start); the loop maps them
		t.Fatalf("page starts sum to %d", sum)
	}
	addr := uintptr(0)
	{
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Skip("no /proc/self/maps here")
		}
		ranges, err := sstRanges(strings.NewReader(string(maps)), dir)
		if err != nil || len(ranges) != 1 {
			t.Fatalf("ranges %v, %v", ranges, err)
		}
		addr = uintptr(ranges[0].start)
	}
	if kb := mappingRss(t, addr); kb < size>>10/2 {
		t.Fatalf("%d kB resident before, want most of %d", kb, size>>10)
	}
	if got, err := residentMapped(dir, 0); err != nil || got < size/2 || got > size {
		t.Fatalf("residentMapped = %d (%v) before the release, want most of %d", got, err, size)
	}
	released := false
	hold := func(paths ...string) Hold {
		return func() (map[string]bool, func(), error) {
			held := map[string]bool{}
			for _, p := range paths {
				held[p] = true
			}
			return held, func() { released = true }, nil
		}
	}
	// A table the store does not hold may be unmapped meanwhile: it is left alone.
	if n, err := releaseMapped(dir, hold(filepath.Join(dir, "000002.sst"))); err != nil || n != 0 || !released {
		t.Fatalf("released %d bytes (%v) of a table not held (hold released: %v)", n, err, released)
	}
	if got, _ := residentMapped(dir, 0); got < size/2 {
		t.Fatalf("residentMapped = %d after advising nothing", got)
	}
	if got, _ := residentMapped(dir, size); got != size {
		t.Fatalf("residentMapped under the budget = %d, want the mapped size %d without a look", got, size)
	}
	n, err := releaseMapped(dir, hold(path))
	if err != nil || n != size {
		t.Fatalf("released %d bytes (%v), want %d", n, err, size)
	}
	if kb := mappingRss(t, addr); kb != 0 {
		t.Fatalf("%d kB resident after the release, want 0", kb)
	}
	if got, err := residentMapped(dir, 0); err != nil || got != 0 {
		t.Fatalf("residentMapped = %d (%v) after the release, want 0", got, err)
	}
	for i := 0; i < size; i += 4096 {
		if m[i] != byte(i) {
			t.Fatalf("byte %d is %d after the release, want %d", i, m[i], byte(i))
		}
	}
}

// TestReleasesMappedOnlyWhenQuiet: with Dir set, mapped pages are released at a quiet check,
// not during a burst.
func TestReleasesMappedOnlyWhenQuiet(t *testing.T) {
	f := &fakeHeap{}
	f.allocRate.Store(100)
	var released, checks atomic.Int64
	deps := Deps{Every: time.Millisecond, Threshold: 100, Free: func() {}, Reclaimable: f.reclaimable, Dir: "/x",
		Allocated:      func() uint64 { checks.Add(1); return f.allocated() },
		ReleaseMapped:  func(string) (uint64, error) { released.Add(1); return 1, nil },
		ResidentMapped: func(string) (uint64, error) { return 0, nil }} // under the budget
	spawnDeps(t, deps)
	waitFor(t, "checks during the burst", func() bool { return checks.Load() >= 20 })
	if n := released.Load(); n != 0 {
		t.Fatalf("released mapped pages %d times during a burst", n)
	}
	f.allocRate.Store(99)
	waitFor(t, "a release once the burst is over", func() bool { return released.Load() > 0 })
}
