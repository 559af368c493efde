package kubo

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/ipfs/go-cid"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// streamErrHeader is the trailer in which Kubo reports an error that cut a streamed response.
const streamErrHeader = "X-Stream-Error"

// maxObject bounds one JSON object of a response (a pin ls or add line is tiny; an id or a
// repo stat a few KiB).
const maxObject = 1 << 20

// Kubo's error codes (go-ipfs-cmds ErrorType).
const (
	codeNormal = 0
	codeClient = 1
)

// Error is an error answered by Kubo. It unwraps to the sentinel its message implies
// (ipfs.ErrNotPinned, api.ErrNotFound, api.ErrTimeout, api.ErrInvalid), or to nothing.
type Error struct {
	Command string
	Status  int // HTTP status; 0 when reported in a stream's trailer
	Message string
	Code    int
}

func (e *Error) Error() string {
	return fmt.Sprintf("kubo %s: %s", e.Command, e.Message)
}

// Unwrap classifies the error by Kubo's message, which is all Kubo gives.
func (e *Error) Unwrap() error {
	m := strings.ToLower(e.Message)
	switch {
	case strings.Contains(m, "not pinned"):
		return ipfs.ErrNotPinned
	case strings.Contains(m, "context deadline exceeded"), strings.Contains(m, "timeout"),
		strings.Contains(m, "timed out"):
		return api.ErrTimeout
	case strings.Contains(m, "no link named"), strings.Contains(m, "could not find"),
		strings.Contains(m, "not found"), strings.Contains(m, "no such link"),
		strings.Contains(m, "could not resolve name"):
		return api.ErrNotFound
	case e.Code == codeClient, e.Status == 400,
		strings.Contains(m, "invalid path"), strings.Contains(m, "invalid cid"):
		return api.ErrInvalid
	}
	return nil
}

// kuboErrBody is Kubo's error body.
type kuboErrBody struct {
	Message string
	Code    int
	Type    string
}

// parseError builds the error of a failed call from its status and body.
func parseError(cmd string, status int, contentType string, body []byte) error {
	e := &Error{Command: cmd, Status: status, Code: codeNormal}
	var kb kuboErrBody
	if strings.HasPrefix(contentType, "application/json") && json.Unmarshal(body, &kb) == nil && kb.Message != "" {
		e.Message, e.Code = kb.Message, kb.Code
		return e
	}
	msg := strings.TrimSpace(string(body))
	if msg == "" {
		msg = fmt.Sprintf("HTTP %d", status)
	}
	if status == 404 {
		// Not a Kubo error body: this is not Kubo's RPC API, or a Kubo without the command.
		msg = fmt.Sprintf("HTTP 404 (is node_multiaddress Kubo's RPC API port, usually 5001?): %s", msg)
		return fmt.Errorf("kubo %s: %s", cmd, msg)
	}
	if status == 400 {
		e.Code = codeClient
	}
	e.Message = msg
	return e
}

// decodeEach decodes a stream of concatenated JSON objects (what Kubo streams) into T, calling
// fn on each, until EOF. An object bigger than maxObject is an error.
func decodeEach[T any](r io.Reader, fn func(T) error) error {
	lr := &limitedReader{r: r, max: maxObject}
	dec := json.NewDecoder(lr)
	for {
		lr.n = 0
		var v T
		if err := dec.Decode(&v); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := fn(v); err != nil {
			return err
		}
	}
}

// decodeOne decodes a single JSON object.
func decodeOne[T any](r io.Reader) (T, error) {
	var v T
	err := json.NewDecoder(io.LimitReader(r, maxObject)).Decode(&v)
	return v, err
}

// limitedReader fails once more than max bytes are read since n was last reset.
type limitedReader struct {
	r   io.Reader
	n   int
	max int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, fmt.Errorf("response object larger than %d bytes", l.max)
	}
	k, err := l.r.Read(p)
	l.n += k
	return k, err
}

// idOut is the body of /api/v0/id.
type idOut struct {
	ID           string
	Addresses    []string
	AgentVersion string
}

func decodeID(r io.Reader) (api.IPFSID, error) {
	out, err := decodeOne[idOut](r)
	if err != nil {
		return api.IPFSID{}, err
	}
	if out.ID == "" {
		return api.IPFSID{}, errors.New("no ID in the response")
	}
	id := api.IPFSID{ID: out.ID, Addresses: out.Addresses}
	if id.Addresses == nil {
		id.Addresses = []string{}
	}
	return id, nil
}

// pinAddOut is one line of pin/add?progress=true: progress lines, then the pins.
type pinAddOut struct {
	Pins     []string
	Progress int
	Bytes    uint64
}

