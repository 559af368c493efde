package persistence

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// faultyDisk is a WriteFault that fails every write with err while err is set.
type faultyDisk struct{ err atomic.Pointer[error] }

func (d *faultyDisk) set(err error) {
	if err == nil {
		d.err.Store(nil)
		return
	}
	d.err.Store(&err)
}

func (d *faultyDisk) fault() error {
	if e := d.err.Load(); e != nil {
		return *e
	}
	return nil
}

// A write that fails (a full disk, an I/O error) is an insufficient-storage error (507) that
// keeps its cause, stores nothing, leaves reads working, and the next write after the disk
// recovers succeeds.
func TestWriteFailureStoresNothingAndRecovers(t *testing.T) {
	disk := &faultyDisk{}
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, WriteFault: disk.fault})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPeer(t, 1)
	mustApply(t, s, pinOp(t, p, 1, 10, mkCid(t, 1), "before"))
	before := dumpPins(t, s)

	for _, fault := range []struct {
		err  error
		want string
	}{
		{syscall.ENOSPC, "is full (no space left on device)"},
		{syscall.EIO, "cannot write (input/output error)"},
	} {
		disk.set(fault.err)
		changed, err := s.Apply([]crdt.Op{pinOp(t, p, 2, 20, mkCid(t, 2), "refused")})
		if !errors.Is(err, api.ErrInsufficientStorage) || !errors.Is(err, fault.err) || api.HTTPStatus(err) != http.StatusInsufficientStorage {
			t.Fatalf("%v: Apply error %v (HTTP %d), want insufficient storage (507)", fault.err, err, api.HTTPStatus(err))
		}
		if !strings.Contains(err.Error(), fault.want) || !strings.Contains(err.Error(), "nothing was stored") {
			t.Fatalf("%v: message %q", fault.err, err)
		}
		if len(changed) != 1 || changed[0].Won() {
			t.Fatalf("%v: changed %v reports a refused op as stored", fault.err, changed)
		}
		if err := s.SetPublished(p, 1); !errors.Is(err, api.ErrInsufficientStorage) {
			t.Fatalf("%v: SetPublished: %v", fault.err, err)
		}
		// Reads keep working and see nothing of the refused write.
		if got := dumpPins(t, s); got != before {
			t.Fatalf("%v: pins after a refused write:\n%s\nwant\n%s", fault.err, got, before)
		}
		if _, ok, err := s.GetPin(mkCid(t, 2)); ok || err != nil {
			t.Fatalf("%v: refused pin readable (%v, %v)", fault.err, ok, err)
		}
		if vv, err := s.VersionVector(); err != nil || vv[p] != 1 {
			t.Fatalf("%v: version vector %v (%v), want %s at 1", fault.err, vv, err, p)
		}
		if n, _ := s.CountPins(); n != 1 {
			t.Fatalf("%v: pin count %d", fault.err, n)
		}
	}

	disk.set(nil)
	if ch := mustApply(t, s, pinOp(t, p, 2, 20, mkCid(t, 2), "after")); !ch[0] {
		t.Fatal("the write after recovery did not change the pinset")
	}
	s.Close()
	s2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	vv, _ := s2.VersionVector()
	if n, _ := s2.CountPins(); vv[p] != 2 || n != 2 {
		t.Fatalf("after reopen: version vector %v, %d pins; want 2 and 2", vv, n)
	}
}

// Below the free-space reserve every write is refused up front, before Badger writes (a write
// into its memory-mapped files on a full disk would kill the process).
func TestLowFreeSpaceRefusesWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, MinFreeSpace: 1 << 62}) // more than any disk has
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPeer(t, 1)
	_, err = s.Apply([]crdt.Op{pinOp(t, p, 1, 10, mkCid(t, 1), "x")})
	if !errors.Is(err, api.ErrInsufficientStorage) || !strings.Contains(err.Error(), "keeps in reserve") {
		t.Fatalf("Apply below the reserve: %v", err)
	}
	if err := s.TouchMember(p, time.Unix(1, 0)); !errors.Is(err, api.ErrInsufficientStorage) {
		t.Fatalf("TouchMember below the reserve: %v", err)
	}
	if n, _ := s.CountPins(); n != 0 || dumpPins(t, s) != "" {
		t.Fatal("a refused write is visible")
	}

	// A backup's load is refused too, before it writes anything.
	src, _ := openTemp(t)
	mustApply(t, src, pinOp(t, p, 1, 10, mkCid(t, 1), "x"))
	bak := filepath.Join(t.TempDir(), "pinset.bak")
	if err := src.Backup(bak); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadBackup(bak); !errors.Is(err, api.ErrInsufficientStorage) {
		t.Fatalf("LoadBackup below the reserve: %v", err)
	}
	if n, _ := s.CountPins(); n != 0 || dumpPins(t, s) != "" {
		t.Fatal("a refused load is visible")
	}
}

