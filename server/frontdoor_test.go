package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/golang-jwt/jwt/v5"
	flatbuffers "github.com/google/flatbuffers/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// putCommand sends a DoPut whose descriptor is cmd packed in an Any with type URL typeURL,
// followed by a small batch, and returns the call's status.
func (n *testNode) putCommand(ctx context.Context, typeURL string, cmd proto.Message) error {
	n.t.Helper()
	body, err := proto.Marshal(cmd)
	if err != nil {
		n.t.Fatal(err)
	}
	anyBytes, err := proto.Marshal(&anypb.Any{TypeUrl: typeURL, Value: body})
	if err != nil {
		n.t.Fatal(err)
	}
	stream, err := n.c.Client.DoPut(ctx)
	if err != nil {
		return err
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(testSchema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: anyBytes})
	rec := testBatch(3)
	defer rec.Release()
	_ = w.Write(rec)
	_ = w.Close()
	_ = stream.CloseSend()
	for {
		if _, err := stream.Recv(); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

// TestDoPutRoleFollowsTheDecodedCommand checks that the role DoPut requires is decided by
// the command the router will run, not by the spelling of its type URL: arrow-go resolves
// the type by the text after the URL's last '/', so a reader once ingested into and
// replaced any table by sending CommandStatementIngest under another host name.
func TestDoPutRoleFollowsTheDecodedCommand(t *testing.T) {
	n := mustStartNode(t, true, nil)
	ctx := testCtx(t)
	admin := n.login(ctx, "alice", "alice-secret")
	writer := n.login(ctx, "wanda", "wanda-secret")
	reader := n.login(ctx, "rita", "rita-secret")
	n.mustIngest(admin, "events", 10)

	ingest := func(table string, exists pb.CommandStatementIngest_TableDefinitionOptions_TableExistsOption) *pb.CommandStatementIngest {
		return &pb.CommandStatementIngest{Table: table, TableDefinitionOptions: &pb.CommandStatementIngest_TableDefinitionOptions{
			IfNotExist: pb.CommandStatementIngest_TableDefinitionOptions_TABLE_NOT_EXIST_OPTION_CREATE, IfExists: exists}}
	}
	const replace = pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_REPLACE
	const appendRows = pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_APPEND
	for _, url := range []string{
		"type.googleapis.com/arrow.flight.protocol.sql.CommandStatementIngest",
		"evil.example/arrow.flight.protocol.sql.CommandStatementIngest",
		"arrow.flight.protocol.sql.CommandStatementIngest",
		"a/b/c/arrow.flight.protocol.sql.CommandStatementIngest",
	} {
		wantCode(t, "reader ingest as "+url, n.putCommand(reader, url, ingest("pwned", appendRows)), codes.PermissionDenied, "needs role writer")
		wantCode(t, "reader replace as "+url, n.putCommand(reader, url, ingest("events", replace)), codes.PermissionDenied, "needs role")
	}
	if got := n.count(admin, "pwned"); got != -1 {
		t.Fatalf("table pwned has %d rows; want no such table", got)
	}
	if got := n.count(admin, "events"); got != 10 {
		t.Fatalf("events has %d rows after the refused replaces; want 10", got)
	}
	// Commands the router does not know are refused before any role or data is looked at.
	wantCode(t, "unknown command", n.putCommand(reader, "evil.example/no.such.Command", ingest("x", appendRows)), codes.InvalidArgument, "unknown command type")
	// Other write commands need writer whatever their URL (they are Unimplemented after).
	wantCode(t, "reader update", n.putCommand(reader, "x/arrow.flight.protocol.sql.CommandStatementUpdate", &pb.CommandStatementUpdate{Query: "DELETE FROM events"}), codes.PermissionDenied, "needs role writer")

	// REPLACE deletes a table's rows: admin only. Append stays a writer's right.
	url := "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementIngest"
	wantCode(t, "writer append", n.putCommand(writer, url, ingest("events", appendRows)), codes.OK, "")
	wantCode(t, "writer replace", n.putCommand(writer, url, ingest("events", replace)), codes.PermissionDenied, "REPLACE")
	wantCode(t, "admin replace", n.putCommand(admin, url, ingest("events", replace)), codes.OK, "")
	if got := n.count(admin, "events"); got != 3 {
		t.Fatalf("events has %d rows after the admin's replace; want 3", got)
	}
}

// TestIngestChecksRoleItself calls the ingest handler directly, as if the front door had
// let the call through: it must still refuse a reader.
func TestIngestChecksRoleItself(t *testing.T) {
	n := mustStartNode(t, true, nil)
	ctx := withIdentity(context.Background(), identity{Subject: "rita", Role: RoleReader})
	_, err := n.node.svc.DoPutCommandStatementIngest(ctx, &pb.CommandStatementIngest{Table: "pwned"}, nil)
	wantCode(t, "reader calling DoPutCommandStatementIngest", err, codes.PermissionDenied, "needs role writer")
}

// TestDoActionDeniesUnknownActionsToReaders checks that only actions known to change no
// data are open to readers.
func TestDoActionDeniesUnknownActionsToReaders(t *testing.T) {
	n := mustStartNode(t, true, nil)
	ctx := testCtx(t)
	do := func(ctx context.Context, typ string) error {
		stream, err := n.c.Client.DoAction(ctx, &flight.Action{Type: typ})
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		if err == io.EOF {
			return nil
		}
		return err
	}
	reader := n.login(ctx, "rita", "rita-secret")
	wantCode(t, "reader, unknown action", do(reader, "SomeFutureAction"), codes.PermissionDenied, "needs role admin")
	wantCode(t, "reader, ListRulesets", do(reader, actionListRulesets), codes.OK, "")
	wantCode(t, "reader, CloseSession", do(reader, flight.CloseSessionActionType), codes.OK, "")
	admin := n.login(ctx, "alice", "alice-secret")
	wantCode(t, "admin, unknown action", do(admin, "SomeFutureAction"), codes.InvalidArgument, "")
}

// handshakeToken runs a Flight handshake with the given authorization value and returns
// the token of the response headers.
func (n *testNode) handshakeToken(ctx context.Context, authorization string) (string, error) {
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", authorization)
	stream, err := n.c.Client.Handshake(ctx)
	if err != nil {
		return "", err
	}
	_ = stream.CloseSend()
	for {
		if _, err := stream.Recv(); err != nil {
			if err != io.EOF {
				return "", err
			}
			break
		}
	}
	hdr, err := stream.Header()
	if err != nil {
		return "", err
	}
	v := hdr.Get("authorization")
	if len(v) == 0 {
		return "", nil
	}
	return v[0][len("Bearer "):], nil
}

// TestHandshakeWithTokenDoesNotExtendIt checks that a handshake authenticated by a token
// (Bearer, or a token as the Basic password) returns that token, expiry unchanged, and
// that only a password login mints a token with the full --token-ttl.
func TestHandshakeWithTokenDoesNotExtendIt(t *testing.T) {
	n := mustStartNode(t, true, nil)
	ctx := testCtx(t)
	short, err := n.node.svc.auth.mint("grafana", RoleReader, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	exp := func(tok string) time.Time {
		t.Helper()
		claims := jwt.MapClaims{}
		if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
			t.Fatalf("parse %q: %v", tok, err)
		}
		e, err := claims.GetExpirationTime()
		if err != nil || e == nil {
			t.Fatalf("token without exp: %v", err)
		}
		return e.Time
	}
	for name, authz := range map[string]string{
		"Bearer":            "Bearer " + short,
		"token as password": "Basic " + b64("grafana:"+short),
	} {
		got, err := n.handshakeToken(ctx, authz)
		if err != nil {
			t.Fatalf("%s handshake: %v", name, err)
		}
		if got != short || !exp(got).Equal(exp(short)) {
			t.Fatalf("%s handshake returned a token expiring %s; want the caller's own token, expiring %s", name, exp(got), exp(short))
		}
	}
	got, err := n.handshakeToken(ctx, "Basic "+b64("rita:rita-secret"))
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(exp(got)); left < n.node.cfg.TokenTTL-time.Minute {
		t.Fatalf("password login: token valid for %s; want the full --token-ttl %s", left, n.node.cfg.TokenTTL)
	}
}

// panicServer panics in GetFlightInfo and DoGet and answers ListActions.
type panicServer struct{ flight.BaseFlightServer }

func (*panicServer) GetFlightInfo(context.Context, *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	panic("boom in GetFlightInfo")
}

func (*panicServer) DoGet(*flight.Ticket, flight.FlightService_DoGetServer) error {
	panic("boom in DoGet")
}

func (*panicServer) ListActions(_ *flight.Empty, s flight.FlightService_ListActionsServer) error {
	return s.Send(&flight.ActionType{Type: "still-here"})
}

// TestPanicInHandlerBecomesInternal serves a service that panics behind the node's
// middleware chain: each panic is an Internal status for that call, and the server keeps
// serving (grpc-go does not recover handler panics; unrecovered, one ends the process).
func TestPanicInHandlerBecomesInternal(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	auth := &authenticator{}
	srv := flight.NewServerWithMiddleware(serverMiddleware(newMetrics(func() float64 { return 0 }), log, auth))
	srv.RegisterFlightService(&panicServer{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.InitListener(ln)
	go func() { _ = srv.Serve() }()
	t.Cleanup(srv.Shutdown)
	c, err := flight.NewClientWithMiddleware(ln.Addr().String(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx := testCtx(t)
	for i := 0; i < 2; i++ {
		_, err := c.GetFlightInfo(ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: []byte("x")})
		wantCode(t, "unary handler panic", err, codes.Internal, "boom in GetFlightInfo")
		stream, err := c.DoGet(ctx, &flight.Ticket{Ticket: []byte("x")})
		if err == nil {
			_, err = stream.Recv()
		}
		wantCode(t, "stream handler panic", err, codes.Internal, "boom in DoGet")
	}
	stream, err := c.ListActions(ctx, &flight.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := stream.Recv()
	if err != nil || a.GetType() != "still-here" {
		t.Fatalf("after the panics: %v, %v; want the server still answering", a, err)
	}
}

// forgedSchemaHeader is the schema message of testSchema with its fields vector
// announcing four billion fields: arrow-go's reader makes a slice of that many fields
// before it reads one, a fatal out-of-memory of the whole process.
func forgedSchemaHeader(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(testSchema))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	s := buf.Bytes()
	meta := bytes.Clone(s[8 : 8+binary.LittleEndian.Uint32(s[4:])])
	msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	var schema flatbuffers.Table
	msg.Union(&schema, flatbuffers.UOffsetT(msg.Offset(8)))         // Message.header
	fields := schema.Vector(flatbuffers.UOffsetT(schema.Offset(6))) // Schema.fields
	if n := binary.LittleEndian.Uint32(meta[fields-4:]); int(n) != testSchema.NumFields() {
		t.Fatalf("the schema message's fields vector holds %d; want %d", n, testSchema.NumFields())
	}
	binary.LittleEndian.PutUint32(meta[fields-4:], 0xFFFFFFF0)
	return meta
}

// TestDoPutForgedSchemaRefused sends a schema message whose fields vector is forged, by
// plain DoPut and by Flight SQL bulk ingest: the server refuses it with InvalidArgument
// and goes on serving.
func TestDoPutForgedSchemaRefused(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	header := forgedSchemaHeader(t)
	ingest, err := proto.Marshal(&pb.CommandStatementIngest{Table: "events", TableDefinitionOptions: &pb.CommandStatementIngest_TableDefinitionOptions{
		IfNotExist: pb.CommandStatementIngest_TableDefinitionOptions_TABLE_NOT_EXIST_OPTION_CREATE,
		IfExists:   pb.CommandStatementIngest_TableDefinitionOptions_TABLE_EXISTS_OPTION_APPEND}})
	if err != nil {
		t.Fatal(err)
	}
	anyIngest, err := proto.Marshal(&anypb.Any{TypeUrl: "type.googleapis.com/arrow.flight.protocol.sql.CommandStatementIngest", Value: ingest})
	if err != nil {
		t.Fatal(err)
	}
	for _, desc := range []*flight.FlightDescriptor{
		{Type: flight.DescriptorPATH, Path: []string{"events"}},
		{Type: flight.DescriptorCMD, Cmd: anyIngest},
	} {
		stream, err := n.c.Client.DoPut(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&flight.FlightData{FlightDescriptor: desc, DataHeader: header}); err != nil {
			t.Fatal(err)
		}
		_ = stream.CloseSend()
		for err == nil {
			_, err = stream.Recv()
		}
		wantCode(t, fmt.Sprintf("DoPut of a forged schema (%v)", desc.Type), err, codes.InvalidArgument, "runs past")
	}
	n.mustIngest(ctx, "events", 5)
	if got := n.count(ctx, "events"); got != 5 {
		t.Fatalf("events has %d rows after the forged puts and one of 5; want 5", got)
	}
}
