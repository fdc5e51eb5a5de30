package server

import (
	"context"
	"crypto/sha256"
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

// streamWithKeepAlive copies rdr's batches to ch like flight.StreamChunksFromReader, and
// sends an empty batch when no batch came for earlySchemaDelay (first) or keepAliveInterval
// (later). It stops when ctx is done; it closes ch and releases rdr before returning.
func streamWithKeepAlive(ctx context.Context, rdr array.RecordReader, ch chan<- flight.StreamChunk, mem memory.Allocator) {
	defer close(ch)
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
			return false
		}
	}
	timer := time.NewTimer(earlySchemaDelay)
	defer timer.Stop()
	for {
		select {
		case rec, ok := <-inner:
			if !ok {
				if readErr != nil {
					send(flight.StreamChunk{Err: toStatus(readErr)})
				}
				return
			}
			if !send(flight.StreamChunk{Data: rec}) {
				return
			}
			timer.Reset(keepAliveInterval)
		case <-timer.C:
			if !send(flight.StreamChunk{Data: emptyBatch(mem, rdr.Schema())}) {
				return
			}
			timer.Reset(keepAliveInterval)
		case <-ctx.Done():
			return
		}
	}
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

// runningQueries tracks the streams being served by ticket, so CancelFlightInfo can stop
// them, and remembers cancelled tickets for a while so a DoGet arriving after the cancel
// fails instead of starting the work.
type runningQueries struct {
	mu        sync.Mutex
	nextID    int64
	running   map[[32]byte]map[int64]context.CancelFunc
	cancelled map[[32]byte]time.Time
}

// cancelledTicketTTL is how long a cancelled ticket stays refused; tickets expire anyway.
const cancelledTicketTTL = time.Hour

func newRunningQueries() *runningQueries {
	return &runningQueries{running: map[[32]byte]map[int64]context.CancelFunc{}, cancelled: map[[32]byte]time.Time{}}
}

// start registers a stream of ticket and returns its context and the function that ends it.
func (r *runningQueries) start(ctx context.Context, ticket []byte) (context.Context, func(), error) {
	key := sha256.Sum256(ticket)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cancelled[key]; ok {
		return nil, nil, status.Error(codes.Canceled, "the query was cancelled (CancelFlightInfo): execute it again for a new ticket")
	}
	ctx, cancel := context.WithCancel(ctx)
	r.nextID++
	id := r.nextID
	if r.running[key] == nil {
		r.running[key] = map[int64]context.CancelFunc{}
	}
	r.running[key][id] = cancel
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			cancel()
			r.mu.Lock()
			delete(r.running[key], id)
			if len(r.running[key]) == 0 {
				delete(r.running, key)
			}
			r.mu.Unlock()
		})
	}, nil
}

// cancel stops every stream of ticket and refuses it from now on. It reports whether a
// stream was running.
func (r *runningQueries) cancel(ticket []byte) bool {
	key := sha256.Sum256(ticket)
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	for k, at := range r.cancelled {
		if now.Sub(at) > cancelledTicketTTL {
			delete(r.cancelled, k)
		}
	}
	r.cancelled[key] = now
	streams := r.running[key]
	for _, c := range streams {
		c()
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
