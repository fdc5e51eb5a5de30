package clients

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// DefaultServer is the address a client connects to when none is given: the default
// listen address of `sigmaflight serve`.
const DefaultServer = "grpc://127.0.0.1:8815"

// BatchIDOption is the bulk-ingest option key that carries a batch's idempotency id; the
// server maps it to storage's BatchID, so a batch sent twice with one id is stored once.
const BatchIDOption = "sigmaflight.batch_id"

// Ruleset administration actions (Flight DoAction types).
const (
	ActionLoadRuleset  = "sigmaflight.LoadRuleset"
	ActionListRulesets = "sigmaflight.ListRulesets"
	ActionGetRuleset   = "sigmaflight.GetRuleset"
)

var (
	// ErrBadServerURI is returned by Connect for an address it cannot parse.
	ErrBadServerURI = errors.New("bad server URI")
)

// Options configures Connect.
type Options struct {
	// TLS forces TLS even for a grpc:// or bare host:port address.
	TLS bool
	// CAFile is a PEM file of CA certificates trusted for the server (default: system).
	CAFile string
	// InsecureSkipVerify disables server certificate verification (testing only).
	InsecureSkipVerify bool
	// Username and Password authenticate with a Flight handshake (HTTP Basic); the
	// server answers with a bearer token used for every later call.
	Username, Password string
	// Token is a bearer token (from `sigmaflight token`) sent on every call.
	Token string
	// WaitReady, when positive, makes Connect wait up to this long for the server to
	// accept connections (a node that is still starting), instead of failing the first
	// call.
	WaitReady time.Duration
}

// Client talks Flight SQL to one sigmaflight node. It is safe for concurrent use.
type Client struct {
	fsql *flightsql.Client
	md   metadata.MD
	addr string
}

// ParseServer splits a server URI ("grpc://host:port", "grpc+tls://host:port" or
// "host:port") into a dial address and whether it asks for TLS.
func ParseServer(uri string) (addr string, useTLS bool, err error) {
	if uri == "" {
		uri = DefaultServer
	}
	if !strings.Contains(uri, "://") {
		return uri, false, nil
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", false, fmt.Errorf("%w %q: %v", ErrBadServerURI, uri, err)
	}
	switch u.Scheme {
	case "grpc", "grpc+tcp":
	case "grpc+tls":
		useTLS = true
	default:
		return "", false, fmt.Errorf("%w %q: scheme %q (want grpc://, grpc+tls:// or host:port)", ErrBadServerURI, uri, u.Scheme)
	}
	if u.Host == "" {
		return "", false, fmt.Errorf("%w %q: no host", ErrBadServerURI, uri)
	}
	return u.Host, useTLS, nil
}

// Connect dials the server at uri and authenticates as opts says.
func Connect(ctx context.Context, uri string, opts Options) (*Client, error) {
	addr, useTLS, err := ParseServer(uri)
	if err != nil {
		return nil, err
	}
	var creds credentials.TransportCredentials
	if useTLS || opts.TLS || opts.CAFile != "" || opts.InsecureSkipVerify {
		cfg := &tls.Config{InsecureSkipVerify: opts.InsecureSkipVerify} //nolint:gosec // opt-in
		if opts.CAFile != "" {
			pem, err := os.ReadFile(opts.CAFile)
			if err != nil {
				return nil, fmt.Errorf("read CA file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("CA file %s: no PEM certificates found", opts.CAFile)
			}
			cfg.RootCAs = pool
		}
		creds = credentials.NewTLS(cfg)
	} else {
		creds = insecure.NewCredentials()
	}
	fc, err := flightsql.NewClientCtx(ctx, addr, nil, nil, grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30), grpc.MaxCallSendMsgSize(1<<30)))
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", addr, err)
	}
	c := &Client{fsql: fc, md: metadata.MD{}, addr: addr}
	if opts.WaitReady > 0 {
		if err := waitReady(ctx, fc, addr, opts.WaitReady); err != nil {
			fc.Close()
			return nil, err
		}
	}
	switch {
	case opts.Token != "":
		c.md.Set("authorization", "Bearer "+opts.Token)
	case opts.Username != "":
		authCtx, err := fc.Client.AuthenticateBasicToken(ctx, opts.Username, opts.Password)
		if err != nil {
			fc.Close()
			return nil, fmt.Errorf("authenticate to %s as %s: %w", addr, opts.Username, err)
		}
		if md, ok := metadata.FromOutgoingContext(authCtx); ok {
			if v := md.Get("authorization"); len(v) > 0 {
				c.md.Set("authorization", v[len(v)-1])
			}
		}
	}
	return c, nil
}

// waitReady blocks until the server answers any RPC (even with an error such as
// Unauthenticated: it is up) or d passes.
func waitReady(ctx context.Context, fc *flightsql.Client, addr string, d time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	stream, err := fc.Client.ListActions(wctx, &flight.Empty{}, grpc.WaitForReady(true))
	if err == nil {
		_, err = stream.Recv()
	}
	if err == nil || err == io.EOF {
		return nil
	}
	if s, ok := status.FromError(err); ok && s.Code() != codes.Unavailable && s.Code() != codes.DeadlineExceeded {
		return nil
	}
	return fmt.Errorf("server %s did not answer within %s (is 'sigmaflight serve' running there?): %w", addr, d, err)
}

// Addr returns the dialled address.
func (c *Client) Addr() string { return c.addr }

