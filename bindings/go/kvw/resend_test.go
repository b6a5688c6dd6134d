package kvw_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvw/kvw/bindings/go/kvw"
)

// Write ids: kvw's puts carry one Nats-Msg-Id each (what nats.go sees), and
// none with NoResend.
func TestWriteIDs(t *testing.T) {
	for _, resend := range []time.Duration{0, kvw.NoResend} {
		c := connect(t, &kvw.ClientOptions{ResendAfter: resend})
		b := openBucketOn(t, c, "ids", nil)
		v, err := b.Put(testCtx(t), "k", []byte("v"))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := natsJS(t).Stream(testCtx(t), "KV_"+b.Name())
		if err != nil {
			t.Fatal(err)
		}
		raw, err := msg.GetMsg(testCtx(t), v.Revision())
		if err != nil {
			t.Fatal(err)
		}
		id := raw.Header.Get(jetstream.MsgIDHeader)
		if (resend == kvw.NoResend) != (id == "") {
			t.Fatalf("ResendAfter %v: Nats-Msg-Id %q", resend, id)
		}
	}
	// Only NoResend may be negative.
	if _, err := kvw.Connect(testCtx(t), &kvw.ClientOptions{Servers: []string{serverURL}, ResendAfter: -5 * time.Millisecond}); !errors.Is(err, kvw.ErrInvalid) {
		t.Fatalf("negative ResendAfter: %v", err)
	}
	if err := connect(t, nil).Drain(-time.Second); !errors.Is(err, kvw.ErrInvalid) {
		t.Fatalf("negative Drain timeout: %v", err)
	}
}

// 1,000 puts in flight to a paused server that comes back 500 ms later: Close
// cancels them all, Drain waits for their real outcomes (the C suite
// reliability/resend gives the same counts).
func TestDrainGetsRealOutcomes(t *testing.T) {
	s, err := startServer()
	if err != nil {
		t.Fatal(err)
	}
	defer s.stop()
	for _, drain := range []bool{false, true} {
		c := connect(t, &kvw.ClientOptions{Servers: []string{s.url}, ReconnectWait: 100 * time.Millisecond})
		b := openBucketOn(t, c, "drain", &kvw.BucketOptions{CreateIfMissing: true, History: 4, DuplicateWindow: time.Minute})
		s.pause(t)
		const n = 1000
		var ok, closed, other atomic.Int64
		var wg sync.WaitGroup
		wg.Add(n)
		for i := 0; i < n; i++ {
			err := b.PutAsync(fmt.Sprintf("k%d", i), []byte("v"), func(_ kvw.Version, err error) {
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, kvw.ErrClosed):
					closed.Add(1)
				default:
					other.Add(1)
				}
				wg.Done()
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		go func() { time.Sleep(500 * time.Millisecond); s.resume() }()
		if drain {
			err = c.Drain(10 * time.Second)
		} else {
			err = c.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		t.Logf("FIGURES drain=%v with %d in flight, server paused 500 ms: OK %d, cancelled %d, other %d",
			drain, n, ok.Load(), closed.Load(), other.Load())
		if drain && ok.Load() != n || !drain && closed.Load() != n {
			t.Fatalf("drain=%v: OK %d, cancelled %d, other %d", drain, ok.Load(), closed.Load(), other.Load())
		}
		if err := b.PutAsync("late", []byte("v"), nil); !errors.Is(err, kvw.ErrClosed) {
			t.Fatalf("after drain/close: %v", err)
		}
		time.Sleep(600 * time.Millisecond) // the resume has happened before the next round pauses
	}
	// Drain that gives up: ErrTimeout, and the ops end ErrClosed.
	c := connect(t, &kvw.ClientOptions{Servers: []string{s.url}})
	b := openBucketOn(t, c, "drain", nil)
	s.pause(t)
	defer s.resume()
	done := make(chan error, 1)
	if err := b.PutAsync("k", []byte("v"), func(_ kvw.Version, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	if err := c.Drain(200 * time.Millisecond); !errors.Is(err, kvw.ErrTimeout) {
		t.Fatalf("drain past its timeout: %v", err)
	}
	if err := <-done; !errors.Is(err, kvw.ErrClosed) {
		t.Fatalf("op cancelled by drain: %v", err)
	}
}
