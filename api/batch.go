package api

import (
	"encoding/json"
	"fmt"
	"strings"
)

// BatchOp is what a batch does to the CIDs of its lines (POST /pins/batch?op=...).
type BatchOp string

const (
	// BatchPin pins every line's CID with the line's options (the default).
	BatchPin BatchOp = "pin"
	// BatchUnpin unpins every line's CID.
	BatchUnpin BatchOp = "unpin"
)

// ParseBatchOp reads "pin" (or "") and "unpin".
func ParseBatchOp(s string) (BatchOp, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "pin":
		return BatchPin, nil
	case "unpin", "rm":
		return BatchUnpin, nil
	}
	return BatchPin, fmt.Errorf("%w: op=%q: use pin or unpin", ErrInvalid, s)
}

// BatchEvent is one line of the POST /pins/batch response stream. A failed line has Line set
// (with Input and Error); a progress event has Line 0 and says that OK lines in all are now
// durable and that every line up to Through that was not reported failed is one of them; the
// last event has Done set and the totals.
type BatchEvent struct {
	Line  int    `json:"line,omitempty"`
	Input string `json:"input,omitempty"`
	Error string `json:"error,omitempty"`

	OK      int  `json:"ok,omitempty"`
	Through int  `json:"through,omitempty"`
	Done    bool `json:"done,omitempty"`
	// Failed and Unchanged are set on the Done event: lines reported failed, and lines whose
	// CID already was as asked (counted in OK, no new op).
	Failed    int `json:"failed,omitempty"`
	Unchanged int `json:"unchanged,omitempty"`
	// HeldBy and Peers are set on the Done event of a batch that changed anything: how many
	// members (the receiving peer included) held every line when it ended, of how many.
	HeldBy int `json:"held_by,omitempty"`
	Peers  int `json:"peers,omitempty"`
}

// MarshalJSON writes every count of the Done event, zeros too (it is the summary a client
// reads: ok, through, failed, unchanged); the other events leave their zero fields out.
func (e BatchEvent) MarshalJSON() ([]byte, error) {
	type plain BatchEvent
	if !e.Done {
		return json.Marshal(plain(e))
	}
	return json.Marshal(struct {
		Line      int    `json:"line,omitempty"`
		Input     string `json:"input,omitempty"`
		Error     string `json:"error,omitempty"`
		OK        int    `json:"ok"`
		Through   int    `json:"through"`
		Done      bool   `json:"done"`
		Failed    int    `json:"failed"`
		Unchanged int    `json:"unchanged"`
		HeldBy    int    `json:"held_by,omitempty"`
		Peers     int    `json:"peers,omitempty"`
	}{e.Line, e.Input, e.Error, e.OK, e.Through, e.Done, e.Failed, e.Unchanged, e.HeldBy, e.Peers})
}

// BatchFailure is a failed line of a batch as the CLI reports it.
type BatchFailure struct {
	Line  int    `json:"line"`
	Input string `json:"input"`
	Error string `json:"error"`
}
