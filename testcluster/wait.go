package testcluster

import (
	"fmt"
	"time"
)

// WaitFor polls cond until it returns true, failing the test if timeout passes first. msg (a
// format and its arguments) says what was awaited. It polls every 20ms at first, backing off to
// 200ms.
func (c *Cluster) WaitFor(cond func() bool, timeout time.Duration, msg ...any) {
	c.t.Helper()
	if !Eventually(cond, timeout) {
		c.t.Fatalf("testcluster: timed out after %s waiting for: %s", timeout, describe(msg))
	}
}

// Consistently checks that cond stays true for the whole window d (polling), failing the test
// at the first false. It is for assertions that something never happens; use WaitFor to wait.
func (c *Cluster) Consistently(cond func() bool, d time.Duration, msg ...any) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for {
		if !cond() {
			c.t.Fatalf("testcluster: condition broken within %s: %s", d, describe(msg))
		}
		if time.Now().After(deadline) {
			return
		}
		wait(50 * time.Millisecond)
	}
}

// Eventually polls cond until it is true (true) or timeout passes (false).
func Eventually(cond func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	delay := 20 * time.Millisecond
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		wait(min(delay, time.Until(deadline)+time.Millisecond))
		delay = min(delay*2, 200*time.Millisecond)
	}
}

// wait is the polling pause between two checks of a condition.
func wait(d time.Duration) { <-time.After(d) }

func describe(msg []any) string {
	if len(msg) == 0 {
		return "condition"
	}
	if f, ok := msg[0].(string); ok {
		return fmt.Sprintf(f, msg[1:]...)
	}
	return fmt.Sprint(msg...)
}
