package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/clients/eventfile"
)

func TestTransient(t *testing.T) {
	f := func(err error, want bool) {
		t.Helper()
		if got := transient(err); got != want {
			t.Fatalf("transient(%v) = %v; want %v", err, got, want)
		}
	}
	wrap := func(c codes.Code, msg string) error {
		return fmt.Errorf("ingest into events: %w", status.Error(c, msg))
	}
	f(wrap(codes.Unavailable, "connection refused"), true)
	f(wrap(codes.DeadlineExceeded, "deadline"), true)
	f(wrap(codes.Aborted, "aborted"), true)
	f(wrap(codes.ResourceExhausted, `write table "events": the head holds 1048576 rows (limit 1048576) for 30s: table head is full: sealing is behind`), true)
	// Size and memory limits fail the same way every time: not retried.
	f(wrap(codes.ResourceExhausted, "grpc: received message larger than max (9000000 vs. 4194304)"), false)
	f(wrap(codes.ResourceExhausted, "query memory limit exceeded: the join needs more than the limit of 64 MiB"), false)
	f(wrap(codes.InvalidArgument, "schema conflict"), false)
	f(wrap(codes.Unauthenticated, "token expired"), false)
	f(errors.New("plain"), false)
}

// TestBatchIDsByRange checks that batch ids name the range of events a batch holds: the
// same batching gives the same ids, and other batch sizes never reuse an id for other
// events (with ordinal ids a re-run with larger batches skipped events).
func TestBatchIDsByRange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	if err := os.WriteFile(path, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := eventfile.Source{Path: path}
	ids := func(sizes ...int64) []string {
		b := newBatchIDs("events")
		var out []string
		for _, n := range sizes {
			out = append(out, b.next(src, n))
		}
		return out
	}
	a, b := ids(100, 100, 100), ids(100, 100, 100)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("same batching: got %v and %v; want equal ids", a, b)
	}
	seen := map[string]bool{}
	for _, id := range a {
		seen[id] = true
	}
	for _, id := range ids(300) {
		if seen[id] {
			t.Fatalf("a 300-event batch got the id of a 100-event batch (%s)", id)
		}
	}
	for _, id := range ids(150, 150) {
		if seen[id] {
			t.Fatalf("a 150-event batch got the id of a 100-event batch (%s)", id)
		}
	}
	// Another member of the same archive has its own ranges.
	m := newBatchIDs("events")
	if m.next(eventfile.Source{Path: path, Member: "a.json"}, 100) == m.next(eventfile.Source{Path: path, Member: "b.json"}, 100) {
		t.Fatal("two archive members share a batch id")
	}
}

// TestIngestBatchFlagsValidated checks that --batch-rows and --batch-bytes below 1 are
// refused before anything is read (--follow with --batch-rows 0 used to spin forever).
func TestIngestBatchFlagsValidated(t *testing.T) {
	for _, args := range [][]string{
		{"--table", "t", "--batch-rows", "0", "x.jsonl"},
		{"--table", "t", "--batch-rows", "-1", "--follow", "x.jsonl"},
		{"--table", "t", "--batch-bytes", "0", "x.jsonl"},
	} {
		cmd := IngestCommand()
		cmd.SetArgs(append(args, "--server", "grpc://127.0.0.1:1"))
		cmd.SetOut(new(strings.Builder))
		cmd.SetErr(new(strings.Builder))
		err := cmd.Execute()
		if err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Fatalf("%v: got %v; want a 'must be positive' error", args, err)
		}
	}
}
