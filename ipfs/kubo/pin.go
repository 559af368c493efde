package kubo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/pincluster/pincluster/api"
	"github.com/pincluster/pincluster/ipfs"
)

// ID returns the Kubo node's peer ID and addresses.
func (n *Node) ID(ctx context.Context) (api.IPFSID, error) {
	ctx, done, err := n.begin(ctx, true)
	if err != nil {
		return api.IPFSID{}, err
	}
	defer done()
	var id api.IPFSID
	err = n.call(ctx, request{cmd: "id"}, func(r io.Reader) (err error) {
		id, err = decodeID(r)
		return err
	})
	return id, err
}

// Pin runs pin/add with progress, reporting Kubo's running count of fetched blocks (about every
// half second) to progress. A direct pin of a recursively pinned CID succeeds at once.
func (n *Node) Pin(ctx context.Context, c api.Cid, mode api.PinMode, progress ipfs.PinProgress) error {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	if !c.Defined() {
		return fmt.Errorf("%w: pin of an undefined CID", api.ErrInvalid)
	}
	if mode != api.PinModeRecursive && mode != api.PinModeDirect {
		return fmt.Errorf("%w: unknown pin mode %d", api.ErrInvalid, mode)
	}
	q := url.Values{"arg": {c.String()}, "recursive": {strconv.FormatBool(mode == api.PinModeRecursive)},
		"progress": {"true"}}
	var pins []string
	err = n.call(ctx, request{cmd: "pin/add", query: q}, func(r io.Reader) (err error) {
		pins, err = decodePinAdd(r, progress)
		return err
	})
	if err != nil {
		var ke *Error
		if mode == api.PinModeDirect && errors.As(err, &ke) && strings.Contains(ke.Message, "already pinned recursively") {
			return nil
		}
		return fmt.Errorf("pin %s: %w", c, err)
	}
	if len(pins) == 0 {
		return fmt.Errorf("pin %s: kubo pin/add answered without the pinned CID", c)
	}
	if mode == api.PinModeDirect && progress != nil {
		progress(1)
	}
	return nil
}

// Unpin runs pin/rm (recursive=true removes a recursive or a direct pin).
func (n *Node) Unpin(ctx context.Context, c api.Cid) error {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	q := url.Values{"arg": {c.String()}, "recursive": {"true"}}
	if err := n.call(ctx, request{cmd: "pin/rm", query: q}, drain); err != nil {
		return fmt.Errorf("unpin %s: %w", c, err)
	}
	return nil
}

// IsPinned asks pin/ls for c as a recursive, then as a direct pin: both are index lookups in
// Kubo (type=all would walk every recursive pin looking for an indirect one).
func (n *Node) IsPinned(ctx context.Context, c api.Cid) (bool, api.PinMode, error) {
	ctx, done, err := n.begin(ctx, true)
	if err != nil {
		return false, 0, err
	}
	defer done()
	for _, mode := range []api.PinMode{api.PinModeRecursive, api.PinModeDirect} {
		q := url.Values{"arg": {c.String()}, "type": {mode.String()}, "stream": {"true"}}
		found := false
		err := n.call(ctx, request{cmd: "pin/ls", query: q}, func(r io.Reader) error {
			return decodePinLs(r, func(got api.Cid, m api.PinMode) error {
				found = found || (got.Equals(c.Cid) && m == mode)
				return nil
			})
		})
		switch {
		case errors.Is(err, ipfs.ErrNotPinned):
			continue
		case err != nil:
			return false, 0, fmt.Errorf("pin lookup of %s: %w", c, err)
		case found:
			return true, mode, nil
		}
	}
	return false, 0, nil
}

// PinLs streams the recursive pins, then the direct ones (pin/ls?stream=true).
func (n *Node) PinLs(ctx context.Context, fn func(c api.Cid, mode api.PinMode) error) error {
	ctx, done, err := n.begin(ctx, false)
	if err != nil {
		return err
	}
	defer done()
	for _, mode := range []api.PinMode{api.PinModeRecursive, api.PinModeDirect} {
		q := url.Values{"type": {mode.String()}, "stream": {"true"}}
		var fnErr error
		err := n.call(ctx, request{cmd: "pin/ls", query: q}, func(r io.Reader) error {
			return decodePinLs(r, func(c api.Cid, m api.PinMode) error {
				if fnErr = fn(c, m); fnErr != nil {
					return fnErr
				}
				return nil
			})
		})
		if fnErr != nil {
			return fnErr
		}
		if err != nil {
			return fmt.Errorf("list pins: %w", err)
		}
	}
	return nil
}

func drain(r io.Reader) error {
	_, err := io.Copy(io.Discard, r)
	return err
}
