package kvw

import (
	"context"
	"errors"
	"fmt"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// Sentinel errors, one per kvw error code. Every error returned by this
// package for a kvw failure is an *Error whose Unwrap gives one of these, so
// test with errors.Is(err, kvw.ErrConflict) and read the details with
// errors.As(err, &kerr).
var (
	ErrInvalid           = errors.New("kvw: invalid argument")                      // KVW_EINVAL
	ErrInvalidKey        = errors.New("kvw: invalid key")                           // KVW_EBADKEY
	ErrInvalidBucketName = errors.New("kvw: invalid bucket name")                   // KVW_EBADNAME
	ErrInvalidVersion    = errors.New("kvw: invalid version")                       // KVW_EBADVERSION
	ErrTooBig            = errors.New("kvw: value too big")                         // KVW_ETOOBIG
	ErrAlreadyExists     = errors.New("kvw: key already exists")                    // KVW_EEXIST
	ErrConflict          = errors.New("kvw: version conflict")                      // KVW_ECONFLICT
	ErrNotFound          = errors.New("kvw: key not found")                         // KVW_ENOTFOUND
	ErrTimeout           = errors.New("kvw: timed out")                             // KVW_ETIMEDOUT
	ErrNotConnected      = errors.New("kvw: not connected")                         // KVW_ENOTCONN
	ErrNoBucket          = errors.New("kvw: no such bucket")                        // KVW_ENOBUCKET
	ErrFull              = errors.New("kvw: bucket or server storage full")         // KVW_EFULL
	ErrClosed            = errors.New("kvw: closed")                                // KVW_ECLOSED
	ErrBusy              = errors.New("kvw: in-flight window full")                 // KVW_EBUSY
	ErrNoMemory          = errors.New("kvw: out of memory")                         // KVW_ENOMEM
	ErrAuth              = errors.New("kvw: authentication failed")                 // KVW_EAUTH
	ErrPermission        = errors.New("kvw: permission denied")                     // KVW_EPERM
	ErrTLS               = errors.New("kvw: TLS failure")                           // KVW_ETLS
	ErrServer            = errors.New("kvw: server error")                          // KVW_ESERVER
	ErrInternal          = errors.New("kvw: internal error")                        // KVW_EINTERNAL
	ErrNotSupported      = errors.New("kvw: not supported by the server or bucket") // KVW_ENOTSUP
	ErrInvalidTTL        = errors.New("kvw: invalid TTL")                           // KVW_EBADTTL
)

// The KVW_E* codes, read once from the native module.
var (
	codeInvalid      = native.KVW_EINVAL
	codeBadKey       = native.KVW_EBADKEY
	codeBadName      = native.KVW_EBADNAME
	codeBadVersion   = native.KVW_EBADVERSION
	codeExists       = native.KVW_EEXIST
	codeConflict     = native.KVW_ECONFLICT
	codeNotFound     = native.KVW_ENOTFOUND
	codeClosed       = native.KVW_ECLOSED
	codeBusy         = native.KVW_EBUSY
	codeNotSupported = native.KVW_ENOTSUP
	codeNoMemory     = native.KVW_ENOMEM
)

var sentinels = map[int]error{
	native.KVW_EINVAL:      ErrInvalid,
	native.KVW_EBADKEY:     ErrInvalidKey,
	native.KVW_EBADNAME:    ErrInvalidBucketName,
	native.KVW_EBADVERSION: ErrInvalidVersion,
	native.KVW_ETOOBIG:     ErrTooBig,
	native.KVW_EEXIST:      ErrAlreadyExists,
	native.KVW_ECONFLICT:   ErrConflict,
	native.KVW_ENOTFOUND:   ErrNotFound,
	native.KVW_ETIMEDOUT:   ErrTimeout,
	native.KVW_ENOTCONN:    ErrNotConnected,
	native.KVW_ENOBUCKET:   ErrNoBucket,
	native.KVW_EFULL:       ErrFull,
	native.KVW_ECLOSED:     ErrClosed,
	native.KVW_EBUSY:       ErrBusy,
	native.KVW_ENOMEM:      ErrNoMemory,
	native.KVW_EAUTH:       ErrAuth,
	native.KVW_EPERM:       ErrPermission,
	native.KVW_ETLS:        ErrTLS,
	native.KVW_ESERVER:     ErrServer,
	native.KVW_EINTERNAL:   ErrInternal,
	native.KVW_ENOTSUP:     ErrNotSupported,
	native.KVW_EBADTTL:     ErrInvalidTTL,
}

// Error is a kvw failure: the code and message kvw reported for one op (or
// for connecting / opening a bucket), with the JetStream error code when the
// server gave one.
type Error struct {
	Code        int     // negative KVW_E* code, e.g. -7 for KVW_ECONFLICT
	Op          string  // "put", "create", …, "get_entry", "connect", "open bucket"
	Key         string  // the op's key (the bucket name for "open bucket")
	Message     string  // kvw's human-readable description
	ServerError int     // JetStream err_code (10071: wrong last sequence), 0 if none
	Version     Version // ErrConflict/ErrAlreadyExists: the key's current version when the server said; ErrNotFound from Get: the delete/purge marker's version

	// refused: the op was refused before anything was sent (its outcome is known).
	refused bool
}

func (e *Error) Error() string {
	s := "kvw"
	if e.Op != "" {
		s += " " + e.Op
	}
	if e.Key != "" {
		s += fmt.Sprintf(" %q", e.Key)
	}
	s += ": " + e.Message + " [" + e.Name()
	if e.ServerError != 0 {
		s += fmt.Sprintf(", JetStream %d", e.ServerError)
	}
	return s + "]"
}

// Unwrap returns the sentinel of the code (ErrConflict for KVW_ECONFLICT…),
// so errors.Is works.
func (e *Error) Unwrap() error {
	if s, ok := sentinels[e.Code]; ok {
		return s
	}
	return ErrInternal
}

// Name is the code's C name, e.g. "KVW_ECONFLICT".
func (e *Error) Name() string { return native.Kvw_err_name(e.Code) }

// Retryable reports whether repeating the same op later may succeed
// (timeout, not connected, busy).
func (e *Error) Retryable() bool { return native.Kvw_err_is_retryable(e.Code) == 1 }

// OutcomeUnknown reports whether a write that failed this way may
// nevertheless have been stored (a timeout; a write cancelled by Close after
// it was sent). Read the key back before deciding. False for ops refused
// before anything was sent.
func (e *Error) OutcomeUnknown() bool {
	return !e.refused && native.Kvw_err_outcome_unknown(e.Code) == 1
}

// IsRetryable reports whether err is a kvw error after which repeating the
// same op may succeed (ErrTimeout, ErrNotConnected, ErrBusy).
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Retryable()
}

// IsOutcomeUnknown reports whether a write that returned err may nevertheless
// have been stored: a kvw timeout, a write cancelled by Close after it was
// sent, and also context.Canceled / context.DeadlineExceeded, since an op
// whose wait was abandoned still runs to completion.
func IsOutcomeUnknown(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.OutcomeUnknown()
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// refusal is the error of an op (or call) refused before anything was sent.
func refusal(code int, op, key, msg string) *Error {
	if msg == "" {
		msg = native.Kvw_strerror(code)
	}
	return &Error{Code: code, Op: op, Key: key, Message: msg, refused: true}
}
