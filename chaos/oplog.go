package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"
)

// Kind is an op the load generator sends.
type Kind string

// Outcome is what the client learned about an op.
type Outcome string

const (
	OpPin   Kind = "pin"
	OpUnpin Kind = "unpin"

	// Acked: HTTP 200. The op is durable on the accepting peer.
	Acked Outcome = "ack"
	// Maybe: a timeout, a transport error after the request may have been sent, or a 5xx
	// answer. The op may or may not have been applied; the checker accepts either.
	Maybe Outcome = "maybe"
	// Refused: the request was not applied (connection refused before sending, or a 400/404
	// answer, which the daemon gives before writing anything).
	Refused Outcome = "refused"
)

// OpRecord is one line of ops.jsonl: an op, where it was sent and what came back.
type OpRecord struct {
	Time    time.Time `json:"t"`
	Kind    Kind      `json:"op"`
	Cid     string    `json:"cid"`
	Peer    int       `json:"peer"` // 1-based
	Outcome Outcome   `json:"outcome"`
	Code    int       `json:"code,omitempty"` // HTTP status of an API error
	Err     string    `json:"err,omitempty"`  // the error, for maybe and refused ops
	Millis  int64     `json:"ms"`             // request latency
}

// opLog keeps every op in memory (for the checker) and appends it to a JSON-lines file.
type opLog struct {
	mu  sync.Mutex
	ops []OpRecord
	f   *os.File
	w   *bufio.Writer
}

func newOpLog(path string) (*opLog, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("creating the op log: %w", err)
	}
	return &opLog{f: f, w: bufio.NewWriter(f)}, nil
}

func (l *opLog) add(r OpRecord) {
	b, _ := json.Marshal(r)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ops = append(l.ops, r)
	l.w.Write(append(b, '\n'))
}

// snapshot returns a copy of the ops logged so far.
func (l *opLog) snapshot() []OpRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]OpRecord(nil), l.ops...)
}

func (l *opLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.w.Flush(); err != nil {
		l.f.Close()
		return err
	}
	return l.f.Close()
}

// opCounts tallies ops by kind and outcome.
type opCounts struct {
	PinsAcked, UnpinsAcked, Maybe, Refused int
	UnpinsNotFound                         int // refused unpins: 404, the peer did not hold the pin yet
}

func countOps(ops []OpRecord) opCounts {
	var c opCounts
	for _, o := range ops {
		switch {
		case o.Outcome == Acked && o.Kind == OpPin:
			c.PinsAcked++
		case o.Outcome == Acked:
			c.UnpinsAcked++
		case o.Outcome == Maybe:
			c.Maybe++
		default:
			c.Refused++
			if o.Kind == OpUnpin && o.Code == 404 {
				c.UnpinsNotFound++
			}
		}
	}
	return c
}
