package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/sigmaflight/sigmaflight/internal/ipccheck"
	"github.com/sigmaflight/sigmaflight/storage"
)

// frontDoor wraps arrow-go's Flight SQL router for what it cannot do: our own handshake
// (Basic or Bearer, token in the response headers), role checks on DoPut and DoAction by
// command, plain Flight DoPut with a path descriptor, the sigmaflight.* ruleset actions,
// and turning panics of the IPC decoder on malformed client data into InvalidArgument.
type frontDoor struct {
	flight.FlightServer
	svc  *flightSQLService
	auth *authenticator
	// maxDecoded bounds what one DoPut message's body may decode to (its compressed
	// buffers' announced lengths added up): maxIPCAllocation.
	maxDecoded int64
}

// Handshake authenticates the authorization header of the call (Basic user:password,
// padded or not, a token as password, or Bearer as JDBC sends for `token=`) and answers
// with a token as `authorization: Bearer <jwt>` in the response headers (JDBC reads
// headers) and trailers (arrow-go's stock client reads either). Only a password login
// mints a fresh token (lifetime --token-ttl); a caller that authenticated with a token gets
// that same token back, so a handshake never extends a token's life nor turns an external
// token into one of the node's.
func (f *frontDoor) Handshake(stream flight.FlightService_HandshakeServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	var header string
	if v := md.Get("authorization"); len(v) > 0 {
		header = v[0]
	}
	id, err := f.auth.authorize(header)
	if err != nil {
		return status.Error(codes.Unauthenticated, err.Error())
	}
	tok := id.token
	if tok == "" {
		if tok, err = f.auth.mint(id.Subject, id.Role, f.auth.ttl); err != nil {
			return status.Errorf(codes.Internal, "mint token: %v", err)
		}
	}
	out := metadata.Pairs("authorization", "Bearer "+tok)
	if err := stream.SendHeader(out); err != nil {
		return err
	}
	stream.SetTrailer(out)
	// Answer the client's handshake message, if it sends one, with the token as payload.
	if req, err := stream.Recv(); err == nil {
		return stream.Send(&pb.HandshakeResponse{ProtocolVersion: req.GetProtocolVersion(), Payload: []byte(tok)})
	}
	return nil
}

// requireRole fails with PermissionDenied unless the caller has at least role want.
func requireRole(ctx context.Context, want Role, what string) error {
	id := identityFrom(ctx)
	if id.Role >= want {
		return nil
	}
	need := want.String()
	if want < RoleAdmin {
		need += " or admin"
	}
	return status.Errorf(codes.PermissionDenied, "%s needs role %s; user %q has role %s", what, need, id.Subject, id.Role)
}

// DoPut checks the caller's role for the command in the first message's descriptor, then
// serves a path descriptor itself (plain Flight ingest) and hands Flight SQL commands to
// the router. A panic while decoding client IPC becomes InvalidArgument.
//
// The command is decoded exactly as the router decodes it (anypb.UnmarshalNew, which
// resolves the type by the text after the type URL's last '/'), so the role check and the
// router always see the same command. Deny by default: only binding parameters to a
// prepared query is open to readers; every other command needs writer.
func (f *frontDoor) DoPut(stream flight.FlightService_DoPutServer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			f.svc.metrics.malformedIPC.Inc()
			err = status.Errorf(codes.InvalidArgument, "malformed Arrow IPC data in DoPut: %v", r)
		}
	}()
	first, err := stream.Recv()
	if errors.Is(err, io.EOF) {
		return status.Error(codes.InvalidArgument, "DoPut: the stream is empty; send a schema message with a flight descriptor first")
	}
	if err != nil {
		return err
	}
	desc := first.GetFlightDescriptor()
	if desc == nil {
		return status.Error(codes.InvalidArgument, "DoPut: the first message has no flight descriptor (a PATH naming the table, or a Flight SQL command)")
	}
	replay := &replayPutStream{FlightService_DoPutServer: stream, first: first, malformed: f.svc.metrics.malformedIPC, maxDecoded: f.maxDecoded}
	ctx := stream.Context()
	switch desc.GetType() {
	case flight.DescriptorPATH:
		if err := requireRole(ctx, RoleWriter, "ingest"); err != nil {
			return err
		}
		return f.plainIngest(replay, desc.GetPath())
	case flight.DescriptorCMD:
		cmd, err := decodeCommand(desc.GetCmd())
		if err != nil {
			return err
		}
		switch cmd.(type) {
		case *pb.CommandPreparedStatementQuery:
			// Binds parameters and returns a new handle: a read.
		default:
			if err := requireRole(ctx, RoleWriter, "DoPut "+string(cmd.ProtoReflect().Descriptor().Name())); err != nil {
				return err
			}
		}
		return f.FlightServer.DoPut(replay)
	}
	return status.Errorf(codes.InvalidArgument, "DoPut: unknown descriptor type %v", desc.GetType())
}

