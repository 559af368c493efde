package persistence

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/pincluster/pincluster/api"
)

// Entry value: flags(1: 1 unpin, 2 priority, 4 failed) | mode(1) | created(8, Unix ns) |
// uvarint seq | uvarint attempts | uvarint len | CID | error text.
func encodeQueueEntry(e QueueEntry) []byte {
	c := e.Cid.Bytes()
	v := make([]byte, 0, 2+8+10+5+1+len(c)+len(e.Err))
	var flags byte
	if e.Unpin {
		flags |= 1
	}
	if e.Priority {
		flags |= 2
	}
	if e.Failed {
		flags |= 4
	}
	var created int64
	if !e.Created.IsZero() {
		created = e.Created.UnixNano()
	}
	v = append(v, flags, byte(e.Mode))
	v = binary.BigEndian.AppendUint64(v, uint64(created))
	v = binary.AppendUvarint(v, e.Seq)
	v = binary.AppendUvarint(v, uint64(e.Attempts))
	v = binary.AppendUvarint(v, uint64(len(c)))
	v = append(v, c...)
	return append(v, e.Err...)
}

func decodeQueueEntry(v []byte) (QueueEntry, error) {
	var e QueueEntry
	// Built only on failure: a status pass decodes a million entries.
	bad := func() error { return fmt.Errorf("persistence: corrupt tracker queue entry of %d bytes", len(v)) }
	if len(v) > 0 && v[0]&flagBatch != 0 {
		return decodeBatchEntry(v)
	}
	if len(v) < 10 {
		return e, bad()
	}
	flags := v[0]
	e.Unpin, e.Priority, e.Failed = flags&1 != 0, flags&2 != 0, flags&4 != 0
	e.Mode = api.PinMode(v[1])
	if ns := int64(binary.BigEndian.Uint64(v[2:10])); ns != 0 {
		e.Created = time.Unix(0, ns)
	}
	rest := v[10:]
	var vals [3]uint64
	for i := range vals {
		x, n := binary.Uvarint(rest)
		if n <= 0 {
			return e, bad()
		}
		vals[i], rest = x, rest[n:]
	}
	e.Seq, e.Attempts = vals[0], int(vals[1])
	if uint64(len(rest)) < vals[2] {
		return e, bad()
	}
	c, err := api.CastCid(rest[:vals[2]])
	if err != nil {
		return e, fmt.Errorf("persistence: tracker queue entry: %w", err)
	}
	e.Cid, e.Err = c, string(rest[vals[2]:])
	return e, nil
}
