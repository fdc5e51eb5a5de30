package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
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

// ipcMessages splits an encapsulated IPC stream into (metadata, body) pairs.
func ipcMessages(s []byte) (metas, bodies [][]byte) {
	for len(s) >= 8 {
		n := int(binary.LittleEndian.Uint32(s[4:]))
		if n == 0 {
			break
		}
		meta := s[8 : 8+n]
		msg := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
		bodyLen := int(msg.GetInt64Slot(10, 0)) // Message.bodyLength
		metas = append(metas, meta)
		bodies = append(bodies, s[8+n:8+n+bodyLen])
		s = s[8+n+bodyLen:]
	}
	return
}

// sendRaw sends the messages of an IPC stream (the first with desc) as one DoPut and
// returns the call's status.
func sendRaw(t *testing.T, n *testNode, ctx context.Context, desc *flight.FlightDescriptor, metas, bodies [][]byte) error {
	t.Helper()
	stream, err := n.c.Client.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range metas {
		d := &flight.FlightData{DataHeader: metas[i], DataBody: bodies[i]}
		if i == 0 {
			d.FlightDescriptor = desc
		}
		if err := stream.Send(d); err != nil {
			break // the server may have answered already
		}
	}
	_ = stream.CloseSend()
	for err == nil {
		_, err = stream.Recv()
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// TestDoPutForgedBatchesRefused: the record batch forgeries review found, each fatal to
// the server before (a slice or allocation of hundreds of GiB), refused with
// InvalidArgument while the server goes on: a view column announcing 2^36 variadic
// buffers (plain DoPut), and parameter batches of a prepared statement whose lengths
// claim 2^40 rows over 1-byte buffers (binding is open to readers; the concatenation
// used the uncapped allocator and no validation).
func TestDoPutForgedBatchesRefused(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	n.mustIngest(ctx, "events", 10)

	// A view column's variadic buffer count.
	sc := arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.StringView, Nullable: true}}, nil)
	vb := array.NewStringViewBuilder(memory.DefaultAllocator)
	vb.Append(strings.Repeat("x", 40)) // longer than a view holds inline
	rec := array.NewRecordBatch(sc, []arrow.Array{vb.NewArray()}, 1)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(sc))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	metas, bodies := ipcMessages(bytes.Clone(buf.Bytes()))
	msg := flatbuffers.Table{Bytes: metas[1], Pos: flatbuffers.GetUOffsetT(metas[1])}
	var rb flatbuffers.Table
	msg.Union(&rb, flatbuffers.UOffsetT(msg.Offset(8)))
	vec := rb.Vector(flatbuffers.UOffsetT(rb.Offset(12))) // RecordBatch.variadicBufferCounts
	binary.LittleEndian.PutUint64(metas[1][vec:], 1<<36)
	wantCode(t, "DoPut of a forged variadic count", sendRaw(t, n, ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"views"}}, metas, bodies), codes.InvalidArgument, "variadic")

	// Parameter batches with forged lengths.
	ps, err := n.c.Prepare(ctx, "SELECT n FROM events WHERE n > 0 OR ?")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	psc := arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil)
	bb := array.NewBooleanBuilder(memory.DefaultAllocator)
	bb.AppendValues([]bool{true, true, true, true, true, true, true}, nil)
	bb.AppendNull()
	prec := array.NewRecordBatch(psc, []arrow.Array{bb.NewArray()}, 8)
	buf.Reset()
	w = ipc.NewWriter(&buf, ipc.WithSchema(psc))
	if err := w.Write(prec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	metas, bodies = ipcMessages(bytes.Clone(buf.Bytes()))
	msg = flatbuffers.Table{Bytes: metas[1], Pos: flatbuffers.GetUOffsetT(metas[1])}
	msg.Union(&rb, flatbuffers.UOffsetT(msg.Offset(8)))
	binary.LittleEndian.PutUint64(metas[1][rb.Pos+flatbuffers.UOffsetT(rb.Offset(4)):], 1<<40) // RecordBatch.length
	nodes := rb.Vector(flatbuffers.UOffsetT(rb.Offset(6)))                                     // nodes[0].length
	binary.LittleEndian.PutUint64(metas[1][nodes:], 1<<40)
	anyCmd, err := anypb.New(&pb.CommandPreparedStatementQuery{PreparedStatementHandle: ps.Handle()})
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := proto.Marshal(anyCmd)
	if err != nil {
		t.Fatal(err)
	}
	twice := [][]byte{metas[0], metas[1], metas[1]}
	twiceBodies := [][]byte{bodies[0], bodies[1], bodies[1]}
	wantCode(t, "binding forged parameter batches", sendRaw(t, n, ctx, &flight.FlightDescriptor{Type: flight.DescriptorCMD, Cmd: cmd}, twice, twiceBodies), codes.InvalidArgument, "parameter batch 1")

	if got := n.count(ctx, "events"); got != 10 {
		t.Fatalf("events has %d rows after the forged puts; want 10", got)
	}
}

