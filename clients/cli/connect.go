package cli

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

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
	flags    *pflag.FlagSet
}

func (f *connFlags) bind(cmd *cobra.Command) {
	fs := cmd.Flags()
	f.flags = fs
	// Defaults are static (the generated CLI reference must not depend on the machine);
	// environment variables are read when the flag was not given.
	fs.StringVar(&f.server, "server", clients.DefaultServer,
		"server URI: grpc://host:port, grpc+tls://host:port or host:port (env SIGMAFLIGHT_SERVER)")
	fs.StringVar(&f.username, "username", "", "user name for basic authentication (env SIGMAFLIGHT_USERNAME)")
	fs.StringVar(&f.password, "password", "", "password for basic authentication (env SIGMAFLIGHT_PASSWORD; prefer the variable)")
	fs.StringVar(&f.token, "token", "", "bearer token from 'sigmaflight token' (env SIGMAFLIGHT_TOKEN)")
	fs.BoolVar(&f.tls, "tls", false, "use TLS even for a grpc:// address")
	fs.StringVar(&f.caFile, "ca-file", "", "PEM file of CA certificates to trust for the server (env SIGMAFLIGHT_CA_FILE)")
	fs.BoolVar(&f.insecure, "insecure-skip-verify", false, "do not verify the server's TLS certificate (testing only)")
	fs.DurationVar(&f.wait, "wait", 15*time.Second, "how long to wait for the server to accept connections (a node still starting)")
}

func (f *connFlags) connect(ctx context.Context) (*clients.Client, error) {
	f.fromEnv("server", &f.server, "SIGMAFLIGHT_SERVER")
	f.fromEnv("username", &f.username, "SIGMAFLIGHT_USERNAME")
	f.fromEnv("ca-file", &f.caFile, "SIGMAFLIGHT_CA_FILE")
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

// fromEnv sets *v from the environment variable key when the flag was not given.
func (f *connFlags) fromEnv(flag string, v *string, key string) {
	if f.flags != nil && f.flags.Changed(flag) {
		return
	}
	if e := os.Getenv(key); e != "" {
		*v = e
	}
}
