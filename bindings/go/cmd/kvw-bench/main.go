// Command kvw-bench measures async put throughput of the Go binding, and
// the official nats.go client's synchronous KV Put on the same server for
// comparison.
//
//	kvw-bench -server nats://127.0.0.1:4222 -n 100000 -window 16384
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kvw/kvw/bindings/go/kvw"
)

func main() {
	server := flag.String("server", "nats://127.0.0.1:4222", "NATS server URL")
	bucketName := flag.String("bucket", "go_bench", "KV bucket (created if missing)")
	n := flag.Int("n", 100000, "kvw async puts")
	window := flag.Int("window", 16384, "kvw in-flight window (MaxInflight)")
	nkeys := flag.Int("keys", 1000, "distinct keys")
	size := flag.Int("size", 128, "value size in bytes")
	natsN := flag.Int("natsgo-n", 20000, "nats.go synchronous KV puts (0: skip)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the kvw run to this file")
	flag.Parse()

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
	var done, fails, busy atomic.Int64
	var firstErr atomic.Value
	finished := make(chan struct{})
	cb := func(_ kvw.Version, err error) {
		if err != nil {
			fails.Add(1)
			firstErr.CompareAndSwap(nil, err.Error())
		}
		if done.Add(1) == int64(*n) {
			close(finished)
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	start := time.Now()
	for i := 0; i < *n; {
		err := bucket.PutAsync(keys[i%*nkeys], value, cb)
		if err == nil {
			i++
			continue
		}
		if !errors.Is(err, kvw.ErrBusy) {
			log.Fatal(err)
		}
		busy.Add(1)
		if err := client.WaitForCapacity(ctx); err != nil {
			log.Fatal(err)
		}
	}
	<-finished
	elapsed := time.Since(start)
	pprof.StopCPUProfile()
	if e := firstErr.Load(); e != nil {
		fmt.Println("first failure:", e)
	}
	fmt.Printf("kvw-go async put: %d ops in %.3fs = %.0f ops/s (window %d, %d-byte values, %d keys) fails=%d busy=%d\n",
		*n, elapsed.Seconds(), float64(*n)/elapsed.Seconds(), *window, *size, *nkeys, fails.Load(), busy.Load())
	client.Close()

	if *natsN == 0 {
		return
	}
	nc, err := nats.Connect(*server)
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, *bucketName)
	if err != nil {
		log.Fatal(err)
	}
	start = time.Now()
	for i := 0; i < *natsN; i++ {
		if _, err := kv.Put(ctx, keys[i%*nkeys], value); err != nil {
			log.Fatal(err)
		}
	}
	elapsed = time.Since(start)
	fmt.Printf("nats.go sync KV put: %d ops in %.3fs = %.0f ops/s\n", *natsN, elapsed.Seconds(), float64(*natsN)/elapsed.Seconds())
	os.Exit(0)
}
