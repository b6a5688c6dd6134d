package kvw_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// Bulk handles (nats-server 2.14+). What they store is read back with
// nats.go's jetstream KV. On older servers the refusal is checked and the
// rest skipped.

func bulkBucket(t *testing.T, prefix string) *kvw.Bucket {
	t.Helper()
	c := connect(t, nil)
	opts := &kvw.BucketOptions{CreateIfMissing: true, AllowBatched: true, Bulk: true}
	if ok, v := serverAtLeast(t, c, 2, 14); !ok {
		_, err := c.Bucket(testCtx(t), uniqueName(prefix), opts)
		if !errors.Is(err, kvw.ErrNotSupported) {
			t.Fatalf("Bulk on nats-server %s: %v, want ErrNotSupported", v, err)
		}
		t.Skipf("bulk handles need nats-server 2.14 or newer (this is %s)", v)
	}
	return openBucketOn(t, c, prefix, opts)
}

func TestBulkRefusedWithoutBatchedBucket(t *testing.T) {
	c := connect(t, nil)
	if ok, v := serverAtLeast(t, c, 2, 14); !ok {
		t.Skipf("nats-server %s: TestBulkLoadReadsBack checks the refusal", v)
	}
	_, err := c.Bucket(testCtx(t), uniqueName("gobulkplain"), &kvw.BucketOptions{CreateIfMissing: true, Bulk: true})
	wantErr(t, err, kvw.ErrNotSupported, "open bucket")
}

func TestBulkLoadReadsBack(t *testing.T) {
	b := bulkBucket(t, "gobulk")
	const n = 5000
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failed []error
	exact := 0
	done := func(v kvw.Version, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed = append(failed, err)
		} else if !v.IsUnknown() {
			exact++
		}
		wg.Done()
	}
	for i := 0; i < n; i++ {
		wg.Add(1)
		key := fmt.Sprintf("k%d", i%1000)
		var err error
		for {
			if i >= 4000 && i%10 == 0 {
				err = b.DeleteAsync(key, done)
			} else {
				err = b.PutAsync(key, []byte(fmt.Sprintf("v%d", i)), done)
			}
			if !errors.Is(err, kvw.ErrBusy) {
				break
			}
		}
		if err != nil {
			t.Fatalf("submit %d: %v", i, err)
		}
	}
	wg.Wait()
	if len(failed) != 0 {
		t.Fatalf("%d writes failed, first: %v", len(failed), failed[0])
	}
	if exact == 0 {
		t.Fatalf("no write had an exact version (the last of each batch has)")
	}
	// A blocking put on a bulk handle is a batch of one: its version is exact.
	ctx := testCtx(t)
	v, err := b.Put(ctx, "alone", []byte("1"))
	if err != nil || v.IsUnknown() {
		t.Fatalf("Put alone: %v %v", v, err)
	}
	kv := natsKV(t, b.Name())
	for k := 0; k < 1000; k++ {
		last := 4000 + k
		e, err := kv.Get(ctx, fmt.Sprintf("k%d", k))
		if last%10 == 0 {
			if !errors.Is(err, jetstream.ErrKeyNotFound) {
				t.Fatalf("k%d: %v, want deleted", k, err)
			}
			continue
		}
		if err != nil || string(e.Value()) != fmt.Sprintf("v%d", last) {
			t.Fatalf("k%d: %v %v", k, e, err)
		}
	}
	e, err := kv.Get(ctx, "alone")
	if err != nil || e.Revision() != v.Revision() {
		t.Fatalf("alone: %v %v, want revision %d", e, err, v.Revision())
	}
}
