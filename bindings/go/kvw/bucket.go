package kvw

import (
	"context"
	"runtime"
	"strings"
	"time"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// Bucket is one KV bucket reached through a Client. It is safe for
// concurrent use. Ops on the same key submitted from one goroutine reach the
// server in submission order.
//
// Every op has a synchronous form, which waits for the outcome and honours
// ctx (a cancelled wait returns ctx.Err(); the op itself still runs to its
// end), and an async form (…Async), which never blocks: it returns at once
// with nil — then its callback runs exactly once, later, on the client's
// callback goroutine — or with the error that refused it (ErrBusy when the
// in-flight window is full, ErrInvalidKey, ErrClosed…), and then the callback
// never runs. Callbacks run one at a time in completion order; they may block,
// submit ops, wait for them, and call Close. A nil callback ignores the
// outcome. Value bytes are copied before a call returns: the caller may reuse
// the slice at once.
type Bucket struct {
	client *Client
	h      native.Kvwb_bucket
	name   string
}

// EntryOp says what the latest record of a key is.
type EntryOp int

const (
	EntryNone   EntryOp = 0 // nothing found
	EntryPut    EntryOp = 1 // a value (possibly empty: a DeleteWithVersion tombstone)
	EntryDelete EntryOp = 2 // a Delete marker
	EntryPurge  EntryOp = 3 // a Purge marker
)

func (o EntryOp) String() string { return native.Kvw_entry_op_name(int(o)) }

// Entry is a key's latest record.
type Entry struct {
	Key     string
	Value   []byte // never nil on success; empty for markers and tombstones
	Version Version
	Op      EntryOp       // Get: always EntryPut
	TTL     time.Duration // the record's own TTL: 0 none, TTLNever, else whole seconds
}

// Name is the bucket's name.
func (b *Bucket) Name() string { return b.name }

// Client is the client the bucket was opened through.
func (b *Bucket) Client() *Client { return b.client }

// MaxValueSize is the largest value Put accepts on this bucket, in bytes.
func (b *Bucket) MaxValueSize() int64 {
	n := native.Kvwb_bucket_max_value_size(b.h)
	runtime.KeepAlive(b)
	return n
}

// Close refuses new ops on this bucket (ErrClosed); pending ops complete
// normally. Idempotent.
func (b *Bucket) Close() error {
	native.Kvwb_bucket_close(b.h)
	runtime.KeepAlive(b)
	return nil
}

// Put stores value under key and returns the new version. With TTL(d) the
// value expires after d (FeatureTTLOnWrite: history-1 buckets only).
func (b *Bucket) Put(ctx context.Context, key string, value []byte, opts ...WriteOption) (Version, error) {
	r, err := b.do(ctx, opPut, key, value, Version{}, ttlOf(opts))
	return r.version, err
}

// Create stores value only if key has no live value: never written, or
// deleted / purged with Delete / Purge. ErrAlreadyExists when it holds a
// value, including the empty-value tombstone of DeleteWithVersion. Of two
// racing creators exactly one wins. With TTL(d) the value expires after d:
// a lock or lease that frees itself (FeatureTTL).
func (b *Bucket) Create(ctx context.Context, key string, value []byte, opts ...WriteOption) (Version, error) {
	r, err := b.do(ctx, opCreate, key, value, Version{}, ttlOf(opts))
	return r.version, err
}

// Update stores value only if the key's latest version is expected, else
// ErrConflict. With TTL(d) it renews a lease (FeatureTTLOnWrite).
func (b *Bucket) Update(ctx context.Context, key string, value []byte, expected Version, opts ...WriteOption) (Version, error) {
	r, err := b.do(ctx, opUpdate, key, value, expected, ttlOf(opts))
	return r.version, err
}

// Delete writes a delete marker (best effort: it succeeds whether or not the
// key existed) and returns the marker's version. With TTL(d) the marker goes
// away after d (FeatureTTLOnWrite: history-1 buckets only).
func (b *Bucket) Delete(ctx context.Context, key string, opts ...WriteOption) (Version, error) {
	r, err := b.do(ctx, opDelete, key, nil, Version{}, ttlOf(opts))
	return r.version, err
}

// DeleteWithVersion deletes logically under CAS: it writes an empty value
// only if the key's latest version is expected, else ErrConflict (also for a
// key that never existed). Create keeps refusing the key until someone
// Updates over the tombstone's version.
func (b *Bucket) DeleteWithVersion(ctx context.Context, key string, expected Version) (Version, error) {
	r, err := b.do(ctx, opDeleteWithVersion, key, nil, expected, noTTL)
	return r.version, err
}

// Purge writes a purge marker that drops the key's history. With TTL(d) the
// marker itself goes away after d (FeatureTTL; nats.go's PurgeTTL).
func (b *Bucket) Purge(ctx context.Context, key string, opts ...WriteOption) (Version, error) {
	r, err := b.do(ctx, opPurge, key, nil, Version{}, ttlOf(opts))
	return r.version, err
}

// Get reads the latest value. ErrNotFound when the key was never written, is
// deleted or purged, or holds an empty value (then the *Error's Version is
// the marker's or tombstone's version).
func (b *Bucket) Get(ctx context.Context, key string) (Entry, error) {
	r, err := b.do(ctx, opGet, key, nil, Version{}, noTTL)
	return r.entry, err
}

// GetEntry reads the latest record as it is: Op says put/delete/purge, empty
// values included, with its version (to Update over a tombstone). ErrNotFound
// only when the key holds no record at all.
func (b *Bucket) GetEntry(ctx context.Context, key string) (Entry, error) {
	r, err := b.do(ctx, opGetEntry, key, nil, Version{}, noTTL)
	return r.entry, err
}

// GetAtLeast is Get that sees at least version min of the key: a version
// another process got from its write. A replica that is behind is bypassed
// (the stream leader is asked, again until the deadline while it is behind
// too; then ErrTimeout). A zero min is refused with ErrInvalidVersion.
func (b *Bucket) GetAtLeast(ctx context.Context, key string, min Version) (Entry, error) {
	if min.IsUnknown() {
		return Entry{}, refusal(codeBadVersion, opGet.String(), key, "GetAtLeast needs a known version")
	}
	r, err := b.do(ctx, opGet, key, nil, min, noTTL)
	return r.entry, err
}

// GetEntryAtLeast is GetEntry that sees at least version min (see GetAtLeast).
func (b *Bucket) GetEntryAtLeast(ctx context.Context, key string, min Version) (Entry, error) {
	if min.IsUnknown() {
		return Entry{}, refusal(codeBadVersion, opGetEntry.String(), key, "GetEntryAtLeast needs a known version")
	}
	r, err := b.do(ctx, opGetEntry, key, nil, min, noTTL)
	return r.entry, err
}

// PutAsync is the async form of Put.
func (b *Bucket) PutAsync(key string, value []byte, cb func(Version, error), opts ...WriteOption) error {
	return b.async(opPut, key, value, Version{}, pending{write: cb, ttl: ttlOf(opts)})
}

// CreateAsync is the async form of Create.
func (b *Bucket) CreateAsync(key string, value []byte, cb func(Version, error), opts ...WriteOption) error {
	return b.async(opCreate, key, value, Version{}, pending{write: cb, ttl: ttlOf(opts)})
}

// UpdateAsync is the async form of Update.
func (b *Bucket) UpdateAsync(key string, value []byte, expected Version, cb func(Version, error), opts ...WriteOption) error {
	return b.async(opUpdate, key, value, expected, pending{write: cb, ttl: ttlOf(opts)})
}

// DeleteAsync is the async form of Delete.
func (b *Bucket) DeleteAsync(key string, cb func(Version, error), opts ...WriteOption) error {
	return b.async(opDelete, key, nil, Version{}, pending{write: cb, ttl: ttlOf(opts)})
}

// DeleteWithVersionAsync is the async form of DeleteWithVersion.
func (b *Bucket) DeleteWithVersionAsync(key string, expected Version, cb func(Version, error)) error {
	return b.async(opDeleteWithVersion, key, nil, expected, pending{write: cb})
}

// PurgeAsync is the async form of Purge.
func (b *Bucket) PurgeAsync(key string, cb func(Version, error), opts ...WriteOption) error {
	return b.async(opPurge, key, nil, Version{}, pending{write: cb, ttl: ttlOf(opts)})
}

// GetAsync is the async form of Get.
func (b *Bucket) GetAsync(key string, cb func(Entry, error)) error {
	return b.async(opGet, key, nil, Version{}, pending{read: cb})
}

// GetEntryAsync is the async form of GetEntry.
func (b *Bucket) GetEntryAsync(key string, cb func(Entry, error)) error {
	return b.async(opGetEntry, key, nil, Version{}, pending{read: cb})
}

// do is a blocking call. Alone on its client it goes through a kvwb_call
// (direct), whose outcome comes straight from the C thread that learns it:
// one thread hop, the lowest latency. With other blocking calls in flight
// it goes through the dispatcher (queued), which hands many outcomes to
// their goroutines per wake-up over channels: a goroutine parked on a
// channel costs Go far less than one parked in a cgo call (an OS thread
// each, and a P to win back on return), so this scales with concurrent
// callers (BENCHMARKS.md, "blocking calls").
func (b *Bucket) do(ctx context.Context, kind opKind, key string, value []byte, expected Version, ttl int64) (result, error) {
	if err := ctx.Err(); err != nil {
		return result{}, err
	}
	c := b.client.c
	defer c.blocking.Add(-1)
	if c.blocking.Add(1) > 1 {
		return b.queued(ctx, kind, key, value, expected, ttl)
	}
	return b.direct(ctx, kind, key, value, expected, ttl)
}

// queued submits the op with a channel for the dispatcher and waits on it.
func (b *Bucket) queued(ctx context.Context, kind opKind, key string, value []byte, expected Version, ttl int64) (result, error) {
	return b.client.c.await(ctx, func(p pending) error {
		p.ttl = ttl
		return b.submit(kind, key, value, expected, p)
	})
}

// await submits an op (submit gets its pending, which carries the channel
// the dispatcher answers on; it holds a window slot, released by submit on
// refusal) and waits for its result or ctx. ErrBusy from submit is waited
// out.
func (c *core) await(ctx context.Context, submit func(pending) error) (result, error) {
	ch := make(chan result, 1)
	var refused error
	_, err := c.whileBusy(ctx, func() int {
		c.inflight.Add(1)
		refused = submit(pending{ch: ch})
		if e, ok := refused.(*Error); ok && e.Code == codeBusy {
			return codeBusy
		}
		return 0
	})
	if err == nil {
		err = refused
	}
	if err != nil {
		return result{}, err
	}
	select {
	case r := <-ch:
		return r, r.err
	case <-ctx.Done():
		select {
		case r := <-ch:
			return r, r.err
		default:
			return result{}, ctx.Err()
		}
	}
}

// whileBusy calls try until it returns anything but codeBusy (kvw's window
// is full), waiting in between until the window may have room again: a
// delivery (progress), or a millisecond (direct calls end without
// notifying). It returns try's last code, or ctx's error.
func (c *core) whileBusy(ctx context.Context, try func() int) (int, error) {
	for {
		progress := c.progress.wait()
		rc := try()
		if rc != codeBusy {
			c.progress.done()
			return rc, nil
		}
		select {
		case <-progress:
		case <-time.After(time.Millisecond):
		case <-ctx.Done():
			c.progress.done()
			return rc, ctx.Err()
		}
		c.progress.done()
	}
}

// direct makes the call through a kvwb_call. kvw's window (max_inflight)
// frees as ops end, and the call waits for that instead of failing with
// ErrBusy. A context that can end is checked every ctxSlice while waiting;
// the op then goes on without the caller (counted in Inflight until it
// ends), its outcome dropped.
func (b *Bucket) direct(ctx context.Context, kind opKind, key string, value []byte, expected Version, ttl int64) (result, error) {
	if strings.IndexByte(key, 0) >= 0 { // a C string would end there
		return result{}, refusal(codeBadKey, kind.String(), key, "key contains a NUL byte")
	}
	c := b.client.c
	call := native.Kvwb_call_new()
	if call.Swigcptr() == 0 {
		return result{}, refusal(codeNoMemory, kind.String(), key, "")
	}
	var version string
	if kind == opUpdate || kind == opDeleteWithVersion || (kind.isRead() && !expected.IsUnknown()) {
		version = expected.String()
	}
	c.inflight.Add(1)
	rc, err := c.whileBusy(ctx, func() int {
		return native.Kvwb_call_start(call, b.h, kvwOp[kind], key, value, version, ttl)
	})
	if err != nil || rc != 0 {
		c.release()
		native.Kvwb_call_free(call)
		if err != nil {
			return result{}, err
		}
		msg := ""
		if rc == codeNotSupported {
			msg = b.FeatureStatus(kind.ttlFeature())
		}
		return result{}, refusal(rc, kind.String(), key, msg)
	}
	if ctx.Done() == nil {
		native.Kvwb_call_wait(call, -1)
	} else {
		for native.Kvwb_call_wait(call, ctxSlice) == 0 {
			if err := ctx.Err(); err != nil {
				// The op goes on: it holds its window slot until it ends.
				go func() {
					native.Kvwb_call_wait(call, -1)
					native.Kvwb_call_free(call)
					c.release()
					c.progress.notify()
				}()
				return result{}, err
			}
		}
	}
	// Until here: an unreachable Bucket's cleanup frees the C bucket, and an
	// unreachable Client's closes the client, which would end the op.
	runtime.KeepAlive(b)
	rec := native.Kvwb_call_result(call)
	native.Kvwb_call_free(call)
	c.release()
	c.progress.notify()
	if rec.Swigcptr() == 0 {
		return result{}, refusal(codeNoMemory, kind.String(), key, "")
	}
	r := decode(rec, pending{key: key, kind: kind})
	native.Kvwb_completion_free(rec)
	return r, r.err
}

// ctxSlice (ms) bounds how late a blocking call notices its context ended.
const ctxSlice = 10

// kvwOp is the KVW_OP_* of each opKind.
var kvwOp = [...]int{
	opPut: native.KVW_OP_PUT, opCreate: native.KVW_OP_CREATE, opUpdate: native.KVW_OP_UPDATE,
	opDelete: native.KVW_OP_DELETE, opDeleteWithVersion: native.KVW_OP_DELETE_WITH_VERSION,
	opPurge: native.KVW_OP_PURGE, opGet: native.KVW_OP_GET, opGetEntry: native.KVW_OP_GET_ENTRY,
	opTxn: native.KVW_OP_TXN,
}

// async submits op kind with a callback, or refuses it at once.
func (b *Bucket) async(kind opKind, key string, value []byte, expected Version, p pending) error {
	if !b.client.c.tryAcquire() {
		return refusal(codeBusy, kind.String(), key, "")
	}
	return b.submit(kind, key, value, expected, p)
}

// submit hands the op to the shim; the caller holds a window slot, which is
// released here if the op is refused and after its delivery otherwise.
func (b *Bucket) submit(kind opKind, key string, value []byte, expected Version, p pending) error {
	if strings.IndexByte(key, 0) >= 0 { // a C string would end there
		b.client.c.release()
		return refusal(codeBadKey, kind.String(), key, "key contains a NUL byte")
	}
	return b.hand(kind, key, p, kind.ttlFeature(), func(id int64) int {
		if p.ttl != noTTL {
			return b.submitTTL(kind, key, value, expected, p.ttl, id)
		}
		return b.submitPlain(kind, key, value, expected, id)
	})
}

// hand registers op p under a new id and submits it with call (a kvwb_*
// submit given that id). The caller holds a window slot, released here if
// the op is refused; a refusal with ErrNotSupported says what the bucket
// lacks for feature.
func (b *Bucket) hand(kind opKind, key string, p pending, feature Feature, call func(id int64) int) error {
	c := b.client.c
	p.key, p.kind = key, kind
	id := c.nextID.Add(1)
	c.add(id, p, b.client)
	rc := call(id)
	runtime.KeepAlive(b) // the C bucket is freed by b's cleanup
	if rc != 0 {
		c.take(id)
		c.release()
		msg := ""
		if rc == codeNotSupported {
			msg = b.FeatureStatus(feature)
		}
		return refusal(rc, kind.String(), key, msg)
	}
	return nil
}

func (b *Bucket) submitPlain(kind opKind, key string, value []byte, expected Version, id int64) int {
	var rc int
	switch kind {
	case opPut:
		rc = native.Kvwb_put(b.h, key, value, id)
	case opCreate:
		rc = native.Kvwb_create(b.h, key, value, id)
	case opUpdate:
		rc = native.Kvwb_update(b.h, key, value, expected.String(), id)
	case opDelete:
		rc = native.Kvwb_delete(b.h, key, id)
	case opDeleteWithVersion:
		rc = native.Kvwb_delete_with_version(b.h, key, expected.String(), id)
	case opPurge:
		rc = native.Kvwb_purge(b.h, key, id)
	case opGet, opGetEntry:
		rc = b.submitRead(kind, key, expected, id)
	}
	return rc
}

// submitRead: `min` is the version a read must see at least (none when unknown).
func (b *Bucket) submitRead(kind opKind, key string, min Version, id int64) int {
	switch {
	case kind == opGet && min.IsUnknown():
		return native.Kvwb_get(b.h, key, id)
	case kind == opGet:
		return native.Kvwb_get_at_least(b.h, key, min.String(), id)
	case min.IsUnknown():
		return native.Kvwb_get_entry(b.h, key, id)
	default:
		return native.Kvwb_get_entry_at_least(b.h, key, min.String(), id)
	}
}

func (b *Bucket) submitTTL(kind opKind, key string, value []byte, expected Version, ttl int64, id int64) int {
	switch kind {
	case opPut:
		return native.Kvwb_put_ttl(b.h, key, value, ttl, id)
	case opCreate:
		return native.Kvwb_create_ttl(b.h, key, value, ttl, id)
	case opUpdate:
		return native.Kvwb_update_ttl(b.h, key, value, expected.String(), ttl, id)
	case opPurge:
		return native.Kvwb_purge_ttl(b.h, key, ttl, id)
	case opDelete:
		return native.Kvwb_delete_ttl(b.h, key, ttl, id)
	}
	return codeInvalid // TTL is only offered on the ops above
}
