package server

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/planner"
)

// earlySchemaDelay is how long a query may run without a first batch before an empty batch
// is sent so the client has the schema (and the connection shows life): arrow-go's writer
// sends nothing before the first batch, and proxies cut silent streams.
const earlySchemaDelay = time.Second

// keepAliveInterval is the silence after which an empty batch is sent again while a long
// hunt is still scanning (InfluxDB uses 5 s for the same reason).
const keepAliveInterval = 5 * time.Second

// streamTiming sets when streamWithKeepAlive sends empty batches; the zero value means
// earlySchemaDelay and keepAliveInterval. Only tests change it (Config.streamTiming), to
// see keep-alives without waiting seconds.
type streamTiming struct {
	earlySchema, keepAlive time.Duration
}

// orDefault fills zero durations with the defaults.
func (st streamTiming) orDefault() streamTiming {
	if st.earlySchema <= 0 {
		st.earlySchema = earlySchemaDelay
	}
	if st.keepAlive <= 0 {
		st.keepAlive = keepAliveInterval
	}
	return st
}

// streamWithKeepAlive copies rdr's batches to ch like flight.StreamChunksFromReader, and
// sends an empty batch when no batch came for earlySchemaDelay (first) or keepAliveInterval
// (later; timing overrides both). It stops when ctx is done and then ends the stream with an error chunk (the
// cause ctx was cancelled with when it is a status, e.g. CancelFlightInfo, else Canceled or
// DeadlineExceeded): arrow-go's DoGet treats a closed channel as success, so without it a
// cancelled query would end OK with truncated results. It closes ch and releases rdr
// before returning.
//
// The final error chunk is sent blocking: arrow-go's DoGet reads ch until it is closed,
// also after the client went away (its deferred drain), so the send always completes.
func streamWithKeepAlive(ctx context.Context, rdr array.RecordReader, ch chan<- flight.StreamChunk, mem memory.Allocator, timing streamTiming) {
	timing = timing.orDefault()
	defer close(ch)
	var final error
	defer func() {
		if final != nil {
			ch <- flight.StreamChunk{Err: final}
		}
	}()
	queryCtx := ctx
	ctx, cancel := context.WithCancel(ctx)
	inner := make(chan arrow.RecordBatch)
	finished := make(chan struct{})
	var readErr error
	go func() {
		defer close(finished)
		defer close(inner)
		defer rdr.Release()
		defer func() {
			if r := recover(); r != nil {
				readErr = fmt.Errorf("BUG: panic while executing the query: %v", r)
			}
		}()
		for rdr.Next() {
			rec := rdr.RecordBatch()
			rec.Retain()
			select {
			case inner <- rec:
			case <-ctx.Done():
				rec.Release()
				return
			}
		}
		if e, ok := rdr.(interface{ Err() error }); ok {
			readErr = e.Err()
		}
	}()
	defer func() {
		cancel()
		for rec := range inner {
			rec.Release()
		}
		<-finished
	}()
	send := func(c flight.StreamChunk) bool {
		select {
		case ch <- c:
			return true
		case <-ctx.Done():
			if c.Data != nil {
				c.Data.Release()
			}
			final = stopError(queryCtx)
			return false
		}
	}
	timer := time.NewTimer(timing.earlySchema)
	defer timer.Stop()
	for {
		select {
		case rec, ok := <-inner:
			if !ok {
				switch {
				case queryCtx.Err() != nil:
					// The reader stopped because the query was stopped, with or without
					// an error of its own: report why it was stopped.
					final = stopError(queryCtx)
				case readErr != nil:
					final = toStatus(readErr)
				}
				return
			}
			if !send(flight.StreamChunk{Data: rec}) {
				return
			}
			timer.Reset(timing.keepAlive)
		case <-timer.C:
			if !send(flight.StreamChunk{Data: emptyBatch(mem, rdr.Schema())}) {
				return
			}
			timer.Reset(timing.keepAlive)
		case <-ctx.Done():
			final = stopError(queryCtx)
			return
		}
	}
}

// stopError is the status a stream stopped by the end of ctx reports: the cause ctx was
// cancelled with when that is a gRPC status (CancelFlightInfo gives one), else Canceled or
// DeadlineExceeded.
func stopError(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil {
		if _, ok := status.FromError(cause); ok {
			return cause
		}
	}
	return status.FromContextError(ctx.Err()).Err()
}

// chainReader runs queries one after another (one per bound parameter row) and yields
// their batches as one stream of schema sc.
type chainReader struct {
	ctx     context.Context
	sc      *arrow.Schema
	queries []*planner.Query
	cur     array.RecordReader
	rec     arrow.RecordBatch
	err     error
	refs    atomic.Int64
}

