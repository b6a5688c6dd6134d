// Package kvw_native is the SWIG-generated wrapper of kvw's binding shim
// (bindings/kvw.i, bindings/go/kvw_go.i and bindings/common/kvw_binding.h).
// It is internal: use package kvw, which builds the Go API on top of it.
//
// The wrapper and a copy of the shim are generated into this directory by
// gen.sh (go generate) and committed, so building needs no swig. libkvw is
// found through pkg-config (kvw.pc, which carries the rpath of a private
// prefix); with a private prefix set PKG_CONFIG_PATH.
package kvw_native

//go:generate sh ../../gen.sh

/*
#cgo pkg-config: kvw
*/
import "C"
