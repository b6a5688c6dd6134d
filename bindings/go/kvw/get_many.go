package kvw

import (
	"context"
	"strings"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// MaxGetMany is the most keys one GetMany reads (KVW_GET_MANY_MAX).
const MaxGetMany = 1024

// Snapshot is the latest record of several keys as of one point of the
// bucket's history (Bucket.GetMany): every write stored before that point
// is in it, none stored after it.
type Snapshot struct {
	// AsOf is the point: the bucket's revision the snapshot is as of
	// (unknown when none of the keys had a record).
	AsOf Version
	// Entries holds one Entry per key asked for, in that order, as GetEntry
	// reports it (markers and tombstones included); Op is EntryNone and
	// Value nil for a key that had no record.
	Entries []Entry
}

// Get is the entry of key, and whether the snapshot holds a record of it.
func (s Snapshot) Get(key string) (Entry, bool) {
	for _, e := range s.Entries {
		if e.Key == key {
			return e, e.Op != EntryNone
		}
	}
	return Entry{}, false
}

// GetMany reads the latest record of up to MaxGetMany keys as of one point
// of the bucket's history (nats-server 2.11+, FeatureGetMany): a
// consistent snapshot, whose versions a Txn's Update and
// DeleteWithVersion can expect (read-modify-write across keys). A key
// asked for twice gets the same record twice.
func (b *Bucket) GetMany(ctx context.Context, keys ...string) (Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return Snapshot{}, err
	}
	r, err := b.client.c.await(ctx, func(p pending) error { return b.submitMany(keys, p) })
	return r.snapshot, err
}

// GetManyAsync is the async form of GetMany.
func (b *Bucket) GetManyAsync(keys []string, cb func(Snapshot, error)) error {
	if !b.client.c.tryAcquire() {
		return refusal(codeBusy, opGetMany.String(), "", "")
	}
	if cb == nil {
		cb = func(Snapshot, error) {}
	}
	return b.submitMany(keys, pending{many: cb})
}

// submitMany hands the read to the shim (keys each ended by a newline, which
// no valid key holds); the caller holds a window slot, released here if the
// read is refused.
func (b *Bucket) submitMany(keys []string, p pending) error {
	c := b.client.c
	var joined strings.Builder
	for _, k := range keys {
		if strings.ContainsAny(k, "\n\x00") {
			c.release()
			return refusal(codeBadKey, opGetMany.String(), k, "key contains a newline or NUL byte")
		}
		joined.WriteString(k)
		joined.WriteByte('\n')
	}
	return b.hand(opGetMany, "", p, FeatureGetMany, func(id int64) int {
		return native.Kvwb_get_many(b.h, joined.String(), int64(len(keys)), id)
	})
}