func newChainReader(ctx context.Context, sc *arrow.Schema, queries []*planner.Query) (*chainReader, error) {
	c := &chainReader{ctx: ctx, sc: sc, queries: queries}
	c.refs.Store(1)
	// Start the first query now so planning-time execution errors fail the DoGet itself.
	if err := c.advance(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *chainReader) advance() error {
	if c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
	if len(c.queries) == 0 {
		return nil
	}
	q := c.queries[0]
	c.queries = c.queries[1:]
	rdr, err := q.Execute(c.ctx)
	if err != nil {
		return err
	}
	c.cur = rdr
	return nil
}

func (c *chainReader) Schema() *arrow.Schema { return c.sc }

func (c *chainReader) Next() bool {
	for c.cur != nil && c.err == nil {
		if c.cur.Next() {
			c.rec = c.cur.RecordBatch()
			return true
		}
		if e, ok := c.cur.(interface{ Err() error }); ok && e.Err() != nil {
			c.err = e.Err()
			return false
		}
		if err := c.advance(); err != nil {
			c.err = err
		}
	}
	c.rec = nil
	return false
}

func (c *chainReader) RecordBatch() arrow.RecordBatch { return c.rec }

// Record is the deprecated name of RecordBatch, kept for the RecordReader interface.
func (c *chainReader) Record() arrow.RecordBatch { return c.rec }

func (c *chainReader) Err() error { return c.err }

func (c *chainReader) Retain() { c.refs.Add(1) }

func (c *chainReader) Release() {
	if c.refs.Add(-1) == 0 && c.cur != nil {
		c.cur.Release()
		c.cur = nil
	}
}

// concatBatches joins batches of one schema into one batch.
func concatBatches(mem memory.Allocator, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(batches) == 1 {
		batches[0].Retain()
		return batches[0], nil
	}
	sc := batches[0].Schema()
	cols := make([]arrow.Array, sc.NumFields())
	var rows int64
	for _, b := range batches {
		if !b.Schema().Equal(sc) {
			return nil, fmt.Errorf("batches have different schemas: %s and %s", sc, b.Schema())
		}
		rows += b.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(batches))
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			for _, c := range cols[:i] {
				c.Release()
			}
			return nil, err
		}
		cols[i] = col
	}
	rec := array.NewRecordBatch(sc, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// runningQueries tracks the streams being served by execution id (the nonce of the ticket
// a FlightInfo issued), so CancelFlightInfo can stop them, and remembers cancelled ids until
// their ticket expires (at most cancelledTicketTTL) so a DoGet arriving after the cancel
// fails instead of starting the work. Every FlightInfo issues a fresh id, so cancelling one
// execution never affects another execution of the same SQL or prepared statement.
type runningQueries struct {
	mu        sync.Mutex
	nextID    int64
	running   map[string]map[int64]context.CancelCauseFunc
	cancelled map[string]time.Time // execution id -> when to forget it
	now       func() time.Time
}

// cancelledTicketTTL bounds how long a cancelled execution id is remembered; its ticket
// usually expires sooner (the id is forgotten then).
const cancelledTicketTTL = time.Hour

// errCancelledByClient is the status of a stream stopped by CancelFlightInfo.
var errCancelledByClient = status.Error(codes.Canceled, "the query was cancelled (CancelFlightInfo): execute it again for a new ticket")

func newRunningQueries() *runningQueries {
	return &runningQueries{running: map[string]map[int64]context.CancelCauseFunc{}, cancelled: map[string]time.Time{}, now: time.Now}
}

// start registers a stream of execution id exec ("" for a handle redeemed directly, which
// no FlightInfo names and so cannot be cancelled) and returns its context and the function
// that ends it.
func (r *runningQueries) start(ctx context.Context, exec string) (context.Context, func(), error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if exec != "" {
		if _, ok := r.cancelled[exec]; ok {
			return nil, nil, errCancelledByClient
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	r.nextID++
	id := r.nextID
	if r.running[exec] == nil {
		r.running[exec] = map[int64]context.CancelCauseFunc{}
	}
	r.running[exec][id] = cancel
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			cancel(nil)
			r.mu.Lock()
			delete(r.running[exec], id)
			if len(r.running[exec]) == 0 {
				delete(r.running, exec)
			}
			r.mu.Unlock()
		})
	}, nil
}

// cancel stops every stream of execution id exec and refuses it until expires (the
// ticket's expiry, capped at cancelledTicketTTL from now). It reports whether a stream was
// running. The empty id names nothing and cancels nothing.
func (r *runningQueries) cancel(exec string, expires time.Time) bool {
	if exec == "" {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	for k, until := range r.cancelled {
		if now.After(until) {
			delete(r.cancelled, k)
		}
	}
	if limit := now.Add(cancelledTicketTTL); expires.After(limit) {
		expires = limit
	}
	r.cancelled[exec] = expires
	streams := r.running[exec]
	for _, c := range streams {
		c(errCancelledByClient)
	}
	return len(streams) > 0
}

func (r *runningQueries) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.running {
		n += len(m)
	}
	return n
}
