package server

import "runtime"

// Version, Commit and BuildDate identify the build. The Makefile sets them with
// -ldflags "-X github.com/sigmaflight/sigmaflight/server.Version=..."; a plain `go build`
// leaves the defaults.
var (
	Version   = "0.1.0-dev"
	Commit    = "unknown"
	BuildDate = "unknown"
)

// GoVersion returns the Go version the binary was built with.
func GoVersion() string { return runtime.Version() }
