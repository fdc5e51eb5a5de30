package server

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// TestSessionKeyHidesCredentials checks that a session keyed by the authorization header
// does not keep the header (a Basic password) as the map key.
func TestSessionKeyHidesCredentials(t *testing.T) {
	header := "Basic " + b64("rita:rita-secret")
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", header))
	key := sessionKey(ctx)
	if strings.Contains(key, b64("rita:rita-secret")) || strings.Contains(key, "rita") {
		t.Fatalf("session key %q carries the credentials", key)
	}
	other := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Basic "+b64("rita:other")))
	if sessionKey(other) == key {
		t.Fatal("two credentials share one session key")
	}
}

// TestSessionStoreIsBounded creates more sessions than maxSessions: the store keeps at
// most maxSessions, evicting the least recently touched, and drops idle ones.
func TestSessionStoreIsBounded(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	st := newSessionStore()
	st.now = clock.now
	for i := 0; i < maxSessions+100; i++ {
		clock.advance(time.Millisecond)
		st.get(fmt.Sprintf("auth:%d", i), true)
	}
	if got := len(st.sessions); got > maxSessions {
		t.Fatalf("%d sessions kept; want at most %d", got, maxSessions)
	}
	if st.get("auth:0", false) != nil {
		t.Fatal("the oldest session survived the bound")
	}
	if st.get(fmt.Sprintf("auth:%d", maxSessions+99), false) == nil {
		t.Fatal("the newest session was evicted")
	}
	clock.advance(sessionIdleTTL + time.Second)
	if st.get("auth:5000", false) != nil {
		t.Fatal("an idle session is still returned")
	}
}

