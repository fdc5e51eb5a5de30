package server

import (
	"context"
	"errors"
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
// Statement and prepared-statement handles are self-contained (they carry the SQL text), so
// the service keeps no per-statement state and any node can redeem them.
type flightSQLService struct {
	flightsql.BaseServer

	store   *storage.Store
	planner *planner.Planner
	metrics *metrics
	log     *slog.Logger
}

func newFlightSQLService(store *storage.Store, pl *planner.Planner, m *metrics, log *slog.Logger) (*flightSQLService, error) {
	s := &flightSQLService{store: store, planner: pl, metrics: m, log: log}
	s.Alloc = memory.DefaultAllocator
	if err := registerSQLInfo(&s.BaseServer); err != nil {
		return nil, err
	}
	return s, nil
}

// prepare plans sql, recording planning failures in the metrics.
func (s *flightSQLService) prepare(ctx context.Context, sql string) (*planner.Query, error) {
	q, err := s.planner.Prepare(ctx, sql)
	if err != nil {
		s.metrics.queryErrors.Inc()
		return nil, toStatus(err)
	}
	return q, nil
}

// flightInfo describes a result of schema sc redeemable with a ticket carrying handle: one
// endpoint with no location, i.e. on this same connection.
func (s *flightSQLService) flightInfo(sc *arrow.Schema, handle []byte, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
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
	q, err := s.prepare(ctx, cmd.GetQuery())
	if err != nil {
		return nil, err
	}
	return s.flightInfo(q.Schema(), []byte(cmd.GetQuery()), desc)
}

func (s *flightSQLService) GetSchemaStatement(ctx context.Context, cmd flightsql.StatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	q, err := s.prepare(ctx, cmd.GetQuery())
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(q.Schema(), s.Alloc)}, nil
}

func (s *flightSQLService) DoGetStatement(ctx context.Context, tkt flightsql.StatementQueryTicket) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.execute(ctx, string(tkt.GetStatementHandle()))
}

// execute plans and runs sql and streams its batches. The planner bounds each batch to a
// size every client accepts.
func (s *flightSQLService) execute(ctx context.Context, sql string) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	q, err := s.prepare(ctx, sql)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	rdr, err := q.Execute(ctx)
	if err != nil {
		s.metrics.queryErrors.Inc()
		return nil, nil, toStatus(err)
	}
	ch := make(chan flight.StreamChunk, 2)
	go func() {
		defer func() {
			s.metrics.queries.Inc()
			s.metrics.queryDuration.Observe(time.Since(start).Seconds())
		}()
		counting := &countingReader{RecordReader: rdr, rows: s.metrics.rowsReturned}
		flight.StreamChunksFromReader(ctx, counting, ch)
	}()
	return q.Schema(), ch, nil
}

func (s *flightSQLService) CreatePreparedStatement(ctx context.Context, req flightsql.ActionCreatePreparedStatementRequest) (flightsql.ActionCreatePreparedStatementResult, error) {
	if len(req.GetTransactionId()) != 0 {
		return flightsql.ActionCreatePreparedStatementResult{}, status.Error(codes.InvalidArgument, "transactions are not supported: prepare the statement without a transaction id")
	}
	q, err := s.prepare(ctx, req.GetQuery())
	if err != nil {
		return flightsql.ActionCreatePreparedStatementResult{}, err
	}
	isUpdate := false
	return flightsql.ActionCreatePreparedStatementResult{
		Handle:          []byte(req.GetQuery()),
		DatasetSchema:   q.Schema(),
		ParameterSchema: arrow.NewSchema(nil, nil),
		IsUpdate:        &isUpdate,
	}, nil
}

func (s *flightSQLService) ClosePreparedStatement(context.Context, flightsql.ActionClosePreparedStatementRequest) error {
	return nil // Handles are self-contained: nothing to free.
}

func (s *flightSQLService) GetFlightInfoPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	handle := cmd.GetPreparedStatementHandle()
	q, err := s.prepare(ctx, string(handle))
	if err != nil {
		return nil, err
	}
	return s.flightInfo(q.Schema(), handle, desc)
}

func (s *flightSQLService) GetSchemaPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery, desc *flight.FlightDescriptor) (*flight.SchemaResult, error) {
	q, err := s.prepare(ctx, string(cmd.GetPreparedStatementHandle()))
	if err != nil {
		return nil, err
	}
	return &flight.SchemaResult{Schema: flight.SerializeSchema(q.Schema(), s.Alloc)}, nil
}

func (s *flightSQLService) DoGetPreparedStatement(ctx context.Context, cmd flightsql.PreparedStatementQuery) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.execute(ctx, string(cmd.GetPreparedStatementHandle()))
}

