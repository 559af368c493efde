package remote

import (
	"encoding/binary"
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"google.golang.org/protobuf/proto"
)

// send encodes a message for an actor on another peer and queues it on that peer's endpoint.
// It runs on the sender's goroutine (often inside Receive), so it never blocks on the network:
// failures it can see at once go back to the sender as a *RemoteError.
func (r *Remote) send(pid *actor.PID, message any) {
	_, msg, sender := actor.UnwrapEnvelope(message)
	to, err := peer.Decode(pid.Address)
	if err != nil { // resolve only hands us decodable addresses
		r.failLocal(sender, remoteErr(CodeUnreachable, "peer %q unreachable: not a peer ID: %v", pid.Address, err))
		return
	}
	env := &envelope{Target: pid.Id, TargetRequestID: pid.RequestId}
	local := false
	if sender != nil {
		env.SenderAddress, env.SenderID, env.SenderRequestID = sender.Address, sender.Id, sender.RequestId
		if r.isLocal(sender.Address) {
			env.SenderAddress = r.address
			local = true
		}
	}
	if rerr := r.encodePayload(env, msg, to); rerr != nil {
		r.failLocal(sender, rerr)
		return
	}
	data, rerr := r.encodeFrame(env, msg, to)
	if rerr != nil {
		r.failLocal(sender, rerr)
		return
	}
	f := outFrame{data: data}
	if local {
		f.sender = sender
	}
	if rerr := r.enqueue(to, f); rerr != nil {
		r.failLocal(sender, rerr)
	}
}

// encodePayload fills the message part of env: an error, or a payload from msg's codec.
func (r *Remote) encodePayload(env *envelope, msg any, to peer.ID) *RemoteError {
	switch m := msg.(type) {
	case *RemoteError:
		env.ErrorCode, env.ErrorMessage = m.Code, m.Message
		if env.ErrorCode == 0 { // a hand-made error: code 0 would make the frame invalid
			env.ErrorCode = CodeBadMessage
		}
		return nil
	case *actor.DeadLetterResponse:
		// our system's dead-letter handler answering a remote sender
		env.ErrorCode = CodeNotFound
		env.ErrorMessage = fmt.Sprintf("no such actor on peer %s (dead letter)", r.self)
		return nil
	}
	c, ok := r.reg.forValue(msg)
	if !ok {
		return remoteErr(CodeUnknownType, "message type %T to actor %q on peer %s has no remote codec: register it with remote.Registry.Register", msg, env.Target, to)
	}
	payload, err := c.encode(msg)
	if err != nil {
		return remoteErr(CodeBadMessage, "cannot encode %T (%s/%d) for peer %s: %v", msg, c.Name, c.Version, to, err)
	}
	env.TypeName, env.TypeVersion, env.Payload = c.Name, c.Version, payload
	return nil
}

// encodeFrame returns env as a length-prefixed frame, or CodeTooLarge.
func (r *Remote) encodeFrame(env *envelope, msg any, to peer.ID) ([]byte, *RemoteError) {
	w := env.toWire()
	n := proto.Size(w)
	if n > r.cfg.MaxMessageSize {
		return nil, remoteErr(CodeTooLarge, "message %T to actor %q on peer %s is %d bytes encoded, over max_message_size %d: send it in chunks or raise the limit on both peers",
			msg, env.Target, to, n, r.cfg.MaxMessageSize)
	}
	return appendFrame(make([]byte, 0, binary.MaxVarintLen64+n), w, n), nil
}

// enqueue hands a frame to the peer's endpoint, starting one if needed.
func (r *Remote) enqueue(to peer.ID, f outFrame) *RemoteError {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return remoteErr(CodeClosed, "remote messaging on peer %s is closed", r.self)
		}
		ep := r.endpoints[to]
		if ep == nil {
			ep = newEndpoint(r, to)
			r.endpoints[to] = ep
			// The connection is not protected from the connection manager: an endpoint lives
			// as long as its stream, so every peer ever called would stay connected for good
			// and the set would grow back to a full mesh (tombstone collection calls every
			// member). A new connection is spared for cluster.connection_manager.grace_period;
			// a request on one trimmed later fails as unreachable, as on any lost connection.
			r.wg.Add(1)
			go ep.run()
		}
		r.mu.Unlock()
		if f.sender != nil {
			// counted before the frame can reach the wire, so a fast reply finds it
			r.pending.add(ep, f.sender)
		}
		ok, rerr := ep.push(f)
		if rerr != nil {
			if f.sender != nil {
				r.pending.undo(ep, f.sender)
			}
			return rerr
		}
		if ok {
			return nil
		}
		// ep died between lookup and push (it removed itself from the map); its death
		// may already have failed our pending entry, so retry only if it is still ours.
		if f.sender != nil && !r.pending.undo(ep, f.sender) {
			return nil
		}
	}
}