// TestSessionSchemaResolvesNames sets the session's schema with arrow-go's client: the
// schema becomes the default of unqualified table names for statements created in the
// session, a statement keeps the schema it was created with (its handle carries it), other
// sessions are unaffected, and bad values are reported per option without failing the call.
func TestSessionSchemaResolvesNames(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	n.mustIngest(ctx, "events", 10)
	one := func(c *flightsql.Client, sql string) (string, error) {
		t.Helper()
		info, err := c.Execute(ctx, sql)
		if err != nil {
			return "", err
		}
		return firstValue(ctx, c, info)
	}
	set := func(c *flightsql.Client, opts map[string]*flight.SessionOptionValue) map[string]*pb.SetSessionOptionsResult_Error {
		t.Helper()
		res, err := c.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: opts})
		if err != nil {
			t.Fatalf("SetSessionOptions(%v): %v; it must never fail", opts, err)
		}
		return res.GetErrors()
	}
	str := func(v string) *flight.SessionOptionValue {
		return &flight.SessionOptionValue{OptionValue: &pb.SessionOptionValue_StringValue{StringValue: v}}
	}

	if _, err := one(n.c, "SELECT count(*) FROM tables"); status.Code(err) != codes.NotFound {
		t.Fatalf("tables in the default schema: %v; want NotFound (it is sys.tables)", err)
	}
	if errs := set(n.c, map[string]*flight.SessionOptionValue{"schema": str("SYS"), "catalog": str("sigmaflight")}); len(errs) != 0 {
		t.Fatalf("SetSessionOptions errors %v; want none", errs)
	}
	got, err := n.c.GetSessionOptions(ctx, &flight.GetSessionOptionsRequest{})
	if err != nil || got.GetSessionOptions()["schema"].GetStringValue() != "sys" {
		t.Fatalf("GetSessionOptions: %v, %v; want schema sys", got, err)
	}
	if v, err := one(n.c, "SELECT table_name FROM tables WHERE table_schema = 'public'"); err != nil || v != "events" {
		t.Fatalf("sys.tables through the session schema: %q, %v; want events", v, err)
	}
	if v, err := one(n.c, "SELECT count(*) FROM public.events"); err != nil || v != "10" {
		t.Fatalf("qualified public.events in schema sys: %q, %v; want 10", v, err)
	}
	_, err = one(n.c, "SELECT count(*) FROM events")
	wantCode(t, "unqualified events in schema sys", err, codes.NotFound, `in the default schema "sys"`)
	if _, err := n.c.GetExecuteSchema(ctx, "SELECT rule_count FROM rulesets"); err != nil {
		t.Fatalf("GetSchema of sys.rulesets in schema sys: %v", err)
	}

	// Another connection is another session: public as before.
	other, err := flightsql.NewClient(n.node.Addr(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if v, err := one(other, "SELECT count(*) FROM events"); err != nil || v != "10" {
		t.Fatalf("another session: %q, %v; want 10 rows of public.events", v, err)
	}

	// Statements keep the schema they were created in, whatever the session says later.
	ps, err := n.c.Prepare(ctx, "SELECT count(*) FROM tables WHERE table_name = ?")
	if err != nil {
		t.Fatalf("prepare in schema sys: %v", err)
	}
	defer ps.Close(ctx)
	info, err := n.c.Execute(ctx, "SELECT count(*) FROM tables WHERE table_name = 'events'")
	if err != nil {
		t.Fatal(err)
	}
	if errs := set(n.c, map[string]*flight.SessionOptionValue{"schema": str("public")}); len(errs) != 0 {
		t.Fatalf("SetSessionOptions(schema=public) errors %v", errs)
	}
	if v, err := firstValue(ctx, n.c, info); err != nil || v != "1" {
		t.Fatalf("FlightInfo issued in schema sys, redeemed after switching to public: %q, %v; want 1", v, err)
	}
	params := testBatchParams(t, "events")
	defer params.Release()
	ps.SetParameters(params)
	pinfo, err := ps.Execute(ctx)
	if err != nil {
		t.Fatalf("prepared statement of schema sys executed in schema public: %v", err)
	}
	if v, err := firstValue(ctx, n.c, pinfo); err != nil || v != "1" {
		t.Fatalf("prepared statement of schema sys: %q, %v; want 1", v, err)
	}
	if v, err := one(n.c, "SELECT count(*) FROM events"); err != nil || v != "10" {
		t.Fatalf("after switching back to public: %q, %v; want 10", v, err)
	}

	// Bad values are per-option errors; the call succeeds and the session is unchanged.
	errs := set(n.c, map[string]*flight.SessionOptionValue{"catalog": str("other"), "schema": str("nosuch"), "bogus": str("x")})
	for name, want := range map[string]pb.SetSessionOptionsResult_ErrorValue{
		"catalog": pb.SetSessionOptionsResult_INVALID_VALUE,
		"schema":  pb.SetSessionOptionsResult_INVALID_VALUE,
		"bogus":   pb.SetSessionOptionsResult_INVALID_NAME,
	} {
		if errs[name].GetValue() != want {
			t.Fatalf("SetSessionOptions(%s) error %v; want %v", name, errs[name], want)
		}
	}
	if v, err := one(n.c, "SELECT count(*) FROM events"); err != nil || v != "10" {
		t.Fatalf("after refused options: %q, %v; want public.events", v, err)
	}

	// An option without a value unsets it: back to public.
	set(n.c, map[string]*flight.SessionOptionValue{"schema": str("sys")})
	if errs := set(n.c, map[string]*flight.SessionOptionValue{"schema": {}}); len(errs) != 0 {
		t.Fatalf("unsetting the schema: errors %v; want none", errs)
	}
	if v, err := one(n.c, "SELECT count(*) FROM events"); err != nil || v != "10" {
		t.Fatalf("after unsetting the schema: %q, %v; want public.events", v, err)
	}
}

// testBatchParams is a one-row parameter batch with one string parameter.
func testBatchParams(t *testing.T, v string) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "$1", Type: arrow.BinaryTypes.String, Nullable: true}}, nil))
	defer b.Release()
	b.Field(0).(*array.StringBuilder).Append(v)
	return b.NewRecordBatch()
}

// firstValue redeems info's ticket and returns the first column of the first row as text.
func firstValue(ctx context.Context, c *flightsql.Client, info *flight.FlightInfo) (string, error) {
	rdr, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		return "", err
	}
	defer rdr.Release()
	for rdr.Next() {
		if rec := rdr.RecordBatch(); rec.NumRows() > 0 {
			return rec.Column(0).ValueStr(0), nil
		}
	}
	if err := rdr.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no rows")
}
