package kvw_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	native "github.com/kvw/kvw/bindings/go/internal/kvw_native"
	"github.com/kvw/kvw/bindings/go/kvw"
)

// Transactions (nats-server 2.12+). What they store is read back with
// nats.go's jetstream KV, a client kvw did not write. On older servers the
// refusal is checked and the rest skipped.

func txnBucket(t *testing.T, prefix string) (*kvw.Client, *kvw.Bucket) {
	t.Helper()
	c := connect(t, nil)
	if ok, v := serverAtLeast(t, c, 2, 12); !ok {
		_, err := c.Bucket(testCtx(t), uniqueName(prefix), &kvw.BucketOptions{CreateIfMissing: true, AllowAtomic: true})
		if !errors.Is(err, kvw.ErrNotSupported) {
			t.Fatalf("AllowAtomic on nats-server %s: %v, want ErrNotSupported", v, err)
		}
		t.Skipf("transactions need nats-server 2.12 or newer (this is %s)", v)
	}
	return c, openBucketOn(t, c, prefix, &kvw.BucketOptions{AllowAtomic: true})
}

func TestTxnMaxWritesIsTheLibrarys(t *testing.T) {
	if kvw.MaxTxnWrites != native.KVW_TXN_MAX_WRITES {
		t.Fatalf("MaxTxnWrites %d, libkvw says %d", kvw.MaxTxnWrites, native.KVW_TXN_MAX_WRITES)
	}
}

func TestTxnRefusedWithoutAtomicBucket(t *testing.T) {
	b := openBucket(t, "gotxnplain")
	_, err := b.Txn()
	ke := wantErr(t, err, kvw.ErrNotSupported, "txn")
	if ke.Message != b.FeatureStatus(kvw.FeatureAtomicBatch) {
		t.Fatalf("message %q, want the feature status", ke.Message)
	}
}

func TestTxnCommitEveryKind(t *testing.T) {
	_, b := txnBucket(t, "gotxn")
	ctx := testCtx(t)
	u, _ := b.Put(ctx, "u", []byte("u1"))
	dv, _ := b.Put(ctx, "dv", []byte("x"))
	b.Put(ctx, "m", []byte("gone"))
	b.Delete(ctx, "m")

	tx, err := b.Txn()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		tx.Put("p", []byte("pv")), tx.Create("c", nil), tx.Create("m", []byte("mv")),
		tx.Update("u", []byte("u2"), u), tx.Delete("d"), tx.DeleteWithVersion("dv", dv),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if tx.Len() != 6 {
		t.Fatalf("Len %d", tx.Len())
	}
	vs, err := tx.Commit(ctx)
	if err != nil || len(vs) != 6 || tx.Len() != 0 {
		t.Fatalf("Commit: %v %v (len %d)", vs, err, tx.Len())
	}
	kv := natsKV(t, b.Name())
	want := []struct {
		key, value string
		op         jetstream.KeyValueOp
	}{{"p", "pv", jetstream.KeyValuePut}, {"c", "", jetstream.KeyValuePut}, {"m", "mv", jetstream.KeyValuePut},
		{"u", "u2", jetstream.KeyValuePut}, {"d", "", jetstream.KeyValueDelete}, {"dv", "", jetstream.KeyValuePut}}
	for i, w := range want {
		h := history(t, kv, w.key)
		last := h[len(h)-1]
		if last.rev != vs[i].Revision() || last.value != w.value || last.op != w.op {
			t.Fatalf("%s: nats.go sees %+v, want rev %d %q %v", w.key, last, vs[i].Revision(), w.value, w.op)
		}
		if i > 0 && vs[i].Revision() != vs[0].Revision()+uint64(i) {
			t.Fatalf("versions not consecutive: %v", vs)
		}
	}
}

