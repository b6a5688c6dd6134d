package kvw_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// counter records how often each op's callback ran.
type counter struct {
	mu    sync.Mutex
	calls map[int]int
	errs  map[int]error
	vers  map[int]kvw.Version
	done  chan struct{}
	want  int
	total int
}

func newCounter(want int) *counter {
	return &counter{calls: map[int]int{}, errs: map[int]error{}, vers: map[int]kvw.Version{},
		done: make(chan struct{}), want: want}
}

func (c *counter) write(i int) func(kvw.Version, error) {
	return func(v kvw.Version, err error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.calls[i]++
		c.errs[i], c.vers[i] = err, v
		c.total++
		if c.total == c.want {
			close(c.done)
		}
	}
}

func (c *counter) wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		c.mu.Lock()
		defer c.mu.Unlock()
		t.Fatalf("%d of %d callbacks after %v", c.total, c.want, d)
	}
}

// exactlyOnce checks that ops [0, n) each completed once.
func (c *counter) exactlyOnce(t *testing.T, n int) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total != n {
		t.Fatalf("%d callbacks, want %d", c.total, n)
	}
	for i := 0; i < n; i++ {
		if c.calls[i] != 1 {
			t.Fatalf("op %d: %d callbacks", i, c.calls[i])
		}
	}
}

// submit retries an async submit while the window is full.
func submit(t *testing.T, c *kvw.Client, f func() error) {
	t.Helper()
	for {
		err := f()
		if err == nil {
			return
		}
		if !errors.Is(err, kvw.ErrBusy) {
			t.Fatalf("submit: %v", err)
		}
		if err := c.WaitForCapacity(testCtx(t)); err != nil {
			t.Fatalf("WaitForCapacity: %v", err)
		}
	}
}

func TestAsyncAllOps(t *testing.T) {
	b := openBucket(t, "async")
	type res struct {
		v   kvw.Version
		e   kvw.Entry
		err error
	}
	ch := make(chan res, 1)
	w := func(v kvw.Version, err error) { ch <- res{v: v, err: err} }
	r := func(e kvw.Entry, err error) { ch <- res{e: e, err: err} }
	next := func() res {
		t.Helper()
		select {
		case x := <-ch:
			return x
		case <-time.After(10 * time.Second):
			t.Fatal("no callback")
		}
		return res{}
	}
	ok := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ok(b.PutAsync("k", []byte{0, 'x', 0}, w))
	p := next()
	ok(p.err)
	ok(b.GetAsync("k", r))
	g := next()
	if g.err != nil || !bytes.Equal(g.e.Value, []byte{0, 'x', 0}) || g.e.Version != p.v {
		t.Fatalf("%+v", g)
	}
	ok(b.CreateAsync("k", []byte("no"), w))
	wantErr(t, next().err, kvw.ErrAlreadyExists, "create")
	ok(b.UpdateAsync("k", []byte("u"), p.v, w))
	u := next()
	ok(u.err)
	ok(b.UpdateAsync("k", []byte("u"), p.v, w))
	wantErr(t, next().err, kvw.ErrConflict, "update")
	ok(b.DeleteWithVersionAsync("k", u.v, w))
	tomb := next()
	ok(tomb.err)
	ok(b.GetEntryAsync("k", r))
	if e := next(); e.err != nil || e.e.Op != kvw.EntryPut || len(e.e.Value) != 0 || e.e.Version != tomb.v {
		t.Fatalf("%+v", e)
	}
	ok(b.DeleteAsync("k", w))
	ok(next().err)
	ok(b.GetAsync("k", r))
	wantErr(t, next().err, kvw.ErrNotFound, "get")
	ok(b.PurgeAsync("k", w))
	pu := next()
	ok(pu.err)
	ok(b.GetEntryAsync("k", r))
	if e := next(); e.err != nil || e.e.Op != kvw.EntryPurge || e.e.Version != pu.v {
		t.Fatalf("%+v", e)
	}
	// A nil callback ignores the outcome.
	ok(b.PutAsync("k", []byte("fire and forget"), nil))
	deadline := time.Now().Add(10 * time.Second)
	for b.Client().Inflight() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := b.Client().Inflight(); n != 0 {
		t.Fatalf("inflight %d", n)
	}
}