// Close closes the connection.
func (c *Client) Close() error { return c.fsql.Close() }

func (c *Client) ctx(ctx context.Context) context.Context {
	if len(c.md) == 0 {
		return ctx
	}
	return metadata.NewOutgoingContext(ctx, c.md)
}

// IngestOptions configures Ingest.
type IngestOptions struct {
	// BatchID, when set, makes the call idempotent: the server stores a call with an id
	// it has already stored only once.
	BatchID string
	// Replace replaces the table's contents instead of appending.
	Replace bool
	// NoCreate fails when the table does not exist instead of creating it.
	NoCreate bool
}

// Ingest appends every batch of rdr to table in one Flight SQL bulk ingest (DoPut) and
// returns the row count the server acknowledged. The server acknowledges only after the
// rows are durable.
func (c *Client) Ingest(ctx context.Context, table string, rdr array.RecordReader, opts IngestOptions) (int64, error) {
	def := &flightsql.TableDefinitionOptions{
		IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
		IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend,
	}
	if opts.NoCreate {
		def.IfNotExist = flightsql.TableDefinitionOptionsTableNotExistOptionFail
	}
	if opts.Replace {
		def.IfExists = flightsql.TableDefinitionOptionsTableExistsOptionReplace
	}
	req := &flightsql.ExecuteIngestOpts{TableDefinitionOptions: def, Table: table}
	if opts.BatchID != "" {
		req.Options = map[string]string{BatchIDOption: opts.BatchID}
	}
	n, err := c.fsql.ExecuteIngest(c.ctx(ctx), rdr, req)
	if err != nil {
		return n, fmt.Errorf("ingest into %s: %w", table, err)
	}
	return n, nil
}

// IngestBatch ingests one batch (see Ingest).
func (c *Client) IngestBatch(ctx context.Context, table string, rec arrow.RecordBatch, opts IngestOptions) (int64, error) {
	rdr, err := array.NewRecordReader(rec.Schema(), []arrow.RecordBatch{rec})
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	return c.Ingest(ctx, table, rdr, opts)
}

// Query runs sql and returns its result as a record reader over every endpoint in
// order. The caller releases the reader.
func (c *Client) Query(ctx context.Context, sql string) (array.RecordReader, error) {
	ctx = c.ctx(ctx)
	info, err := c.fsql.Execute(ctx, sql)
	if err != nil {
		return nil, err
	}
	return c.readEndpoints(ctx, info)
}

// Schema returns the schema a query would produce, without running it (Flight SQL
// GetSchema), or nil with an error when it cannot be planned.
func (c *Client) Schema(ctx context.Context, sql string) (*arrow.Schema, error) {
	res, err := c.fsql.GetExecuteSchema(c.ctx(ctx), sql)
	if err != nil {
		return nil, err
	}
	return flight.DeserializeSchema(res.GetSchema(), nil)
}

func (c *Client) readEndpoints(ctx context.Context, info *flight.FlightInfo) (array.RecordReader, error) {
	eps := info.GetEndpoint()
	schema, _ := flight.DeserializeSchema(info.GetSchema(), nil)
	r := &endpointReader{ctx: ctx, c: c, eps: eps, schema: schema, refs: 1}
	if len(eps) > 0 {
		if err := r.open(0); err != nil {
			return nil, err
		}
		if r.schema == nil {
			r.schema = r.cur.Schema()
		}
	}
	if r.schema == nil {
		r.schema = arrow.NewSchema(nil, nil)
	}
	return r, nil
}

// endpointReader reads the endpoints of one FlightInfo one after the other.
type endpointReader struct {
	ctx    context.Context
	c      *Client
	eps    []*flight.FlightEndpoint
	next   int
	cur    *flight.Reader
	schema *arrow.Schema
	rec    arrow.RecordBatch
	err    error
	refs   int64
}

func (r *endpointReader) open(i int) error {
	rdr, err := r.c.fsql.DoGet(r.ctx, r.eps[i].GetTicket())
	if err != nil {
		return err
	}
	r.cur, r.next = rdr, i+1
	return nil
}

func (r *endpointReader) Schema() *arrow.Schema { return r.schema }
func (r *endpointReader) Retain()               { r.refs++ }
func (r *endpointReader) Release() {
	r.refs--
	if r.refs == 0 && r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
}

func (r *endpointReader) Next() bool {
	for r.cur != nil {
		if r.cur.Next() {
			r.rec = r.cur.RecordBatch()
			return true
		}
		if err := r.cur.Err(); err != nil && err != io.EOF {
			r.err = err
			return false
		}
		r.cur.Release()
		r.cur = nil
		if r.next < len(r.eps) {
			if err := r.open(r.next); err != nil {
				r.err = err
				return false
			}
		}
	}
	return false
}

func (r *endpointReader) RecordBatch() arrow.RecordBatch { return r.rec }
func (r *endpointReader) Record() arrow.RecordBatch      { return r.rec }
func (r *endpointReader) Err() error                     { return r.err }

// Action runs a Flight DoAction and returns the body of its first result.
func (c *Client) Action(ctx context.Context, typ string, body []byte) ([]byte, error) {
	stream, err := c.fsql.Client.DoAction(c.ctx(ctx), &flight.Action{Type: typ, Body: body})
	if err != nil {
		return nil, err
	}
	var out []byte
	for {
		res, err := stream.Recv()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = res.GetBody()
			if out == nil {
				out = []byte{}
			}
		}
	}
}
