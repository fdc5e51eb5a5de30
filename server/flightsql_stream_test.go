package server

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// blockingReader yields one batch, then blocks until its context ends (a long hunt).
type blockingReader struct {
	ctx  context.Context
	sent bool
	rec  arrow.RecordBatch
	err  error
	refs atomic.Int64
}

func (r *blockingReader) Schema() *arrow.Schema { return testSchema }
func (r *blockingReader) Next() bool {
	if !r.sent {
		r.sent = true
		r.rec = testBatch(2)
		return true
	}
	<-r.ctx.Done()
	r.err = r.ctx.Err()
	return false
}
func (r *blockingReader) RecordBatch() arrow.RecordBatch { return r.rec }
func (r *blockingReader) Record() arrow.RecordBatch      { return r.rec }
func (r *blockingReader) Err() error                     { return r.err }
func (r *blockingReader) Retain()                        { r.refs.Add(1) }
func (r *blockingReader) Release()                       { r.refs.Add(-1) }

// TestStreamStoppedEndsWithError checks that a stream stopped by its context ends with an
// error chunk: arrow-go's DoGet reports a closed channel as success, so without it a
// cancelled query ends OK with truncated results.
func TestStreamStoppedEndsWithError(t *testing.T) {
	f := func(stop func(context.Context) (context.Context, func()), want codes.Code, msg string) {
		t.Helper()
		ctx, cancel := stop(context.Background())
		defer cancel()
		ch := make(chan flight.StreamChunk, 2)
		go streamWithKeepAlive(ctx, &blockingReader{ctx: ctx}, ch, memory.DefaultAllocator, streamTiming{})
		first := <-ch
		if first.Data == nil || first.Data.NumRows() != 2 {
			t.Fatalf("first chunk %+v; want the batch", first)
		}
		first.Data.Release()
		cancel()
		var last flight.StreamChunk
		for c := range ch {
			if c.Data != nil {
				c.Data.Release()
			}
			last = c
		}
		if status.Code(last.Err) != want || !strings.Contains(status.Convert(last.Err).Message(), msg) {
			t.Fatalf("last chunk error %v; want %s containing %q", last.Err, want, msg)
		}
	}
	f(func(ctx context.Context) (context.Context, func()) {
		ctx, cancel := context.WithCancelCause(ctx)
		return ctx, func() { cancel(errCancelledByClient) }
	}, codes.Canceled, "CancelFlightInfo")
	f(func(ctx context.Context) (context.Context, func()) { return context.WithCancel(ctx) }, codes.Canceled, "")
	f(func(ctx context.Context) (context.Context, func()) {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		t.Cleanup(cancel)
		return ctx, func() {} // the deadline stops it
	}, codes.DeadlineExceeded, "")
}

// slowQuery compares each of 5,000 rows with 1,000 others for a condition no pair meets
// (5e6 pairs, a good fraction of a second) and returns a single row (count 0) at the end:
// its first data batch comes late, however fast the machine, compared with the
// millisecond delays TestEarlySchemaAndKeepAlive sets.
const slowQuery = "SELECT count(*) FROM events a, (SELECT n FROM events LIMIT 1000) b WHERE a.n * b.n = -1"

// endlessQuery cannot finish in any test's lifetime: 1,024 copies of a table of 5,000 rows
// (a CTE doubled ten times: 5,120 batches of 1,000 rows), each row compared with 2,000
// others for a condition no pair meets, under a LIMIT that never fills: 1e10 pairs, about
// 1,000 s here. Each left batch makes 2e6 candidate pairs, far below maxJoinPairs and the
// query memory limit, and the plan copies about 3,000 nodes (maxPlanNodes is 10,000), so
// it runs until cancelled instead of failing. Tests that cancel it never race its end.
const endlessQuery = "WITH l0 AS (SELECT n FROM events), " +
	"l1 AS (SELECT n FROM l0 UNION ALL SELECT n FROM l0), l2 AS (SELECT n FROM l1 UNION ALL SELECT n FROM l1), " +
	"l3 AS (SELECT n FROM l2 UNION ALL SELECT n FROM l2), l4 AS (SELECT n FROM l3 UNION ALL SELECT n FROM l3), " +
	"l5 AS (SELECT n FROM l4 UNION ALL SELECT n FROM l4), l6 AS (SELECT n FROM l5 UNION ALL SELECT n FROM l5), " +
	"l7 AS (SELECT n FROM l6 UNION ALL SELECT n FROM l6), l8 AS (SELECT n FROM l7 UNION ALL SELECT n FROM l7), " +
	"l9 AS (SELECT n FROM l8 UNION ALL SELECT n FROM l8), l10 AS (SELECT n FROM l9 UNION ALL SELECT n FROM l9) " +
	"SELECT a.n FROM l10 a, (SELECT n AS m FROM events LIMIT 2000) b WHERE a.n * b.m = -1 LIMIT 1"

// ingestSlowTable writes the 5,000 rows slowQuery and endlessQuery read, in batches of
// 1,000 rows (the batches the joins' left sides stream).
func (n *testNode) ingestSlowTable(ctx context.Context) {
	n.t.Helper()
	for i := 0; i < 5; i++ {
		n.mustIngest(ctx, "events", 1000)
	}
}

