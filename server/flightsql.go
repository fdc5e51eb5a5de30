package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/planner"
	"github.com/sigmaflight/sigmaflight/storage"
)

// flightSQLService implements the Flight SQL protocol over the node's planner and store.
// Statement handles and tickets are self-contained and signed (SQL, bound parameters,
// subject, expiry: see handle.go), so the service keeps no per-statement state and any node
// holding the cluster's keys can redeem them.
type flightSQLService struct {
	flightsql.BaseServer

	store    *storage.Store
	planner  *planner.Planner
	catalog  planner.Catalog
	metrics  *metrics
	log      *slog.Logger
	codec    *handleCodec
	auth     *authenticator
	sessions *sessionStore
	running  *runningQueries
	rules    rulesetRegistry
	sources  *ruleSources
	// timing sets the early schema and keep-alive delays of result streams.
	timing streamTiming
	// ingestAlloc bounds the allocation any one IPC buffer of a client stream may ask for.
	ingestAlloc memory.Allocator
}

func newFlightSQLService(store *storage.Store, pl *planner.Planner, cat *catalog, sources *ruleSources, m *metrics, log *slog.Logger, codec *handleCodec, auth *authenticator, ingestAlloc memory.Allocator) (*flightSQLService, error) {
	s := &flightSQLService{store: store, planner: pl, catalog: cat, rules: cat, sources: sources, metrics: m, log: log,
		codec: codec, auth: auth, sessions: newSessionStore(), running: newRunningQueries(), ingestAlloc: ingestAlloc}
	s.Alloc = memory.DefaultAllocator
	if err := registerSQLInfo(&s.BaseServer); err != nil {
		return nil, err
	}
	return s, nil
}

// prepare plans sql with unqualified table names in schema ("" is public), recording
// planning failures in the metrics. Statements take schema from the caller's session
// (sessionSchema) when they are created and carry it in their handle from then on, so
// every later step resolves names as the first one did.
func (s *flightSQLService) prepare(ctx context.Context, sql, schema string) (*planner.Query, error) {
	q, err := s.planner.Prepare(ctx, sql, planner.WithDefaultSchema(schema))
	if err != nil {
		s.metrics.queryErrors.Inc()
		return nil, toStatus(err)
	}
	return q, nil
}

// parameterSchema returns q's parameter schema with every field nullable (JDBC refuses to
// bind NULL to a non-nullable parameter), or an empty schema.
func parameterSchema(q *planner.Query) *arrow.Schema {
	ps := q.ParameterSchema()
	if ps == nil {
		return arrow.NewSchema(nil, nil)
	}
	fields := ps.Fields()
	for i := range fields {
		fields[i].Nullable = true
	}
	return arrow.NewSchema(fields, nil)
}

// newHandle signs a handle for sql issued to the caller of ctx.
func (s *flightSQLService) newHandle(ctx context.Context, h stmtHandle) ([]byte, error) {
	h.Subject = identityFrom(ctx).Subject
	b, err := s.codec.encode(h)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return b, nil
}

// openHandle verifies a handle or ticket and that it belongs to the caller.
func (s *flightSQLService) openHandle(ctx context.Context, b []byte) (stmtHandle, error) {
	h, err := s.codec.decode(b)
	if err != nil {
		s.metrics.forgedHandles.Inc()
		return h, status.Error(codes.InvalidArgument, err.Error())
	}
	if s.auth.enabled {
		if who := identityFrom(ctx).Subject; h.Subject != who {
			return h, status.Errorf(codes.PermissionDenied, "statement handle was issued to %q, not to %q", h.Subject, who)
		}
	}
	return h, nil
}