// Many goroutines keep many async ops in flight; every completion arrives
// exactly once with the right version order per key.
func TestConcurrentAsyncExactlyOnce(t *testing.T) {
	c := connect(t, &kvw.ClientOptions{MaxInflight: 4096})
	// 50 writes per key, all kept: an order failure shows what was stored.
	const goroutines, perG, keys = 8, 5000, 100
	b := openBucketOn(t, c, "conc", &kvw.BucketOptions{History: perG / keys})
	cnt := newCounter(goroutines * perG)
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				id := g*perG + i
				key := fmt.Sprintf("g%d.k%d", g, i%keys)
				val := []byte(strconv.Itoa(id))
				submit(t, c, func() error { return b.PutAsync(key, val, cnt.write(id)) })
			}
		}()
	}
	wg.Wait()
	cnt.wait(t, 60*time.Second)
	cnt.exactlyOnce(t, goroutines*perG)
	// Ops on one key from one goroutine reach the server in order.
	for g := 0; g < goroutines; g++ {
		for i := keys; i < perG; i++ {
			prev, cur := g*perG+i-keys, g*perG+i
			if cnt.errs[cur] != nil || cnt.vers[cur].Revision() <= cnt.vers[prev].Revision() {
				key := fmt.Sprintf("g%d.k%d", g, i%keys)
				t.Errorf("op %d (%v, %v) not after op %d (%v) on %s; stored, as nats.go reads it:",
					cur, cnt.vers[cur], cnt.errs[cur], prev, cnt.vers[prev], key)
				for _, e := range history(t, natsKV(t, b.Name()), key) {
					id, _ := strconv.Atoi(e.value)
					t.Errorf("  revision %d: op %d (kvw said revision %d)", e.rev, id, cnt.vers[id].Revision())
				}
				t.FailNow()
			}
		}
	}
	// A callback counts until it returns, a moment after cnt saw it run.
	deadline := time.Now().Add(10 * time.Second)
	for c.Inflight() != 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := c.Inflight(); n != 0 {
		t.Fatalf("inflight %d after all callbacks", n)
	}
}

// Synchronous calls from many goroutines at once, mixed with async ones.
func TestConcurrentSync(t *testing.T) {
	b := openBucket(t, "csync")
	ctx := testCtx(t)
	var wg sync.WaitGroup
	var fails atomic.Int64
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", g)
			v, err := b.Put(ctx, key, []byte("0"))
			for i := 1; i <= 50 && err == nil; i++ {
				v, err = b.Update(ctx, key, []byte(fmt.Sprint(i)), v)
			}
			if err != nil {
				fails.Add(1)
				t.Error(err)
			}
			e, err := b.Get(ctx, key)
			if err != nil || string(e.Value) != "50" || e.Version != v {
				t.Errorf("%s: %+v %v", key, e, err)
			}
		}()
	}
	wg.Wait()
}

