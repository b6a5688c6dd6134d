package kvw

import (
	"context"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// Client is one NATS connection with its JetStream context and completion
// queue. It is safe for concurrent use. Close it when done; a Client that
// becomes unreachable with no op pending is closed by the garbage collector.
type Client struct {
	c *core
}

// defaultConnectTimeout is kvw's connect_timeout_ms default, so that a
// Connect deadline can cap it.
const defaultConnectTimeout = 2 * time.Second

// LibraryVersion is the version of the libkvw linked at run time ("0.2.0").
func LibraryVersion() string { return native.Kvw_library_version_string() }

// checkLibrary refuses a libkvw older than (or of another major version
// than) the header this package was built with.
func checkLibrary() *Error {
	if native.Kvw_library_check_version(native.KVW_VERSION_NUMBER) != 0 {
		return refusal(codeInvalid, "connect", "", "libkvw "+LibraryVersion()+" cannot serve this binding (built for a newer header)")
	}
	return nil
}

// Connect connects to NATS (blocking, up to ConnectTimeout per server, and
// no longer than ctx allows) and starts the client's dispatcher. opts may be
// nil for defaults. If ctx ends first Connect returns ctx.Err() and the
// half-open connection is closed in the background.
func Connect(ctx context.Context, opts *ClientOptions) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkLibrary(); err != nil {
		return nil, err
	}
	var o ClientOptions
	if opts != nil {
		o = *opts
	}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		if left <= 0 {
			return nil, context.DeadlineExceeded
		}
		if o.ConnectTimeout == 0 {
			o.ConnectTimeout = defaultConnectTimeout
		}
		o.ConnectTimeout = min(o.ConnectTimeout, left)
	}
	no, kerr := o.native()
	if kerr != nil {
		return nil, kerr
	}
	h := native.Kvwb_client_new()
	if h.Swigcptr() == 0 {
		native.Kvwb_client_options_free(no)
		return nil, refusal(native.KVW_ENOMEM, "connect", "", "")
	}
	open := func() int {
		rc := native.Kvwb_client_open(h, no)
		native.Kvwb_client_options_free(no)
		return rc
	}
	rc, err := blocking(ctx, open, func() {
		native.Kvwb_client_close(h) // the shim closes it as soon as the open ends
	}, func(rc int) {
		native.Kvwb_client_free(h)
	})
	if err != nil {
		return nil, err
	}
	if rc != 0 {
		native.Kvwb_client_free(h)
		return nil, refusal(rc, "connect", strings.Join(o.Servers, ","), "")
	}
	max := int64(o.MaxInflight)
	if max == 0 {
		max = DefaultMaxInflight
	}
	cl := &Client{c: newCore(h, max)}
	runtime.AddCleanup(cl, func(c *core) { go c.free() }, cl.c)
	return cl, nil
}

// blocking runs call, a blocking cgo call, and returns its result; if ctx
// ends first it calls abort (may be nil), returns ctx.Err(), and hands the
// result to abandon once call finishes.
func blocking(ctx context.Context, call func() int, abort func(), abandon func(int)) (int, error) {
	if ctx.Done() == nil {
		return call(), nil
	}
	done := make(chan int, 1)
	go func() { done <- call() }()
	select {
	case rc := <-done:
		return rc, nil
	case <-ctx.Done():
		select {
		case rc := <-done:
			return rc, nil
		default:
		}
		if abort != nil {
			abort()
		}
		go func() { abandon(<-done) }()
		return 0, ctx.Err()
	}
}

// testHookFreed, when set by a test, learns each C handle freed by a cleanup.
var testHookFreed atomic.Pointer[func(uintptr)]

func freed(h uintptr) {
	if f := testHookFreed.Load(); f != nil {
		(*f)(h)
	}
}

// free is the cleanup of an unreachable Client (no op pending by then).
func (c *core) free() {
	c.close()
	<-c.runnerDone
	native.Kvwb_client_free(c.h)
	freed(c.h.Swigcptr())
}