func TestTxnConflictStoresNothing(t *testing.T) {
	_, b := txnBucket(t, "gotxnc")
	ctx := testCtx(t)
	a, _ := b.Put(ctx, "a", []byte("1"))
	stale, _ := b.Put(ctx, "b", []byte("1"))
	cur, _ := b.Put(ctx, "b", []byte("2"))
	tx, _ := b.Txn()
	tx.Put("x", []byte("x"))
	tx.Update("a", []byte("2"), a)
	tx.Update("b", []byte("3"), stale)
	if err := tx.Update("b", []byte("4"), cur); !errors.Is(err, kvw.ErrInvalid) {
		t.Fatalf("a second CAS on b: %v, want ErrInvalid", err)
	}
	_, err := tx.Commit(ctx)
	ke := wantErr(t, err, kvw.ErrConflict, "txn")
	if ke.Key != "b" || ke.Version != cur {
		t.Fatalf("conflict on %q at %v, want b at %v (%v)", ke.Key, ke.Version, cur, err)
	}
	if _, err := b.Get(ctx, "x"); !errors.Is(err, kvw.ErrNotFound) {
		t.Fatalf("x after a refused transaction: %v", err)
	}
	tx2, _ := b.Txn()
	tx2.Create("a", []byte("again"))
	_, err = tx2.Commit(ctx)
	if ke := wantErr(t, err, kvw.ErrAlreadyExists, "txn"); ke.Key != "a" {
		t.Fatalf("create conflict names %q", ke.Key)
	}
	if _, err := tx2.Commit(ctx); !errors.Is(err, kvw.ErrInvalid) { // accepted before: empty now
		t.Fatalf("empty commit: %v", err)
	}
}

// Two transactions with the same expectation race from many goroutines:
// exactly one commits per round.
func TestTxnRacingCommitsOneWins(t *testing.T) {
	_, b := txnBucket(t, "gotxnr")
	ctx := testCtx(t)
	v, _ := b.Put(ctx, "k", []byte("0"))
	for round := 0; round < 50; round++ {
		var wg sync.WaitGroup
		results := make([][]kvw.Version, 4)
		errs := make([]error, 4)
		for g := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tx, err := b.Txn()
				if err != nil {
					errs[g] = err
					return
				}
				tx.Update("k", []byte("x"), v)
				tx.Put("other", []byte("y"))
				results[g], errs[g] = tx.Commit(ctx)
			}()
		}
		wg.Wait()
		won := 0
		for g := range 4 {
			if errs[g] == nil {
				won++
				v = results[g][0]
			} else if !errors.Is(errs[g], kvw.ErrConflict) {
				t.Fatalf("round %d: %v", round, errs[g])
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d winners", round, won)
		}
	}
}