func TestCloseCompletesPendingOpsOnce(t *testing.T) {
	for round := 0; round < 5; round++ {
		c := connect(t, nil)
		b := openBucketOn(t, c, "close", nil)
		const n = 3000
		cnt := newCounter(n)
		val := make([]byte, 256)
		for i := 0; i < n; i++ {
			if err := b.PutAsync(fmt.Sprintf("k%d", i%100), val, cnt.write(i)); err != nil {
				t.Fatal(err)
			}
		}
		// A synchronous waiter too.
		syncErr := make(chan error, 1)
		go func() {
			_, err := b.Put(context.Background(), "sync", val)
			syncErr <- err
		}()
		if round%2 == 1 {
			time.Sleep(time.Duration(round) * time.Millisecond)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		// Close waited for every callback.
		cnt.mu.Lock()
		total := cnt.total
		cnt.mu.Unlock()
		if total != n {
			t.Fatalf("round %d: %d of %d callbacks when Close returned", round, total, n)
		}
		cnt.exactlyOnce(t, n)
		closed := 0
		for i := 0; i < n; i++ {
			if err := cnt.errs[i]; err != nil {
				if !errors.Is(err, kvw.ErrClosed) {
					t.Fatalf("op %d: %v", i, err)
				}
				if !kvw.IsOutcomeUnknown(err) {
					t.Fatalf("a write cancelled at close has an unknown outcome: %v", err)
				}
				closed++
			}
		}
		t.Logf("round %d: %d of %d ops cancelled by close", round, closed, n)
		select {
		case err := <-syncErr:
			if err != nil && !errors.Is(err, kvw.ErrClosed) {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("sync Put did not return after Close")
		}
		// After close: refused at once, callback never runs.
		err := b.PutAsync("k", val, func(kvw.Version, error) { t.Error("callback after close") })
		wantErr(t, err, kvw.ErrClosed, "put")
		if kvw.IsOutcomeUnknown(err) {
			t.Fatal("refused after close: outcome known")
		}
		_, err = b.Get(testCtx(t), "k")
		wantErr(t, err, kvw.ErrClosed, "get")
		if err := c.Close(); err != nil { // idempotent
			t.Fatal(err)
		}
		if _, err := c.Bucket(testCtx(t), "x", nil); !errors.Is(err, kvw.ErrClosed) {
			t.Fatalf("Bucket after Close: %v", err)
		}
	}
}

func TestConcurrentCloseAndSubmit(t *testing.T) {
	for round := 0; round < 10; round++ {
		c := connect(t, nil)
		b := openBucketOn(t, c, "closerace", nil)
		var accepted, called atomic.Int64
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 2000; i++ {
					err := b.PutAsync("k", []byte("v"), func(kvw.Version, error) { called.Add(1) })
					if err == nil {
						accepted.Add(1)
					} else if errors.Is(err, kvw.ErrClosed) {
						return
					} else if !errors.Is(err, kvw.ErrBusy) {
						t.Error(err)
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(round) * time.Millisecond)
		var cw sync.WaitGroup
		for i := 0; i < 3; i++ { // concurrent Close calls
			cw.Add(1)
			go func() { defer cw.Done(); c.Close() }()
		}
		cw.Wait()
		wg.Wait()
		c.Close()
		if accepted.Load() != called.Load() {
			t.Fatalf("round %d: %d accepted, %d callbacks", round, accepted.Load(), called.Load())
		}
	}
}

func TestCallbacksMayBlockSubmitAndClose(t *testing.T) {
	c := connect(t, nil)
	b := openBucketOn(t, c, "cbs", nil)
	done := make(chan error, 1)
	// A callback that makes a synchronous call, then an async one, then closes.
	err := b.PutAsync("a", []byte("1"), func(v kvw.Version, err error) {
		if err != nil {
			done <- err
			return
		}
		if _, err := b.Update(context.Background(), "a", []byte("2"), v); err != nil {
			done <- err
			return
		}
		err = b.GetAsync("a", func(e kvw.Entry, err error) {
			if err == nil && string(e.Value) != "2" {
				err = fmt.Errorf("value %q", e.Value)
			}
			if err == nil {
				err = errors.New("ok")
			}
			done <- err
		})
		if err != nil {
			done <- err
			return
		}
		c.Close() // from inside a callback: must not deadlock
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		// The GetAsync callback runs after Close: it sees the real value or ErrClosed.
		if err.Error() != "ok" && !errors.Is(err, kvw.ErrClosed) {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("callback chain stalled")
	}
	c.Close()
}

func TestContextCancellation(t *testing.T) {
	c := connect(t, nil)
	b := openBucketOn(t, c, "ctx", nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Put(ctx, "k", []byte("v")); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	if _, err := b.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	if !kvw.IsOutcomeUnknown(context.Canceled) {
		t.Fatal("an abandoned wait has an unknown outcome")
	}
	// Cancel while waiting (the server is paused, so every op is in flight):
	// ctx.Err() comes back at once, and each op still completes, once.
	s, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	pc := connect(t, &kvw.ClientOptions{Servers: []string{s.url}})
	pb := openBucketOn(t, pc, "ctxpaused", nil)
	s.pause(t)
	ctx2, cancel2 := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	const n = 200
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := pb.Put(ctx2, fmt.Sprintf("k%d", i), []byte("v")); !errors.Is(err, context.Canceled) {
				t.Errorf("k%d: %v", i, err)
			}
		}()
	}
	for deadline := time.Now().Add(10 * time.Second); pc.Inflight() != n && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if pc.Inflight() != n {
		t.Fatalf("inflight %d, want %d", pc.Inflight(), n)
	}
	cancel2()
	wg.Wait() // returned while the server is still paused
	s.resume()
	for deadline := time.Now().Add(10 * time.Second); pc.Inflight() != 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if pc.Inflight() != 0 {
		t.Fatalf("inflight %d", pc.Inflight())
	}
	for i := 0; i < n; i++ { // every abandoned op landed
		if _, err := pb.Get(testCtx(t), fmt.Sprintf("k%d", i)); err != nil {
			t.Fatalf("k%d: %v", i, err)
		}
	}
	// Deadlines work the same way.
	dctx, dcancel := context.WithTimeout(context.Background(), time.Nanosecond)
	defer dcancel()
	time.Sleep(time.Millisecond)
	if _, err := b.Put(dctx, "k", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
}

func TestBusyWindow(t *testing.T) {
	c := connect(t, &kvw.ClientOptions{MaxInflight: 8})
	b := openBucketOn(t, c, "busy", nil)
	block := make(chan struct{})
	var wg sync.WaitGroup
	accepted := 0
	var busy error
	for i := 0; i < 100; i++ {
		wg.Add(1)
		err := b.PutAsync("k", []byte("v"), func(kvw.Version, error) { <-block; wg.Done() })
		if err != nil {
			wg.Done()
			busy = err
			break
		}
		accepted++
	}
	// Callbacks hold their slot until they return, so the 9th op is refused.
	if accepted != 8 {
		t.Fatalf("accepted %d, want 8", accepted)
	}
	wantErr(t, busy, kvw.ErrBusy, "put")
	if !kvw.IsRetryable(busy) || kvw.IsOutcomeUnknown(busy) {
		t.Fatal("busy is retryable with a known outcome")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.WaitForCapacity(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitForCapacity: %v", err)
	}
	// A synchronous op waits for room instead of failing.
	syncDone := make(chan error, 1)
	go func() { _, err := b.Put(context.Background(), "s", []byte("v")); syncDone <- err }()
	close(block)
	wg.Wait()
	if err := c.WaitForCapacity(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	if err := <-syncDone; err != nil {
		t.Fatal(err)
	}
}

func TestBadInputRefusedAtSubmit(t *testing.T) {
	c := connect(t, nil)
	b := openBucketOn(t, c, "bad", &kvw.BucketOptions{MaxValueSize: 1024})
	ctx := testCtx(t)
	never := func(kvw.Version, error) { t.Error("callback of a refused op") }
	for _, key := range []string{"", ".a", "a.", "a..b", "sp ace", "st*r", "gt>", "nul\x00x", "ü", string(make([]byte, 1025))} {
		_, err := b.Put(ctx, key, []byte("v"))
		ke := wantErr(t, err, kvw.ErrInvalidKey, "put")
		if ke.Key != key || ke.Message == "" {
			t.Fatalf("%+v", ke)
		}
		wantErr(t, b.PutAsync(key, nil, never), kvw.ErrInvalidKey, "put")
		_, err = b.Get(ctx, key)
		wantErr(t, err, kvw.ErrInvalidKey, "get")
	}
	if b.MaxValueSize() != 1024 {
		t.Fatalf("max value size %d", b.MaxValueSize())
	}
	_, err := b.Put(ctx, "k", make([]byte, 1025))
	wantErr(t, err, kvw.ErrTooBig, "put")
	mustWrite(t, "put")(b.Put(ctx, "k", make([]byte, 1024)))
	if _, err := c.Bucket(ctx, "bad name", nil); !errors.Is(err, kvw.ErrInvalidBucketName) {
		t.Fatalf("%v", err)
	}
	if _, err := c.Bucket(ctx, "nul\x00", nil); !errors.Is(err, kvw.ErrInvalidBucketName) {
		t.Fatalf("%v", err)
	}
	if _, err := c.Bucket(ctx, uniqueName("absent"), nil); !errors.Is(err, kvw.ErrNoBucket) {
		t.Fatalf("%v", err)
	}
	if _, err := c.Bucket(ctx, uniqueName("hist"), &kvw.BucketOptions{CreateIfMissing: true, History: 65}); !errors.Is(err, kvw.ErrInvalid) {
		t.Fatalf("%v", err)
	}
	if n := c.Inflight(); n != 0 {
		t.Fatalf("inflight %d after refusals", n)
	}
}

func TestBucketClose(t *testing.T) {
	c := connect(t, nil)
	b := openBucketOn(t, c, "bclose", nil)
	cnt := newCounter(100)
	for i := 0; i < 100; i++ {
		if err := b.PutAsync("k", []byte("v"), cnt.write(i)); err != nil {
			t.Fatal(err)
		}
	}
	b.Close()
	b.Close()
	wantErr(t, b.PutAsync("k", nil, nil), kvw.ErrClosed, "put")
	cnt.wait(t, 10*time.Second) // pending ops complete normally
	cnt.exactlyOnce(t, 100)
	for i := 0; i < 100; i++ {
		if cnt.errs[i] != nil {
			t.Fatal(cnt.errs[i])
		}
	}
	// The client and its other buckets go on.
	b2, err := c.Bucket(testCtx(t), b.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, "put")(b2.Put(testCtx(t), "k", []byte("v")))
}

func TestConnectFailures(t *testing.T) {
	ctx := testCtx(t)
	_, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{"nats://127.0.0.1:1"}, ConnectTimeout: 200 * time.Millisecond})
	var ke *kvw.Error
	if !errors.Is(err, kvw.ErrNotConnected) || !errors.As(err, &ke) || ke.Op != "connect" {
		t.Fatalf("%v", err)
	}
	_, err = kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{"nats://127.0.0.1:1"}, OpTimeout: -5})
	if !errors.Is(err, kvw.ErrInvalid) {
		t.Fatalf("%v", err)
	}
	_, err = kvw.Connect(ctx, &kvw.ClientOptions{Name: "a\x00b"})
	if !errors.Is(err, kvw.ErrInvalid) {
		t.Fatalf("%v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := kvw.Connect(cctx, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v", err)
	}
	// A client that is never closed explicitly is closed once unreachable.
	for i := 0; i < 5; i++ {
		c, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{serverURL}})
		if err != nil {
			t.Fatal(err)
		}
		_ = c
	}
	runtime.GC()
}

// The server stops answering: writes time out with an unknown outcome.
func TestTimeoutOutcomeUnknown(t *testing.T) {
	s, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	c := connect(t, &kvw.ClientOptions{Servers: []string{s.url}, OpTimeout: 300 * time.Millisecond})
	b := openBucketOn(t, c, "timeout", nil)
	mustWrite(t, "put")(b.Put(testCtx(t), "k", []byte("v")))
	s.pause(t)
	_, err = b.Put(testCtx(t), "k", []byte("v2"))
	s.resume()
	ke := wantErr(t, err, kvw.ErrTimeout, "put")
	if !kvw.IsOutcomeUnknown(err) || !kvw.IsRetryable(err) || !ke.OutcomeUnknown() {
		t.Fatalf("timeout: outcome unknown and retryable: %v", err)
	}
}

// Connect and Bucket return when their ctx ends, even if the server hangs.
func TestBlockingCallsHonourContext(t *testing.T) {
	// A "server" that accepts connections and never says anything.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{"nats://" + ln.Addr().String()}, MaxReconnect: kvw.NoReconnect})
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, kvw.ErrNotConnected) {
		t.Fatalf("Connect to a silent server: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Connect took %v with a 300ms deadline", d)
	}

	s, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	c := connect(t, &kvw.ClientOptions{Servers: []string{s.url}, OpTimeout: 5 * time.Second})
	s.pause(t)
	bctx, bcancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer bcancel()
	start = time.Now()
	_, err = c.Bucket(bctx, uniqueName("hang"), &kvw.BucketOptions{CreateIfMissing: true})
	s.resume()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2500*time.Millisecond { // well before the op timeout
		t.Fatalf("Bucket with a stopped server: %v after %v", err, time.Since(start))
	}
	if _, err := c.Bucket(testCtx(t), uniqueName("after"), &kvw.BucketOptions{CreateIfMissing: true}); err != nil {
		t.Fatalf("Bucket after the server resumed: %v", err)
	}
}

// A callback may make a synchronous call even while the window is full of
// callbacks queued behind it (they hold their slots until they run).
func TestSyncCallInCallbackWithFullWindow(t *testing.T) {
	c := connect(t, &kvw.ClientOptions{MaxInflight: 4})
	b := openBucketOn(t, c, "fullcb", nil)
	done := make(chan error, 4)
	// The callbacks' own sync puts take window slots too: hold them until all
	// four async puts are in, or the last submit could meet a full window.
	submitted := make(chan struct{})
	for i := 0; i < 4; i++ {
		err := b.PutAsync("k", []byte("v"), func(_ kvw.Version, err error) {
			<-submitted
			if err == nil {
				_, err = b.Put(context.Background(), "inner", []byte("x"))
			}
			done <- err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	wantErr(t, b.PutAsync("k", nil, nil), kvw.ErrBusy, "put")
	close(submitted)
	for i := 0; i < 4; i++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a synchronous call inside a callback stalled")
		}
	}
}
