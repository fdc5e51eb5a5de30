package server

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/planner"
	"github.com/sigmaflight/sigmaflight/storage"
)

// TestToStatusCodes checks the one place where errors of the layers below become gRPC
// codes: clients decide from the code whether to retry, fix the query or give up.
func TestToStatusCodes(t *testing.T) {
	f := func(err error, want codes.Code) {
		t.Helper()
		if got := status.Code(toStatus(fmt.Errorf("write table %q: %w", "events", err))); got != want {
			t.Fatalf("toStatus(%v): got %s; want %s", err, got, want)
		}
	}
	f(storage.ErrHeadFull, codes.ResourceExhausted)
	f(storage.ErrWriteFailed, codes.Unavailable)
	f(storage.ErrSchemaConflict, codes.InvalidArgument)
	f(storage.ErrTableExists, codes.AlreadyExists)
	f(storage.ErrTableNotFound, codes.NotFound)
	f(planner.ErrMemoryLimit, codes.ResourceExhausted)
	f(planner.ErrUnsupported, codes.Unimplemented)
	f(planner.ErrUnknownColumn, codes.InvalidArgument)
	f(planner.ErrOverflow, codes.OutOfRange)
	f(context.Canceled, codes.Canceled)
	f(errors.New("something else"), codes.Internal)
}