// flightInfo describes a result of schema sc redeemable with a ticket: h signed with a
// fresh random execution id (so each FlightInfo can be cancelled on its own), one
// endpoint with no location, i.e. on this same connection. The ticket expires with h.
func (s *flightSQLService) flightInfo(ctx context.Context, sc *arrow.Schema, h stmtHandle, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, status.Errorf(codes.Internal, "execution id: %v", err)
	}
	h.Exec = base64.RawURLEncoding.EncodeToString(nonce[:])
	handle, err := s.newHandle(ctx, h)
	if err != nil {
		return nil, err
	}
	tkt, err := flightsql.CreateStatementQueryTicket(handle)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "create ticket: %v", err)
	}
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(sc, s.Alloc),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tkt}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}, nil
}

func (s *flightSQLService) GetFlightInfoStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if len(cmd.GetTransactionId()) != 0 {
		return nil, status.Error(codes.InvalidArgument, "transactions are not supported: send the query without a transaction id")
	}
	schema := s.sessionSchema(ctx)
	q, err := s.prepare(ctx, cmd.GetQuery(), schema)
	if err != nil {
		return nil, err
	}
	if n := parameterSchema(q).NumFields(); n > 0 {
		return nil, status.Errorf(codes.InvalidArgument, "the query has %d parameter(s) ('?'): prepare it and bind the parameters", n)
	}
	return s.flightInfo(ctx, q.Schema(), stmtHandle{SQL: cmd.GetQuery(), Schema: schema}, desc)
}

func (s *flightSQLService) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	q, err := s.prepare(ctx, cmd.GetQuery(), s.sessionSchema(ctx))
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(q.Schema(), s.Alloc)}, nil
}

func (s *flightSQLService) DoGetStatement(ctx context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.executeHandle(ctx, tkt.GetStatementHandle())
}

// executeHandle verifies a ticket or handle and runs its statement: once per bound
// parameter row when parameters are bound, the results concatenated in row order.
func (s *flightSQLService) executeHandle(ctx context.Context, b []byte) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	h, err := s.openHandle(ctx, b)
	if err != nil {
		return nil, nil, err
	}
	ctx, done, err := s.running.start(ctx, h.Exec)
	if err != nil {
		return nil, nil, err
	}
	q, err := s.prepare(ctx, h.SQL, h.Schema)
	if err != nil {
		done()
		return nil, nil, err
	}
	queries, err := s.bindAll(q, h)
	if err != nil {
		done()
		return nil, nil, err
	}
	start := time.Now()
	rdr, err := newChainReader(ctx, q.Schema(), queries)
	if err != nil {
		done()
		s.metrics.queryErrors.Inc()
		return nil, nil, toStatus(err)
	}
	ch := make(chan flight.StreamChunk, 2)
	go func() {
		defer done()
		defer func() {
			s.metrics.queries.Inc()
			s.metrics.queryDuration.Observe(time.Since(start).Seconds())
		}()
		counting := &countingReader{RecordReader: rdr, rows: s.metrics.rowsReturned, detections: s.metrics.detections}
		streamWithKeepAlive(ctx, counting, ch, s.Alloc, s.timing)
	}()
	return q.Schema(), ch, nil
}

// bindAll returns the queries to run for h: q itself without parameters, else one bound
// query per parameter row.
func (s *flightSQLService) bindAll(q *planner.Query, h stmtHandle) ([]*planner.Query, error) {
	want := parameterSchema(q).NumFields()
	if len(h.Params) == 0 {
		if want > 0 {
			return nil, status.Errorf(codes.InvalidArgument, "the statement has %d parameter(s) ('?') and none are bound: send them with DoPut before executing", want)
		}
		return []*planner.Query{q}, nil
	}
	params, err := decodeParams(s.Alloc, h.Params)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	defer params.Release()
	out := make([]*planner.Query, 0, params.NumRows())
	for row := 0; row < int(params.NumRows()); row++ {
		bq, err := bindRow(q, params, row)
		if err != nil {
			return nil, err
		}
		out = append(out, bq)
	}
	return out, nil
}

// paramBinder is what bindRow needs of a query: *planner.Query.
type paramBinder interface {
	Bind(params arrow.RecordBatch, row int) (*planner.Query, error)
}