// TestEarlySchemaAndKeepAlive runs a query whose only row comes at the end through the
// real server and arrow-go's client: the client must receive the schema with an empty
// batch first, then keep-alive empty batches, then the row, and the stream ends OK. Only
// the order of what arrives is asserted; the delays are shortened to a millisecond so the
// query is hundreds of times slower than them.
func TestEarlySchemaAndKeepAlive(t *testing.T) {
	n := mustStartNode(t, false, func(c *Config) {
		c.streamTiming = streamTiming{earlySchema: time.Millisecond, keepAlive: time.Millisecond}
	})
	ctx := testCtx(t)
	n.ingestSlowTable(ctx)
	info, err := n.c.Execute(ctx, slowQuery)
	if err != nil {
		t.Fatal(err)
	}
	want, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := n.c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	if !rdr.Schema().Equal(want) {
		t.Fatalf("stream schema %s; want the FlightInfo's %s", rdr.Schema(), want)
	}
	var sizes []int64
	var last string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		sizes = append(sizes, rec.NumRows())
		if rec.NumRows() > 0 {
			last = rec.Column(0).ValueStr(0)
		}
	}
	if err := rdr.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	// Keep-alives may also follow the row (the reader reaches its end later): only what
	// comes before the row matters.
	first, data := -1, 0
	for i, sz := range sizes {
		if sz != 0 {
			data++
			if first < 0 {
				first = i
			}
		}
	}
	if first < 2 || data != 1 || sizes[first] != 1 || last != "0" {
		t.Fatalf("batch sizes %v, value %q; want an empty batch (early schema), at least one empty keep-alive, then the one row 0", sizes, last)
	}
}

// fastKeepAlive shortens the early schema delay so cancel tests need not wait a second.
func fastKeepAlive(c *Config) {
	c.streamTiming = streamTiming{earlySchema: 10 * time.Millisecond, keepAlive: 10 * time.Millisecond}
}

// TestCancelFlightInfoEndsStreamCanceled cancels a running query with CancelFlightInfo:
// the client's stream must end with Canceled, not OK with truncated results. The query
// cannot finish (endlessQuery) and is known to be running when the cancel is sent: the
// stream's schema arrives only with the early empty batch, which the server sends while
// the query produces nothing.
func TestCancelFlightInfoEndsStreamCanceled(t *testing.T) {
	n := mustStartNode(t, false, fastKeepAlive)
	ctx := testCtx(t)
	n.ingestSlowTable(ctx)
	info, err := n.c.Execute(ctx, endlessQuery)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := n.c.Client.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	rdr, err := flight.NewRecordReader(stream) // returns once the early schema arrived
	if err != nil {
		t.Fatalf("early schema of the running query: %v", err)
	}
	defer rdr.Release()
	if got := n.node.svc.running.count(); got != 1 {
		t.Fatalf("%d queries running; want 1", got)
	}
	res, err := n.c.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	if err != nil || res.GetStatus() != flight.CancelStatusCancelled {
		t.Fatalf("CancelFlightInfo: %v, %v; want CANCELLED", res, err)
	}
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	if rows != 0 {
		t.Fatalf("the endless query returned %d rows", rows)
	}
	wantCode(t, "stream of the cancelled FlightInfo", rdr.Err(), codes.Canceled, "CancelFlightInfo")
}

// TestClientCancelStopsRunningQuery cancels the client's context while endlessQuery runs:
// the client sees Canceled and the server stops the query (its running entry goes away).
func TestClientCancelStopsRunningQuery(t *testing.T) {
	n := mustStartNode(t, false, fastKeepAlive)
	ctx := testCtx(t)
	n.ingestSlowTable(ctx)
	info, err := n.c.Execute(ctx, endlessQuery)
	if err != nil {
		t.Fatal(err)
	}
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rdr, err := n.c.DoGet(qctx, info.Endpoint[0].Ticket) // returns once the early schema arrived
	if err != nil {
		t.Fatalf("early schema of the running query: %v", err)
	}
	defer rdr.Release()
	cancel()
	for rdr.Next() {
	}
	wantCode(t, "stream cancelled by the client", rdr.Err(), codes.Canceled, "")
	for n.node.svc.running.count() != 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the server still runs the query the client cancelled")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// TestCancelOneExecutionOnly checks that cancelling one FlightInfo stops that execution
// only: a prepared statement executes normally afterwards, and an identical ad-hoc query
// issued in the same second (same SQL, user and expiry) is not cancelled with it.
func TestCancelOneExecutionOnly(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	n.mustIngest(ctx, "events", 10)
	cancelInfo := func(info *flight.FlightInfo) {
		t.Helper()
		if res, err := n.c.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info}); err != nil || res.GetStatus() != flight.CancelStatusCancelled {
			t.Fatalf("CancelFlightInfo: %v, %v", res, err)
		}
	}

	ps, err := n.c.Prepare(ctx, "SELECT host FROM events")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	first, err := ps.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancelInfo(first)
	_, err = n.drain(ctx, first.Endpoint[0].Ticket)
	wantCode(t, "the cancelled execution", err, codes.Canceled, "")
	second, err := ps.Execute(ctx)
	if err != nil {
		t.Fatalf("executing the prepared statement after a cancel: %v", err)
	}
	if rows, err := n.drain(ctx, second.Endpoint[0].Ticket); err != nil || rows != 10 {
		t.Fatalf("next execution of the prepared statement: %d rows, %v; want 10 rows", rows, err)
	}

	a, err := n.c.Execute(ctx, "SELECT host FROM events")
	if err != nil {
		t.Fatal(err)
	}
	b, err := n.c.Execute(ctx, "SELECT host FROM events")
	if err != nil {
		t.Fatal(err)
	}
	cancelInfo(a)
	if rows, err := n.drain(ctx, b.Endpoint[0].Ticket); err != nil || rows != 10 {
		t.Fatalf("identical ad-hoc query after cancelling the other: %d rows, %v; want 10 rows", rows, err)
	}
	_, err = n.drain(ctx, a.Endpoint[0].Ticket)
	wantCode(t, "the cancelled ad-hoc query", err, codes.Canceled, "")
}
