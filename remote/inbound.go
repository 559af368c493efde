package remote

import (
	"bufio"
	"errors"
	"io"
	"net"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// handleStream is the reader of one inbound stream (libp2p runs it on its own goroutine): it
// decodes frames and delivers them to local actors until the stream ends. Input is hostile:
// a malformed or oversize frame ends the stream (the sender's endpoint then fails its
// requests); an undeliverable message gets an error reply and reading goes on.
func (r *Remote) handleStream(s network.Stream) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = s.Reset()
		return
	}
	r.inbound[s] = struct{}{}
	r.wg.Add(1)
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.inbound, s)
		r.mu.Unlock()
		r.wg.Done()
	}()

	from := s.Conn().RemotePeer()
	br := bufio.NewReaderSize(s, 64<<10)
	for {
		b, err := readFrame(br, r.cfg.MaxMessageSize)
		if err != nil {
			switch {
			case errors.Is(err, io.EOF):
				_ = s.Close()
			case r.ctx.Err() != nil:
				_ = s.Reset()
			case errors.Is(err, network.ErrReset) || errors.Is(err, net.ErrClosed):
				// The stream or its connection went (a peer removed, stopped, gone): not
				// the peer's fault (QA: a WARN for each at every removal).
				r.log.Debug("closing inbound stream", "peer", from, "err", err)
				_ = s.Reset()
			default: // a malformed or oversize frame, or one cut off by a clean close
				r.log.Warn("closing inbound stream", "peer", from, "err", err)
				_ = s.Reset()
			}
			return
		}
		env, err := decodeEnvelope(b)
		if err == nil && env.SenderAddress != "" && env.SenderAddress != from.String() {
			// Replies travel back to the sender's address and the trust policy judges the
			// caller by it: only the authenticated connection's peer may sign as sender.
			err = badEnvelope("sender address %q is not the connection's peer %s", env.SenderAddress, from)
		}
		if err != nil {
			r.log.Warn("closing inbound stream", "peer", from, "err", err)
			_ = s.Reset()
			return
		}
		r.deliver(from, env)
	}
}

// deliver hands a decoded envelope to its local target, or answers the sender with an error.
func (r *Remote) deliver(from peer.ID, env *envelope) {
	// A message counts as a reply only when this peer has a request to from outstanding for
	// that local target: a peer cannot inject "replies" into futures it was never asked by.
	isReply := r.pending.answered(from, env.Target)
	var sender *actor.PID
	if env.SenderAddress != "" {
		sender = &actor.PID{Address: env.SenderAddress, Id: env.SenderID, RequestId: env.SenderRequestID}
	}
	_, exists := r.system.ProcessRegistry.GetLocal(env.Target)
	if env.ErrorCode != 0 {
		if !isReply {
			r.log.Debug("dropped an error from a peer that was not asked", "peer", from, "target", env.Target)
			return
		}
		if exists { // else the requester gave up (a future that timed out): nothing to tell
			r.system.Root.Send(r.targetPID(env), &RemoteError{Code: env.ErrorCode, Message: env.ErrorMessage})
		}
		return
	}
	if !exists {
		r.replyError(sender, remoteErr(CodeNotFound, "no actor named %q on peer %s", env.Target, r.self))
		return
	}
	c, ok := r.reg.forName(env.TypeName, env.TypeVersion)
	if !ok {
		r.replyError(sender, remoteErr(CodeUnknownType, "peer %s has no codec for message type %s version %d (sent to actor %q): upgrade that peer or register the type",
			r.self, env.TypeName, env.TypeVersion, env.Target))
		return
	}
	if r.cfg.Authorize != nil {
		if err := r.cfg.Authorize(from, env.TypeName, isReply); err != nil {
			r.log.Warn("refused a remote call", "peer", from, "type", env.TypeName, "target", env.Target, "err", err)
			r.replyError(sender, remoteErr(CodeForbidden, "peer %s refused %s from %s: %v", r.self, env.TypeName, from, err))
			return
		}
	}
	msg, err := c.decode(env.Payload)
	if err != nil {
		r.replyError(sender, remoteErr(CodeBadMessage, "peer %s cannot decode %s/%d for actor %q: %v", r.self, env.TypeName, env.TypeVersion, env.Target, err))
		return
	}
	target := r.targetPID(env)
	if sender != nil {
		r.system.Root.RequestWithCustomSender(target, msg, sender)
	} else {
		r.system.Root.Send(target, msg)
	}
}

// replyError answers an undeliverable message's sender, over the wire when it is remote.
func (r *Remote) replyError(sender *actor.PID, err *RemoteError) {
	if sender == nil {
		r.log.Debug("dropped an undeliverable remote message", "err", err.Message)
		return
	}
	r.system.Root.Send(sender, err)
}

func (r *Remote) targetPID(env *envelope) *actor.PID {
	return &actor.PID{Address: r.address, Id: env.Target, RequestId: env.TargetRequestID}
}
