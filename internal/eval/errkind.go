package eval

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/tunelab/tunelab/internal/provider"
)

// Kinds of failure a call can end in, as CallResult.ErrorKind records them.
const (
	ErrRateLimited = "rate_limited" // 429: the provider asked to slow down
	ErrServer      = "server_error" // 5xx
	ErrTimeout     = "timeout"      // no answer in time
	ErrMalformed   = "malformed"    // an answer that could not be read
	ErrRejected    = "rejected"     // another 4xx: the request or key was refused
	ErrNetwork     = "network"      // the connection failed
	ErrOther       = "other"        // anything else (a prompt that would not render, a retrieval failure)
)

// ErrorKind sorts a call's error by cause, so a run's failures can be
// counted by what went wrong rather than read one message at a time.
func ErrorKind(err error) string {
	if err == nil {
		return ""
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		switch {
		case pe.StatusCode == 429:
			return ErrRateLimited
		case pe.StatusCode >= 500:
			return ErrServer
		case pe.StatusCode >= 400:
			return ErrRejected
		}
	}
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ErrTimeout
	case errors.As(err, &se), errors.As(err, &te), errors.Is(err, io.ErrUnexpectedEOF),
		strings.Contains(err.Error(), "parsing response json"):
		return ErrMalformed
	case errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.As(err, &ne):
		return ErrNetwork
	case pe != nil:
		return ErrNetwork // a provider error with no status: the call got no answer
	}
	return ErrOther
}
