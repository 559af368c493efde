package statusdigest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/messages"
	"github.com/pincluster/pincluster/persistence"
	sd "github.com/pincluster/pincluster/statusdigest"
)

// TestLongErrorsArePublished: a burst of MaxEntries failed unpins whose errors are long (a
// failing Kubo's errors carry its URL and the CID: about 200 bytes) is stored and published.
// One delta of them exceeded one Badger transaction (from errors of about 300 bytes), so every
// write of it failed and the own digest stayed as it was, its changes dropped and reconciled in
// batches as large; from about 200 bytes its message exceeded MaxMessage and was not published.
func TestLongErrorsArePublished(t *testing.T) {
	store, err := persistence.Open(persistence.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	var mu sync.Mutex
	published, bad := 0, 0
	topic := topicFunc(func(b []byte) {
		d, err := sd.Decode(b)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			bad++
			return
		}
		published += len(d.Entries)
	})
	cfg := Default()
	cfg.FlushEvery = 10 * time.Millisecond
	local := blockedPass{release: make(chan struct{})} // the start's reconcile never ends here
	t.Cleanup(func() { close(local.release) })
	system, pid := spawnWith(t, Deps{Store: store, Topic: topic, Local: local, Config: cfg})
	for _, errLen := range []int{200, sd.MaxErrorLen} {
		var changes []messages.StatusChange
		for i := range sd.MaxEntries {
			c := cidOf(t, fmt.Sprint(errLen, "/", i))
			changes = append(changes, messages.StatusChange{Cid: c, Info: api.PinInfoShort{Status: api.TrackerStatusUnpinError,
				TS: time.Now(), Error: strings.Repeat("e", errLen), AttemptCount: 3}})
		}
		system.Root.Send(pid, messages.TrackerStatusChanged{Changes: changes})
	}
	want := 2 * sd.MaxEntries
	deadline := time.Now().Add(20 * time.Second)
	for {
		n := 0
		err := store.OwnDigestEach(t.Context(), func(sd.Entry) error { n++; return nil })
		mu.Lock()
		p, b := published, bad
		mu.Unlock()
		if err == nil && n == want && p == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("own digest holds %d entries (%v), %d published, %d undecodable; want %d stored and published", n, err, p, b, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// BatchLen cuts at MaxEntries and MaxBatchBytes, and takes at least one entry.
func TestBatchLen(t *testing.T) {
	short := sd.Entry{Cid: make([]byte, 36), Status: api.TrackerStatusPinned}
	long := sd.Entry{Cid: make([]byte, 36), Status: api.TrackerStatusUnpinError, Error: strings.Repeat("e", 2*sd.MaxErrorLen)}
	many := func(e sd.Entry, n int) []sd.Entry {
		es := make([]sd.Entry, n)
		for i := range es {
			es[i] = e
		}
		return es
	}
	if n := sd.BatchLen(many(short, 2*sd.MaxEntries)); n != sd.MaxEntries {
		t.Fatalf("short entries: %d, want MaxEntries", n)
	}
	n := sd.BatchLen(many(long, sd.MaxEntries))
	if n*long.Size() > sd.MaxBatchBytes || (n+1)*long.Size() <= sd.MaxBatchBytes {
		t.Fatalf("long entries: %d of %d bytes, want the most under %d", n, long.Size(), sd.MaxBatchBytes)
	}
	if n := sd.BatchLen(nil); n != 0 {
		t.Fatalf("none: %d", n)
	}
}
