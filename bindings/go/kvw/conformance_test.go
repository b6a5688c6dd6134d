package kvw_test

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// The C conformance suite (tests/test_conformance.c) ported to the Go API.

func mustWrite(t *testing.T, op string) func(kvw.Version, error) kvw.Version {
	return func(v kvw.Version, err error) kvw.Version {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		if v.IsUnknown() || v.Revision() == 0 {
			t.Fatalf("%s: no version: %v", op, v)
		}
		return v
	}
}

func mustGet(t *testing.T) func(kvw.Entry, error) kvw.Entry {
	return func(e kvw.Entry, err error) kvw.Entry {
		t.Helper()
		if err != nil {
			t.Fatalf("get: %v", err)
		}
		return e
	}
}

// wantErr checks that err is sentinel, as a *kvw.Error with the given op.
func wantErr(t *testing.T, err, sentinel error, op string) *kvw.Error {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("want %v, got %v", sentinel, err)
	}
	var ke *kvw.Error
	if !errors.As(err, &ke) {
		t.Fatalf("%v is not a *kvw.Error", err)
	}
	if ke.Op != op {
		t.Fatalf("error op %q, want %q (%v)", ke.Op, op, err)
	}
	return ke
}

func wantVersion(t *testing.T, got, want kvw.Version) {
	t.Helper()
	if !got.Equal(want) || got != want {
		t.Fatalf("version %v, want %v", got, want)
	}
}

// wantUnknownOr: conflict/exists errors carry the current version when the
// server said.
func wantUnknownOr(t *testing.T, got, want kvw.Version) {
	t.Helper()
	if !got.IsUnknown() && got != want {
		t.Fatalf("version %v, want %v or unknown", got, want)
	}
}

func TestPutGetRoundTrip(t *testing.T) {
	b := openBucket(t, "rt")
	ctx := testCtx(t)
	bin := []byte{0, 1, 2, 'a', 0, 0xff, 0x80, '\n'}
	v := mustWrite(t, "put")(b.Put(ctx, "bin", bin))

	g := mustGet(t)(b.Get(ctx, "bin"))
	if !bytes.Equal(g.Value, bin) || g.Key != "bin" || g.Op != kvw.EntryPut {
		t.Fatalf("get: %+v", g)
	}
	wantVersion(t, g.Version, v)
	e := mustGet(t)(b.GetEntry(ctx, "bin"))
	if !bytes.Equal(e.Value, bin) || e.Op != kvw.EntryPut {
		t.Fatalf("get entry: %+v", e)
	}
	wantVersion(t, e.Version, v)

	// The caller may reuse its slice as soon as Put returns.
	buf := []byte("second")
	v2 := mustWrite(t, "put")(b.Put(ctx, "bin", buf))
	copy(buf, "XXXXXX")
	if v2.Revision() <= v.Revision() {
		t.Fatalf("versions %v then %v", v, v2)
	}
	g2 := mustGet(t)(b.Get(ctx, "bin"))
	if string(g2.Value) != "second" {
		t.Fatalf("get: %q", g2.Value)
	}
	wantVersion(t, g2.Version, v2)
}

func TestKeyCharsetAndMaxLength(t *testing.T) {
	b := openBucket(t, "keys")
	ctx := testCtx(t)
	keys := []string{"a", "A-Z_a=z/0.9", "-", "_", "=", "/", "a.b.c", "x/y/z", "0", strings.Repeat("k", 1024)}
	for i, k := range keys {
		val := []byte{byte('v'), byte(i)}
		mustWrite(t, "put")(b.Put(ctx, k, val))
		if g := mustGet(t)(b.Get(ctx, k)); !bytes.Equal(g.Value, val) {
			t.Fatalf("key %q: %q", k, g.Value)
		}
	}
}

func TestLargeValueRoundTrip(t *testing.T) {
	b := openBucket(t, "large")
	ctx := testCtx(t)
	v := make([]byte, 512*1024)
	for i := range v {
		v[i] = byte(i*31 + 7)
	}
	mustWrite(t, "put")(b.Put(ctx, "big", v))
	if g := mustGet(t)(b.Get(ctx, "big")); !bytes.Equal(g.Value, v) {
		t.Fatal("large value differs")
	}
}

