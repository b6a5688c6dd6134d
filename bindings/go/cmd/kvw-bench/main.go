// Command kvw-bench measures put throughput of the Go binding (async and
// blocking) and, on the same server and bucket for comparison, of the
// official nats.go client: its synchronous KV Put, and its async JetStream
// publish to the subjects KV put writes (the official async ceiling).
//
//	kvw-bench -server nats://127.0.0.1:4222 -n 100000 -window 16384 -rows
//
// With -rows each phase also prints one tab-separated line for the
// cross-language bench script:
//
//	ROW	go	<phase>	<ops>	<seconds>	<fails>
//
// with phase kvw_async_put, kvw_blocking_put, official_kv_put or
// official_publish_async; a phase of 0 ops prints none. The program exits 1
// if any op of any phase failed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvw/kvw/bindings/go/kvw"
)

var (
	rows   = flag.Bool("rows", false, "also print one machine-readable ROW line per phase")
	failed bool // some phase had fails: exit 1 at the end
)

// failures counts a phase's failed ops and keeps the first error.
type failures struct {
	n     int64
	first error
}

func (f *failures) add(err error) {
	f.n++
	if f.first == nil {
		f.first = err
	}
}

// syncLoop makes n blocking calls over the keys in turn.
func syncLoop(n int, keys []string, call func(key string) error) (time.Duration, failures) {
	var fails failures
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := call(keys[i%len(keys)]); err != nil {
			fails.add(err)
		}
	}
	return time.Since(start), fails
}

// concurrentLoop makes n blocking calls from conc goroutines at once (each
// its share, over the keys in turn), as a request handler pool would.
func concurrentLoop(n, conc int, keys []string, call func(key string) error) (time.Duration, failures) {
	var mu sync.Mutex
	var fails failures
	var wg sync.WaitGroup
	start := time.Now()
	for g := 0; g < conc; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < n; i += conc {
				if err := call(keys[i%len(keys)]); err != nil {
					mu.Lock()
					fails.add(err)
					mu.Unlock()
				}
			}
		}(g)
	}
	wg.Wait()
	return time.Since(start), fails
}

// report prints a phase's human line and, with -rows, its ROW line.
func report(phase, human string, ops int, elapsed time.Duration, fails int64, firstErr error) {
	if firstErr != nil {
		fmt.Printf("%s: first failure: %v\n", human, firstErr)
	}
	fmt.Printf("%s: %d ops in %.3fs = %.0f ops/s fails=%d\n",
		human, ops, elapsed.Seconds(), float64(ops)/elapsed.Seconds(), fails)
	if *rows {
		fmt.Printf("ROW\tgo\t%s\t%d\t%.6f\t%d\n", phase, ops, elapsed.Seconds(), fails)
	}
	if fails > 0 {
		failed = true
	}
}

func main() {
	server := flag.String("server", "nats://127.0.0.1:4222", "NATS server URL")
	bucketName := flag.String("bucket", "go_bench", "KV bucket (created if missing)")
	n := flag.Int("n", 100000, "kvw async puts (0: skip)")
	window := flag.Int("window", 16384, "in-flight window: kvw MaxInflight and nats.go async publish max pending")
	nkeys := flag.Int("keys", 1000, "distinct keys")
	size := flag.Int("size", 128, "value size in bytes")
	blockingN := flag.Int("blocking-n", 5000, "kvw blocking puts, after the async ones on the same client (0: skip)")
	natsN := flag.Int("natsgo-n", 20000, "nats.go synchronous KV puts (0: skip)")
	pubN := flag.Int("publish-async-n", -1, "nats.go async JetStream publishes to the KV subjects (default -n; 0: skip)")
	concurrent := flag.Int("concurrent", 0, "goroutines making blocking puts at once, kvw and nats.go (0: skip)")
	concurrentN := flag.Int("concurrent-n", 20000, "puts of each -concurrent phase")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the kvw async run to this file")
	flag.Parse()
	if *pubN < 0 {
		*pubN = *n
	}

	ctx := context.Background()
	keys := make([]string, *nkeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	value := make([]byte, *size)
	for i := range value {
		value[i] = 'x'
	}

	client, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{*server}, MaxInflight: *window})
	if err != nil {
		log.Fatal(err)
	}
	bucket, err := client.Bucket(ctx, *bucketName, &kvw.BucketOptions{CreateIfMissing: true})
	if err != nil {
		log.Fatal(err)
	}
	if *n > 0 {
		kvwAsync(client, bucket, *n, *window, keys, value, *cpuProfile)
	}
	if *blockingN > 0 {
		elapsed, fails := syncLoop(*blockingN, keys, func(key string) error {
			_, err := bucket.Put(ctx, key, value)
			return err
		})
		report("kvw_blocking_put", "kvw-go blocking put", *blockingN, elapsed, fails.n, fails.first)
		if *concurrent > 0 {
			elapsed, fails := concurrentLoop(*concurrentN, *concurrent, keys, func(key string) error {
				_, err := bucket.Put(ctx, key, value)
				return err
			})
			report("kvw_concurrent_put", fmt.Sprintf("kvw-go blocking put, %d goroutines", *concurrent),
				*concurrentN, elapsed, fails.n, fails.first)
		}
	}
	client.Close()

	if *natsN > 0 || *pubN > 0 {
		nc, err := nats.Connect(*server)
		if err != nil {
			log.Fatal(err)
		}
		js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(*window))
		if err != nil {
			log.Fatal(err)
		}
		if *natsN > 0 {
			officialKVPut(ctx, js, *bucketName, *natsN, *concurrent, *concurrentN, keys, value)
		}
		if *pubN > 0 {
			officialPublishAsync(js, *bucketName, *pubN, *window, keys, value)
		}
		nc.Close()
	}
	if failed {
		os.Exit(1)
	}
}