// bindRow binds row of params to q; the planner's error becomes its status (a bad value
// is InvalidArgument, a query over the memory limit ResourceExhausted, and so on).
func bindRow(q paramBinder, params arrow.RecordBatch, row int) (*planner.Query, error) {
	bq, err := q.Bind(params, row)
	if err != nil {
		return nil, toStatus(fmt.Errorf("bind parameter row %d: %w", row, err))
	}
	return bq, nil
}

func (s *flightSQLService) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	if len(req.GetTransactionId()) != 0 {
		return flightsql.ActionCreatePreparedStatementResult{}, status.Error(codes.InvalidArgument, "transactions are not supported: prepare the statement without a transaction id")
	}
	schema := s.sessionSchema(ctx)
	q, err := s.prepare(ctx, req.GetQuery(), schema)
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, err
	}
	h, err := s.newHandle(ctx, stmtHandle{SQL: req.GetQuery(), Schema: schema})
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, err
	}
	isUpdate := false // every statement the planner accepts returns rows
	return flightsql.ActionCreatePreparedStatementResult{
		Handle:          h,
		DatasetSchema:   q.Schema(),
		ParameterSchema: parameterSchema(q),
		IsUpdate:        &isUpdate,
	}, nil
}

func (s *flightSQLService) ClosePreparedStatement(context.Context, flightsql.ActionClosePreparedStatementRequest) error {
	return nil // Handles are self-contained: nothing to free.
}

func (s *flightSQLService) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	h, err := s.openHandle(ctx, cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, err
	}
	q, err := s.prepare(ctx, h.SQL, h.Schema)
	if err != nil {
		return nil, err
	}
	if n := parameterSchema(q).NumFields(); n > 0 && len(h.Params) == 0 {
		return nil, status.Errorf(codes.InvalidArgument, "the statement has %d parameter(s) ('?') and none are bound: send them with DoPut before executing", n)
	}
	return s.flightInfo(ctx, q.Schema(), h, desc)
}

func (s *flightSQLService) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	h, err := s.openHandle(ctx, cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, err
	}
	q, err := s.prepare(ctx, h.SQL, h.Schema)
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(q.Schema(), s.Alloc)}, nil
}

func (s *flightSQLService) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.executeHandle(ctx, cmd.GetPreparedStatementHandle())
}

// DoPutPreparedStatementQuery binds the parameter rows of the stream (one or many batches:
// executemany and executeBatch send several rows) and returns a new self-contained handle
// carrying them. An empty stream, or one for a statement without parameters carrying no
// columns, keeps the statement as it was.
func (s *flightSQLService) DoPutPreparedStatementQuery(ctx context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	h, err := s.openHandle(ctx, cmd.GetPreparedStatementHandle())
	if err != nil {
		return nil, err
	}
	q, err := s.prepare(ctx, h.SQL, h.Schema)
	if err != nil {
		return nil, err
	}
	want := parameterSchema(q)
	var (
		batches []arrow.RecordBatch
		size    int64
		rows    int64
	)
	defer func() {
		for _, b := range batches {
			b.Release()
		}
	}()
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if rec.NumCols() == 0 || rec.NumRows() == 0 {
			continue
		}
		if int(rec.NumCols()) != want.NumFields() {
			return nil, status.Errorf(codes.InvalidArgument, "the statement has %d parameter(s) ('?'); the parameter batch has %d column(s)", want.NumFields(), rec.NumCols())
		}
		// A decoded message is not trusted: lengths forged past the buffers would make
		// the concatenation below ask for terabytes (found in review).
		if err := validateBatch(rec); err != nil {
			s.metrics.malformedIPC.Inc()
			return nil, status.Errorf(codes.InvalidArgument, "parameter batch %d: %v", len(batches)+1, err)
		}
		// Enforce the handle's limit while reading: the stream is bounded only by the
		// gRPC message size per batch, not in the number of batches.
		if size += recordBytes(rec); size > maxHandleParamBytes {
			return nil, status.Errorf(codes.InvalidArgument, "the parameter stream exceeds %d bytes (stopped reading at batch %d): bind fewer rows, or use bulk ingest for data", maxHandleParamBytes, len(batches)+1)
		}
		if rows += rec.NumRows(); rows > maxHandleParamRows {
			return nil, status.Errorf(codes.InvalidArgument, "the parameter stream holds more than %d rows (stopped reading at batch %d): bind fewer rows", maxHandleParamRows, len(batches)+1)
		}
		rec.Retain()
		batches = append(batches, rec)
	}
	if err := rdr.Err(); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "read parameter stream: %v", err)
	}
	if len(batches) == 0 {
		h.Params = nil
		return s.newHandle(ctx, h)
	}
	params, err := concatBatches(s.ingestAlloc, batches)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "parameter batches: %v", err)
	}
	defer params.Release()
	// Bind every row now so a bad value is reported at DoPut, where the client expects it.
	for row := 0; row < int(params.NumRows()); row++ {
		if _, err := bindRow(q, params, row); err != nil {
			return nil, err
		}
	}
	enc, err := encodeParams(params)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	// The new handle keeps the statement's expiry: binding must not extend a handle's life.
	h.Params = enc
	return s.newHandle(ctx, h)
}

