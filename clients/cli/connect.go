package cli

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/sigmaflight/sigmaflight/clients"
)

// connFlags are the connection flags every client command shares. Each falls back to an
// environment variable so scripts need not repeat them.
type connFlags struct {
	server   string
	username string
	password string
	token    string
	tls      bool
	caFile   string
	insecure bool
	wait     time.Duration
}

func (f *connFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.server, "server", envOr("SIGMAFLIGHT_SERVER", clients.DefaultServer),
		"server URI: grpc://host:port, grpc+tls://host:port or host:port (env SIGMAFLIGHT_SERVER)")
	fs.StringVar(&f.username, "username", os.Getenv("SIGMAFLIGHT_USERNAME"), "user name for basic authentication (env SIGMAFLIGHT_USERNAME)")
	fs.StringVar(&f.password, "password", "", "password for basic authentication (env SIGMAFLIGHT_PASSWORD; prefer the variable)")
	fs.StringVar(&f.token, "token", "", "bearer token from 'sigmaflight token' (env SIGMAFLIGHT_TOKEN)")
	fs.BoolVar(&f.tls, "tls", false, "use TLS even for a grpc:// address")
	fs.StringVar(&f.caFile, "ca-file", os.Getenv("SIGMAFLIGHT_CA_FILE"), "PEM file of CA certificates to trust for the server (env SIGMAFLIGHT_CA_FILE)")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false, "do not verify the server's TLS certificate (testing only)")
	fs.DurationVar(&f.wait, "wait", 15*time.Second, "how long to wait for the server to accept connections (a node still starting)")
}

func (f *connFlags) connect(ctx context.Context) (*clients.Client, error) {
	pw := f.password
	if pw == "" {
		pw = os.Getenv("SIGMAFLIGHT_PASSWORD")
	}
	tok := f.token
	if tok == "" {
		tok = os.Getenv("SIGMAFLIGHT_TOKEN")
	}
	return clients.Connect(ctx, f.server, clients.Options{
		TLS: f.tls, CAFile: f.caFile, InsecureSkipVerify: f.insecure,
		Username: f.username, Password: pw, Token: tok, WaitReady: f.wait,
	})
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
