// Not part of the kvw module: consumer.sh copies main.go into a fresh module
// outside the tree. This go.mod only keeps `go test ./...` of bindings/go out.
module example.com/kvw-consumer

go 1.26.0
