// Command kvw-xlang is the Go side of kvw's cross-language test: one op per
// run against a bucket opened with create_if_missing.
//
//	kvw-xlang --server URL --bucket NAME put KEY HEX             -> version
//	kvw-xlang --server URL --bucket NAME update KEY HEX VERSION  -> version; exit 3 on conflict
//	kvw-xlang --server URL --bucket NAME get KEY                 -> hex value, then version; exit 4 if not found
//	kvw-xlang --server URL --bucket NAME create KEY HEX          -> version; exit 3 if it exists
//
// Other failures exit 1 (2 for usage errors).
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kvw/kvw/bindings/go/kvw"
)

func main() { os.Exit(run()) }

func usage() int {
	fmt.Fprintln(os.Stderr, "usage: kvw-xlang --server URL --bucket NAME put|create KEY HEX | update KEY HEX VERSION | get KEY")
	return 2
}

func run() int {
	server := flag.String("server", "nats://127.0.0.1:4222", "NATS server URL(s), comma-separated")
	bucketName := flag.String("bucket", "", "KV bucket (created if missing)")
	flag.Usage = func() { usage() }
	flag.Parse()
	args := flag.Args()
	if *bucketName == "" || len(args) < 2 {
		return usage()
	}
	cmd, key := args[0], args[1]
	want := map[string]int{"put": 3, "create": 3, "update": 4, "get": 2}
	if n, ok := want[cmd]; !ok || len(args) != n {
		return usage()
	}
	var value []byte
	if cmd != "get" {
		var err error
		if value, err = hex.DecodeString(args[2]); err != nil {
			fmt.Fprintln(os.Stderr, "kvw-xlang: bad hex value:", err)
			return 2
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{*server}, Name: "kvw-xlang-go"})
	if err != nil {
		return fail(err)
	}
	defer client.Close()
	bucket, err := client.Bucket(ctx, *bucketName, &kvw.BucketOptions{CreateIfMissing: true})
	if err != nil {
		return fail(err)
	}

	var v kvw.Version
	switch cmd {
	case "put":
		v, err = bucket.Put(ctx, key, value)
	case "create":
		v, err = bucket.Create(ctx, key, value)
	case "update":
		expected, perr := kvw.ParseVersion(args[3])
		if perr != nil {
			return fail(perr)
		}
		v, err = bucket.Update(ctx, key, value, expected)
	case "get":
		var e kvw.Entry
		if e, err = bucket.Get(ctx, key); err == nil {
			fmt.Println(hex.EncodeToString(e.Value))
			fmt.Println(e.Version)
			return 0
		}
	}
	if err != nil {
		return fail(err)
	}
	fmt.Println(v)
	return 0
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "kvw-xlang:", err)
	switch {
	case errors.Is(err, kvw.ErrConflict), errors.Is(err, kvw.ErrAlreadyExists):
		return 3
	case errors.Is(err, kvw.ErrNotFound):
		return 4
	}
	return 1
}
