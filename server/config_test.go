package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// parseConfig binds a fresh flag set, parses args and completes the config.
func parseConfig(t *testing.T, args ...string) (Config, error) {
	t.Helper()
	var c Config
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	complete := c.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, complete()
}

func TestConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "sigmaflight.yaml")
	if err := os.WriteFile(file, []byte("data-dir: /from/file\nlog-level: warn\nhttp-listen: 127.0.0.1:9999\nrules:\n  - a=/rules/a\n  - b=/rules/b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGMAFLIGHT_LOG_LEVEL", "error")
	t.Setenv("SIGMAFLIGHT_HTTP_LISTEN", "127.0.0.1:7777")
	c, err := parseConfig(t, "--config", file, "--http-listen", "127.0.0.1:6666")
	if err != nil {
		t.Fatal(err)
	}
	f := func(name, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: got %q; want %q", name, got, want)
		}
	}
	f("data-dir (file over default)", c.DataDir, "/from/file")
	f("log-level (env over file)", c.LogLevel, "error")
	f("http-listen (flag over env)", c.HTTPAddr, "127.0.0.1:6666")
	f("listen (default)", c.FlightAddr, "127.0.0.1:8815")
	f("rules (list from file)", strings.Join(c.Rules, ","), "a=/rules/a,b=/rules/b")
}

func TestConfigFileFromEnvAndEnvLists(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte("log-format: json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SIGMAFLIGHT_CONFIG", file)
	t.Setenv("SIGMAFLIGHT_RULES", "x=/x,y=/y")
	c, err := parseConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.LogFormat != "json" {
		t.Fatalf("log-format: got %q; want json (from SIGMAFLIGHT_CONFIG)", c.LogFormat)
	}
	if got := strings.Join(c.Rules, ";"); got != "x=/x;y=/y" {
		t.Fatalf("rules: got %q; want x=/x;y=/y", got)
	}
}

func TestConfigErrors(t *testing.T) {
	f := func(yaml string, args []string, want string) {
		t.Helper()
		file := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := parseConfig(t, append([]string{"--config", file}, args...)...)
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("got error %v; want one containing %q", err, want)
		}
	}
	f("\n\ndata-dirr: x\n", nil, `line 3: unknown setting "data-dirr"`)
	f("max-recv-msg-bytes: lots\n", nil, `key "max-recv-msg-bytes"`)
	f("", []string{"--listen", "0.0.0.0:8815"}, "not a loopback address")
	f("", []string{"--http-listen", "10.1.2.3:80"}, "pass --insecure")
	f("", []string{"--rules", "nopath"}, "must be NAME=PATH")
	f("", []string{"--log-level", "loud"}, `log-level "loud"`)
	f("", []string{"--query-parallelism", "-2"}, "query-parallelism is -2")
	f("", []string{"--jwks", "j.json"}, "--jwks needs --jwt-issuer and --jwt-audience")
	f("", []string{"--jwks", "j.json", "--jwt-issuer", "https://idp"}, "--jwks needs --jwt-issuer and --jwt-audience")
	f("", []string{"--jwks", "j.json", "--jwt-audience", "sf"}, "--jwks needs --jwt-issuer and --jwt-audience")
}

func TestConfigAllowInsecure(t *testing.T) {
	c, err := parseConfig(t, "--listen", "0.0.0.0:8815", "--allow-insecure")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("got %v; want a valid config with --allow-insecure", err)
	}
	for _, host := range []string{"127.0.0.1:1", "[::1]:1", "localhost:1"} {
		c, _ := parseConfig(t, "--listen", host)
		if err := c.Validate(); err != nil {
			t.Fatalf("%s: got %v; want loopback accepted", host, err)
		}
	}
}

func TestExposedAddressNeedsTLSAndAuth(t *testing.T) {
	f := func(ok bool, args ...string) {
		t.Helper()
		c, err := parseConfig(t, append([]string{"--data-dir", t.TempDir(), "--listen", "0.0.0.0:8815", "--http-listen", ""}, args...)...)
		if err == nil {
			err = c.Validate()
		}
		if (err == nil) != ok {
			t.Fatalf("%v: got %v; want ok=%v", args, err, ok)
		}
	}
	f(false)
	f(false, "--users", "u.yaml")
	f(false, "--tls-cert", "c.pem", "--tls-key", "k.pem")
	f(true, "--users", "u.yaml", "--tls-cert", "c.pem", "--tls-key", "k.pem")
	f(true, "--jwks", "j.json", "--jwt-issuer", "https://idp", "--jwt-audience", "sf", "--tls-cert", "c.pem", "--tls-key", "k.pem")
	f(true, "--insecure")
	f(true, "--allow-insecure")
	f(false, "--insecure", "--tls-cert", "c.pem") // cert without key
}

// TestExposedHTTPNeedsInsecure checks that the HTTP service, which has no TLS or
// authentication, is never exposed beyond loopback implicitly, not even beside a Flight
// SQL service with TLS and authentication.
func TestExposedHTTPNeedsInsecure(t *testing.T) {
	f := func(ok bool, args ...string) {
		t.Helper()
		c, err := parseConfig(t, append([]string{"--data-dir", t.TempDir(), "--listen", "0.0.0.0:8815", "--http-listen", "0.0.0.0:8080",
			"--users", "u.yaml", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, args...)...)
		if err == nil {
			err = c.Validate()
		}
		if (err == nil) != ok || (err != nil && !strings.Contains(err.Error(), "no TLS or authentication")) {
			t.Fatalf("%v: got %v; want ok=%v", args, err, ok)
		}
	}
	f(false)
	f(true, "--insecure")
}
