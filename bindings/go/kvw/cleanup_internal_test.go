package kvw

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Clients and buckets that become unreachable are released by their
// cleanups — closed or not, with ops pending or not — and a pending op keeps
// its client alive until it completes (the callbacks see no ErrClosed).
func TestUnreachableHandlesAreFreed(t *testing.T) {
	url := os.Getenv("KVW_TEST_URL")
	if url == "" {
		t.Skip("needs KVW_TEST_URL (set by TestMain)")
	}
	var mu sync.Mutex
	want := map[uintptr]bool{} // C handles of this test, true once freed
	hook := func(h uintptr) {
		mu.Lock()
		defer mu.Unlock()
		if _, ok := want[h]; ok {
			want[h] = true
		}
	}
	testHookFreed.Store(&hook)
	defer testHookFreed.Store(nil)

	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 6; i++ {
		c, err := Connect(ctx, &ClientOptions{Servers: []string{url}})
		if err != nil {
			t.Fatal(err)
		}
		b, err := c.Bucket(ctx, "go_cleanup_"+strconv.Itoa(os.Getpid()), &BucketOptions{CreateIfMissing: true})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		want[c.c.h.Swigcptr()], want[b.h.Swigcptr()] = false, false
		mu.Unlock()
		switch i % 3 {
		case 0:
			c.Close()
		case 1: // ops pending when the last reference goes
			for j := 0; j < 500; j++ {
				wg.Add(1)
				if err := b.PutAsync("k", []byte("v"), func(_ Version, err error) {
					if err != nil {
						t.Error(err)
					}
					wg.Done()
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	runtime.GC()
	wg.Wait()
	left := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, done := range want {
			if !done {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(20 * time.Second)
	for left() != 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := left(); n != 0 {
		t.Fatalf("%d of 12 handles not freed", n)
	}
}
