// The README's Go example: connect, open (or create) a bucket, write with
// compare-and-set, read back, and fire async puts.
//
//	go run ./example nats://127.0.0.1:4222
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/kvw/kvw/bindings/go/kvw"
)

func main() {
	url := "nats://127.0.0.1:4222"
	if len(os.Args) > 1 {
		url = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	client, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{url}})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	bucket, err := client.Bucket(ctx, "example", &kvw.BucketOptions{CreateIfMissing: true})
	if err != nil {
		log.Fatal(err)
	}

	v, err := bucket.Put(ctx, "greeting", []byte("hello"))
	if err != nil {
		log.Fatal(err)
	}
	// Compare-and-set: succeeds only while "greeting" is still at version v.
	if _, err := bucket.Update(ctx, "greeting", []byte("hello, world"), v); err != nil {
		log.Fatal(err)
	}
	if _, err := bucket.Update(ctx, "greeting", []byte("lost race"), v); errors.Is(err, kvw.ErrConflict) {
		fmt.Println("stale update refused:", err)
	}
	e, err := bucket.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s = %q at version %s\n", e.Key, e.Value, e.Version)

	// Async: returns at once; each callback runs exactly once, later.
	var wg sync.WaitGroup
	for i := 0; i < 100; i++ {
		wg.Add(1)
		err := bucket.PutAsync(fmt.Sprintf("counter.%d", i%10), []byte(fmt.Sprint(i)), func(v kvw.Version, err error) {
			defer wg.Done()
			if err != nil {
				log.Print(err)
			}
		})
		if err != nil { // refused at once (ErrBusy: window full); the callback will not run
			wg.Done()
			log.Print(err)
		}
	}
	wg.Wait()
	fmt.Println("100 async puts done")
}
