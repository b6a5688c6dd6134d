package kvw_test

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// Thousands of async ops pending while nothing but their callbacks refers to
// the client, the bucket or the values, and GC runs over and over: every
// callback still runs exactly once, with success (dropping the last reference
// must not cancel pending work), and value bytes are intact.
func TestGCStressDroppedReferences(t *testing.T) {
	const rounds, perRound = 4, 5000
	var wg sync.WaitGroup
	var mu sync.Mutex
	calls := make(map[string]int)
	var firstErr error
	stop := make(chan struct{})
	gcDone := make(chan struct{})
	go func() { // force GC continuously
		defer close(gcDone)
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for r := 0; r < rounds; r++ {
		func() { // client, bucket and values go out of scope at the end
			c, err := kvw.Connect(testCtx(t), &kvw.ClientOptions{Servers: []string{serverURL}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := c.Bucket(testCtx(t), uniqueName("gc"), &kvw.BucketOptions{CreateIfMissing: true})
			if err != nil {
				t.Fatal(err)
			}
			var puts sync.WaitGroup
			for i := 0; i < perRound; i++ {
				id := fmt.Sprintf("%d/%d", r, i)
				val := []byte(fmt.Sprintf("value-%s-\x00-end", id))
				wg.Add(1)
				puts.Add(1)
				err := b.PutAsync(fmt.Sprintf("k%d", i%200), val, func(v kvw.Version, err error) {
					defer wg.Done()
					defer puts.Done()
					mu.Lock()
					defer mu.Unlock()
					calls[id]++
					if err != nil && firstErr == nil {
						firstErr = fmt.Errorf("op %s: %w", id, err)
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				for j := range val { // the caller may scribble on its slice at once
					val[j] = 'X'
				}
			}
			// Reads whose entries are checked in the callback, once the puts
			// completed: on nats-server 2.10+ a read may overtake a write
			// still in flight.
			puts.Wait()
			for i := 0; i < 200; i++ {
				wg.Add(1)
				key := fmt.Sprintf("k%d", i)
				want := fmt.Sprintf("value-%d/%d-\x00-end", r, perRound-200+i)
				err := b.GetAsync(key, func(e kvw.Entry, err error) {
					defer wg.Done()
					mu.Lock()
					defer mu.Unlock()
					if err == nil && string(e.Value) != want {
						err = fmt.Errorf("%s: %q, want %q", key, e.Value, want)
					}
					if err != nil && firstErr == nil {
						firstErr = err
					}
				})
				if err != nil {
					t.Fatal(err)
				}
			}
		}()
		runtime.GC()
	}
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(120 * time.Second):
		t.Fatal("callbacks missing after 120s")
	}
	close(stop)
	<-gcDone
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if len(calls) != rounds*perRound {
		t.Fatalf("%d distinct callbacks, want %d", len(calls), rounds*perRound)
	}
	for id, n := range calls {
		if n != 1 {
			t.Fatalf("op %s: %d callbacks", id, n)
		}
	}
	// The unreachable clients are closed by their cleanups once idle.
	for i := 0; i < 20; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
}
