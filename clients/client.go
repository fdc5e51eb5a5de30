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
	"sync"
	"sync/atomic"
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
	// server answers with a bearer token used for every later call. The client keeps
	// them: when a call fails with Unauthenticated (the token expired after the node's
	// --token-ttl, or the node's key changed), it does the handshake again and sends the
	// call once more.
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
	addr string
	// username and password, when username is set, are kept to log in again when the
	// token from the last handshake is refused.
	username, password string

	// mu guards auth and authGen, and is held across a re-handshake, so that the calls
	// that fail together when a token expires (one failure wave) cause one handshake.
	mu sync.Mutex
	// auth is the authorization header value sent on every call ("" for none).
	auth string
	// authGen counts the handshakes done; a failed call compares the generation it was
	// sent with to tell whether another call has already obtained a fresh token.
	authGen uint64
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
	c := &Client{fsql: fc, addr: addr}
	if opts.WaitReady > 0 {
		if err := waitReady(ctx, fc, addr, opts.WaitReady); err != nil {
			fc.Close()
			return nil, err
		}
	}
	switch {
	case opts.Token != "":
		c.auth = "Bearer " + opts.Token
	case opts.Username != "":
		c.username, c.password = opts.Username, opts.Password
		if err := c.login(ctx); err != nil {
			fc.Close()
			return nil, err
		}
	}
	return c, nil
}

// login does the Basic handshake with the kept credentials and stores the bearer token
// the server answers with. The caller holds mu (or owns c exclusively).
func (c *Client) login(ctx context.Context) error {
	// A fresh outgoing context: the handshake must carry Basic alone, not the refused
	// token (the server reads the first authorization header).
	authCtx, err := c.fsql.Client.AuthenticateBasicToken(metadata.NewOutgoingContext(ctx, metadata.MD{}), c.username, c.password)
	if err != nil {
		return fmt.Errorf("authenticate to %s as %s: %w", c.addr, c.username, err)
	}
	md, _ := metadata.FromOutgoingContext(authCtx)
	v := md.Get("authorization")
	if len(v) == 0 {
		return fmt.Errorf("authenticate to %s as %s: the handshake returned no token", c.addr, c.username)
	}
	c.auth = v[len(v)-1]
	c.authGen++
	return nil
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

// callCtx returns ctx carrying the current authorization, and the handshake
// generation that authorization belongs to (for reauth).
func (c *Client) callCtx(ctx context.Context) (context.Context, uint64) {
	c.mu.Lock()
	auth, gen := c.auth, c.authGen
	c.mu.Unlock()
	if auth == "" {
		return ctx, gen
	}
	return metadata.NewOutgoingContext(ctx, metadata.Pairs("authorization", auth)), gen
}

// reauth decides whether a call that failed with err, sent with the authorization of
// generation gen, is to be sent once more: only for Unauthenticated and a client that
// logged in with a user name and password. The first call of a failure wave does the
// handshake again under mu; calls that fail with the same old token wait for it and
// then reuse its token (authGen moved on). A handshake that fails is returned wrapped
// (the password may have been changed or the user removed).
func (c *Client) reauth(ctx context.Context, gen uint64, err error) (bool, error) {
	if err == nil || c.username == "" || status.Code(unwrapStatus(err)) != codes.Unauthenticated {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.authGen != gen {
		return true, nil // another call of this wave logged in again already
	}
	if lerr := c.login(ctx); lerr != nil {
		return false, fmt.Errorf("%w (the node refused the token, and logging in again failed: %v)", err, lerr)
	}
	return true, nil
}

// unwrapStatus returns the first error in err's chain that carries a gRPC status.
func unwrapStatus(err error) error {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if _, ok := status.FromError(e); ok {
			return e
		}
	}
	return err
}

// withAuth runs call with the current authorization and, when it fails because the
// token was refused, once more after logging in again (see reauth). call must have no
// effect when it fails with Unauthenticated, which holds because the node checks the
// token before it runs anything.
func (c *Client) withAuth(ctx context.Context, call func(ctx context.Context) error) error {
	actx, gen := c.callCtx(ctx)
	err := call(actx)
	retry, rerr := c.reauth(ctx, gen, err)
	if rerr != nil {
		return rerr
	}
	if retry {
		actx, _ = c.callCtx(ctx)
		err = call(actx)
	}
	return err
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
	// The batches are kept (up to maxReplayBytes) while they are streamed, so that the
	// call can be sent again after a new login: by then rdr has been read.
	rr := &replayReader{src: rdr}
	defer rr.release()
	var n int64
	err := c.withAuth(ctx, func(actx context.Context) error {
		if !rr.rewind() {
			return fmt.Errorf("cannot send the batches again after logging in: more than %d MiB were streamed (send smaller readers)", maxReplayBytes>>20)
		}
		var err error
		n, err = c.fsql.ExecuteIngest(actx, rr, req)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("ingest into %s: %w", table, err)
	}
	return n, nil
}

// maxReplayBytes bounds the batches Ingest keeps to send again after a new login (a
// token that expired while the call was on its way). 64 MiB holds the CLI's batches
// (--batch-bytes defaults to 8 MiB of input) many times over; a bigger stream from a
// library caller is not kept, and its call fails with the Unauthenticated error instead.
const maxReplayBytes = 64 << 20

// replayReader reads src and keeps the batches it has handed out, retained, so that
// after rewind the same stream can be read from its first batch again.
type replayReader struct {
	src   array.RecordReader
	seen  []arrow.RecordBatch
	bytes int64
	// overflow is set once the kept batches would pass maxReplayBytes; then none are
	// kept and the stream cannot be rewound once read.
	overflow bool
	started  bool
	pos      int
	cur      arrow.RecordBatch
	refs     atomic.Int64
}

// rewind starts the stream again from its first batch; false when it was read past
// what was kept.
func (r *replayReader) rewind() bool {
	if r.overflow {
		return !r.started
	}
	r.pos = 0
	return true
}

func (r *replayReader) Schema() *arrow.Schema { return r.src.Schema() }

func (r *replayReader) Next() bool {
	r.started = true
	if r.pos < len(r.seen) {
		r.cur = r.seen[r.pos]
		r.pos++
		return true
	}
	if !r.src.Next() {
		return false
	}
	r.cur = r.src.RecordBatch()
	if !r.overflow {
		size := recordBytes(r.cur)
		if r.bytes+size > maxReplayBytes {
			r.overflow = true
			r.release()
		} else {
			r.cur.Retain()
			r.seen = append(r.seen, r.cur)
			r.bytes += size
			r.pos = len(r.seen)
		}
	}
	return true
}

// recordBytes is the size of rec's buffers (shared slices counted in full).
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	var walk func(d arrow.ArrayData)
	walk = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			if b != nil {
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			walk(c)
		}
		if d.DataType().ID() == arrow.DICTIONARY {
			walk(d.Dictionary())
		}
	}
	for _, col := range rec.Columns() {
		walk(col.Data())
	}
	return n
}

