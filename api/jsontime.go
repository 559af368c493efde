package api

import "time"

// TimeAppender appends times as AppendJSONTime does, faster when they share a day with the
// previous one it wrote in UTC: it keeps that day's date and writes only the clock after it.
// A global status writes a timestamp per member per pin, mostly of a few days, and time's
// own formatting was 14% of a daemon's global status at 20 members (2026-12-05). The zero
// value is ready; not safe for concurrent use.
type TimeAppender struct {
	day  int64    // days since 1970-01-01 of date (valid when set)
	date [11]byte // `YYYY-MM-DDT`
	set  bool
}

// AppendJSON appends t as time.Time's MarshalJSON writes it, with its error for a time RFC
// 3339 cannot hold.
func (a *TimeAppender) AppendJSON(b []byte, t time.Time) ([]byte, error) {
	if out, ok := a.appendUTC(append(b, '"'), t); ok {
		return append(out, '"'), nil
	}
	return AppendJSONTime(b, t)
}

// AppendText appends t as time.Time's MarshalText writes it, or nothing for a time RFC 3339
// cannot hold.
func (a *TimeAppender) AppendText(b []byte, t time.Time) []byte {
	if out, ok := a.appendUTC(b, t); ok {
		return out
	}
	return appendTimeText(b, t)
}

// appendUTC appends t in RFC 3339 with nanoseconds (trailing zeros cut) when it is UTC and its
// year is one RFC 3339 holds; ok false (b unchanged) otherwise.
func (a *TimeAppender) appendUTC(b []byte, t time.Time) ([]byte, bool) {
	if t.Location() != time.UTC {
		return b, false
	}
	sec := t.Unix()
	day := sec / 86400
	if sec%86400 < 0 {
		day--
	}
	if !a.set || day != a.day {
		if y := t.Year(); y < 0 || y > 9999 {
			return b, false
		}
		t.AppendFormat(a.date[:0], "2006-01-02T")
		a.day, a.set = day, true
	}
	sod := int(sec - day*86400)
	b = append(b, a.date[:]...)
	b = append(b, digits2[2*(sod/3600)], digits2[2*(sod/3600)+1], ':',
		digits2[2*(sod/60%60)], digits2[2*(sod/60%60)+1], ':',
		digits2[2*(sod%60)], digits2[2*(sod%60)+1])
	if ns := t.Nanosecond(); ns != 0 { // RFC3339Nano: up to 9 digits, trailing zeros cut
		// Constant divisors, which the compiler turns into multiplications: a loop over a
		// table of divisors made each a division (BenchmarkTimeAppender: 18-22 ns a time against
		// 23-27, 2026-12-05).
		var f [10]byte
		f[0] = '.'
		f[1] = byte('0' + ns/100_000_000)
		r := ns % 100_000_000
		d1, d2, d3, d4 := r/1_000_000, r/10_000%100, r/100%100, r%100
		f[2], f[3] = digits2[2*d1], digits2[2*d1+1]
		f[4], f[5] = digits2[2*d2], digits2[2*d2+1]
		f[6], f[7] = digits2[2*d3], digits2[2*d3+1]
		f[8], f[9] = digits2[2*d4], digits2[2*d4+1]
		n := 10
		for f[n-1] == '0' {
			n--
		}
		b = append(b, f[:n]...)
	}
	return append(b, 'Z'), true
}

// digits2 is "00" to "99".
const digits2 = "00010203040506070809101112131415161718192021222324252627282930313233343536373839" +
	"4041424344454647484950515253545556575859606162636465666768697071727374757677787980818283848586878889" +
	"90919293949596979899"
