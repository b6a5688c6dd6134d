package kvw_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// A bucket with three replicas on the 3-node cluster run-tests.sh starts
// (scripts/lib/nats-cluster.sh), as KV is deployed: conflicts are
// ErrConflict and, on 2.11+, a TTL create expires there too.
func TestR3Bucket(t *testing.T) {
	urls := os.Getenv("KVW_TEST_CLUSTER_URLS")
	if urls == "" {
		t.Skip("no cluster: bindings/go/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS")
	}
	c := connect(t, &kvw.ClientOptions{Servers: strings.Split(urls, ",")})
	ttl, v := serverAtLeast(t, c, 2, 11)
	opts := &kvw.BucketOptions{CreateIfMissing: true, Replicas: 3, AllowTTL: ttl}
	var b *kvw.Bucket
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if b, err = c.Bucket(testCtx(t), uniqueName("gor3"), opts); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("R3 bucket: %v", err)
	}
	v1 := mustWrite(t, "put")(b.Put(testCtx(t), "k", []byte("one")))
	mustWrite(t, "update")(b.Update(testCtx(t), "k", []byte("two"), v1))
	_, err = b.Update(testCtx(t), "k", []byte("three"), v1)
	wantErr(t, err, kvw.ErrConflict, "update")
	if e := mustGet(t)(b.Get(testCtx(t), "k")); string(e.Value) != "two" {
		t.Fatalf("get: %q", e.Value)
	}
	// Read-your-writes across clients: another client, reading direct, sees
	// at least the version handed to it.
	other := connect(t, &kvw.ClientOptions{Servers: strings.Split(urls, ",")})
	ob, err := other.Bucket(testCtx(t), b.Name(), &kvw.BucketOptions{ReadMode: kvw.ReadDirect})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		v := mustWrite(t, "put")(b.Put(testCtx(t), "handed", []byte(fmt.Sprint(i))))
		e, err := ob.GetAtLeast(testCtx(t), "handed", v)
		if err != nil || e.Version.Revision() < v.Revision() {
			t.Fatalf("GetAtLeast(%v): %v at %v", v, err, e.Version)
		}
	}
	if _, err := ob.GetAtLeast(testCtx(t), "handed", kvw.Version{}); !errors.Is(err, kvw.ErrInvalidVersion) {
		t.Fatalf("GetAtLeast(unknown): %v", err)
	}
	if !ttl {
		t.Skipf("TTL part: per-key TTL needs nats-server 2.11 or newer (this is %s)", v)
	}
	mustWrite(t, "create with TTL")(b.Create(testCtx(t), "lock", []byte("a"), kvw.TTL(time.Second)))
	_, err = b.Create(testCtx(t), "lock", []byte("b"), kvw.TTL(time.Second))
	wantErr(t, err, kvw.ErrAlreadyExists, "create")
	waitNotFound(t, b, "lock", 8*time.Second)
	mustWrite(t, "create after expiry")(b.Create(testCtx(t), "lock", []byte("b"), kvw.TTL(time.Second)))
	if _, err := b.Get(testCtx(t), "missing"); !errors.Is(err, kvw.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
}
