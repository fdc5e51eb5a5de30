package server

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"gopkg.in/yaml.v3"

	"github.com/sigmaflight/sigmaflight/planner"
)

// EnvPrefix is the prefix of the environment variables that configure a node: the flag
// --data-dir is SIGMAFLIGHT_DATA_DIR.
const EnvPrefix = "SIGMAFLIGHT_"

// Config is everything a node needs to start. Zero values are replaced by the defaults
// of DefaultConfig through the flag set; Validate checks the result.
type Config struct {
	// DataDir holds the node's tables; it is created if missing and locked.
	DataDir string
	// FlightAddr is the host:port of the Flight SQL service.
	FlightAddr string
	// HTTPAddr is the host:port of the HTTP service (/healthz, /readyz, /metrics); empty
	// disables it.
	HTTPAddr string
	// Rules are NAME=PATH pairs, each loading a ruleset from a file or directory.
	Rules []string
	// MaxRecvMsgBytes bounds one gRPC message a client may send (ingest batches).
	MaxRecvMsgBytes int
	// AllowInsecure permits listening on a non-loopback address without TLS and auth
	// (flag --insecure; --allow-insecure is its deprecated alias).
	AllowInsecure bool
	// UsersFile is a YAML file of users with bcrypt password hashes and roles; setting it
	// (or JWKSFile) turns authentication on.
	UsersFile string
	// TokenTTL is the lifetime of the JWTs the handshake returns.
	TokenTTL time.Duration
	// JWKSFile, JWTIssuer and JWTAudience verify tokens minted by an external identity
	// provider: signature by a key of the JWKS file, then issuer, audience and expiry.
	// Validate requires the issuer and the audience whenever JWKSFile is set.
	JWKSFile    string
	JWTIssuer   string
	JWTAudience string
	// TLSCert and TLSKey are PEM files that turn TLS on; TLSClientCA additionally requires
	// client certificates signed by that CA (mutual TLS).
	TLSCert     string
	TLSKey      string
	TLSClientCA string
	// QueryMemoryBytes bounds what one query's operators may buffer (hash tables, sorts);
	// a query over it fails with a clear error. QueryParallelism is the number of workers
	// of a parallel plan fragment (0: one per core).
	QueryMemoryBytes int64
	QueryParallelism int
	// LogLevel is debug, info, warn or error; LogFormat is text or json.
	LogLevel  string
	LogFormat string

	// streamTiming overrides the early schema and keep-alive delays of result streams
	// (zero: the defaults). It is not a flag: only tests set it.
	streamTiming streamTiming
}

// DefaultConfig returns the zero-setup configuration: a standalone node on loopback.
func DefaultConfig() Config {
	return Config{
		DataDir:          "./sigmaflight-data",
		FlightAddr:       "127.0.0.1:8815",
		HTTPAddr:         "127.0.0.1:8080",
		MaxRecvMsgBytes:  256 << 20,
		TokenTTL:         12 * time.Hour,
		QueryMemoryBytes: planner.DefaultQueryMemoryLimit,
		LogLevel:         "info",
		LogFormat:        "text",
	}
}

