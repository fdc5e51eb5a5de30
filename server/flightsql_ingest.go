package server

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/storage"
)

// ingestFlushBytes bounds how much of an ingest stream is buffered before it is written
// (and fsynced) as one storage write: large enough to amortise the fsync, small enough to
// bound memory per stream.
const ingestFlushBytes = 32 << 20

// ingestBatchIDOption is the CommandStatementIngest option (and, for plain DoPut, the
// gRPC header) naming a client-chosen batch id that makes a retried ingest idempotent.
const (
	ingestBatchIDOption = "sigmaflight.batch_id"
	ingestBatchIDHeader = "sigmaflight-batch-id"
)

func setBatchID(opts *storage.WriteOptions, id string) { opts.BatchID = id }

// recordStream is what ingest reads: a Flight SQL MessageReader or a plain flight.Reader.
type recordStream interface {
	Next() bool
	RecordBatch() arrow.RecordBatch
	Err() error
	Schema() *arrow.Schema
}

// DoPutCommandStatementIngest writes the stream into the command's table. It checks the
// caller's role itself, whatever the front door checked: writer to create or append, admin
// to replace (REPLACE deletes every row the table held).
func (s *flightSQLService) DoPutCommandStatementIngest(ctx context.Context, cmd flightsql.StatementIngest, rdr flight.MessageReader) (int64, error) {
	if err := requireRole(ctx, RoleWriter, "ingest"); err != nil {
		return 0, err
	}
	opts, err := ingestOptions(cmd)
	if err != nil {
		return 0, err
	}
	if opts.IfExists == storage.IfExistsReplace {
		if err := requireRole(ctx, RoleAdmin, "ingest with if_exists=REPLACE (it deletes the table's rows)"); err != nil {
			return 0, err
		}
	}
	if id, ok := cmd.GetOptions()[ingestBatchIDOption]; ok {
		setBatchID(&opts, id)
	}
	return s.ingest(ctx, cmd.GetTable(), opts, rdr)
}

// ingest writes the batches of rdr into table in chunks of ingestFlushBytes, each durable
// (fsynced) before the next is read, and returns the rows stored, also on error. With a
// batch id, chunk i is written with id "<id>/<i>", so a retried stream stores nothing twice.
func (s *flightSQLService) ingest(ctx context.Context, table string, opts storage.WriteOptions, rdr recordStream) (int64, error) {
	var (
		pending []arrow.RecordBatch
		bytes   int64
		written int64
		chunk   int
	)
	batchID := opts.BatchID
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
		if batchID != "" {
			opts.BatchID = fmt.Sprintf("%s/%d", batchID, chunk)
		}
		chunk++
		var size int64
		for _, b := range pending {
			size += recordBytes(b)
		}
		n, err := s.store.Write(ctx, table, opts, pending)
		release()
		if err != nil {
			return err
		}
		written += n
		s.metrics.rowsIngested.Add(float64(n))
		s.metrics.bytesIngested.Add(float64(size))
		// Later writes of the same stream append to what this one created or replaced.
		opts.IfExists, opts.IfNotExists = storage.IfExistsAppend, storage.IfNotExistsFail
		return nil
	}
	for seq := 0; rdr.Next(); seq++ {
		rec := rdr.RecordBatch()
		if err := validateBatch(rec); err != nil {
			s.metrics.malformedIPC.Inc()
			return written, status.Errorf(codes.InvalidArgument, "ingest into %q: batch %d: %v (nothing of this batch was stored)", table, seq, err)
		}
		// Storing a row costs ~8 bytes whatever it holds (the ts column): a batch of only
		// null-typed columns has no buffers, so its row count costs nothing to send
		// (found in review: 232 bytes announcing 20 M rows allocated 632 MiB).
		if max := s.maxBatchRows(); rec.NumRows() > max {
			s.metrics.malformedIPC.Inc()
			return written, status.Errorf(codes.InvalidArgument, "ingest into %q: batch %d has %d rows; at most %d fit one batch (4 x --max-recv-msg-bytes / 8): send smaller batches (nothing of this batch was stored)", table, seq, rec.NumRows(), max)
		}
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
			pending = append(pending, emptyBatch(s.Alloc, sc))
		}
	}
	if err := flush(); err != nil {
		return written, toStatus(err)
	}
	s.log.Debug("ingest", "table", table, "rows", written, "user", identityFrom(ctx).Subject)
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

// maxBatchRows bounds the rows of one ingested batch: what the ts column alone then
// takes stays within the allocation cap of one message (maxIPCAllocation).
func (s *flightSQLService) maxBatchRows() int64 {
	if c, ok := s.ingestAlloc.(cappedAllocator); ok {
		return int64(c.max) / 8
	}
	return int64(maxIPCAllocation(DefaultConfig().MaxRecvMsgBytes)) / 8
}
