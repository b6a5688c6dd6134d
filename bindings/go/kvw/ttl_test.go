package kvw_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// Per-key TTL (nats-server 2.11+) and feature detection. On older servers
// the TTL tests check the refusal and skip, naming the version they need.

// serverAtLeast reports whether the test server is at least major.minor.
func serverAtLeast(t *testing.T, c *kvw.Client, major, minor int) (bool, string) {
	t.Helper()
	v, err := c.ServerVersion()
	if err != nil {
		t.Fatalf("ServerVersion: %v", err)
	}
	var ma, mi, up int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &ma, &mi, &up); err != nil {
		t.Fatalf("ServerVersion %q: %v", v, err)
	}
	return ma > major || (ma == major && mi >= minor), v
}

func ttlBucket(t *testing.T, prefix string, history int) (*kvw.Client, *kvw.Bucket) {
	t.Helper()
	c := connect(t, nil)
	if ok, v := serverAtLeast(t, c, 2, 11); !ok {
		t.Skipf("per-key TTL needs nats-server 2.11 or newer (this is %s)", v)
	}
	b := openBucketOn(t, c, prefix, &kvw.BucketOptions{History: history, AllowTTL: true})
	if !b.Supports(kvw.FeatureTTL) {
		t.Fatalf("bucket made with AllowTTL lacks TTL: %s", b.FeatureStatus(kvw.FeatureTTL))
	}
	return c, b
}