// BindFlags registers every setting on fs with its default and help text, and returns a
// function that completes the configuration after fs is parsed: each flag the user did not
// set is taken from the environment (SIGMAFLIGHT_<FLAG>), else from the YAML file named by
// --config (or SIGMAFLIGHT_CONFIG), else it keeps its default.
func (c *Config) BindFlags(fs *pflag.FlagSet) func() error {
	d := DefaultConfig()
	var configFile string
	fs.StringVar(&configFile, "config", "", "YAML file of settings, keyed by flag name (e.g. `data-dir: /var/lib/sigmaflight`); flags and SIGMAFLIGHT_* variables override it")
	fs.StringVar(&c.DataDir, "data-dir", d.DataDir, "directory holding the node's tables (created if missing, locked against a second process)")
	fs.StringVar(&c.FlightAddr, "listen", d.FlightAddr, "host:port of the Flight SQL service (port 0 picks a free port)")
	fs.StringVar(&c.HTTPAddr, "http-listen", d.HTTPAddr, "host:port of the HTTP service with /healthz, /readyz and /metrics (no TLS or authentication: a non-loopback address needs --insecure); empty disables it")
	fs.StringArrayVar(&c.Rules, "rules", nil, "NAME=PATH: load the Sigma rules in a file or directory as ruleset NAME (repeatable); the ruleset 'examples' is always built in")
	fs.IntVar(&c.MaxRecvMsgBytes, "max-recv-msg-bytes", d.MaxRecvMsgBytes, "largest gRPC message a client may send, in bytes (ingest batches)")
	fs.BoolVar(&c.AllowInsecure, "insecure", false, "allow a non-loopback listen address without TLS and authentication (not for production)")
	fs.BoolVar(&c.AllowInsecure, "allow-insecure", false, "deprecated alias of --insecure")
	_ = fs.MarkDeprecated("allow-insecure", "use --insecure")
	fs.StringVar(&c.UsersFile, "users", "", "YAML file of users (name, bcrypt password_hash, role admin|writer|reader); turns authentication on (see docs/security.md)")
	fs.DurationVar(&c.TokenTTL, "token-ttl", d.TokenTTL, "lifetime of the tokens the Flight handshake returns")
	fs.StringVar(&c.JWKSFile, "jwks", "", "JWKS file of an external identity provider whose tokens are accepted (turns authentication on; needs --jwt-issuer and --jwt-audience)")
	fs.StringVar(&c.JWTIssuer, "jwt-issuer", "", "issuer (iss) external tokens must carry; required with --jwks")
	fs.StringVar(&c.JWTAudience, "jwt-audience", "", "audience (aud) external tokens must carry; required with --jwks, so tokens the provider issued for other services are refused")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate chain of the Flight SQL service; with --tls-key turns TLS on")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of --tls-cert")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", "", "PEM CA bundle: require client certificates signed by it (mutual TLS)")
	fs.Int64Var(&c.QueryMemoryBytes, "query-memory-bytes", d.QueryMemoryBytes, "memory one query may buffer (hash tables, sorts), in bytes; a query over it fails with an error instead of exhausting the node")
	fs.IntVar(&c.QueryParallelism, "query-parallelism", 0, "workers per parallel query fragment (0: one per core)")
	fs.StringVar(&c.LogLevel, "log-level", d.LogLevel, "log level: debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", d.LogFormat, "log format: text or json")
	return func() error {
		if configFile == "" {
			configFile = os.Getenv(EnvPrefix + "CONFIG")
		}
		file, err := readConfigFile(configFile, fs)
		if err != nil {
			return err
		}
		var errs []error
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Changed || f.Name == "config" {
				return
			}
			env := EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			if v, ok := os.LookupEnv(env); ok {
				if err := setFlag(fs, f, splitEnvList(f, v)); err != nil {
					errs = append(errs, fmt.Errorf("environment variable %s: %w", env, err))
				}
				return
			}
			if vs, ok := file[f.Name]; ok {
				if err := setFlag(fs, f, vs); err != nil {
					errs = append(errs, fmt.Errorf("config file %s: key %q: %w", configFile, f.Name, err))
				}
			}
		})
		return errors.Join(errs...)
	}
}

// splitEnvList splits a list-valued environment variable on commas.
func splitEnvList(f *pflag.Flag, v string) []string {
	if f.Value.Type() == "stringArray" {
		return strings.Split(v, ",")
	}
	return []string{v}
}

func setFlag(fs *pflag.FlagSet, f *pflag.Flag, values []string) error {
	for _, v := range values {
		if err := fs.Set(f.Name, v); err != nil {
			return err
		}
	}
	return nil
}

// readConfigFile reads a YAML map of flag names to scalars or lists of scalars. An unknown
// key is an error, so a typo does not silently fall back to a default.
func readConfigFile(path string, fs *pflag.FlagSet) (map[string][]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config file: %w", err)
	}
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %w", path, err)
	}
	out := make(map[string][]string, len(raw))
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n := raw[k]
		if fs.Lookup(k) == nil || k == "config" {
			return nil, fmt.Errorf("config file %s: line %d: unknown setting %q (settings are the flags of `sigmaflight serve --help`)", path, n.Line, k)
		}
		switch n.Kind {
		case yaml.ScalarNode:
			out[k] = []string{n.Value}
		case yaml.SequenceNode:
			for _, item := range n.Content {
				if item.Kind != yaml.ScalarNode {
					return nil, fmt.Errorf("config file %s: line %d: %q must be a list of scalars", path, item.Line, k)
				}
				out[k] = append(out[k], item.Value)
			}
		default:
			return nil, fmt.Errorf("config file %s: line %d: %q must be a scalar or a list", path, n.Line, k)
		}
	}
	return out, nil
}