// decodeCommand decodes a Flight SQL command the way arrow-go's router does.
func decodeCommand(b []byte) (proto.Message, error) {
	var anycmd anypb.Any
	if err := proto.Unmarshal(b, &anycmd); err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "DoPut: the descriptor's command is not a protobuf Any: %v", err)
	}
	cmd, err := anycmd.UnmarshalNew()
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "DoPut: unknown command type %q: %v", anycmd.GetTypeUrl(), err)
	}
	return cmd, nil
}

// plainIngest writes a plain Flight DoPut into the table its path names: [table],
// [schema, table] or [catalog, schema, table]. It creates or appends and answers with one
// PutResult whose app_metadata is JSON {"table": ..., "rows": N}.
func (f *frontDoor) plainIngest(stream flight.FlightService_DoPutServer, path []string) error {
	var table string
	switch len(path) {
	case 1:
		table = path[0]
	case 2, 3:
		if len(path) == 3 && path[0] != catalogName {
			return errUnknownCatalog(path[0])
		}
		if !isPublicSchema(path[len(path)-2]) {
			return status.Errorf(codes.InvalidArgument, "DoPut: events go to schema %q, not %q", publicSchema, path[len(path)-2])
		}
		table = path[len(path)-1]
	default:
		return status.Errorf(codes.InvalidArgument, "DoPut: the path descriptor must name the table as [table], [schema, table] or [catalog, schema, table]; got %q", path)
	}
	rdr, err := flight.NewRecordReader(stream, ipc.WithAllocator(f.svc.ingestAlloc))
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "DoPut into %q: read the schema message: %v", table, err)
	}
	defer rdr.Release()
	opts := storage.WriteOptions{IfExists: storage.IfExistsAppend, IfNotExists: storage.IfNotExistsCreate}
	if v := metadata.ValueFromIncomingContext(stream.Context(), ingestBatchIDHeader); len(v) > 0 {
		setBatchID(&opts, v[0])
	}
	n, ingestErr := f.svc.ingest(stream.Context(), table, opts, rdr)
	body, _ := json.Marshal(map[string]any{"table": table, "rows": n})
	if err := stream.Send(&flight.PutResult{AppMetadata: body}); err != nil {
		return err
	}
	return ingestErr
}

// replayPutStream returns first from the first Recv, then reads the real stream. It
// hands on only messages whose metadata ipccheck accepts: arrow-go's reader trusts the
// vector lengths of a schema message, and a forged one is a fatal out-of-memory or stack
// overflow of the whole server, which no recover catches.
type replayPutStream struct {
	flight.FlightService_DoPutServer
	first      *flight.FlightData
	malformed  prometheus.Counter
	maxDecoded int64
}

func (r *replayPutStream) Recv() (*flight.FlightData, error) {
	d := r.first
	if d != nil {
		r.first = nil
	} else {
		var err error
		if d, err = r.FlightService_DoPutServer.Recv(); err != nil {
			return nil, err
		}
	}
	if len(d.DataHeader) > 0 {
		if err := ipccheck.Message(d.DataHeader); err != nil {
			r.malformed.Inc()
			return nil, status.Errorf(codes.InvalidArgument, "DoPut: %v", err)
		}
		// cappedAllocator bounds each buffer; this bounds their sum, which compressed
		// buffers can make thousands of times the message (found in review: 122 KB of
		// ZSTD zeros held 1 GiB).
		n, err := ipccheck.BodyBytes(d.DataHeader, d.DataBody)
		if err != nil {
			r.malformed.Inc()
			return nil, status.Errorf(codes.InvalidArgument, "DoPut: %v", err)
		}
		if r.maxDecoded > 0 && n > r.maxDecoded {
			r.malformed.Inc()
			return nil, status.Errorf(codes.InvalidArgument, "DoPut: a message of %d bytes decodes to %d bytes, more than the %d-byte limit (4 x --max-recv-msg-bytes); send smaller batches", len(d.DataBody), n, r.maxDecoded)
		}
	}
	return d, nil
}

// Action types of the ruleset administration contract (docs/clients.md).
const (
	actionLoadRuleset  = "sigmaflight.LoadRuleset"
	actionListRulesets = "sigmaflight.ListRulesets"
	actionGetRuleset   = "sigmaflight.GetRuleset"
)

// readerActions are the actions of the router that change no data: statements (each
// handle is bound to its caller), cancellation (of the caller's own tickets), sessions, and
// transactions and savepoints (Unimplemented).
var readerActions = map[string]bool{
	flight.CancelFlightInfoActionType:               true,
	flight.RenewFlightEndpointActionType:            true,
	flight.SetSessionOptionsActionType:              true,
	flight.GetSessionOptionsActionType:              true,
	flight.CloseSessionActionType:                   true,
	flightsql.CreatePreparedStatementActionType:     true,
	flightsql.ClosePreparedStatementActionType:      true,
	flightsql.CreatePreparedSubstraitPlanActionType: true,
	flightsql.CancelQueryActionType:                 true,
	flightsql.BeginTransactionActionType:            true,
	flightsql.EndTransactionActionType:              true,
	flightsql.BeginSavepointActionType:              true,
	flightsql.EndSavepointActionType:                true,
}

