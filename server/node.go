// Package server is the front door: the Flight SQL service, the HTTP service with health
// and metrics, configuration, and the node lifecycle that ties storage, rulesets and the
// planner together.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/sigmaflight/sigmaflight/docs"
	"github.com/sigmaflight/sigmaflight/planner"
	"github.com/sigmaflight/sigmaflight/sigmaql"
	"github.com/sigmaflight/sigmaflight/storage"
)

// ExampleRuleset is the name of the built-in example ruleset, always loaded.
const ExampleRuleset = "examples"

// Node is one running sigmaflight process: store, rulesets, planner, Flight SQL and HTTP
// services. Start it with Start and stop it with Close.
type Node struct {
	cfg     Config
	log     *slog.Logger
	store   *storage.Store
	catalog *catalog
	metrics *metrics
	sources *ruleSources
	svc     *flightSQLService

	flight   flight.Server
	flightLn net.Listener
	http     *http.Server
	httpLn   net.Listener

	ready    atomic.Bool
	serveErr chan error
}

// Start opens the data directory, loads the rulesets, and starts serving. It returns once
// both listeners are bound; Addr and HTTPAddr then report the bound addresses.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (_ *Node, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: log, serveErr: make(chan error, 2)}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()

	if n.store, err = storage.Open(ctx, storage.Options{Dir: cfg.DataDir}); err != nil {
		return nil, fmt.Errorf("open data directory: %w", err)
	}
	n.catalog = newCatalog(n.store)
	n.sources = newRuleSources()
	if err := n.loadRulesets(); err != nil {
		return nil, err
	}
	n.metrics = newMetrics(func() float64 { return float64(len(n.store.Tables())) })

	keys, err := openKeyRing(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	auth, err := newAuthenticator(cfg, keys)
	if err != nil {
		return nil, err
	}
	codec := &handleCodec{keys: keys, now: time.Now}
	pl := planner.New(n.catalog, planner.Options{
		Allocator:        memory.DefaultAllocator,
		QueryMemoryLimit: cfg.QueryMemoryBytes,
		Parallelism:      cfg.QueryParallelism,
	})
	ingestAlloc := cappedAllocator{Allocator: memory.DefaultAllocator, max: maxIPCAllocation(cfg.MaxRecvMsgBytes)}
	n.svc, err = newFlightSQLService(n.store, pl, n.catalog, n.sources, n.metrics, log, codec, auth, ingestAlloc)
	if err != nil {
		return nil, err
	}
	n.svc.timing = cfg.streamTiming
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(cfg.MaxRecvMsgBytes),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if cfg.TLSEnabled() {
		tlsCfg, err := serverTLSConfig(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.Creds(credentials.NewTLS(tlsCfg)))
	}
	n.flight = flight.NewServerWithMiddleware(serverMiddleware(n.metrics, log, auth), opts...)
	router := flightsql.NewFlightServerWithAllocator(n.svc, ingestAlloc)
	n.flight.RegisterFlightService(&frontDoor{FlightServer: router, svc: n.svc, auth: auth, maxDecoded: int64(maxIPCAllocation(cfg.MaxRecvMsgBytes))})
	if n.flightLn, err = net.Listen("tcp", cfg.FlightAddr); err != nil {
		return nil, fmt.Errorf("listen for Flight SQL on %s: %w", cfg.FlightAddr, err)
	}
	n.flight.InitListener(n.flightLn)
	go func() { n.serveErr <- n.flight.Serve() }()

	if cfg.HTTPAddr != "" {
		if n.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
			return nil, fmt.Errorf("listen for HTTP on %s: %w", cfg.HTTPAddr, err)
		}
		n.http = &http.Server{Handler: n.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := n.http.Serve(n.httpLn); !errors.Is(err, http.ErrServerClosed) {
				n.serveErr <- err
			}
		}()
	}
	n.ready.Store(true)
	log.Info("sigmaflight serving", "flight_sql", n.Addr(), "http", n.HTTPAddr(), "data_dir", cfg.DataDir,
		"rulesets", n.catalog.rulesetNames(), "version", Version, "tls", cfg.TLSEnabled(), "auth", cfg.AuthEnabled())
	return n, nil
}

