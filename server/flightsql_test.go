package server

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"

	"github.com/sigmaflight/sigmaflight/planner"
)

// errBinder fails every Bind with err.
type errBinder struct{ err error }

func (b errBinder) Bind(arrow.RecordBatch, int) (*planner.Query, error) { return nil, b.err }

// TestBindRowKeepsTheErrorsCode checks that a Bind error is translated by toStatus, not
// reported as InvalidArgument whatever it was.
func TestBindRowKeepsTheErrorsCode(t *testing.T) {
	f := func(err error, want codes.Code) {
		t.Helper()
		_, got := bindRow(errBinder{err}, nil, 3)
		wantCode(t, fmt.Sprint(err), got, want, "bind parameter row 3")
	}
	f(fmt.Errorf("%w: parameter 1: cannot cast 'x' to Int64", planner.ErrType), codes.InvalidArgument)
	f(fmt.Errorf("bind parameters: %w", planner.ErrMemoryLimit), codes.ResourceExhausted)
	f(fmt.Errorf("bind parameters: %w", planner.ErrUnsupported), codes.Unimplemented)
}

// TestBindingKeepsHandleExpiry binds parameters to a prepared statement an hour after it
// was prepared: the handle DoPut returns must expire when the prepared one does, not a
// full handleTTL later (binding would otherwise renew a handle forever).
func TestBindingKeepsHandleExpiry(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	n.mustIngest(ctx, "events", 10)
	var offset atomic.Int64
	n.node.svc.codec.now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	ps, err := n.c.Prepare(ctx, "SELECT n FROM events WHERE host = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	prepared, err := n.node.svc.codec.decode(ps.Handle())
	if err != nil {
		t.Fatal(err)
	}
	offset.Store(int64(time.Hour))
	b := array.NewRecordBuilder(memory.DefaultAllocator, ps.ParameterSchema())
	b.Field(0).(*array.StringBuilder).Append("h1")
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	ps.SetParameters(rec)
	info, err := ps.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows, err := n.drain(ctx, info.Endpoint[0].Ticket); err != nil || rows != 3 {
		t.Fatalf("bound execution: %d rows, %v; want 3", rows, err)
	}
	bound, err := n.node.svc.codec.decode(ps.Handle())
	if err != nil {
		t.Fatal(err)
	}
	if len(bound.Params) == 0 {
		t.Fatal("the handle after DoPut carries no parameters")
	}
	if bound.Expires != prepared.Expires {
		t.Fatalf("bound handle expires at %d; want %d, the prepared handle's expiry", bound.Expires, prepared.Expires)
	}
}

// TestParameterStreamLimitedWhileReading sends more parameter rows than a handle may
// carry, in many batches: DoPut stops reading at the limit, before buffering the rest
// (and before binding every row).
func TestParameterStreamLimitedWhileReading(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	n.mustIngest(ctx, "events", 10)
	ps, err := n.c.Prepare(ctx, "SELECT n FROM events WHERE host = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	long := strings.Repeat("x", 1<<10)
	var batches []arrow.RecordBatch
	for i := 0; i < 6; i++ { // 6 batches of ~1 MiB
		b := array.NewRecordBuilder(memory.DefaultAllocator, ps.ParameterSchema())
		for j := 0; j < 1<<10; j++ {
			b.Field(0).(*array.StringBuilder).Append(long)
		}
		batches = append(batches, b.NewRecordBatch())
		b.Release()
	}
	rdr, err := array.NewRecordReader(ps.ParameterSchema(), batches)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	ps.SetRecordReader(rdr)
	_, err = ps.Execute(ctx)
	wantCode(t, "6 MiB of parameters", err, codes.InvalidArgument, "stopped reading at batch")
}
