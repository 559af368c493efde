package persistence

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/crdt"
)

// ExportFormat is the version written in the header line of `state export` files.
const ExportFormat = 1

// maxImportLine bounds one line of an import file (a pin with huge metadata).
const maxImportLine = 16 << 20

// importBatch is the number of ops applied per Apply during Import.
const importBatch = 4096

// ExportHeader is the first line of an export file.
type ExportHeader struct {
	Format     int       `json:"pincluster_state"`
	Pins       int       `json:"pins"`
	ExportedAt time.Time `json:"exported_at"`
}

// Export writes the live pinset as JSON lines: an ExportHeader, then one api.Pin per line in
// key order, from one consistent snapshot, in constant memory.
func (s *Store) Export(ctx context.Context, w io.Writer) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	bw := bufio.NewWriterSize(w, 256<<10)
	err := s.db.View(func(txn *badger.Txn) error {
		n, err := getU64(txn, keyPinCount)
		if err != nil {
			return err
		}
		hdr, _ := json.Marshal(ExportHeader{Format: ExportFormat, Pins: int(n), ExportedAt: time.Now().UTC()})
		bw.Write(hdr)
		bw.WriteByte('\n')
		var compact bytes.Buffer
		return iterateTxn(ctx, txn, prefixPin, prefixPin, func(_, v []byte) error {
			js := pinJSONOf(v)
			if js == nil {
				return nil
			}
			if bytes.IndexByte(js, '\n') >= 0 { // stored JSON is normally compact already
				compact.Reset()
				if err := json.Compact(&compact, js); err != nil {
					return err
				}
				js = compact.Bytes()
			}
			bw.Write(js)
			return bw.WriteByte('\n')
		})
	})
	if err != nil {
		return fmt.Errorf("persistence: export: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("persistence: export: %w", err)
	}
	return nil
}

// importStagePattern names an import's staging file, beside the store's directory.
const importStagePattern = ".pincluster-import-*.jsonl"

// Import is ImportWith without a prepare step.
func (s *Store) Import(ctx context.Context, r io.Reader, mkOp func(api.Pin) crdt.Op) (int, error) {
	return s.ImportWith(ctx, r, nil, mkOp)
}

// ImportWith reads an export file and applies one op per pin, built by mkOp (which numbers and
// stamps the ops). The first line is an ExportHeader; a file without one whose first line is a
// pin (IPFS Cluster's `state export` format) is accepted too. Blank lines are ignored.
//
// Each line is decoded strictly and given the defaults of a pin posted to the REST API
// (decodeImportPin), then checked by api.PinOptions.Validate as it is in the file, then
// completed by prepare (when not nil: the caller's cluster defaults and overrides), then
// checked again. The whole file is checked before anything is applied (pins are staged in a
// temporary file), so a bad file imports nothing; the error wraps api.ErrInvalid (or prepare's
// error) and names the line. mkOp and Apply are called only after that. A storage failure
// while applying may leave part of the file imported; importing the file again is then
// harmless (pins are replaced by equal ones). It returns the number of pins imported.
func (s *Store) ImportWith(ctx context.Context, r io.Reader, prepare func(*api.Pin) error, mkOp func(api.Pin) crdt.Op) (int, error) {
	// Staged beside the store, not in /tmp: the stage is a whole pinset's size, and a killed
	// import leaves it where the next import (one at a time: state commands hold the daemon's
	// lock) finds and removes it.
	dir := filepath.Dir(s.dir)
	if stale, _ := filepath.Glob(filepath.Join(dir, importStagePattern)); len(stale) > 0 {
		for _, f := range stale {
			os.Remove(f)
		}
	}
	stage, err := os.CreateTemp(dir, importStagePattern)
	if err != nil {
		return 0, fmt.Errorf("persistence: import: staging file: %w", err)
	}
	defer os.Remove(stage.Name())
	defer stage.Close()
	n, err := validateImport(ctx, r, stage, prepare, time.Now().UTC())
	if err != nil {
		return 0, err
	}
	if _, err := stage.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("persistence: import: staging file: %w", err)
	}
	sc := newLineScanner(stage)
	ops := make([]crdt.Op, 0, importBatch)
	imported := 0
	apply := func() error {
		if len(ops) == 0 {
			return nil
		}
		if _, err := s.Apply(ops); err != nil {
			return fmt.Errorf("persistence: import: %w (%d of %d pins imported)", err, imported, n)
		}
		imported += len(ops)
		ops = ops[:0]
		return nil
	}
	for sc.Scan() {
		var p api.Pin
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return imported, fmt.Errorf("persistence: import: staged pin: %w", err)
		}
		ops = append(ops, mkOp(p))
		if len(ops) == importBatch {
			if err := apply(); err != nil {
				return imported, err
			}
			if err := ctx.Err(); err != nil {
				return imported, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return imported, fmt.Errorf("persistence: import: staging file: %w", err)
	}
	return imported, apply()
}

func newLineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxImportLine)
	return sc
}

// validateImport checks every line of r and writes each pin, complete and compact, to stage.
// now stamps pins without a timestamp.
func validateImport(ctx context.Context, r io.Reader, stage io.Writer, prepare func(*api.Pin) error, now time.Time) (int, error) {
	sc := newLineScanner(r)
	bw := bufio.NewWriterSize(stage, 256<<10)
	line, pins := 0, 0
	sawHeader, legacy := false, false
	wantPins := -1
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !sawHeader {
			sawHeader = true
			isHeader, n, err := checkHeader(b)
			wantPins = n
			if err != nil {
				return 0, fmt.Errorf("%w: import line %d: %v", api.ErrInvalid, line, err)
			}
			if isHeader {
				continue
			}
			legacy = true
		}
		p, err := decodeImportPin(b, legacy, now)
		if err != nil {
			return 0, fmt.Errorf("%w: import line %d: %v", api.ErrInvalid, line, err)
		}
		// The same rules as every other way in: an imported pin is gossiped, indexed and
		// allocated like any other, and a name past the limits could fail the batch it is
		// applied in. The line is checked as written first, so that an error in the file is
		// reported as such even when an override would replace the bad value.
		if err := p.Validate(); err != nil {
			return 0, fmt.Errorf("import line %d (pin %s): %w (fix the line and import again)", line, p.Cid, err)
		}
		if prepare != nil {
			if err := prepare(&p); err != nil {
				return 0, fmt.Errorf("import line %d (pin %s): %w", line, p.Cid, err)
			}
			if err := p.Validate(); err != nil {
				return 0, fmt.Errorf("import line %d (pin %s), once completed: %w", line, p.Cid, err)
			}
		}
		js, err := api.MarshalPin(&p)
		if err != nil {
			return 0, fmt.Errorf("import line %d: %w", line, err)
		}
		bw.Write(js)
		if err := bw.WriteByte('\n'); err != nil {
			return 0, fmt.Errorf("persistence: import: staging file: %w", err)
		}
		pins++
		if line%ctxCheckEvery == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return 0, fmt.Errorf("%w: import line %d: longer than %d bytes", api.ErrInvalid, line+1, maxImportLine)
		}
		return 0, fmt.Errorf("persistence: import: read line %d: %w", line+1, err)
	}
	if !sawHeader {
		return 0, fmt.Errorf("%w: import: the file is empty (expected a {\"pincluster_state\": %d} header line)", api.ErrInvalid, ExportFormat)
	}
	if wantPins >= 0 && wantPins != pins {
		return 0, fmt.Errorf("%w: import: the header says %d pins but the file has %d: it is truncated or was edited (fix or remove \"pins\" in the header)", api.ErrInvalid, wantPins, pins)
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("persistence: import: staging file: %w", err)
	}
	return pins, nil
}

// headerKeys are the keys of ExportHeader's JSON form.
var headerKeys = jsonKeys(reflect.TypeFor[ExportHeader]())

// checkHeader reports whether b is a valid header, and the pin count it announces (-1 when
// absent); a pin object (legacy format) is not a header and not an error.
func checkHeader(b []byte) (isHeader bool, pins int, err error) {
	pins = -1
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return false, -1, fmt.Errorf("bad header (want {\"pincluster_state\": %d, ...}): %v", ExportFormat, err)
	}
	raw, ok := fields["pincluster_state"]
	if !ok {
		if _, isPin := fields["cid"]; isPin {
			return false, -1, nil
		}
		return false, -1, fmt.Errorf("bad header: no \"pincluster_state\" field (is this a pincluster state export?)")
	}
	// Strict like the pin lines: a header key of a later format must not be skipped unread.
	for k := range fields {
		if !slices.Contains(headerKeys, k) {
			return false, -1, fmt.Errorf("bad header: unknown key %q (a header has %s)", k, strings.Join(headerKeys, ", "))
		}
	}
	var v int
	if err := json.Unmarshal(raw, &v); err != nil {
		return false, -1, fmt.Errorf("bad header: pincluster_state is not a number")
	}
	if v != ExportFormat {
		return false, -1, fmt.Errorf("state format %d is not supported (this version reads %d): import it with the version that exported it, then `state upgrade`", v, ExportFormat)
	}
	if rawAt, ok := fields["exported_at"]; ok {
		var at time.Time
		if err := json.Unmarshal(rawAt, &at); err != nil {
			return false, -1, fmt.Errorf("bad header: exported_at is not an RFC 3339 time")
		}
	}
	if rawPins, ok := fields["pins"]; ok {
		if err := json.Unmarshal(rawPins, &pins); err != nil || pins < 0 {
			return false, -1, fmt.Errorf("bad header: pins is not a count")
		}
	}
	return true, pins, nil
}