// DoAction serves the sigmaflight.* actions and hands the rest to the router.
func (f *frontDoor) DoAction(action *flight.Action, stream flight.FlightService_DoActionServer) error {
	ctx := stream.Context()
	var (
		body any
		err  error
	)
	switch action.GetType() {
	case actionLoadRuleset:
		if err := requireRole(ctx, RoleAdmin, "loading a ruleset"); err != nil {
			return err
		}
		body, err = f.svc.loadRulesetAction(ctx, action.GetBody())
	case actionListRulesets:
		body, err = f.svc.listRulesetsAction(), nil
	case actionGetRuleset:
		body, err = f.svc.getRulesetAction(action.GetBody())
	default:
		// Deny by default: the router's actions known to change no data are open to every
		// caller; any other action (one a newer arrow-go might add) needs admin.
		if !readerActions[action.GetType()] {
			if err := requireRole(ctx, RoleAdmin, "action "+action.GetType()); err != nil {
				return err
			}
		}
		return f.FlightServer.DoAction(action, stream)
	}
	if err != nil {
		return err
	}
	out, err := json.Marshal(body)
	if err != nil {
		return status.Errorf(codes.Internal, "encode %s result: %v", action.GetType(), err)
	}
	return stream.Send(&pb.Result{Body: out})
}

// ListActions lists the router's actions, the session actions it omits, and ours.
func (f *frontDoor) ListActions(req *flight.Empty, stream flight.FlightService_ListActionsServer) error {
	inner := &collectActions{FlightService_ListActionsServer: stream}
	if err := f.FlightServer.ListActions(req, inner); err != nil {
		return err
	}
	extra := []*pb.ActionType{
		{Type: flight.SetSessionOptionsActionType, Description: "Set session options (catalog, schema)."},
		{Type: flight.GetSessionOptionsActionType, Description: "Get session options."},
		{Type: flight.CloseSessionActionType, Description: "Close the session."},
		{Type: actionLoadRuleset, Description: `Load or replace a ruleset (admin): JSON {"name", "rules": [{"path", "yaml"}]}.`},
		{Type: actionListRulesets, Description: `List rulesets: JSON [{"name", "rules"}].`},
		{Type: actionGetRuleset, Description: `Get a ruleset's rules: JSON body {"name"}.`},
	}
	seen := map[string]bool{}
	for _, a := range append(inner.actions, extra...) {
		if seen[a.GetType()] {
			continue
		}
		seen[a.GetType()] = true
		if err := stream.Send(a); err != nil {
			return err
		}
	}
	return nil
}

type collectActions struct {
	flight.FlightService_ListActionsServer
	actions []*pb.ActionType
}

func (c *collectActions) Send(a *pb.ActionType) error {
	c.actions = append(c.actions, a)
	return nil
}

// cappedAllocator refuses (by panicking, which DoPut recovers) any single allocation above
// max: arrow-go's IPC reader trusts buffer lengths in client messages and would otherwise
// try to allocate whatever a malformed message claims.
type cappedAllocator struct {
	memory.Allocator
	max int
}

// errAllocTooLarge is the panic value of cappedAllocator.
type errAllocTooLarge struct{ n, max int }

func (e errAllocTooLarge) Error() string {
	return fmt.Sprintf("a message asks for a %d-byte buffer, more than the %d-byte limit (--max-recv-msg-bytes)", e.n, e.max)
}

func (c cappedAllocator) Allocate(n int) []byte {
	if n > c.max {
		panic(errAllocTooLarge{n, c.max})
	}
	return c.Allocator.Allocate(n)
}

func (c cappedAllocator) Reallocate(n int, b []byte) []byte {
	if n > c.max {
		panic(errAllocTooLarge{n, c.max})
	}
	return c.Allocator.Reallocate(n, b)
}

// authMiddleware authenticates every call except Handshake (which authenticates itself)
// and puts the caller's identity in the context.
func authMiddleware(a *authenticator) flight.ServerMiddleware {
	check := func(ctx context.Context, method string) (context.Context, error) {
		if strings.HasSuffix(method, "/Handshake") {
			return ctx, nil
		}
		md, _ := metadata.FromIncomingContext(ctx)
		var header string
		if v := md.Get("authorization"); len(v) > 0 {
			header = v[0]
		}
		id, err := a.authorize(header)
		if err != nil {
			return nil, status.Error(codes.Unauthenticated, err.Error())
		}
		return withIdentity(ctx, id), nil
	}
	return flight.ServerMiddleware{
		Unary: func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			ctx, err := check(ctx, info.FullMethod)
			if err != nil {
				return nil, err
			}
			return handler(ctx, req)
		},
		Stream: func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
			ctx, err := check(ss.Context(), info.FullMethod)
			if err != nil {
				return err
			}
			return handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
		},
	}
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }
