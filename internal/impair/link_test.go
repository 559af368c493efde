package impair

import (
	"math"
	"testing"
	"time"
)

func TestParseLink(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Link
		err  bool
	}{
		{"50ms+-10ms,1%", Link{50 * time.Millisecond, 10 * time.Millisecond, 0.01}, false},
		{"20ms", Link{Delay: 20 * time.Millisecond}, false},
		{"0", Link{}, false},
		{"0,0.5%", Link{Loss: 0.005}, false},
		{" 1s +- 0 , 10% ", Link{Delay: time.Second, Loss: 0.1}, false},
		{"", Link{}, true},
		{"50", Link{}, true},        // a duration needs a unit
		{"50ms,1", Link{}, true},    // loss is a percentage
		{"50ms,100%", Link{}, true}, // everything lost is no link
		{"50ms,-1%", Link{}, true},
		{"-5ms", Link{}, true},
		{"5ms+--1ms", Link{}, true},
		{"5ms,NaN%", Link{}, true},
	} {
		got, err := ParseLink(tc.in)
		if (err != nil) != tc.err || (err == nil && got != tc.want) {
			t.Errorf("ParseLink(%q) = %+v, %v; want %+v, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestLinkStringRoundTrip(t *testing.T) {
	l := Link{50 * time.Millisecond, 10 * time.Millisecond, 0.015}
	got, err := ParseLink(l.String())
	if err != nil || got != l {
		t.Fatalf("ParseLink(%q) = %+v, %v; want %+v", l.String(), got, err, l)
	}
}

func FuzzParseLink(f *testing.F) {
	for _, s := range []string{"50ms+-10ms,1%", "0", "1s,0.5%", "+-,%", "5ms+-", ",1%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLink(s)
		if err != nil {
			return
		}
		if l.Validate() != nil {
			t.Fatalf("ParseLink(%q) accepted an invalid link %+v", s, l)
		}
		again, err := ParseLink(l.String())
		if err != nil || again.Delay != l.Delay || again.Jitter != l.Jitter || math.Abs(again.Loss-l.Loss) > 1e-12 {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, l, l.String(), again, err)
		}
	})
}

// The delays are uniform in [Delay-Jitter, Delay+Jitter]: with a fixed seed, every draw is in
// range and the mean is within a small fraction of Delay.
func TestModelDelayDistribution(t *testing.T) {
	l := Link{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond}
	m := newModel(l, 1, 1)
	const n = 100_000
	var sum time.Duration
	lo, hi := time.Hour, time.Duration(0)
	for range n {
		d := m.delay()
		sum += d
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < 40*time.Millisecond || hi > 60*time.Millisecond {
		t.Fatalf("delays in [%v, %v], want within [40ms, 60ms]", lo, hi)
	}
	if mean := sum / n; mean < 49*time.Millisecond || mean > 51*time.Millisecond {
		t.Fatalf("mean delay %v, want 50ms +- 1ms", mean)
	}
	if hi-lo < 19*time.Millisecond {
		t.Fatalf("delays span only [%v, %v]: jitter is not applied", lo, hi)
	}
}

// Jitter larger than the delay never makes a negative delay.
func TestModelDelayNeverNegative(t *testing.T) {
	m := newModel(Link{Delay: time.Millisecond, Jitter: 10 * time.Millisecond}, 7, 7)
	for range 10_000 {
		if d := m.delay(); d < 0 {
			t.Fatalf("negative delay %v", d)
		}
	}
}

// Loss: the fraction of lost segments is Loss within four standard deviations, and a chunk
// with a loss waits at least one RTO more than its base delay could be.
func TestModelLossStatistics(t *testing.T) {
	l := Link{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.01}
	m := newModel(l, 42, 3)
	const chunks, size = 20_000, 4 * MSS
	segs, lost, late := 0, 0, 0
	for range chunks {
		d, k := m.chunk(size)
		segs += size / MSS
		lost += k
		if k > 0 {
			late++
			if d < l.Delay-l.Jitter+m.rto() {
				t.Fatalf("a chunk with %d lost segments waits %v, less than one RTO (%v) over the least delay", k, d, m.rto())
			}
		} else if d > l.Delay+l.Jitter {
			t.Fatalf("a chunk without loss waits %v, more than delay+jitter", d)
		}
	}
	p := float64(lost) / float64(segs)
	sd := math.Sqrt(l.Loss * (1 - l.Loss) / float64(segs))
	if math.Abs(p-l.Loss) > 4*sd {
		t.Fatalf("lost %d of %d segments (%.4f), want %.4f +- %.4f", lost, segs, p, l.Loss, 4*sd)
	}
	// P(chunk has a loss) = 1-(1-p)^4.
	want := 1 - math.Pow(1-l.Loss, 4)
	if got := float64(late) / chunks; math.Abs(got-want) > 4*math.Sqrt(want*(1-want)/chunks) {
		t.Fatalf("%.4f of chunks were late, want %.4f", got, want)
	}
}

// One seed and sequence number give one sequence of decisions; another stream differs.
func TestModelIsReproducible(t *testing.T) {
	l := Link{Delay: 50 * time.Millisecond, Jitter: 10 * time.Millisecond, Loss: 0.05}
	a, b, c := newModel(l, 9, 4), newModel(l, 9, 4), newModel(l, 9, 5)
	same := true
	for range 1000 {
		da, ka := a.chunk(3000)
		db, kb := b.chunk(3000)
		dc, _ := c.chunk(3000)
		if da != db || ka != kb {
			t.Fatal("two models with one seed and sequence number differ")
		}
		same = same && da == dc
	}
	if same {
		t.Fatal("two streams drew the same delays")
	}
}
