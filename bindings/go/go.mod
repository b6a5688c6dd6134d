module github.com/kvw/kvw/bindings/go

go 1.24
