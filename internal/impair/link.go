package impair

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// MSS is the segment size the TCP model counts in (Ethernet MTU less IP and TCP headers with
// timestamps), as the kernel's TCP on a veth would send.
const MSS = 1448

// MinRTO is Linux's minimum retransmission timeout (TCP_RTO_MIN).
const MinRTO = 200 * time.Millisecond

// Link says what one direction of a path does to the traffic that crosses it.
type Link struct {
	Delay  time.Duration // one-way delay
	Jitter time.Duration // uniform in [-Jitter, +Jitter] around Delay, never below zero
	Loss   float64       // probability that a datagram or a TCP segment is lost, in [0, 1)
}

// Validate says what is wrong with l, naming the flag to change.
func (l Link) Validate() error {
	switch {
	case l.Delay < 0:
		return errors.New("delay must not be negative")
	case l.Jitter < 0:
		return errors.New("jitter must not be negative")
	case l.Loss < 0 || l.Loss >= 1:
		return fmt.Errorf("loss must be in [0, 1), got %g", l.Loss)
	}
	return nil
}

// Zero reports whether l changes nothing.
func (l Link) Zero() bool { return l.Delay == 0 && l.Jitter == 0 && l.Loss == 0 }

// String writes l as ParseLink reads it.
func (l Link) String() string {
	return fmt.Sprintf("%s+-%s,%s%%", l.Delay, l.Jitter, strconv.FormatFloat(l.Loss*100, 'f', -1, 64))
}

// ParseLink reads "DELAY[+-JITTER][,LOSS%]", e.g. "50ms+-10ms,1%", "20ms", "0,0.5%" (the
// script's and the command's -link syntax). It is the one decoder of outside input here, so it
// has a fuzz target.
func ParseLink(s string) (Link, error) {
	var l Link
	spec, loss, hasLoss := strings.Cut(strings.TrimSpace(s), ",")
	delay, jitter, hasJitter := strings.Cut(spec, "+-")
	var err error
	if l.Delay, err = parseDuration(delay); err != nil {
		return Link{}, fmt.Errorf("link %q: delay: %w", s, err)
	}
	if hasJitter {
		if l.Jitter, err = parseDuration(jitter); err != nil {
			return Link{}, fmt.Errorf("link %q: jitter: %w", s, err)
		}
	}
	if hasLoss {
		p, ok := strings.CutSuffix(strings.TrimSpace(loss), "%")
		if !ok {
			return Link{}, fmt.Errorf("link %q: loss must be a percentage such as 1%%", s)
		}
		pct, err := strconv.ParseFloat(p, 64)
		if err != nil || pct != pct {
			return Link{}, fmt.Errorf("link %q: loss %q is not a number", s, p)
		}
		l.Loss = pct / 100
	}
	if err := l.Validate(); err != nil {
		return Link{}, fmt.Errorf("link %q: %w", s, err)
	}
	return l, nil
}

// parseDuration is time.ParseDuration that also takes a bare "0".
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	return time.ParseDuration(s)
}

// model draws the delays and losses of one stream or flow from its own seeded source.
type model struct {
	link Link
	rng  *rand.Rand
}

func newModel(l Link, seed, seq uint64) *model {
	return &model{link: l, rng: rand.New(rand.NewPCG(seed, seq))}
}

// delay is one unit's base delay: Delay plus uniform jitter, never below zero.
func (m *model) delay() time.Duration {
	d := m.link.Delay
	if j := m.link.Jitter; j > 0 {
		d += time.Duration(m.rng.Int64N(int64(2*j)+1)) - j
	}
	return max(d, 0)
}

// lost draws one loss decision.
func (m *model) lost() bool { return m.link.Loss > 0 && m.rng.Float64() < m.link.Loss }

// rto is the retransmission timeout the TCP model charges for a lost segment: the minimum
// RTO plus a round trip at the link's worst delay.
func (m *model) rto() time.Duration { return MinRTO + 2*(m.link.Delay+m.link.Jitter) }

// chunk returns how long a TCP chunk of n bytes waits and how many of its segments' first
// transmissions were lost (0 or more). A chunk with losses waits one RTO more, doubled for
// each retransmission that is itself lost.
func (m *model) chunk(n int) (time.Duration, int) {
	d := m.delay()
	losses := 0
	for range (n + MSS - 1) / MSS {
		if m.lost() {
			losses++
		}
	}
	if losses > 0 {
		rto := m.rto()
		d += rto
		for m.lost() {
			rto *= 2
			d += rto
		}
	}
	return d, losses
}
