package kvw

import (
	"context"
	"fmt"
	"runtime"
	"time"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
)

// TTLNever as a TTL keeps the record forever, even in a bucket with MaxAge.
const TTLNever time.Duration = -1

// noTTL marks an op sent without a Nats-TTL header (the plain shim call).
const noTTL int64 = 0

// A WriteOption changes one write (Put, Create, Update, Delete, Purge).
type WriteOption func(*writeOptions)

type writeOptions struct {
	ttl    time.Duration
	hasTTL bool
}

// TTL gives the written record its own time to live (nats-server 2.11+,
// ADR-48): the server removes it d after it was stored, and the key reads
// as not found (Create succeeds on it again). d is whole seconds, at least
// 1s, or TTLNever; anything else fails with ErrInvalidTTL. On a bucket
// without the feature the op fails with ErrNotSupported and a message
// saying what is missing (see Bucket.FeatureStatus).
func TTL(d time.Duration) WriteOption {
	return func(o *writeOptions) { o.ttl, o.hasTTL = d, true }
}

// ttlOf is the TTL in ms to hand to the shim, or noTTL.
func ttlOf(opts []WriteOption) int64 {
	var o writeOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	switch {
	case !o.hasTTL:
		return noTTL
	case o.ttl == TTLNever:
		return int64(native.KVW_TTL_NEVER)
	case o.ttl <= 0:
		return -2 // kvw refuses it with ErrInvalidTTL, as it does 0
	}
	return millis(o.ttl)
}

func ttlFromMillis(ms int64) time.Duration {
	if ms == int64(native.KVW_TTL_NEVER) {
		return TTLNever
	}
	return time.Duration(ms) * time.Millisecond
}

// Feature is something a bucket can do depending on the server's version
// and its stream configuration.
type Feature int

const (
	FeatureTTL          Feature = 1 // Create/Purge with TTL: nats-server 2.11+, bucket with AllowTTL
	FeatureTTLOnWrite   Feature = 2 // Put/Update with TTL: FeatureTTL and history 1
	FeatureLimitMarkers Feature = 3 // aged-out keys leave a purge marker (LimitMarkerTTL)
	FeatureAtomicBatch  Feature = 4 // transactions (Txn): stream allow_atomic (2.12+)
	FeatureFastBatch    Feature = 5 // bulk handles (BucketOptions.Bulk): stream allow_batched (2.14+)
	FeatureGetMany      Feature = 6 // GetMany: 2.11+ and direct gets (not ReadLeader)
)

func (f Feature) String() string { return native.Kvw_feature_name(int(f)) }

// Supports reports whether the bucket has feature f, as read when it was
// opened (or changed by EnableTTL).
func (b *Bucket) Supports(f Feature) bool {
	ok := native.Kvwb_bucket_supports(b.h, int(f)) == 1
	runtime.KeepAlive(b)
	return ok
}

// FeatureStatus is "supported" or a sentence saying what the bucket or
// server lacks for f, e.g. "per-key TTL needs nats-server 2.11 or newer
// (connected: nats-server 2.10.27)".
func (b *Bucket) FeatureStatus(f Feature) string {
	s := native.Kvwb_bucket_feature_status(b.h, int(f))
	runtime.KeepAlive(b)
	return s
}

// EnableTTL turns per-key TTL on for an existing bucket (the server never
// turns it off again) and, when limitMarkerTTL > 0, limit markers. It
// blocks for two JetStream requests; ctx is checked before it starts.
func (b *Bucket) EnableTTL(ctx context.Context, limitMarkerTTL time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var ms int64
	if limitMarkerTTL != 0 {
		ms = millis(limitMarkerTTL)
	}
	rc := native.Kvwb_bucket_enable_ttl(b.h, ms)
	runtime.KeepAlive(b)
	if rc == 0 {
		return nil
	}
	msg := ""
	if rc == codeNotSupported {
		msg = b.FeatureStatus(FeatureTTL)
	}
	return refusal(rc, "enable ttl", b.name, msg)
}

// ServerVersion is the version of the server the client is connected to
// now, e.g. "2.11.3"; it can change after a reconnect to another server.
func (cl *Client) ServerVersion() (string, error) {
	v := native.Kvwb_client_server_version(cl.c.h)
	runtime.KeepAlive(cl)
	if v < 0 {
		return "", refusal(v, "server version", "", "")
	}
	return fmt.Sprintf("%d.%d.%d", v/10000, v/100%100, v%100), nil
}