func TestGetMissingKey(t *testing.T) {
	b := openBucket(t, "miss")
	ctx := testCtx(t)
	_, err := b.Get(ctx, "never")
	ke := wantErr(t, err, kvw.ErrNotFound, "get")
	if !ke.Version.IsUnknown() || ke.Key != "never" {
		t.Fatalf("%+v", ke)
	}
	_, err = b.GetEntry(ctx, "never")
	wantErr(t, err, kvw.ErrNotFound, "get_entry")
}

func TestCreateNewKey(t *testing.T) {
	b := openBucket(t, "cnew")
	ctx := testCtx(t)
	v := mustWrite(t, "create")(b.Create(ctx, "k", []byte("first")))
	g := mustGet(t)(b.Get(ctx, "k"))
	if string(g.Value) != "first" {
		t.Fatalf("%q", g.Value)
	}
	wantVersion(t, g.Version, v)
}

func TestCreateConflictsOnLiveKey(t *testing.T) {
	b := openBucket(t, "clive")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "k", []byte("live")))
	_, err := b.Create(ctx, "k", []byte("other"))
	ke := wantErr(t, err, kvw.ErrAlreadyExists, "create")
	wantUnknownOr(t, ke.Version, p)
	if kvw.IsRetryable(err) || kvw.IsOutcomeUnknown(err) {
		t.Fatal("already-exists is neither retryable nor of unknown outcome")
	}
	g := mustGet(t)(b.Get(ctx, "k"))
	if string(g.Value) != "live" {
		t.Fatalf("%q", g.Value)
	}
	// A refused create wrote nothing: the next write takes the next sequence.
	p2 := mustWrite(t, "put")(b.Put(ctx, "other", []byte("x")))
	if p2.Revision() != p.Revision()+1 {
		t.Fatalf("%v after %v", p2, p)
	}
}

func TestCreateAfterDelete(t *testing.T) {
	b := openBucket(t, "cdel")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	d := mustWrite(t, "delete")(b.Delete(ctx, "k"))
	if d.Revision() <= p.Revision() {
		t.Fatal("delete version not larger")
	}
	c := mustWrite(t, "create")(b.Create(ctx, "k", []byte("v2")))
	if c.Revision() <= d.Revision() {
		t.Fatal("create version not larger")
	}
	g := mustGet(t)(b.Get(ctx, "k"))
	if string(g.Value) != "v2" {
		t.Fatalf("%q", g.Value)
	}
	wantVersion(t, g.Version, c)
	_, err := b.Create(ctx, "k", []byte("v3"))
	wantErr(t, err, kvw.ErrAlreadyExists, "create")
}

func TestCreateAfterPurge(t *testing.T) {
	b := openBucket(t, "cpurge")
	ctx := testCtx(t)
	mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	mustWrite(t, "purge")(b.Purge(ctx, "k"))
	mustWrite(t, "create")(b.Create(ctx, "k", []byte("v2")))
	if g := mustGet(t)(b.Get(ctx, "k")); string(g.Value) != "v2" {
		t.Fatalf("%q", g.Value)
	}
}

func TestCreateConflictsAfterDeleteWithVersion(t *testing.T) {
	b := openBucket(t, "cdwv")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	tomb := mustWrite(t, "delete_with_version")(b.DeleteWithVersion(ctx, "k", p))
	for i := 0; i < 2; i++ { // keeps refusing
		_, err := b.Create(ctx, "k", []byte("v2"))
		ke := wantErr(t, err, kvw.ErrAlreadyExists, "create")
		wantUnknownOr(t, ke.Version, tomb)
	}
	e := mustGet(t)(b.GetEntry(ctx, "k"))
	if e.Op != kvw.EntryPut || len(e.Value) != 0 || e.Value == nil {
		t.Fatalf("%+v", e)
	}
	wantVersion(t, e.Version, tomb)
}

