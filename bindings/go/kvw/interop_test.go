package kvw_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// Interop with the official Go client: what kvw-Go writes, nats.go's
// KeyValue reads as the same entries (values, revisions, deleted keys as
// deleted), and the reverse.

func natsJS(t *testing.T) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func natsKV(t *testing.T, bucket string) jetstream.KeyValue {
	t.Helper()
	kv, err := natsJS(t).KeyValue(testCtx(t), bucket)
	if err != nil {
		t.Fatalf("nats.go KeyValue(%s): %v", bucket, err)
	}
	return kv
}

type histEntry struct {
	op    jetstream.KeyValueOp
	rev   uint64
	value string
}

func history(t *testing.T, kv jetstream.KeyValue, key string) []histEntry {
	t.Helper()
	es, err := kv.History(testCtx(t), key)
	if err != nil {
		t.Fatalf("nats.go History(%s): %v", key, err)
	}
	var out []histEntry
	for _, e := range es {
		out = append(out, histEntry{e.Operation(), e.Revision(), string(e.Value())})
	}
	return out
}

func wantHistory(t *testing.T, got []histEntry, want ...histEntry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("history %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("history %+v, want %+v", got, want)
		}
	}
}

func TestInteropKvwWritesNatsGoReads(t *testing.T) {
	b := openBucket(t, "interop_w") // history 10
	ctx := testCtx(t)
	kv := natsKV(t, b.Name())
	w := func(v kvw.Version, err error) kvw.Version { t.Helper(); return mustWrite(t, "write")(v, err) }

	bin := []byte{0, 1, 0, 0xff, 'z'}
	p1 := w(b.Put(ctx, "k", bin))
	e, err := kv.Get(ctx, "k")
	if err != nil || !bytes.Equal(e.Value(), bin) || e.Revision() != p1.Revision() || e.Operation() != jetstream.KeyValuePut || e.Key() != "k" {
		t.Fatalf("nats.go Get after kvw put: %v %v", e, err)
	}
	u := w(b.Update(ctx, "k", []byte("u"), p1))
	c := w(b.Create(ctx, "c", []byte("created")))
	if e, err := kv.Get(ctx, "c"); err != nil || string(e.Value()) != "created" || e.Revision() != c.Revision() {
		t.Fatalf("nats.go Get after kvw create: %v %v", e, err)
	}

	// Delete: nats.go sees a deleted key and a DEL marker at kvw's version.
	d := w(b.Delete(ctx, "k"))
	if _, err := kv.Get(ctx, "k"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("nats.go Get of a kvw-deleted key: %v", err)
	}
	wantHistory(t, history(t, kv, "k"),
		histEntry{jetstream.KeyValuePut, p1.Revision(), string(bin)},
		histEntry{jetstream.KeyValuePut, u.Revision(), "u"},
		histEntry{jetstream.KeyValueDelete, d.Revision(), ""})
	// nats.go can create over kvw's delete marker.
	if rev, err := kv.Create(ctx, "k", []byte("natsgo")); err != nil || rev != d.Revision()+1 {
		t.Fatalf("nats.go Create after kvw delete: %d %v", rev, err)
	}

	// DeleteWithVersion: an empty PUT, a value to nats.go, so its Create refuses.
	tomb := w(b.DeleteWithVersion(ctx, "c", c))
	e, err = kv.Get(ctx, "c")
	if err != nil || len(e.Value()) != 0 || e.Operation() != jetstream.KeyValuePut || e.Revision() != tomb.Revision() {
		t.Fatalf("nats.go Get of a kvw tombstone: %v %v", e, err)
	}
	if _, err := kv.Create(ctx, "c", []byte("x")); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("nats.go Create over a kvw tombstone: %v", err)
	}
	// ...and nats.go's Update over the tombstone's version revives it.
	if _, err := kv.Update(ctx, "c", []byte("revived"), tomb.Revision()); err != nil {
		t.Fatalf("nats.go Update over a kvw tombstone: %v", err)
	}

	// Purge: history collapses to one PURGE marker at kvw's version.
	w(b.Put(ctx, "p", []byte("1")))
	w(b.Put(ctx, "p", []byte("2")))
	pu := w(b.Purge(ctx, "p"))
	wantHistory(t, history(t, kv, "p"), histEntry{jetstream.KeyValuePurge, pu.Revision(), ""})
	if _, err := kv.Get(ctx, "p"); !errors.Is(err, jetstream.ErrKeyNotFound) {
		t.Fatalf("nats.go Get of a kvw-purged key: %v", err)
	}

	// Keys as nats.go lists them (live ones only).
	keys, err := kv.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{}
	for _, k := range keys {
		live[k] = true
	}
	if !live["k"] || !live["c"] || live["p"] || len(keys) != 2 {
		t.Fatalf("nats.go Keys: %v", keys)
	}
}