// errNoUpdates explains that the only way to change data is ingest.
const errNoUpdates = "sigmaflight has no UPDATE, INSERT or DDL statements: tables are append-only and written with bulk ingest (DoPut CommandStatementIngest, or a plain DoPut with a path descriptor naming the table)"

func (s *flightSQLService) DoPutCommandStatementUpdate(context.Context, flightsql.StatementUpdate) (int64, error) {
	return 0, status.Error(codes.Unimplemented, errNoUpdates)
}

func (s *flightSQLService) DoPutPreparedStatementUpdate(context.Context, flightsql.PreparedStatementUpdate, flight.MessageReader) (int64, error) {
	return 0, status.Error(codes.Unimplemented, errNoUpdates)
}

func (s *flightSQLService) DoGetSqlInfo(ctx context.Context, cmd flightsql.GetSqlInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.BaseServer.DoGetSqlInfo(ctx, knownSQLInfo(cmd.GetInfo()))
}

// toStatus translates an error of the layers below into a gRPC status, once, here.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	code := codes.Internal
	switch {
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, planner.ErrUnknownTable), errors.Is(err, planner.ErrUnknownRuleset),
		errors.Is(err, storage.ErrTableNotFound):
		code = codes.NotFound
	case errors.Is(err, planner.ErrUnknownColumn), errors.Is(err, planner.ErrSyntax),
		errors.Is(err, planner.ErrType), errors.Is(err, planner.ErrInvalid),
		errors.Is(err, storage.ErrSchemaConflict), errors.Is(err, storage.ErrInvalidName),
		errors.Is(err, storage.ErrInvalidBatch):
		code = codes.InvalidArgument
	case errors.Is(err, planner.ErrUnsupported):
		code = codes.Unimplemented
	case errors.Is(err, storage.ErrTableExists):
		code = codes.AlreadyExists
	case errors.Is(err, planner.ErrMemoryLimit):
		code = codes.ResourceExhausted
	case errors.Is(err, storage.ErrHeadFull):
		// Backpressure: sealing is behind; the client may retry the same batch id later.
		code = codes.ResourceExhausted
	case errors.Is(err, planner.ErrOverflow):
		code = codes.OutOfRange
	case errors.Is(err, storage.ErrWriteFailed), errors.Is(err, storage.ErrClosed):
		code = codes.Unavailable
	default:
		var pe *planner.Error
		if errors.As(err, &pe) {
			code = codes.InvalidArgument
		}
	}
	return status.Error(code, err.Error())
}