func TestRacingCreates(t *testing.T) {
	b := openBucket(t, "race")
	ctx := testCtx(t)
	round := func(key string, deletedFirst bool) {
		if deletedFirst {
			mustWrite(t, "put")(b.Put(ctx, key, []byte("old")))
			mustWrite(t, "delete")(b.Delete(ctx, key))
		}
		var wg sync.WaitGroup
		var start sync.WaitGroup
		start.Add(1)
		vals := []string{"from-A", "from-B"}
		vers := make([]kvw.Version, 2)
		errs := make([]error, 2)
		for i := range vals {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start.Wait()
				vers[i], errs[i] = b.Create(ctx, key, []byte(vals[i]))
			}()
		}
		start.Done()
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				if winner >= 0 {
					t.Fatalf("%s: both creates won", key)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatalf("%s: no create won: %v / %v", key, errs[0], errs[1])
		}
		wantErr(t, errs[1-winner], kvw.ErrAlreadyExists, "create")
		g := mustGet(t)(b.Get(ctx, key))
		if string(g.Value) != vals[winner] {
			t.Fatalf("%s: %q", key, g.Value)
		}
		wantVersion(t, g.Version, vers[winner])
	}
	for i := 0; i < 20; i++ {
		round("deleted"+strconv.Itoa(i), true)
	}
	for i := 0; i < 10; i++ {
		round("fresh"+strconv.Itoa(i), false)
	}
}

func TestUpdateCAS(t *testing.T) {
	b := openBucket(t, "upd")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	u := mustWrite(t, "update")(b.Update(ctx, "k", []byte("v2"), p))
	if u.Revision() <= p.Revision() {
		t.Fatal("update version not larger")
	}
	_, err := b.Update(ctx, "k", []byte("v3"), p)
	ke := wantErr(t, err, kvw.ErrConflict, "update")
	if ke.ServerError != 10071 || ke.Key != "k" || ke.Code != -7 || ke.Name() != "KVW_ECONFLICT" {
		t.Fatalf("%+v", ke)
	}
	wantUnknownOr(t, ke.Version, u)
	if !strings.Contains(err.Error(), "10071") {
		t.Fatalf("message: %v", err)
	}
	if g := mustGet(t)(b.Get(ctx, "k")); string(g.Value) != "v2" || g.Version != u {
		t.Fatalf("%+v", g)
	}
	mustWrite(t, "update")(b.Update(ctx, "k", []byte("v4"), u))
}

func TestUpdateMissingKeyConflicts(t *testing.T) {
	b := openBucket(t, "updmiss")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "other", []byte("x")))
	_, err := b.Update(ctx, "missing", []byte("v"), p)
	if ke := wantErr(t, err, kvw.ErrConflict, "update"); ke.ServerError != 10071 {
		t.Fatalf("%+v", ke)
	}
	_, err = b.GetEntry(ctx, "missing")
	wantErr(t, err, kvw.ErrNotFound, "get_entry")
}

// The rule of every binding's README: a nil value is an empty one, and what
// is refused at submit time is returned by the call (the callback never runs).
func TestNilValueIsEmptyAndRefusalsAreReturned(t *testing.T) {
	b := openBucket(t, "nilrule")
	ctx := testCtx(t)
	v := mustWrite(t, "put")(b.Put(ctx, "nv", nil))
	e := mustGet(t)(b.GetEntry(ctx, "nv"))
	if e.Op != kvw.EntryPut || len(e.Value) != 0 {
		t.Fatalf("%+v", e)
	}
	wantVersion(t, e.Version, v)
	_, err := b.Get(ctx, "nv")
	wantErr(t, err, kvw.ErrNotFound, "get")
	never := func(kvw.Version, error) { t.Error("callback of a refused op ran") }
	wantErr(t, b.PutAsync("", nil, never), kvw.ErrInvalidKey, "put")
	wantErr(t, b.UpdateAsync("nv", nil, kvw.Version{}, never), kvw.ErrInvalidVersion, "update")
	wantVersion(t, mustGet(t)(b.GetEntry(ctx, "nv")).Version, v) // nothing was written
}

