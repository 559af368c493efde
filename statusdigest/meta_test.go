package statusdigest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestResetRetiresTheEpochItLeaves: a new epoch retires the one the replica held, whose
// digests are refused for RetiredWindow and taken after; no other epoch is refused.
func TestResetRetiresTheEpochItLeaves(t *testing.T) {
	now := time.Now()
	var m Meta
	m.Reset(1, now) // a first epoch retires nothing
	if m.Retired != nil || m.Refuses(0, now) || m.Refuses(2, now) {
		t.Fatalf("a first epoch: %+v", m)
	}
	m.Peername = "alpha"
	m.Reset(2, now)
	if m.Epoch != 2 || len(m.Retired) != 1 || m.Retired[0].Epoch != 1 || !m.Retired[0].At.Equal(now) || m.Peername != "alpha" {
		t.Fatalf("after a new epoch: %+v", m)
	}
	for _, c := range []struct {
		epoch uint64
		after time.Duration
		want  bool
	}{
		{1, 0, true},
		{1, RetiredWindow - time.Second, true},
		{1, RetiredWindow, false}, // a publisher restored from a backup comes back
		{1, -time.Hour, false},    // a clock set back does not stretch the window
		{2, 0, false},             // the replica's own
		{3, 0, false},             // a newer one
	} {
		if got := m.Refuses(c.epoch, now.Add(c.after)); got != c.want {
			t.Errorf("epoch %d, %s after: refused %v, want %v", c.epoch, c.after, got, c.want)
		}
	}
	back := now.Add(3 * time.Minute)
	m.Reset(1, back) // back to epoch 1 after the window: epoch 2 is the retired one now
	if len(m.Retired) != 1 || m.Retired[0].Epoch != 2 || !m.Refuses(2, back) || m.Refuses(1, back) {
		t.Fatalf("after returning to epoch 1: %+v", m)
	}
}

// TestRetiredEpochsOfACrashLoop: a publisher that restarts without its store makes an epoch a
// restart; every epoch left within the window stays refused, so a late message of the first
// cannot retire the live one; the list keeps the latest MaxRetired.
func TestRetiredEpochsOfACrashLoop(t *testing.T) {
	now := time.Now()
	var m Meta
	for e := uint64(1); e <= 3; e++ {
		m.Reset(e, now.Add(time.Duration(e)*time.Second))
	}
	at := now.Add(10 * time.Second)
	if !m.Refuses(1, at) || !m.Refuses(2, at) || m.Refuses(3, at) {
		t.Fatalf("epochs 1 and 2 left, 3 live: %+v", m)
	}
	for e := uint64(4); e <= 9; e++ {
		m.Reset(e, now.Add(time.Duration(e)*time.Second))
	}
	if len(m.Retired) != MaxRetired || m.Retired[0].Epoch != 9-MaxRetired || !m.Refuses(8, at) || m.Refuses(1, at) {
		t.Fatalf("after epochs up to 9: %+v", m)
	}
	m.Reset(5, now.Add(20*time.Second)) // an epoch taken again leaves the list
	for _, r := range m.Retired {
		if r.Epoch == 5 {
			t.Fatalf("the live epoch is listed as retired: %+v", m)
		}
	}
	m.Reset(10, now.Add(RetiredWindow+time.Hour)) // the window passed: only the one just left
	if len(m.Retired) != 1 || m.Retired[0].Epoch != 5 {
		t.Fatalf("after the window: %+v", m)
	}
}

// TestMetaJSONWithoutRetired: a meta that never left an epoch stores no retired field, and one
// stored before the field existed reads with nothing refused.
func TestMetaJSONWithoutRetired(t *testing.T) {
	b, err := json.Marshal(Meta{Epoch: 7, Updated: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "retired") {
		t.Fatalf("an empty retired list is stored: %s", b)
	}
	var m Meta
	if err := json.Unmarshal([]byte(`{"epoch":7,"floor":0,"contiguous":3,"heard":3,"gen":1,"updated":"2026-12-05T18:00:00Z"}`), &m); err != nil {
		t.Fatal(err)
	}
	if m.Epoch != 7 || m.Retired != nil || m.Refuses(6, time.Now()) {
		t.Fatalf("an older meta: %+v", m)
	}
}
