// Package poll waits for a condition with a deadline, checking it on a ticker. Tests use it
// instead of sleep loops: the wait ends as soon as the condition holds, and always ends.
package poll

import "time"

// Until checks cond every interval until it returns true (true) or timeout passes (false).
// cond is checked once at once.
func Until(timeout, interval time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-deadline.C:
			return cond()
		case <-tick.C:
			if cond() {
				return true
			}
		}
	}
}