func TestInteropNatsGoWritesKvwReads(t *testing.T) {
	// A bucket created by nats.go, opened by kvw without create_if_missing.
	nc, err := nats.Connect(serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := testCtx(t)
	name := uniqueName("interop_r")
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: name, History: 5})
	if err != nil {
		t.Fatal(err)
	}
	b, err := connect(t, nil).Bucket(ctx, name, nil)
	if err != nil {
		t.Fatalf("kvw opening a nats.go bucket: %v", err)
	}

	bin := []byte{'\x00', 'a', '\x00'}
	r1, err := kv.Put(ctx, "k", bin)
	if err != nil {
		t.Fatal(err)
	}
	g := mustGet(t)(b.Get(ctx, "k"))
	if !bytes.Equal(g.Value, bin) || g.Version.Revision() != r1 || g.Version != kvw.VersionFromRevision(r1) {
		t.Fatalf("kvw Get after nats.go put: %+v", g)
	}
	// CAS across clients: kvw updates at nats.go's revision and vice versa.
	u := mustWrite(t, "update")(b.Update(ctx, "k", []byte("kvw"), kvw.VersionFromRevision(r1)))
	if _, err := kv.Update(ctx, "k", []byte("stale"), r1); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("nats.go Update with a stale revision: %v", err)
	}
	r2, err := kv.Update(ctx, "k", []byte("natsgo"), u.Revision())
	if err != nil {
		t.Fatalf("nats.go Update at kvw's version: %v", err)
	}
	_, err = b.Update(ctx, "k", []byte("stale"), u)
	wantErr(t, err, kvw.ErrConflict, "update")

	// nats.go delete: kvw's get says not found, get_entry shows the marker.
	if err := kv.Delete(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	_, err = b.Get(ctx, "k")
	ke := wantErr(t, err, kvw.ErrNotFound, "get")
	e := mustGet(t)(b.GetEntry(ctx, "k"))
	if e.Op != kvw.EntryDelete || e.Version.Revision() != r2+1 || ke.Version != e.Version {
		t.Fatalf("kvw GetEntry of a nats.go-deleted key: %+v (%v)", e, ke)
	}
	// kvw creates over nats.go's delete marker.
	c := mustWrite(t, "create")(b.Create(ctx, "k", []byte("again")))
	if ne, err := kv.Get(ctx, "k"); err != nil || string(ne.Value()) != "again" || ne.Revision() != c.Revision() {
		t.Fatalf("%v %v", ne, err)
	}

	// nats.go purge.
	if err := kv.Purge(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	e = mustGet(t)(b.GetEntry(ctx, "k"))
	if e.Op != kvw.EntryPurge {
		t.Fatalf("kvw GetEntry of a nats.go-purged key: %+v", e)
	}
	mustWrite(t, "create")(b.Create(ctx, "k", []byte("after purge")))

	// nats.go create refuses a key kvw wrote; kvw create refuses a key nats.go wrote.
	mustWrite(t, "put")(b.Put(ctx, "x", []byte("kvw")))
	if _, err := kv.Create(ctx, "x", []byte("n")); !errors.Is(err, jetstream.ErrKeyExists) {
		t.Fatalf("nats.go Create of a kvw key: %v", err)
	}
	if _, err := kv.Create(ctx, "y", []byte("natsgo")); err != nil {
		t.Fatal(err)
	}
	_, err = b.Create(ctx, "y", []byte("kvw"))
	wantErr(t, err, kvw.ErrAlreadyExists, "create")

	// Many async kvw writes, then nats.go's view of every key.
	cnt := newCounter(500)
	for i := 0; i < 500; i++ {
		key := "many." + string(rune('a'+i%26))
		if err := b.PutAsync(key, []byte{byte(i)}, cnt.write(i)); err != nil {
			t.Fatal(err)
		}
	}
	cnt.wait(t, 20*time.Second)
	for i := 474; i < 500; i++ {
		key := "many." + string(rune('a'+i%26))
		ne, err := kv.Get(ctx, key)
		if err != nil || !bytes.Equal(ne.Value(), []byte{byte(i)}) || ne.Revision() != cnt.vers[i].Revision() {
			t.Fatalf("%s: %v %v, want rev %v", key, ne, err, cnt.vers[i])
		}
	}
}

// The bucket kvw creates is one nats.go recognises as a KV bucket, with the
// options kvw was given.
func TestInteropBucketCreatedByKvw(t *testing.T) {
	c := connect(t, nil)
	name := uniqueName("interop_cfg")
	if _, err := c.Bucket(testCtx(t), name, &kvw.BucketOptions{
		CreateIfMissing: true, History: 7, MaxValueSize: 4096, Storage: kvw.MemoryStorage,
	}); err != nil {
		t.Fatal(err)
	}
	kv := natsKV(t, name)
	st, err := kv.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Bucket() != name || st.History() != 7 || st.BackingStore() != "JetStream" {
		t.Fatalf("status: bucket %s history %d", st.Bucket(), st.History())
	}
	info := st.(*jetstream.KeyValueBucketStatus).StreamInfo()
	if info.Config.Storage != jetstream.MemoryStorage || info.Config.MaxMsgSize != 4096 || !info.Config.AllowDirect {
		t.Fatalf("stream config: %+v", info.Config)
	}
}
