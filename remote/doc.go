// Package remote carries actor messages between peers over libp2p streams, so actors use
// ctx.Request, ctx.Send and ctx.Respond across peers exactly as they do locally.
//
// It plugs into protoactor's process registry: New sets the actor system's address to the
// host's peer ID and registers an address resolver, so a PID whose Address is another peer's
// ID resolves to a process that encodes the message (target, sender, type, payload) and queues
// it on that peer's endpoint. Each endpoint owns one outbound libp2p stream (ProtocolID) and a
// writer goroutine, so messages to a peer arrive in the order they were sent. The receiving
// peer decodes each frame on the stream's reader goroutine and delivers it to the local actor
// with the remote sender, so the target's ctx.Respond travels back the same way on the
// receiver's own stream to the sender's peer. protoactor's gRPC remote is not used.
//
// Every message type that crosses peers is registered in a Registry under a stable name and
// version: ProtoCodec for a schema in a .proto file (internal/wirepb), JSONCodec for plain
// structs (tests, and the JSON forms older peers send); a ReceiveOnly codec adds a second form
// a type is read in but not sent.
//
// Versions and compatibility: the frame's Envelope is internal/wirepb/envelope.proto, encoded by
// the generated code; testdata/golden pins its bytes, so a later version still reads what this
// one wrote. Fields may be added (decoders skip unknown ones); a change older peers must not
// misread gets a new ProtocolID. A payload is identified by its codec's name and version, so a
// type changes its wire form by registering a new version: during a rolling upgrade a peer
// sends the form every peer reads and reads both (ReceiveOnly), and the old form goes a release
// after nobody sends it.
//
// Failures come back as a *RemoteError in place of the reply, never as silence: no actor with
// that name on the peer (api.ErrNotFound), a type the receiver has no codec for
// (api.ErrInvalid), a message over MaxMessageSize (api.ErrTooLarge), and a peer that cannot be
// dialed or whose connection is lost (api.ErrUnavailable; requests in flight fail at once).
// Only user messages cross peers: watch and stop (system messages) and message headers do not.
//
// Usage:
//
//	reg := remote.NewRegistry()
//	_ = reg.Register(remote.JSONCodec[messages.RecoverPin]("tracker.recover_pin", 1))
//	_ = reg.Register(remote.JSONCodec[messages.RecoverPinResponse]("tracker.recover_pin_response", 1))
//
//	system := actor.NewActorSystem()
//	r, err := remote.New(host, system, reg, remote.Config{}, log) // before spawning actors
//	if err != nil { ... }
//	defer r.Close()
//
//	// Inside an actor: ask the tracker on another peer; the reply (or a *remote.RemoteError)
//	// arrives later in Receive.
//	ctx.Request(r.PID(otherPeer, "tracker"), &messages.RecoverPin{...})
//
//	// From a facade (not an actor): wait for the reply with a context.
//	reply, err := r.Request(ctx, r.PID(otherPeer, "tracker"), &messages.RecoverPin{...})
//	if errors.Is(err, api.ErrTimeout) { ... } // "peer X did not answer within 10s"
package remote
