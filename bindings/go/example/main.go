// The README's Go example: go run ./example nats://127.0.0.1:4222
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"

	"github.com/kvw/kvw/bindings/go/kvw"
)

func main() {
	ctx := context.Background()
	client, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{os.Args[1]}})
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
	// Compare-and-set: only while "greeting" is still at version v.
	if _, err := bucket.Update(ctx, "greeting", []byte("hello, world"), v); err != nil {
		log.Fatal(err)
	}
	if _, err := bucket.Update(ctx, "greeting", []byte("stale"), v); errors.Is(err, kvw.ErrConflict) {
		fmt.Println("stale update refused:", err)
	}
	e, err := bucket.Get(ctx, "greeting")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s = %q at version %s\n", e.Key, e.Value, e.Version)

	// Async: returns at once; the callback runs exactly once, later.
	var wg sync.WaitGroup
	wg.Add(1)
	err = bucket.PutAsync("counter", []byte("1"), func(v kvw.Version, err error) {
		defer wg.Done()
		fmt.Println("async put:", v, err)
	})
	if err != nil { // refused at once (ErrBusy, ErrInvalidKey…): no callback
		log.Fatal(err)
	}
	wg.Wait()
}