// DoPutPreparedStatementQuery accepts a parameter batch for a statement without
// parameters only when it is empty, as some clients send one regardless.
func (s *flightSQLService) DoPutPreparedStatementQuery(ctx context.Context, cmd flightsql.PreparedStatementQuery, rdr flight.MessageReader, _ flight.MetadataWriter) ([]byte, error) {
	for rdr.Next() {
		if rdr.RecordBatch().NumCols() > 0 {
			return nil, status.Error(codes.Unimplemented, "query parameters ('?') are not supported yet")
		}
	}
	return cmd.GetPreparedStatementHandle(), nil
}

func (s *flightSQLService) DoGetSqlInfo(ctx context.Context, cmd flightsql.GetSqlInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return s.BaseServer.DoGetSqlInfo(ctx, knownSQLInfo(cmd.GetInfo()))
}

// ingestFlushBytes bounds how much of an ingest stream is buffered before it is written
// (and fsynced) as one storage write: large enough to amortise the fsync, small enough to
// bound memory per stream.
const ingestFlushBytes = 32 << 20

func (s *flightSQLService) DoPutCommandStatementIngest(ctx context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	table := cmd.GetTable()
	opts, err := ingestOptions(cmd)
	if err != nil {
		return 0, err
	}
	var (
		pending []arrow.RecordBatch
		bytes   int64
		written int64
	)
	release := func() {
		for _, b := range pending {
			b.Release()
		}
		pending, bytes = pending[:0], 0
	}
	defer release()
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		n, err := s.store.Write(ctx, table, opts, pending)
		release()
		if err != nil {
			return err
		}
		written += n
		s.metrics.rowsIngested.Add(float64(n))
		// Later writes of the same stream append to what this one created or replaced.
		opts = storage.WriteOptions{IfExists: storage.IfExistsAppend, IfNotExists: storage.IfNotExistsFail}
		return nil
	}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		pending = append(pending, rec)
		bytes += recordBytes(rec)
		if bytes >= ingestFlushBytes {
			if err := flush(); err != nil {
				return written, toStatus(err)
			}
		}
	}
	if err := rdr.Err(); err != nil {
		return written, status.Errorf(codes.InvalidArgument, "read ingest stream for table %q: %v", table, err)
	}
	if len(pending) == 0 && written == 0 {
		// An empty stream still creates the table from the stream's schema.
		if sc := rdr.Schema(); sc != nil {
			empty := emptyBatch(s.Alloc, sc)
			pending = append(pending, empty)
		}
	}
	if err := flush(); err != nil {
		return written, toStatus(err)
	}
	s.log.Debug("ingest", "table", table, "rows", written)
	return written, nil
}

// ingestOptions maps the Flight SQL table definition options to storage's. Absent options
// mean create-or-append, what a collector wants; explicitly unspecified values are refused
// as the specification asks.
func ingestOptions(cmd flightsql.StatementIngest) (storage.WriteOptions, error) {
	if cmd.GetTable() == "" {
		return storage.WriteOptions{}, status.Error(codes.InvalidArgument, "ingest: the target table name is empty")
	}
	if cmd.GetTemporary() {
		return storage.WriteOptions{}, status.Error(codes.InvalidArgument, "ingest: temporary tables are not supported")
	}
	if len(cmd.GetTransactionId()) != 0 {
		return storage.WriteOptions{}, status.Error(codes.InvalidArgument, "ingest: transactions are not supported")
	}
	if c := cmd.GetCatalog(); c != "" && c != catalogName {
		return storage.WriteOptions{}, status.Errorf(codes.NotFound, "ingest: unknown catalog %q (the only catalog is %q)", c, catalogName)
	}
	if sc := cmd.GetSchema(); !isPublicSchema(sc) {
		return storage.WriteOptions{}, status.Errorf(codes.NotFound, "ingest: unknown schema %q (event tables live in %q)", sc, publicSchema)
	}
	opts := storage.WriteOptions{IfExists: storage.IfExistsAppend, IfNotExists: storage.IfNotExistsCreate}
	def := cmd.GetTableDefinitionOptions()
	if def == nil {
		return opts, nil
	}
	switch def.IfNotExist {
	case flightsql.TableDefinitionOptionsTableNotExistOptionCreate:
		opts.IfNotExists = storage.IfNotExistsCreate
	case flightsql.TableDefinitionOptionsTableNotExistOptionFail:
		opts.IfNotExists = storage.IfNotExistsFail
	default:
		return opts, status.Errorf(codes.InvalidArgument, "ingest: table_definition_options.if_not_exist is %v; use CREATE or FAIL", def.IfNotExist)
	}
	switch def.IfExists {
	case flightsql.TableDefinitionOptionsTableExistsOptionFail:
		opts.IfExists = storage.IfExistsFail
	case flightsql.TableDefinitionOptionsTableExistsOptionAppend:
		opts.IfExists = storage.IfExistsAppend
	case flightsql.TableDefinitionOptionsTableExistsOptionReplace:
		opts.IfExists = storage.IfExistsReplace
	default:
		return opts, status.Errorf(codes.InvalidArgument, "ingest: table_definition_options.if_exists is %v; use FAIL, APPEND or REPLACE", def.IfExists)
	}
	return opts, nil
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
