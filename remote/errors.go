package remote

import (
	"fmt"

	"github.com/pincluster/pincluster/api"
)

// ErrorCode says why a message was not delivered. It travels on the wire (Envelope.error_code).
type ErrorCode uint32

const (
	// CodeNotFound: no actor with the target name on the receiving peer.
	CodeNotFound ErrorCode = 1
	// CodeUnknownType: the receiving peer has no codec for the message's type name and version.
	CodeUnknownType ErrorCode = 2
	// CodeBadMessage: the payload could not be encoded or decoded by its codec.
	CodeBadMessage ErrorCode = 3
	// CodeUnreachable: the peer could not be dialed, or the connection was lost.
	CodeUnreachable ErrorCode = 4
	// CodeTooLarge: the encoded message exceeds max_message_size.
	CodeTooLarge ErrorCode = 5
	// CodeOverloaded: the outbound queue to the peer is full.
	CodeOverloaded ErrorCode = 6
	// CodeClosed: the Remote was closed.
	CodeClosed ErrorCode = 7
	// CodeForbidden: the receiver's policy (Config.Authorize) refused the caller.
	CodeForbidden ErrorCode = 8
)

// RemoteError is delivered to the sender, in place of a reply, when a message could not be
// delivered: actors that use ctx.Request receive it in Receive, and Request returns it. It
// wraps the api sentinel matching its code (errors.Is(err, api.ErrNotFound), ...).
type RemoteError struct {
	Code    ErrorCode
	Message string
}

func (e *RemoteError) Error() string { return e.Message }

// Unwrap maps the code to an api sentinel error.
func (e *RemoteError) Unwrap() error {
	switch e.Code {
	case CodeNotFound:
		return api.ErrNotFound
	case CodeUnknownType, CodeBadMessage:
		return api.ErrInvalid
	case CodeTooLarge:
		return api.ErrTooLarge
	case CodeForbidden:
		return api.ErrForbidden
	default:
		return api.ErrUnavailable
	}
}

func remoteErr(code ErrorCode, format string, args ...any) *RemoteError {
	return &RemoteError{Code: code, Message: fmt.Sprintf(format, args...)}
}