// Close closes the client: new ops fail with ErrClosed, and every op not yet
// completed completes once — usually with ErrClosed (a write already sent may
// have landed: see IsOutcomeUnknown), or with its real outcome if the
// server's reply was already in. Synchronous calls return, and Close waits
// until every async callback has run, unless it is called from inside a
// callback (it then returns once the remaining callbacks are queued; they run
// after the current one returns). Close does not wait for the server.
// Idempotent; buckets of a closed client refuse new ops.
func (cl *Client) Close() error {
	cl.c.close()
	if !inCallback() {
		<-cl.c.runnerDone
	}
	runtime.KeepAlive(cl)
	return nil
}

// Drain waits until every op accepted so far has its outcome, at most
// timeout, then closes the client as Close does; new ops fail with ErrClosed
// from the start. With resends on, writes whose ack was lost get their real
// outcome meanwhile instead of ErrClosed. It returns nil, or an error
// matching ErrTimeout when ops still in flight at the end were cancelled
// (they complete with ErrClosed). nil at once on a closed client.
func (cl *Client) Drain(timeout time.Duration) error {
	if timeout < 0 {
		return refusal(codeInvalid, "drain", "", "negative timeout")
	}
	rc := cl.c.closeWith(func() int { return native.Kvwb_client_drain(cl.c.h, millis(timeout)) })
	if !inCallback() {
		<-cl.c.runnerDone
	}
	runtime.KeepAlive(cl)
	if rc != 0 {
		return refusal(rc, "drain", "", "ops still in flight after the timeout were cancelled")
	}
	return nil
}

// Inflight is the number of ops accepted by this client and not yet
// completed (an async op counts until its callback has returned).
func (cl *Client) Inflight() int { return int(cl.c.inflight.Load()) }

// WaitForCapacity blocks until the in-flight window has room after an async
// submit returned ErrBusy — it wakes once the window has drained by an
// eighth, so a burst fits — or until ctx ends (ctx.Err()) or the client is
// closed (ErrClosed). Room may be taken by another goroutine before you
// submit. Do not call it from a callback: the window drains as callbacks
// return.
func (cl *Client) WaitForCapacity(ctx context.Context) error {
	c := cl.c
	for {
		if c.closing.Load() {
			return refusal(codeClosed, "", "", "")
		}
		ch := c.room.wait()
		if c.inflight.Load() < c.max {
			c.room.done()
			return nil
		}
		select {
		case <-ch:
			c.room.done()
		case <-ctx.Done():
			c.room.done()
			return ctx.Err()
		}
	}
}

// Bucket opens KV bucket name (blocking: one JetStream request, two when it
// is created). opts may be nil. If ctx ends first Bucket returns ctx.Err()
// and the bucket is released when the open finishes.
func (cl *Client) Bucket(ctx context.Context, name string, opts *BucketOptions) (*Bucket, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.IndexByte(name, 0) >= 0 {
		return nil, refusal(codeBadName, "open bucket", name, "bucket name contains a NUL byte")
	}
	var o BucketOptions
	if opts != nil {
		o = *opts
	}
	no, kerr := o.native(name)
	if kerr != nil {
		return nil, kerr
	}
	h := native.Kvwb_bucket_new()
	if h.Swigcptr() == 0 {
		native.Kvwb_bucket_options_free(no)
		return nil, refusal(native.KVW_ENOMEM, "open bucket", name, "")
	}
	ch := cl.c.h
	open := func() int {
		rc := native.Kvwb_bucket_open(h, ch, name, no)
		native.Kvwb_bucket_options_free(no)
		runtime.KeepAlive(cl)
		return rc
	}
	rc, err := blocking(ctx, open, nil, func(int) { native.Kvwb_bucket_free(h) })
	if err != nil {
		return nil, err
	}
	if rc != 0 {
		native.Kvwb_bucket_free(h)
		return nil, refusal(rc, "open bucket", name, "")
	}
	b := &Bucket{client: cl, h: h, name: native.Kvwb_bucket_name(h)}
	runtime.AddCleanup(b, func(h native.Kvwb_bucket) {
		native.Kvwb_bucket_free(h)
		freed(h.Swigcptr())
	}, h)
	return b, nil
}
