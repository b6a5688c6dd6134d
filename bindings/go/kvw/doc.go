// Package kvw writes to NATS JetStream Key-Value buckets asynchronously,
// through libkvw (the C library) and its SWIG-generated binding.
//
//	client, err := kvw.Connect(ctx, &kvw.ClientOptions{Servers: []string{"nats://127.0.0.1:4222"}})
//	defer client.Close()
//	bucket, err := client.Bucket(ctx, "config", &kvw.BucketOptions{CreateIfMissing: true})
//	v, err := bucket.Put(ctx, "greeting", []byte("hello"))
//	v, err = bucket.Update(ctx, "greeting", []byte("hi"), v)   // errors.Is(err, kvw.ErrConflict) if it moved on
//	err = bucket.PutAsync("counter", []byte("1"), func(v kvw.Version, err error) { … })
//
// Everything kvw writes is ordinary NATS KV data: any NATS KV client (nats.go's
// KeyValue, the nats CLI) reads it, and kvw reads what they write.
//
// Versions are opaque tokens (the KV revision for NATS) with a stable text
// form, so a version can be stored and handed back later, even by another
// process or language.
//
// Threads: libkvw runs in poll delivery mode; one dispatcher goroutine per
// Client waits for completions in a cgo call and hands each result to the
// waiting caller or to the client's callback goroutine. No kvw or nats.c
// thread ever calls into Go, and C keeps no Go pointer.
//
// Building needs libkvw found by pkg-config (kvw.pc) and swig to generate the
// wrapper: run `go generate ./...` in the module directory once (see the
// README).
package kvw