// decodePinAdd reads pin/add's stream, reporting each progress increase, and returns the pins.
func decodePinAdd(r io.Reader, progress ipfs.PinProgress) ([]string, error) {
	var pins []string
	var last int
	err := decodeEach(r, func(o pinAddOut) error {
		if o.Progress > last {
			last = o.Progress
			if progress != nil {
				progress(uint64(o.Progress))
			}
		}
		if o.Pins != nil {
			pins = o.Pins
		}
		return nil
	})
	return pins, err
}

// pinLsOut is one line of pin/ls?stream=true.
type pinLsOut struct {
	Cid  string
	Type string
	// Keys is set instead when the daemon ignored stream=true.
	Keys map[string]struct{ Type string }
}

// decodePinLs reads pin/ls's stream (or its non-streamed map) and calls fn for each recursive
// or direct pin; indirect ones are skipped.
func decodePinLs(r io.Reader, fn func(api.Cid, api.PinMode) error) error {
	emit := func(c, typ string) error {
		var mode api.PinMode
		switch typ {
		case "recursive":
			mode = api.PinModeRecursive
		case "direct":
			mode = api.PinModeDirect
		default:
			return nil
		}
		pc, err := api.DecodeCid(c)
		if err != nil {
			return err
		}
		return fn(pc, mode)
	}
	return decodeEach(r, func(o pinLsOut) error {
		if o.Cid != "" {
			return emit(o.Cid, o.Type)
		}
		for c, t := range o.Keys {
			if err := emit(c, t.Type); err != nil {
				return err
			}
		}
		return nil
	})
}

// addOut is one line of add: an added entry (Hash set) or a progress line (Bytes).
type addOut struct {
	Name  string
	Hash  string
	Bytes uint64
	Size  string
}

// decodeAdd reads add's stream, reporting each line to out, and returns the last CID reported
// (Kubo reports each top-level entry after its children, and the wrapping directory last).
func decodeAdd(r io.Reader, out ipfs.AddOutput) (api.Cid, error) {
	root := api.CidUndef
	err := decodeEach(r, func(o addOut) error {
		if o.Hash == "" {
			if out != nil {
				out(api.AddedOutput{Name: o.Name, Bytes: o.Bytes})
			}
			return nil
		}
		c, err := api.DecodeCid(o.Hash)
		if err != nil {
			return err
		}
		var size uint64
		if o.Size != "" {
			if size, err = strconv.ParseUint(o.Size, 10, 64); err != nil {
				return fmt.Errorf("bad Size %q for %s", o.Size, o.Hash)
			}
		}
		root = c
		if out != nil {
			out(api.AddedOutput{Name: o.Name, Cid: c, Size: size})
		}
		return nil
	})
	return root, err
}

// repoStatOut is the body of repo/stat.
type repoStatOut struct {
	RepoSize   uint64
	StorageMax uint64
	NumObjects uint64
	RepoPath   string
	Version    string
}

func decodeRepoStat(r io.Reader) (repoStatOut, error) {
	return decodeOne[repoStatOut](r)
}

// cidLink is an IPLD link in JSON: {"/": "<cid>"}.
type cidLink struct {
	Slash string `json:"/"`
}

// gcOut is one line of repo/gc.
type gcOut struct {
	Key   *cidLink
	Error string
}

// decodeGC reads repo/gc's stream and returns the removed CIDs; an error line fails it.
func decodeGC(r io.Reader) ([]api.Cid, error) {
	var removed []api.Cid
	var errs []string
	err := decodeEach(r, func(o gcOut) error {
		if o.Error != "" {
			errs = append(errs, o.Error)
			return nil
		}
		if o.Key == nil {
			return nil
		}
		c, err := api.DecodeCid(o.Key.Slash)
		if err != nil {
			return err
		}
		removed = append(removed, c)
		return nil
	})
	if err != nil {
		return removed, err
	}
	if len(errs) > 0 {
		return removed, fmt.Errorf("gc: %s", strings.Join(errs, "; "))
	}
	return removed, nil
}

// resolveOut is the body of resolve.
type resolveOut struct {
	Path string
}

// decodeResolve reads resolve's answer (/ipfs/<cid>, or /ipfs/<cid>/rest when the path ends
// inside a block) and returns the CID.
func decodeResolve(r io.Reader) (api.Cid, error) {
	out, err := decodeOne[resolveOut](r)
	if err != nil {
		return api.CidUndef, err
	}
	parts := strings.Split(strings.TrimPrefix(out.Path, "/"), "/")
	if len(parts) < 2 || (parts[0] != "ipfs" && parts[0] != "ipld") {
		return api.CidUndef, fmt.Errorf("unexpected resolved path %q", out.Path)
	}
	c, err := cid.Decode(parts[1])
	if err != nil {
		return api.CidUndef, fmt.Errorf("unexpected resolved path %q: %v", out.Path, err)
	}
	return api.NewCid(c), nil
}