// loadRulesets loads the built-in examples and every --rules NAME=PATH. Rules that fail to
// load are logged with file, line and reason; a ruleset with no loadable rule is an error.
func (n *Node) loadRulesets() error {
	rs, diags, err := sigmaql.LoadRuleset(ExampleRuleset, docs.ExampleRules, "examples/rules")
	if err != nil {
		return fmt.Errorf("load built-in ruleset %q: %w", ExampleRuleset, err)
	}
	n.addRuleset(rs, diags)
	n.sources.rememberSources(rs, docs.ExampleRules)
	for _, spec := range n.cfg.Rules {
		name, path, _ := parseRulesFlag(spec)
		rs, diags, err := sigmaql.LoadRulesetPath(name, path)
		if err != nil {
			return fmt.Errorf("load ruleset %q from %s: %w", name, path, err)
		}
		if len(rs.Rules) == 0 {
			return fmt.Errorf("load ruleset %q from %s: no rule loaded (%d diagnostics; see the log)", name, path, logDiagnostics(n.log, name, diags))
		}
		n.addRuleset(rs, diags)
		n.sources.rememberSources(rs, nil)
	}
	return nil
}

func (n *Node) addRuleset(rs *sigmaql.Ruleset, diags []sigmaql.Diagnostic) {
	rejected := logDiagnostics(n.log, rs.Name, diags)
	n.catalog.addRuleset(rs)
	n.log.Info("ruleset loaded", "ruleset", rs.Name, "rules", len(rs.Rules), "rejected", rejected)
}

// logDiagnostics logs each diagnostic and returns how many were errors.
func logDiagnostics(log *slog.Logger, ruleset string, diags []sigmaql.Diagnostic) int {
	errs := 0
	for _, d := range diags {
		loc := fmt.Sprintf("%s:%d:%d", d.File, d.Line, d.Column)
		if d.Warning {
			log.Debug("rule warning", "ruleset", ruleset, "at", loc, "rule_id", d.RuleID, "msg", d.Message)
			continue
		}
		errs++
		log.Warn("rule not loaded", "ruleset", ruleset, "at", loc, "rule_id", d.RuleID, "msg", d.Message)
	}
	return errs
}

// Addr returns the bound Flight SQL address.
func (n *Node) Addr() string {
	if n.flightLn == nil {
		return ""
	}
	return n.flightLn.Addr().String()
}

// HTTPAddr returns the bound HTTP address, or "" when HTTP is disabled.
func (n *Node) HTTPAddr() string {
	if n.httpLn == nil {
		return ""
	}
	return n.httpLn.Addr().String()
}

// Wait blocks until ctx is done or a listener fails, and returns the failure.
func (n *Node) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-n.serveErr:
		return fmt.Errorf("serve: %w", err)
	}
}

// shutdownGrace is how long Close lets running calls (ingest streams, queries) finish
// before their connections are closed.
const shutdownGrace = 20 * time.Second

// Close stops accepting calls, lets running ones (ingest and queries) finish for up to
// shutdownGrace, and closes the store. It is safe to call on a partially started node.
func (n *Node) Close() error {
	n.ready.Store(false)
	if n.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.http.Shutdown(ctx)
		cancel()
	}
	if n.flight != nil && n.flightLn != nil {
		done := make(chan struct{})
		go func() { n.flight.Shutdown(); close(done) }()
		select {
		case <-done:
		case <-time.After(shutdownGrace):
			n.log.Warn("flight shutdown timed out; closing connections", "running_queries", n.runningQueries())
			_ = n.flightLn.Close()
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			return fmt.Errorf("close store: %w", err)
		}
	}
	return nil
}

func (n *Node) runningQueries() int {
	if n.svc == nil {
		return 0
	}
	return n.svc.running.count()
}