func TestDeleteWithVersion(t *testing.T) {
	b := openBucket(t, "dwv")
	ctx := testCtx(t)
	p1 := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	p2 := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v2")))

	_, err := b.DeleteWithVersion(ctx, "k", p1)
	ke := wantErr(t, err, kvw.ErrConflict, "delete_with_version")
	if ke.ServerError != 10071 {
		t.Fatalf("%+v", ke)
	}
	wantUnknownOr(t, ke.Version, p2)
	if g := mustGet(t)(b.Get(ctx, "k")); string(g.Value) != "v2" {
		t.Fatalf("%q", g.Value)
	}

	tomb := mustWrite(t, "delete_with_version")(b.DeleteWithVersion(ctx, "k", p2))
	if tomb.Revision() <= p2.Revision() {
		t.Fatal("tombstone version not larger")
	}
	// get_entry sees the empty value; get says not found, with its version.
	e := mustGet(t)(b.GetEntry(ctx, "k"))
	if e.Op != kvw.EntryPut || e.Value == nil || len(e.Value) != 0 {
		t.Fatalf("%+v", e)
	}
	wantVersion(t, e.Version, tomb)
	_, err = b.Get(ctx, "k")
	wantVersion(t, wantErr(t, err, kvw.ErrNotFound, "get").Version, tomb)

	// A writer still holding the old version now conflicts.
	_, err = b.Update(ctx, "k", []byte("late"), p2)
	wantErr(t, err, kvw.ErrConflict, "update")
}

func TestDeleteWithVersionMissingKey(t *testing.T) {
	b := openBucket(t, "dwvmiss")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "other", []byte("x")))
	_, err := b.DeleteWithVersion(ctx, "missing", p)
	wantErr(t, err, kvw.ErrConflict, "delete_with_version")
	_, err = b.DeleteWithVersion(ctx, "missing", kvw.VersionFromRevision(1))
	wantErr(t, err, kvw.ErrConflict, "delete_with_version")
	_, err = b.GetEntry(ctx, "missing")
	wantErr(t, err, kvw.ErrNotFound, "get_entry")
}

func TestUpdateRevivesTombstone(t *testing.T) {
	b := openBucket(t, "revive")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	mustWrite(t, "delete_with_version")(b.DeleteWithVersion(ctx, "k", p))
	e := mustGet(t)(b.GetEntry(ctx, "k"))
	u := mustWrite(t, "update")(b.Update(ctx, "k", []byte("alive"), e.Version))
	g := mustGet(t)(b.Get(ctx, "k"))
	if string(g.Value) != "alive" {
		t.Fatalf("%q", g.Value)
	}
	wantVersion(t, g.Version, u)
	_, err := b.Create(ctx, "k", []byte("again"))
	wantErr(t, err, kvw.ErrAlreadyExists, "create")
}

func TestDeleteMarker(t *testing.T) {
	b := openBucket(t, "del")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	d := mustWrite(t, "delete")(b.Delete(ctx, "k"))
	if d.Revision() <= p.Revision() {
		t.Fatal("delete version not larger")
	}
	_, err := b.Get(ctx, "k")
	wantVersion(t, wantErr(t, err, kvw.ErrNotFound, "get").Version, d)
	e := mustGet(t)(b.GetEntry(ctx, "k"))
	if e.Op != kvw.EntryDelete || len(e.Value) != 0 || e.Op.String() != "DEL" {
		t.Fatalf("%+v", e)
	}
	wantVersion(t, e.Version, d)
	// Best effort: deleting a key that never existed succeeds.
	mustWrite(t, "delete")(b.Delete(ctx, "never"))
}

func TestPurge(t *testing.T) {
	b := openBucket(t, "purge")
	ctx := testCtx(t)
	mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	mustWrite(t, "put")(b.Put(ctx, "k", []byte("v2")))
	mustWrite(t, "put")(b.Put(ctx, "keep", []byte("x")))
	pu := mustWrite(t, "purge")(b.Purge(ctx, "k"))
	_, err := b.Get(ctx, "k")
	wantVersion(t, wantErr(t, err, kvw.ErrNotFound, "get").Version, pu)
	e := mustGet(t)(b.GetEntry(ctx, "k"))
	if e.Op != kvw.EntryPurge {
		t.Fatalf("%+v", e)
	}
	wantVersion(t, e.Version, pu)
	if g := mustGet(t)(b.Get(ctx, "keep")); string(g.Value) != "x" {
		t.Fatalf("%q", g.Value)
	}
	// History is checked through nats.go in the interop tests.
}

