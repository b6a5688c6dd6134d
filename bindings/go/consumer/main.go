// A program outside the kvw tree using the installed package, as a user's
// would (consumer.sh builds it in a temporary module and runs it):
// put, create twice, stale update, get. Exit 0 only if each does what the
// README says. Usage: consumer nats://127.0.0.1:4222
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/kvw/kvw/bindings/go/kvw"
)

func fail(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "consumer: "+format+"\n", a...)
	os.Exit(1)
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{os.Args[1]}})
	if err != nil {
		fail("connect: %v", err)
	}
	defer client.Close()
	b, err := client.Bucket(ctx, "go_consumer", &kvw.BucketOptions{CreateIfMissing: true})
	if err != nil {
		fail("bucket: %v", err)
	}
	v1, err := b.Put(ctx, "k", []byte("v1"))
	if err != nil {
		fail("put: %v", err)
	}
	if _, err := b.Create(ctx, "c", []byte("x")); err != nil {
		fail("create: %v", err)
	}
	if _, err := b.Create(ctx, "c", []byte("y")); !errors.Is(err, kvw.ErrAlreadyExists) {
		fail("second create: want ErrAlreadyExists, got %v", err)
	}
	v2, err := b.Update(ctx, "k", []byte("v2"), v1)
	if err != nil {
		fail("update: %v", err)
	}
	var ke *kvw.Error
	if _, err := b.Update(ctx, "k", []byte("stale"), v1); !errors.Is(err, kvw.ErrConflict) || !errors.As(err, &ke) {
		fail("stale update: want ErrConflict, got %v", err)
	}
	e, err := b.Get(ctx, "k")
	if err != nil || !bytes.Equal(e.Value, []byte("v2")) || !e.Version.Equal(v2) {
		fail("get: %+v %v", e, err)
	}
	if !ke.Version.Equal(v2) {
		fail("stale update: the conflict names version %s, want %s", ke.Version, v2)
	}
	fmt.Printf("go consumer ok: put %s, update %s, second create and stale update refused\n", v1, v2)
}
