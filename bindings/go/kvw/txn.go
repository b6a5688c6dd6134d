package kvw

import (
	"context"
	"runtime"
	"strings"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// MaxTxnWrites is the most writes one transaction may hold (the server's
// batch limit; KVW_TXN_MAX_WRITES).
const MaxTxnWrites = 1000

// Txn is a transaction on one bucket: the writes added to it are stored all
// together or not at all by Commit, as one atomic batch (nats-server 2.12+,
// a bucket with FeatureAtomicBatch: BucketOptions.AllowAtomic).
//
// Each write means what its Bucket method means, checked against the keys as
// they were before the transaction: Create succeeds on a key without a live
// value (also over a delete marker), Update and DeleteWithVersion need the
// key's latest version to be expected. A Txn is not safe for concurrent use.
// Once a Commit or CommitAsync is accepted it is empty and may be reused;
// a refused one keeps its writes.
type Txn struct {
	b *Bucket
	h native.Kvwb_txn
}

// Txn starts a transaction on the bucket: ErrNotSupported (its message says
// what is missing: the server's version or the bucket's allow_atomic) when
// the bucket cannot take one.
func (b *Bucket) Txn() (*Txn, error) {
	h := native.Kvwb_txn_new()
	if h.Swigcptr() == 0 {
		return nil, refusal(codeNoMemory, opTxn.String(), "", "")
	}
	rc := native.Kvwb_txn_open(h, b.h)
	runtime.KeepAlive(b)
	if rc != 0 {
		native.Kvwb_txn_free(h)
		msg := ""
		if rc == codeNotSupported {
			msg = b.FeatureStatus(FeatureAtomicBatch)
		}
		return nil, refusal(rc, opTxn.String(), "", msg)
	}
	t := &Txn{b: b, h: h}
	runtime.AddCleanup(t, func(h native.Kvwb_txn) { native.Kvwb_txn_free(h) }, h)
	return t, nil
}

// Put adds a write of value under key. Value bytes are copied.
func (t *Txn) Put(key string, value []byte) error {
	return t.add(opPut, key, func() int { return native.Kvwb_txn_put(t.h, key, value) })
}

// Create adds a write of value that needs key to hold no live value.
func (t *Txn) Create(key string, value []byte) error {
	return t.add(opCreate, key, func() int { return native.Kvwb_txn_create(t.h, key, value) })
}

// Update adds a write of value that needs key's latest version to be
// expected. A key the transaction already writes cannot be checked:
// ErrInvalid.
func (t *Txn) Update(key string, value []byte, expected Version) error {
	return t.add(opUpdate, key, func() int { return native.Kvwb_txn_update(t.h, key, value, expected.String()) })
}

// Delete adds a delete marker for key.
func (t *Txn) Delete(key string) error {
	return t.add(opDelete, key, func() int { return native.Kvwb_txn_delete(t.h, key) })
}

// DeleteWithVersion adds an empty value (a tombstone) that needs key's
// latest version to be expected.
func (t *Txn) DeleteWithVersion(key string, expected Version) error {
	return t.add(opDeleteWithVersion, key, func() int {
		return native.Kvwb_txn_delete_with_version(t.h, key, expected.String())
	})
}

func (t *Txn) add(kind opKind, key string, add func() int) error {
	if strings.IndexByte(key, 0) >= 0 { // a C string would end there
		return refusal(codeBadKey, kind.String(), key, "key contains a NUL byte")
	}
	rc := add()
	runtime.KeepAlive(t)
	if rc != 0 {
		msg := ""
		switch rc {
		case codeInvalid:
			msg = "the transaction already writes this key: an expected version cannot be checked after that"
		case native.KVW_ETOOBIG:
			msg = "value too large, or the transaction holds MaxTxnWrites writes"
		}
		return refusal(rc, kind.String(), key, msg)
	}
	return nil
}

// Len is the number of writes added since the Txn was made or last committed.
func (t *Txn) Len() int {
	n := native.Kvwb_txn_len(t.h)
	runtime.KeepAlive(t)
	return max(n, 0)
}

// Commit stores every write or none and returns each write's new version,
// in the order added. A refused expectation is an *Error matching
// ErrConflict (or ErrAlreadyExists for a Create) whose Key and Version name
// the key and its current version, when the server's answer says; nothing
// was stored then. ErrTimeout: all or nothing was stored, never a part.
// A cancelled ctx returns ctx.Err(); the commit still runs to its end.
func (t *Txn) Commit(ctx context.Context) ([]Version, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.Len() == 0 {
		return nil, refusal(codeInvalid, opTxn.String(), "", "no writes to commit")
	}
	r, err := t.b.client.c.await(ctx, t.submit)
	return r.versions, err
}

// CommitAsync is the async form of Commit: nil, and cb runs once later on
// the client's callback goroutine, or the error that refused it (ErrBusy
// when the in-flight window is full) and cb never runs.
func (t *Txn) CommitAsync(cb func([]Version, error)) error {
	if t.Len() == 0 {
		return refusal(codeInvalid, opTxn.String(), "", "no writes to commit")
	}
	if !t.b.client.c.tryAcquire() {
		return refusal(codeBusy, opTxn.String(), "", "")
	}
	return t.submit(pending{txn: cb})
}

// submit hands the commit to the shim; the caller holds a window slot,
// released here if the commit is refused and after its delivery otherwise.
func (t *Txn) submit(p pending) error {
	if p.txn == nil && p.ch == nil {
		p.txn = func([]Version, error) {}
	}
	return t.b.hand(opTxn, "", p, FeatureAtomicBatch, func(id int64) int {
		rc := native.Kvwb_txn_commit(t.h, id)
		runtime.KeepAlive(t)
		return rc
	})
}