func TestGetTreatsEmptyValueAsAbsent(t *testing.T) {
	b := openBucket(t, "empty")
	ctx := testCtx(t)
	for _, v := range [][]byte{nil, {}} {
		p := mustWrite(t, "put")(b.Put(ctx, "k", v))
		_, err := b.Get(ctx, "k")
		wantErr(t, err, kvw.ErrNotFound, "get")
		e := mustGet(t)(b.GetEntry(ctx, "k"))
		if e.Op != kvw.EntryPut || e.Value == nil || len(e.Value) != 0 {
			t.Fatalf("%+v", e)
		}
		wantVersion(t, e.Version, p)
	}
}

func TestVersionsAreStreamSequences(t *testing.T) {
	b := openBucket(t, "seq")
	ctx := testCtx(t)
	w := func(v kvw.Version, err error) kvw.Version { t.Helper(); return mustWrite(t, "write")(v, err) }
	var r []kvw.Version
	r = append(r, w(b.Put(ctx, "a", []byte("a1"))))          // 1
	r = append(r, w(b.Put(ctx, "b", []byte("b1"))))          // 2
	r = append(r, w(b.Create(ctx, "c", []byte("c1"))))       // 3
	r = append(r, w(b.Update(ctx, "a", []byte("a2"), r[0]))) // 4
	r = append(r, w(b.Delete(ctx, "b")))                     // 5
	r = append(r, w(b.DeleteWithVersion(ctx, "c", r[2])))    // 6
	r = append(r, w(b.Purge(ctx, "a")))                      // 7
	r = append(r, w(b.Create(ctx, "b", []byte("b2"))))       // 8: over the DEL marker
	r = append(r, w(b.Update(ctx, "c", []byte("c2"), r[5]))) // 9: over the tombstone
	r = append(r, w(b.Put(ctx, "d", []byte("d1"))))          // 10
	for i, v := range r {
		if v.Revision() != uint64(i+1) || v.String() != strconv.Itoa(i+1) {
			t.Fatalf("write %d: version %v", i, v)
		}
	}
	wantVersion(t, mustGet(t)(b.Get(ctx, "c")).Version, r[8])
	wantVersion(t, mustGet(t)(b.GetEntry(ctx, "a")).Version, r[6])
}

func TestBadVersionRefusedBeforeIO(t *testing.T) {
	b := openBucket(t, "badver")
	ctx := testCtx(t)
	p := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v1")))
	var unknown kvw.Version
	foreign := kvw.MustParseVersion("x:010203") // a token that is no NATS revision
	called := false
	cb := func(kvw.Version, error) { called = true }
	for _, v := range []kvw.Version{unknown, foreign} {
		_, err := b.Update(ctx, "k", []byte("x"), v)
		wantErr(t, err, kvw.ErrInvalidVersion, "update")
		if kvw.IsOutcomeUnknown(err) {
			t.Fatal("a refused op has a known outcome")
		}
		_, err = b.DeleteWithVersion(ctx, "k", v)
		wantErr(t, err, kvw.ErrInvalidVersion, "delete_with_version")
		wantErr(t, b.UpdateAsync("k", []byte("x"), v, cb), kvw.ErrInvalidVersion, "update")
		wantErr(t, b.DeleteWithVersionAsync("k", v, cb), kvw.ErrInvalidVersion, "delete_with_version")
	}
	p2 := mustWrite(t, "put")(b.Put(ctx, "k", []byte("v2")))
	if p2.Revision() != p.Revision()+1 {
		t.Fatalf("%v after %v", p2, p)
	}
	b.Client().Close()
	if called {
		t.Fatal("callback of a refused op ran")
	}
}
