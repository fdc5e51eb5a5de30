package server

import (
	"context"
	"log/slog"
	"runtime/debug"

	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// recoverMiddleware turns a panic in any RPC handler (unary or stream) into an Internal
// status for that call and logs it with its stack, so one bad request cannot take the node
// down: grpc-go does not recover handler panics, and an unrecovered panic ends the process.
// It runs inside the metrics middleware, so the call is counted as Internal. Panics in
// goroutines a handler starts are not covered here; those goroutines recover on their own
// (streamWithKeepAlive).
func recoverMiddleware(log *slog.Logger) flight.ServerMiddleware {
	recovered := func(ctx context.Context, method string, r any) error {
		log.ErrorContext(ctx, "BUG: panic in RPC handler", "method", method, "panic", r, "stack", string(debug.Stack()))
		return status.Errorf(codes.Internal, "internal error in %s (a server bug, logged on the node): %v", method, r)
	}
	return flight.ServerMiddleware{
		Unary: func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
			defer func() {
				if r := recover(); r != nil {
					resp, err = nil, recovered(ctx, info.FullMethod, r)
				}
			}()
			return handler(ctx, req)
		},
		Stream: func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = recovered(ss.Context(), info.FullMethod, r)
				}
			}()
			return handler(srv, ss)
		},
	}
}

// serverMiddleware is the node's interceptor chain, outermost first: per-RPC metrics and
// logging, panic recovery, authentication.
func serverMiddleware(m *metrics, log *slog.Logger, auth *authenticator) []flight.ServerMiddleware {
	return []flight.ServerMiddleware{m.rpcMiddleware(log), recoverMiddleware(log), authMiddleware(auth)}
}
