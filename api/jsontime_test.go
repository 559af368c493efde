package api

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// checkTime: the appender writes what MarshalJSON writes, and fails where it fails; and what
// MarshalText writes, or nothing where it fails.
func checkTime(t *testing.T, a *TimeAppender, tm time.Time) {
	t.Helper()
	want, werr := tm.MarshalJSON()
	got, err := a.AppendJSON([]byte("x"), tm)
	if (werr != nil) != (err != nil) {
		t.Fatalf("%d s %d ns: error %v, MarshalJSON's %v", tm.Unix(), tm.Nanosecond(), err, werr)
	}
	if werr == nil && string(got) != "x"+string(want) {
		t.Fatalf("%d s %d ns: %s, MarshalJSON %s", tm.Unix(), tm.Nanosecond(), got, want)
	}
	wantText, _ := tm.MarshalText() // nil where it fails: AppendText appends nothing
	if got := a.AppendText([]byte("x"), tm); string(got) != "x"+string(wantText) {
		t.Fatalf("%d s %d ns: text %s, MarshalText %s", tm.Unix(), tm.Nanosecond(), got, wantText)
	}
}

func TestTimeAppender(t *testing.T) {
	var a TimeAppender
	for _, tm := range []time.Time{
		{}, // year 1
		time.Unix(0, 0).UTC(),
		time.Unix(-1, 999_999_999).UTC(), // the day before the epoch
		time.Unix(-86400, 0).UTC(),
		time.Unix(951_782_400, 0).UTC(), // 2000-02-29
		time.Unix(1_764_900_000, 100).UTC(),
		time.Unix(1_764_900_000, 120_000_000).UTC(),
		time.Unix(1_764_900_000, 123_456_789).UTC(),
		time.Unix(1_764_900_001, 5).UTC(), // the same day again
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), // refused
		time.Date(0, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC), // refused
		time.Unix(math.MaxInt64/4, 0).UTC(),            // refused
		time.Date(2026, 12, 5, 14, 0, 0, 5, time.FixedZone("x", 5400)),
		time.Date(2026, 12, 5, 14, 0, 0, 5, time.Local),
	} {
		checkTime(t, &a, tm)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 300_000 {
		sec := r.Int64N(253_402_300_800+62_135_596_800) - 62_135_596_800 // years 1-9999
		if r.IntN(2) == 0 {
			sec = 1_764_900_000 + r.Int64N(3*86400) // a few days: the cached date
		}
		ns := r.Int64N(1_000_000_000)
		switch r.IntN(4) {
		case 0:
			ns -= ns % 1_000_000
		case 1:
			ns = 0
		}
		checkTime(t, &a, time.Unix(sec, ns).UTC())
	}
}

func FuzzTimeAppender(f *testing.F) {
	f.Add(int64(0), int64(0), int64(1))
	f.Add(int64(-62135596800), int64(1), int64(-1))
	f.Add(int64(253402300799), int64(999999999), int64(86400))
	f.Fuzz(func(t *testing.T, sec, ns, next int64) {
		var a TimeAppender
		checkTime(t, &a, time.Unix(sec, ns).UTC())
		checkTime(t, &a, time.Unix(sec+next, ns/3).UTC()) // after a cached day
	})
}

func BenchmarkTimeAppender(b *testing.B) {
	tm := time.Unix(1_764_900_000, 123_456_789).UTC()
	buf := make([]byte, 0, 64)
	b.Run("appender", func(b *testing.B) {
		var a TimeAppender
		for b.Loop() {
			buf, _ = a.AppendJSON(buf[:0], tm)
		}
	})
	b.Run("AppendJSONTime", func(b *testing.B) {
		for b.Loop() {
			buf, _ = AppendJSONTime(buf[:0], tm)
		}
	})
}