// kvwAsync runs n PutAsync with at most window in flight, waiting for
// capacity on ErrBusy, and waits for every callback.
func kvwAsync(client *kvw.Client, bucket *kvw.Bucket, n, window int, keys []string, value []byte, cpuProfile string) {
	var done, fails, busy atomic.Int64
	var firstErr atomic.Pointer[error]
	finished := make(chan struct{})
	cb := func(_ kvw.Version, err error) {
		if err != nil {
			fails.Add(1)
			firstErr.CompareAndSwap(nil, &err)
		}
		if done.Add(1) == int64(n) {
			close(finished)
		}
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	start := time.Now()
	for i := 0; i < n; {
		err := bucket.PutAsync(keys[i%len(keys)], value, cb)
		if errors.Is(err, kvw.ErrBusy) {
			busy.Add(1)
			if err := client.WaitForCapacity(context.Background()); err != nil {
				log.Fatal(err)
			}
			continue
		}
		if err != nil {
			cb(kvw.Version{}, err) // refused at submit: a failed op, no callback will come
		}
		i++
	}
	<-finished
	elapsed := time.Since(start)
	pprof.StopCPUProfile()
	var first error
	if e := firstErr.Load(); e != nil {
		first = *e
	}
	report("kvw_async_put", fmt.Sprintf("kvw-go async put (window %d, %d-byte values, %d keys, busy %d)",
		window, len(value), len(keys), busy.Load()), n, elapsed, fails.Load(), first)
}

// officialKVPut runs n synchronous nats.go KeyValue Puts, then (conc > 0)
// concN more from conc goroutines at once.
func officialKVPut(ctx context.Context, js jetstream.JetStream, bucketName string, n, conc, concN int, keys []string, value []byte) {
	kv, err := js.KeyValue(ctx, bucketName)
	if err != nil {
		log.Fatal(err)
	}
	put := func(key string) error {
		_, err := kv.Put(ctx, key, value)
		return err
	}
	elapsed, fails := syncLoop(n, keys, put)
	report("official_kv_put", "nats.go sync KV put", n, elapsed, fails.n, fails.first)
	if conc > 0 {
		elapsed, fails = concurrentLoop(concN, conc, keys, put)
		report("official_concurrent_put", fmt.Sprintf("nats.go sync KV put, %d goroutines", conc), concN, elapsed,
			fails.n, fails.first)
	}
}

// officialPublishAsync runs n nats.go JetStream PublishAsync to $KV.<bucket>.<key>
// (what KV Put publishes to), at most window pending (set on js), then waits
// for every ack and counts the futures that resolved with an error.
func officialPublishAsync(js jetstream.JetStream, bucketName string, n, window int, keys []string, value []byte) {
	subjects := make([]string, len(keys))
	for i, k := range keys {
		subjects[i] = "$KV." + bucketName + "." + k
	}
	futures := make([]jetstream.PubAckFuture, 0, n)
	var fails failures
	var stalls int64
	start := time.Now()
	for i := 0; i < n; {
		f, err := js.PublishAsync(subjects[i%len(subjects)], value)
		// A full window blocks PublishAsync for up to 200 ms, then it gives up
		// with ErrTooManyStalledMsgs without sending: send again. (nats.go counts
		// the stalled publish as pending, so waking takes two acks: with
		// -window 1 every publish stalls the full 200 ms.)
		if errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			stalls++
			continue
		}
		if err != nil {
			fails.add(err)
		} else {
			futures = append(futures, f)
		}
		i++
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute): // lost acks: counted as fails below
	}
	elapsed := time.Since(start)
	// Each future resolved with either a PubAck or an error (server error
	// reply, no stream response, disconnect); one with neither was never acked.
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			fails.add(err)
		default:
			fails.add(errors.New("no ack"))
		}
	}
	report("official_publish_async", fmt.Sprintf("nats.go JetStream PublishAsync (max pending %d, stalls %d)",
		window, stalls), n, elapsed, fails.n, fails.first)
}
