package statusdigest

import (
	"testing"
	"time"
)

// TestResetRetiresTheEpochItLeaves: a new epoch retires the one the replica held, whose
// digests are refused for RetiredWindow and taken after; no other epoch is refused.
func TestResetRetiresTheEpochItLeaves(t *testing.T) {
	now := time.Now()
	var m Meta
	m.Reset(1, now) // a first epoch retires nothing
	if m.Retired != 0 || m.Refuses(0, now) || m.Refuses(2, now) {
		t.Fatalf("a first epoch: %+v", m)
	}
	m.Peername = "alpha"
	m.Reset(2, now)
	if m.Epoch != 2 || m.Retired != 1 || !m.RetiredAt.Equal(now) || m.Peername != "alpha" {
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
		{2, 0, false},             // the replica's own
		{3, 0, false},             // a newer one
	} {
		if got := m.Refuses(c.epoch, now.Add(c.after)); got != c.want {
			t.Errorf("epoch %d, %s after: refused %v, want %v", c.epoch, c.after, got, c.want)
		}
	}
	m.Reset(2, now.Add(time.Minute)) // the same epoch again retires nothing new
	if m.Retired != 1 || !m.RetiredAt.Equal(now) {
		t.Fatalf("a reset to its own epoch moved the retired one: %+v", m)
	}
	m.Reset(1, now.Add(3*time.Minute)) // back to epoch 1: epoch 2 is the retired one now
	if m.Retired != 2 || !m.Refuses(2, now.Add(3*time.Minute)) || m.Refuses(1, now.Add(3*time.Minute)) {
		t.Fatalf("after returning to epoch 1: %+v", m)
	}
}