// TestDoPutDecodedSizeBounded: a ZSTD-compressed batch whose buffers decode to more than
// 4 x --max-recv-msg-bytes in all (each under the per-buffer cap; zeros compress a
// thousandfold, so a few kilobytes held gigabytes) is refused before it is decoded; one
// under the limit is ingested.
func TestDoPutDecodedSizeBounded(t *testing.T) {
	n := mustStartNode(t, false, func(c *Config) { c.MaxRecvMsgBytes = 4 << 20 }) // limit 16 MiB decoded
	ctx := testCtx(t)
	put := func(table string, cols, rows int) error {
		ib := array.NewInt64Builder(memory.DefaultAllocator)
		ib.AppendValues(make([]int64, rows), nil)
		a := ib.NewArray()
		fields := make([]arrow.Field, cols)
		arrs := make([]arrow.Array, cols)
		for i := range fields {
			fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.PrimitiveTypes.Int64, Nullable: true}
			arrs[i] = a
		}
		sc := arrow.NewSchema(fields, nil)
		rec := array.NewRecordBatch(sc, arrs, int64(rows))
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(sc), ipc.WithZstd())
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		w.Close()
		metas, bodies := ipcMessages(buf.Bytes())
		return sendRaw(t, n, ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{table}}, metas, bodies)
	}
	// 32 columns of 128 Ki zeros: 32 MiB decoded, a few KiB sent.
	wantCode(t, "a batch decoding to 32 MiB", put("big", 32, 128<<10), codes.InvalidArgument, "decodes to")
	// 2 columns of 64 Ki: 1 MiB decoded.
	if err := put("small", 2, 64<<10); err != nil {
		t.Fatalf("a compressed batch decoding to 1 MiB: %v", err)
	}
	if got := n.count(ctx, "small"); got != 64<<10 {
		t.Fatalf("small has %d rows; want %d", got, 64<<10)
	}
}

// TestBindRowsBounded: a prepared statement takes at most maxHandleParamRows parameter
// rows (each is planned when bound; a Null-typed column of a million rows takes no
// bytes, so the byte limit did not stop it), and a Null-typed parameter binds NULL.
func TestBindRowsBounded(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	n.mustIngest(ctx, "events", 10)
	ps, err := n.c.Prepare(ctx, "SELECT n FROM events WHERE host = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	sc := arrow.NewSchema([]arrow.Field{{Name: "p", Type: arrow.Null, Nullable: true}}, nil)
	many := array.NewRecordBatch(sc, []arrow.Array{array.NewNull(maxHandleParamRows + 1)}, maxHandleParamRows+1)
	defer many.Release()
	ps.SetParameters(many)
	_, err = ps.Execute(ctx)
	wantCode(t, "binding too many rows", err, codes.InvalidArgument, "more than 10000 rows")
	one := array.NewRecordBatch(sc, []arrow.Array{array.NewNull(1)}, 1)
	defer one.Release()
	ps.SetParameters(one)
	if _, err := ps.Execute(ctx); err != nil {
		t.Fatalf("binding one NULL: %v", err)
	}
}

// TestIngestNullTypedColumn: a column of Arrow's null type (what pandas/pyarrow send for
// a column of None) is ingested: it has no buffers, and validation once refused it with
// "validity buffer missing".
func TestIngestNullTypedColumn(t *testing.T) {
	n := mustStartNode(t, false, nil)
	ctx := testCtx(t)
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "nothing", Type: arrow.Null, Nullable: true},
	}, nil)
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	ib.AppendValues([]int64{1, 2, 3}, nil)
	ids := ib.NewArray()
	rec := array.NewRecordBatch(sc, []arrow.Array{ids, array.NewNull(3)}, 3)
	defer rec.Release()
	stream, err := n.c.Client.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipc.WithSchema(sc))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"nulls"}})
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	_ = stream.CloseSend()
	for err == nil {
		_, err = stream.Recv()
	}
	if err != io.EOF {
		t.Fatalf("DoPut of a null-typed column: %v", err)
	}
	if got := n.count(ctx, "nulls"); got != 3 {
		t.Fatalf("nulls has %d rows; want 3", got)
	}
}

// TestIngestRowsBounded: a batch of only null-typed columns has no buffers, so its
// row count costs nothing to send while storing it costs ~8 bytes a row; one of more
// rows than 4 x --max-recv-msg-bytes / 8 is refused (a 232-byte message announcing 20 M
// rows allocated 632 MiB; 2^33 would have been fatal).
func TestIngestRowsBounded(t *testing.T) {
	n := mustStartNode(t, false, func(c *Config) { c.MaxRecvMsgBytes = 4 << 20 }) // 2 Mi rows
	ctx := testCtx(t)
	put := func(rows int) error {
		sc := arrow.NewSchema([]arrow.Field{{Name: "nothing", Type: arrow.Null, Nullable: true}}, nil)
		rec := array.NewRecordBatch(sc, []arrow.Array{array.NewNull(rows)}, int64(rows))
		defer rec.Release()
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(sc))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		w.Close()
		metas, bodies := ipcMessages(buf.Bytes())
		return sendRaw(t, n, ctx, &flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"nulls"}}, metas, bodies)
	}
	wantCode(t, "20 M null rows", put(20_000_000), codes.InvalidArgument, "at most 2097152 fit one batch")
	if err := put(1000); err != nil {
		t.Fatalf("1,000 null rows: %v", err)
	}
	if got := n.count(ctx, "nulls"); got != 1000 {
		t.Fatalf("nulls has %d rows; want 1000", got)
	}
}