// AuthEnabled reports whether callers must authenticate: a users file or a JWKS is set.
func (c *Config) AuthEnabled() bool { return c.UsersFile != "" || c.JWKSFile != "" }

// TLSEnabled reports whether the Flight SQL service speaks TLS.
func (c *Config) TLSEnabled() bool { return c.TLSCert != "" }

// Validate checks the configuration, including the secure-by-default rule: a listen
// address other than loopback needs TLS and authentication, so it is refused without
// both unless AllowInsecure is set; the HTTP service has neither, so a non-loopback HTTP
// address always needs AllowInsecure.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("config: data-dir must not be empty")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("config: --tls-cert and --tls-key must be given together")
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		return errors.New("config: --tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
	}
	if c.JWKSFile != "" && (c.JWTIssuer == "" || c.JWTAudience == "") {
		// Without both, any token the identity provider signs, for any application of
		// any tenant, would be accepted here.
		return errors.New("config: --jwks needs --jwt-issuer and --jwt-audience (the iss and aud claims tokens for this node carry); without them every token the identity provider signs for any service would be accepted")
	}
	if c.TokenTTL <= 0 {
		c.TokenTTL = DefaultConfig().TokenTTL
	}
	if err := c.checkAddr("listen", c.FlightAddr, false); err != nil {
		return err
	}
	if err := c.checkAddr("http-listen", c.HTTPAddr, true); err != nil {
		return err
	}
	if c.QueryParallelism < 0 {
		return fmt.Errorf("config: query-parallelism is %d; use 0 (one worker per core) or more", c.QueryParallelism)
	}
	if c.MaxRecvMsgBytes < 4<<20 {
		return fmt.Errorf("config: max-recv-msg-bytes is %d; it must be at least 4194304 (4 MiB)", c.MaxRecvMsgBytes)
	}
	for _, r := range c.Rules {
		if _, _, err := parseRulesFlag(r); err != nil {
			return err
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log-level %q is not one of debug, info, warn, error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: log-format %q is not one of text, json", c.LogFormat)
	}
	return nil
}

func (c *Config) checkAddr(name, addr string, emptyOK bool) error {
	if addr == "" {
		if emptyOK {
			return nil
		}
		return fmt.Errorf("config: %s must not be empty", name)
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("config: %s %q: %w", name, addr, err)
	}
	if isLoopback(host) || c.AllowInsecure {
		return nil
	}
	if name == "http-listen" {
		// The HTTP service has neither TLS nor authentication, whatever the Flight SQL
		// service has, and /metrics tells which rules fire and how much is ingested.
		return fmt.Errorf("config: http-listen %q is not a loopback address, and the HTTP service (/healthz, /readyz, /metrics) has no TLS or authentication: listen on 127.0.0.1 and scrape through a local agent, or pass --insecure to expose it", addr)
	}
	if c.AuthEnabled() && c.TLSEnabled() {
		return nil
	}
	var missing []string
	if !c.TLSEnabled() {
		missing = append(missing, "TLS (--tls-cert, --tls-key)")
	}
	if !c.AuthEnabled() {
		missing = append(missing, "authentication (--users or --jwks)")
	}
	return fmt.Errorf("config: %s %q is not a loopback address and the node has no %s, so serving it would expose every event: listen on 127.0.0.1, configure them, or pass --insecure (formerly --allow-insecure) to accept the risk", name, addr, strings.Join(missing, " and "))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseRulesFlag splits a --rules value NAME=PATH.
func parseRulesFlag(v string) (name, path string, err error) {
	name, path, ok := strings.Cut(v, "=")
	if !ok || name == "" || path == "" {
		return "", "", fmt.Errorf("config: --rules %q must be NAME=PATH, e.g. windows=./rules/windows", v)
	}
	return name, path, nil
}
