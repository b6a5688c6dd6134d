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
// its client alive until it completes.
func TestUnreachableHandlesAreFreed(t *testing.T) {
	url := os.Getenv("KVW_TEST_URL")
	if url == "" {
		t.Skip("needs KVW_TEST_URL (set by TestMain)")
	}
	ctx := context.Background()
	base := liveHandles.Load()
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
	if n := liveHandles.Load() - base; n != 12 {
		t.Fatalf("%d live handles, want 12", n)
	}
	wg.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for liveHandles.Load() != base && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := liveHandles.Load() - base; n != 0 {
		t.Fatalf("%d handles still live", n)
	}
}