// waitNotFound polls Get until the key is gone.
func waitNotFound(t *testing.T, b *kvw.Bucket, key string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, err := b.Get(testCtx(t), key)
		if errors.Is(err, kvw.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there after %v (last: %v)", key, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestServerVersionAndFeatures(t *testing.T) {
	c := connect(t, nil)
	v, err := c.ServerVersion()
	if err != nil || !strings.HasPrefix(v, "2.") {
		t.Fatalf("ServerVersion = %q, %v", v, err)
	}
	b := openBucketOn(t, c, "gofeat", nil)
	if b.Supports(kvw.FeatureTTL) || b.Supports(kvw.FeatureTTLOnWrite) {
		t.Fatal("a plain bucket claims TTL support")
	}
	why := b.FeatureStatus(kvw.FeatureTTL)
	_, err = b.Create(testCtx(t), "k", []byte("v"), kvw.TTL(5*time.Second))
	ke := wantErr(t, err, kvw.ErrNotSupported, "create")
	if ke.Message != why || why == "supported" {
		t.Fatalf("refusal message %q, want the bucket's feature status %q", ke.Message, why)
	}
	if err := b.PurgeAsync("k", func(kvw.Version, error) { t.Error("callback of a refused op") }, kvw.TTL(5*time.Second)); !errors.Is(err, kvw.ErrNotSupported) {
		t.Fatalf("PurgeAsync with TTL: %v", err)
	}
	if ok, _ := serverAtLeast(t, c, 2, 11); !ok {
		if !strings.Contains(why, "2.11") {
			t.Fatalf("status %q does not name 2.11", why)
		}
		_, err := c.Bucket(testCtx(t), uniqueName("gottl"), &kvw.BucketOptions{CreateIfMissing: true, AllowTTL: true})
		wantErr(t, err, kvw.ErrNotSupported, "open bucket")
		wantErr(t, b.EnableTTL(testCtx(t), 0), kvw.ErrNotSupported, "enable ttl")
	}
}

func TestTTLBadValues(t *testing.T) {
	b := openBucket(t, "gobadttl")
	for _, d := range []time.Duration{0, -5 * time.Second, 1500 * time.Millisecond, 500 * time.Millisecond} {
		_, err := b.Create(testCtx(t), "k", []byte("v"), kvw.TTL(d))
		wantErr(t, err, kvw.ErrInvalidTTL, "create")
	}
}

func TestTTLCreateExpiresForNatsGoToo(t *testing.T) {
	_, b := ttlBucket(t, "gottl", 1)
	kv := natsKV(t, b.Name())
	mustWrite(t, "create")(b.Create(testCtx(t), "lock", []byte("me"), kvw.TTL(time.Second)))
	e := mustGet(t)(b.GetEntry(testCtx(t), "lock"))
	if e.TTL != time.Second {
		t.Fatalf("entry TTL %v, want 1s", e.TTL)
	}
	if _, err := kv.Get(testCtx(t), "lock"); err != nil {
		t.Fatalf("nats.go Get: %v", err)
	}
	_, err := b.Create(testCtx(t), "lock", []byte("other"), kvw.TTL(time.Second))
	wantErr(t, err, kvw.ErrAlreadyExists, "create")
	waitNotFound(t, b, "lock", 5*time.Second)
	if _, err := kv.Get(testCtx(t), "lock"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("nats.go Get after expiry: %v", err)
	}
	mustWrite(t, "create again")(b.Create(testCtx(t), "lock", []byte("other"), kvw.TTL(time.Second)))
}

func TestTTLLeaseRenewal(t *testing.T) {
	_, b := ttlBucket(t, "golease", 1)
	v := mustWrite(t, "create")(b.Create(testCtx(t), "kept", []byte("a"), kvw.TTL(2*time.Second)))
	mustWrite(t, "create")(b.Create(testCtx(t), "lapsed", []byte("b"), kvw.TTL(2*time.Second)))
	for i := 0; i < 3; i++ {
		time.Sleep(time.Second)
		v = mustWrite(t, "renew")(b.Update(testCtx(t), "kept", []byte("a"), v, kvw.TTL(2*time.Second)))
	}
	mustGet(t)(b.Get(testCtx(t), "kept"))
	if _, err := b.Get(testCtx(t), "lapsed"); !errors.Is(err, kvw.ErrNotFound) {
		t.Fatalf("lapsed lease: %v", err)
	}
	mustWrite(t, "delete with TTL")(b.Delete(testCtx(t), "kept", kvw.TTL(time.Second)))
	if e := mustGet(t)(b.GetEntry(testCtx(t), "kept")); e.Op != kvw.EntryDelete || e.TTL != time.Second {
		t.Fatalf("delete marker %v with TTL %v", e.Op, e.TTL)
	}
	// Async forms take the option too.
	done := make(chan error, 1)
	if err := b.PutAsync("p", []byte("x"), func(_ kvw.Version, err error) { done <- err }, kvw.TTL(time.Second)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitNotFound(t, b, "p", 5*time.Second)
}

func TestTTLOnWriteNeedsHistoryOne(t *testing.T) {
	_, b := ttlBucket(t, "gohist", 5)
	_, err := b.Put(testCtx(t), "k", []byte("v"), kvw.TTL(5*time.Second))
	ke := wantErr(t, err, kvw.ErrNotSupported, "put")
	if !strings.Contains(ke.Message, "history 1") {
		t.Fatalf("message %q does not say why", ke.Message)
	}
	_, err = b.Delete(testCtx(t), "k", kvw.TTL(5*time.Second))
	wantErr(t, err, kvw.ErrNotSupported, "delete")
	mustWrite(t, "purge with TTL")(b.Purge(testCtx(t), "k", kvw.TTL(5*time.Second)))
}

// Keys written with nats.go's jetstream.KeyTTL read back through kvw with
// their TTL, and expire for kvw; buckets nats.go made with LimitMarkerTTL
// open with the features on.
func TestTTLInteropNatsGoKeyTTL(t *testing.T) {
	c := connect(t, nil)
	if ok, v := serverAtLeast(t, c, 2, 11); !ok {
		t.Skipf("per-key TTL needs nats-server 2.11 or newer (this is %s)", v)
	}
	name := uniqueName("gonatsttl")
	js := natsJS(t)
	kv, err := js.CreateKeyValue(testCtx(t), jetstream.KeyValueConfig{Bucket: name, LimitMarkerTTL: 2 * time.Second})
	if err != nil {
		t.Fatalf("nats.go CreateKeyValue: %v", err)
	}
	if _, err := kv.Create(testCtx(t), "k", []byte("from-nats"), jetstream.KeyTTL(time.Second)); err != nil {
		t.Fatalf("nats.go Create with KeyTTL: %v", err)
	}
	b, err := c.Bucket(testCtx(t), name, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Supports(kvw.FeatureTTL) || !b.Supports(kvw.FeatureLimitMarkers) {
		t.Fatalf("nats.go's LimitMarkerTTL bucket: ttl %q, markers %q",
			b.FeatureStatus(kvw.FeatureTTL), b.FeatureStatus(kvw.FeatureLimitMarkers))
	}
	e := mustGet(t)(b.GetEntry(testCtx(t), "k"))
	if string(e.Value) != "from-nats" || e.TTL != time.Second {
		t.Fatalf("kvw reads %q with TTL %v", e.Value, e.TTL)
	}
	waitNotFound(t, b, "k", 5*time.Second)
	// The server's limit marker reads as a purge, and Create goes over it.
	if e, err := b.GetEntry(testCtx(t), "k"); err == nil && e.Op != kvw.EntryPurge {
		t.Fatalf("after expiry: %v entry", e.Op)
	}
	mustWrite(t, "create after expiry")(b.Create(testCtx(t), "k", []byte("kvw"), kvw.TTL(time.Second)))
	ne, err := kv.Get(testCtx(t), "k")
	if err != nil || string(ne.Value()) != "kvw" {
		t.Fatalf("nats.go reads kvw's TTL create: %v", err)
	}
	if _, err := kv.Create(testCtx(t), "k", []byte("x"), jetstream.KeyTTL(time.Second)); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("nats.go Create over kvw's live key: %v", err)
	}
}
