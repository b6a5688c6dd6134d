// Package kvw_native is the SWIG-generated wrapper of kvw's binding shim
// (bindings/kvw.i, bindings/go/kvw_go.i and bindings/common/kvw_binding.h).
// It is internal: use package kvw, which builds the Go API on top of it.
//
// The wrapper and a copy of the shim are generated into this directory and
// not committed: run `go generate ./...` in bindings/go (or gen.sh) first.
// libkvw is found through pkg-config (kvw.pc); with a private prefix set
// PKG_CONFIG_PATH, and CGO_LDFLAGS=-Wl,-rpath,<prefix>/lib to run from it.
package kvw_native

//go:generate sh ../../gen.sh

/*
#cgo pkg-config: kvw
*/
import "C"