// A store whose files are damaged fails to open with one error that says so and how to
// recover; a store in use says that instead.
func TestOpenDamagedStoreSaysHowToRecover(t *testing.T) {
	damage := map[string]func(t *testing.T, dir string){
		"manifest garbage": func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "MANIFEST"), []byte("not a manifest"), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"table missing": func(t *testing.T, dir string) {
			tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
			if len(tables) == 0 {
				t.Fatal("no table to remove")
			}
			if err := os.Remove(tables[0]); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, f := range damage {
		t.Run(name, func(t *testing.T) {
			s, dir := openTemp(t)
			p := newPeer(t, 1)
			for i := 1; i <= 100; i++ {
				mustApply(t, s, pinOp(t, p, uint64(i), crdt.HLC(i), mkCid(t, i), "x"))
			}
			s.Close()
			f(t, dir)
			_, err := Open(Options{Dir: dir})
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("open: %v, want ErrCorrupt", err)
			}
			for _, want := range []string{dir, "pincluster state cleanup", "pincluster state export", "pincluster state import"} {
				if !strings.Contains(err.Error(), want) {
					t.Fatalf("error lacks %q: %v", want, err)
				}
			}
			if strings.Contains(err.Error(), "another pincluster") {
				t.Fatalf("a damaged store blamed on another process: %v", err)
			}
		})
	}
	t.Run("in use", func(t *testing.T) {
		_, dir := openTemp(t)
		_, err := Open(Options{Dir: dir})
		if err == nil || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "another pincluster") {
			t.Fatalf("second open: %v", err)
		}
	})
}

// A free-space reading with room to spare is reused for a moment; near the reserve every
// write reads the free space again, and a write that would cross the reserve is refused.
func TestFreeSpaceReadingReusedOnlyWithRoomToSpare(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), MinFreeSpace: DefaultMinFreeSpace})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPeer(t, 1)
	var free uint64
	reads := 0
	s.freeSpace = func(string) (uint64, error) { reads++; return free, nil }
	var now atomic.Int64 // the store's clock stands still unless the test moves it
	s.sinceOpen = func() time.Duration { return time.Duration(now.Load()) }
	write := func(seq uint64) error {
		_, err := s.Apply([]crdt.Op{pinOp(t, p, seq, crdt.HLC(10+seq), mkCid(t, int(seq)), "x")})
		return err
	}

	free = DefaultMinFreeSpace + spareRoom/2 // near the reserve: read every time
	for seq := uint64(1); seq <= 3; seq++ {
		if err := write(seq); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 3 {
		t.Fatalf("near the reserve: %d readings for 3 writes, want 3", reads)
	}

	free = DefaultMinFreeSpace + 2*spareRoom // roomy: one reading serves the next writes
	reads = 0
	for seq := uint64(4); seq <= 6; seq++ {
		if err := write(seq); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 1 {
		t.Fatalf("with room to spare: %d readings for 3 writes, want 1", reads)
	}

	free = DefaultMinFreeSpace - 1 // under the reserve: reused until the reading expires
	if err := write(7); err != nil {
		t.Fatalf("write within the reuse: %v", err)
	}
	now.Add(int64(roomyFor))
	if err := write(8); !errors.Is(err, api.ErrInsufficientStorage) {
		t.Fatalf("write under the reserve: %v", err)
	}
}

// TestDiskReserveAsDocumented: a store opened without MinFreeSpace keeps DefaultMinFreeSpace in
// reserve, refuses a write below it with the message docs/deploy.md quotes (HTTP 507), and
// takes the next write once space is back, without a restart; the docs give the reserve's size
// as the constant's (QA: the reserve was undocumented).
func TestDiskReserveAsDocumented(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p := newPeer(t, 1)
	free := uint64(DefaultMinFreeSpace - 14<<20)
	s.freeSpace = func(string) (uint64, error) { return free, nil }
	_, err = s.Apply([]crdt.Op{pinOp(t, p, 1, 10, mkCid(t, 1), "x")})
	reserve := fmt.Sprintf("%d MiB", DefaultMinFreeSpace>>20)
	want := fmt.Sprintf("insufficient storage: the disk holding the pinset store (%s) has %d MiB free, under the %s it keeps in reserve (datastore.min_free_space); "+
		"nothing was stored: free space on that disk (reads keep working, writes resume by themselves)", s.dir, free>>20, reserve)
	if err == nil || !strings.HasSuffix(err.Error(), want) || api.HTTPStatus(err) != http.StatusInsufficientStorage {
		t.Fatalf("below the default reserve: %v, want %q (507)", err, want)
	}
	free = DefaultMinFreeSpace + 1<<20
	if _, err := s.Apply([]crdt.Op{pinOp(t, p, 1, 10, mkCid(t, 1), "x")}); err != nil {
		t.Fatalf("once space is back: %v", err)
	}

	b, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, found := strings.Cut(string(b), "## Disk space")
	if !found {
		t.Fatal(`docs/deploy.md has no "## Disk space" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	quoted := strings.Join(strings.Fields(section), " ")
	if !strings.Contains(quoted, `"insufficient storage: the disk holding the pinset store (...) has N MiB free, under the `+reserve+
		` it keeps in reserve (datastore.min_free_space); nothing was stored: free space on that disk (reads keep working, writes resume by themselves)"`) {
		t.Error("docs/deploy.md does not quote the store's message")
	}
	for _, m := range regexp.MustCompile(`(\d+) MiB (free|it keeps|is fixed|of free disk)`).FindAllStringSubmatch(quoted, -1) {
		if m[1]+" MiB" != reserve {
			t.Errorf("docs/deploy.md says %q; the reserve is %s", m[0], reserve)
		}
	}
}