func TestTxnCommitAsync(t *testing.T) {
	_, b := txnBucket(t, "gotxna")
	const n = 200
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok := 0
	for i := range n {
		tx, err := b.Txn()
		if err != nil {
			t.Fatal(err)
		}
		tx.Put("a", []byte{byte(i)})
		tx.Put("b", []byte{byte(i)})
		wg.Add(1)
		for {
			err = tx.CommitAsync(func(vs []kvw.Version, err error) {
				defer wg.Done()
				mu.Lock()
				defer mu.Unlock()
				if err == nil && len(vs) == 2 && vs[1].Revision() == vs[0].Revision()+1 {
					ok++
				} else {
					t.Errorf("commit: %v %v", vs, err)
				}
			})
			if !errors.Is(err, kvw.ErrBusy) {
				break
			}
			b.Client().WaitForCapacity(testCtx(t))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if ok != n {
		t.Fatalf("%d of %d commits OK", ok, n)
	}
	a, _ := b.Get(testCtx(t), "a")
	bb, _ := b.Get(testCtx(t), "b")
	if bb.Version.Revision() != a.Version.Revision()+1 || string(a.Value) != string(bb.Value) {
		t.Fatalf("last transaction: a %v, b %v", a, bb)
	}
}

// On the 3-node cluster run-tests.sh starts: an R3 bucket that takes
// transactions; a commit is all or nothing there too, and a refusal names
// the key (read at the stream leader) and its version.
func TestR3Transaction(t *testing.T) {
	urls := os.Getenv("KVW_TEST_CLUSTER_URLS")
	if urls == "" {
		t.Skip("no cluster: bindings/go/run-tests.sh starts one and sets KVW_TEST_CLUSTER_URLS")
	}
	c := connect(t, &kvw.ClientOptions{Servers: strings.Split(urls, ",")})
	if ok, v := serverAtLeast(t, c, 2, 12); !ok {
		t.Skipf("transactions need nats-server 2.12 or newer (this is %s)", v)
	}
	opts := &kvw.BucketOptions{CreateIfMissing: true, Replicas: 3, AllowAtomic: true}
	var b *kvw.Bucket
	var err error
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if b, err = c.Bucket(testCtx(t), uniqueName("gor3txn"), opts); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("R3 bucket: %v", err)
	}
	ctx := testCtx(t)
	stale, _ := b.Put(ctx, "b", []byte("1"))
	cur, _ := b.Put(ctx, "b", []byte("2"))
	tx, err := b.Txn()
	if err != nil {
		t.Fatal(err)
	}
	tx.Put("x", []byte("x"))
	tx.Update("b", []byte("3"), stale)
	_, err = tx.Commit(ctx)
	if ke := wantErr(t, err, kvw.ErrConflict, "txn"); ke.Key != "b" || ke.Version != cur {
		t.Fatalf("R3 conflict: %v (key %q, version %v; want b at %v)", err, ke.Key, ke.Version, cur)
	}
	tx.Put("x", []byte("x"))
	tx.Update("b", []byte("3"), cur)
	vs, err := tx.Commit(ctx)
	if err != nil || len(vs) != 2 {
		t.Fatalf("R3 commit: %v %v", vs, err)
	}
	for i, key := range []string{"x", "b"} {
		if e := mustGet(t)(b.Get(ctx, key)); e.Version != vs[i] {
			t.Fatalf("%s at %v, committed at %v", key, e.Version, vs[i])
		}
	}
}

// GetMany (2.11+): every kind of record and a missing key in one snapshot;
// then read-modify-write across keys with a Txn expecting the versions read.
func TestGetManyAndReadModifyWrite(t *testing.T) {
	c := connect(t, nil)
	if ok, v := serverAtLeast(t, c, 2, 11); !ok {
		b := openBucketOn(t, c, "gomany", nil)
		if _, err := b.GetMany(testCtx(t), "a"); !errors.Is(err, kvw.ErrNotSupported) {
			t.Fatalf("GetMany on %s: %v", v, err)
		}
		t.Skipf("GetMany needs nats-server 2.11 or newer (this is %s)", v)
	}
	atomic, _ := serverAtLeast(t, c, 2, 12)
	b := openBucketOn(t, c, "gomany", &kvw.BucketOptions{AllowAtomic: atomic})
	ctx := testCtx(t)
	va, _ := b.Put(ctx, "a", []byte("1"))
	vd, _ := b.Delete(ctx, "d")
	s, err := b.GetMany(ctx, "a", "d", "none")
	if err != nil || len(s.Entries) != 3 || s.AsOf != vd {
		t.Fatalf("GetMany: %+v %v", s, err)
	}
	if e := s.Entries[0]; e.Key != "a" || string(e.Value) != "1" || e.Version != va || e.Op != kvw.EntryPut {
		t.Fatalf("a: %+v", e)
	}
	if e := s.Entries[1]; e.Op != kvw.EntryDelete || e.Version != vd {
		t.Fatalf("d: %+v", e)
	}
	if e, ok := s.Get("none"); ok || e.Op != kvw.EntryNone {
		t.Fatalf("none: %+v %v", e, ok)
	}
	if _, err := b.GetMany(ctx, "a", "b\nc"); !errors.Is(err, kvw.ErrInvalidKey) {
		t.Fatalf("a key with a newline: %v", err)
	}
	done := make(chan kvw.Snapshot, 1)
	if err := b.GetManyAsync([]string{"a"}, func(s kvw.Snapshot, err error) { done <- s }); err != nil {
		t.Fatal(err)
	}
	if s := <-done; len(s.Entries) != 1 || string(s.Entries[0].Value) != "1" {
		t.Fatalf("GetManyAsync: %+v", s)
	}
	if !atomic {
		t.Skip("read-modify-write: transactions need nats-server 2.12 or newer")
	}
	b.Put(ctx, "x", []byte("50"))
	b.Put(ctx, "y", []byte("50"))
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for moves := 0; moves < 25; {
				s, err := b.GetMany(ctx, "x", "y")
				if err != nil {
					t.Error(err)
					return
				}
				x, y := atoi(s.Entries[0].Value), atoi(s.Entries[1].Value)
				if x+y != 100 {
					t.Errorf("inconsistent snapshot: x %d + y %d", x, y)
					return
				}
				tx, _ := b.Txn()
				tx.Update("x", []byte(fmt.Sprint(x-1)), s.Entries[0].Version)
				tx.Update("y", []byte(fmt.Sprint(y+1)), s.Entries[1].Version)
				if _, err := tx.Commit(ctx); err == nil {
					moves++
				} else if !errors.Is(err, kvw.ErrConflict) {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s, _ = b.GetMany(ctx, "x", "y")
	if atoi(s.Entries[0].Value) != 50-100 || atoi(s.Entries[1].Value) != 50+100 {
		t.Fatalf("after 100 moves: x %s y %s", s.Entries[0].Value, s.Entries[1].Value)
	}
}

func atoi(b []byte) int {
	n, _ := strconv.Atoi(string(b))
	return n
}