func (r *replayReader) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *replayReader) Record() arrow.RecordBatch      { return r.cur }
func (r *replayReader) Err() error                     { return r.src.Err() }

// Retain and Release count references only; the kept batches are released by release,
// when Ingest returns.
func (r *replayReader) Retain()  { r.refs.Add(1) }
func (r *replayReader) Release() { r.refs.Add(-1) }

func (r *replayReader) release() {
	for _, rec := range r.seen {
		rec.Release()
	}
	r.seen, r.pos = nil, 0
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
	var info *flight.FlightInfo
	err := c.withAuth(ctx, func(actx context.Context) (err error) {
		info, err = c.fsql.Execute(actx, sql)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.readEndpoints(ctx, info)
}

// Schema returns the schema a query would produce, without running it (Flight SQL
// GetSchema), or nil with an error when it cannot be planned.
func (c *Client) Schema(ctx context.Context, sql string) (*arrow.Schema, error) {
	var res *flight.SchemaResult
	err := c.withAuth(ctx, func(actx context.Context) (err error) {
		res, err = c.fsql.GetExecuteSchema(actx, sql)
		return err
	})
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
	var rdr *flight.Reader
	err := r.c.withAuth(r.ctx, func(actx context.Context) (err error) {
		rdr, err = r.c.fsql.DoGet(actx, r.eps[i].GetTicket())
		return err
	})
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
	var out []byte
	err := c.withAuth(ctx, func(actx context.Context) error {
		var err error
		out, err = c.action(actx, typ, body)
		return err
	})
	return out, err
}

func (c *Client) action(ctx context.Context, typ string, body []byte) ([]byte, error) {
	stream, err := c.fsql.Client.DoAction(ctx, &flight.Action{Type: typ, Body: body})
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
