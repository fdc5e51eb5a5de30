package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// skipBatch returns rows rows in hour window w of 2026-01-01 with ids n from first and a
// CommandLine of size bytes each (distinct values, so that neither the gather nor the
// dictionary shares them).
func skipBatch(w, first, rows, size int) arrow.RecordBatch {
	ts := make([]string, rows)
	ids := make([]int64, rows)
	cmd := make([]string, rows)
	for i := range rows {
		n := first + i
		ts[i] = time.Date(2026, 1, 1, w, 0, i, 0, time.UTC).Format(time.RFC3339)
		ids[i] = int64(n)
		id := fmt.Sprintf("cmd.exe /c %d ", n)
		cmd[i] = id + strings.Repeat("x", max(0, size-len(id)))
	}
	return mkBatch(col{"@timestamp", ts}, col{"n", ids}, col{"CommandLine", cmd})
}

// sealSkipBatches writes count batches of rows rows of size-byte strings into window w of
// table "t", sealing each into its own segment, with ids from *next on.
func sealSkipBatches(t *testing.T, s *Store, next *int, w, count, rows, size int) {
	t.Helper()
	for range count {
		b := skipBatch(w, *next, rows, size)
		mustWrite(t, s, "t", b)
		b.Release()
		*next += rows
		if err := mustTable(t, s, "t").Seal(context.Background()); err != nil {
			t.Fatalf("Seal: %v", err)
		}
	}
}

// checkEveryRowOnce fails unless a scan of tbl returns ids 0..n-1, each exactly once.
func checkEveryRowOnce(t *testing.T, tbl *Table, n int) {
	t.Helper()
	seen := map[int64]int{}
	for _, r := range scanRows(t, tbl, []string{"n"}) {
		seen[r["n"].(int64)]++
	}
	for i := range int64(n) {
		if seen[i] != 1 {
			t.Fatalf("row %d seen %d times; want once (%d distinct rows of %d)", i, seen[i], len(seen), n)
		}
	}
	if len(seen) != n {
		t.Fatalf("got %d distinct rows; want %d", len(seen), n)
	}
}

// TestCompactSkipsTooLargeGroup checks that a group of segments whose merge fails with
// ErrSegmentTooLarge (the offset limit lowered to 3,500 bytes; the group holds 4 × 1,000)
// is reported once with the table's name, that the next Compact does not read and fail on
// it again, and that other groups of the table are merged in the same call and after.
// Before the fix, every maintenance pass retried the same group, failed and logged it.
func TestCompactSkipsTooLargeGroup(t *testing.T) {
	defer func(v int) { maxGatherBytes = v }(maxGatherBytes)
	maxGatherBytes = 3500
	ctx := context.Background()
	dir := t.TempDir()
	s := openWith(t, dir, Options{Tables: map[string]TableOptions{"t": {Shards: 1}}})
	next := 0
	sealSkipBatches(t, s, &next, 0, 4, 10, 100) // window 0: 4 × 1,000 bytes, too large merged
	sealSkipBatches(t, s, &next, 1, 4, 10, 20)  // window 1: 4 × 200 bytes, mergeable
	tbl := mustTable(t, s, "t")

	err := tbl.Compact(ctx)
	if !errors.Is(err, ErrSegmentTooLarge) || !strings.Contains(err.Error(), `"t"`) || !strings.Contains(err.Error(), "merge of 4 segments") {
		t.Fatalf("first Compact: got %v; want ErrSegmentTooLarge naming table \"t\" and the 4 segments", err)
	}
	if got := tbl.compactState().attempts; got != 2 {
		t.Fatalf("first Compact: %d merges attempted; want 2 (both windows)", got)
	}
	if st := tbl.Stats(); st.Compactions != 1 || st.Segments != 5 {
		t.Fatalf("first Compact: %d compactions, %d segments; want 1 and 5 (window 1 merged, window 0 kept)", st.Compactions, st.Segments)
	}
	checkEveryRowOnce(t, tbl, next)

	// The failed group is not tried again: no error, no merge attempted.
	if err := tbl.Compact(ctx); err != nil {
		t.Fatalf("second Compact: got %v; want nil (the failed group skipped)", err)
	}
	if got := tbl.compactState().attempts; got != 2 {
		t.Fatalf("second Compact: %d merges attempted in all; want still 2", got)
	}

	// Window 1 goes on compacting: its merged segment and 3 new ones make 4 again.
	sealSkipBatches(t, s, &next, 1, 3, 10, 20)
	if err := tbl.Compact(ctx); err != nil {
		t.Fatalf("third Compact: %v", err)
	}
	if st := tbl.Stats(); st.Compactions != 2 || st.Segments != 5 || tbl.compactState().attempts != 3 {
		t.Fatalf("third Compact: %d compactions, %d segments, %d attempts; want 2, 5, 3", st.Compactions, st.Segments, tbl.compactState().attempts)
	}
	checkEveryRowOnce(t, tbl, next)

	// A reopened store forgets, tries the group once more, fails once, and skips it.
	mustClose(t, s)
	s = openWith(t, dir, Options{Tables: map[string]TableOptions{"t": {Shards: 1}}})
	defer mustClose(t, s)
	tbl = mustTable(t, s, "t")
	if err := tbl.Compact(ctx); !errors.Is(err, ErrSegmentTooLarge) {
		t.Fatalf("Compact after reopen: got %v; want ErrSegmentTooLarge", err)
	}
	if err := tbl.Compact(ctx); err != nil {
		t.Fatalf("second Compact after reopen: got %v; want nil", err)
	}
	checkEveryRowOnce(t, tbl, next)
}

// TestCompactTooLargeMaintenanceLogsOnce checks that background maintenance logs a group
// too large to merge once, with the table and the reason, and not at every pass.
func TestCompactTooLargeMaintenanceLogsOnce(t *testing.T) {
	defer func(v int) { maxGatherBytes = v }(maxGatherBytes)
	maxGatherBytes = 3500
	defer func(l *slog.Logger) { slog.SetDefault(l) }(slog.Default())
	var logBuf bytes.Buffer
	slog.SetDefault(slog.New(slog.NewTextHandler(&logBuf, nil)))

	s := openWith(t, t.TempDir(), Options{Tables: map[string]TableOptions{"t": {Shards: 1}}})
	defer mustClose(t, s)
	next := 0
	sealSkipBatches(t, s, &next, 0, 4, 10, 100)
	tbl := mustTable(t, s, "t")
	for range 5 {
		tbl.maintain(context.Background(), ingestTime)
		tbl.waitCompaction() // compaction runs on its own goroutine
	}
	var failed []string
	for _, l := range strings.Split(logBuf.String(), "\n") {
		if strings.Contains(l, "compaction failed") {
			failed = append(failed, l)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "table=t") || !strings.Contains(failed[0], ErrSegmentTooLarge.Error()) {
		t.Fatalf("after 5 maintenance passes, compaction failures logged:\n%s\nwant one line naming table=t and %q", strings.Join(failed, "\n"), ErrSegmentTooLarge)
	}
	if got := tbl.compactState().attempts; got != 1 {
		t.Fatalf("after 5 maintenance passes: %d merges attempted; want 1", got)
	}
	checkEveryRowOnce(t, tbl, next)
}

// TestCompactTooLargeRetriesFewerInputs checks that the segments of a group too large to
// merge are merged fewer at a time (half the failed group) on the next calls, and left
// alone once that is below compactFanIn: every call either merges, or fails on a group
// smaller than the last, and then Compact stops trying.
func TestCompactTooLargeRetriesFewerInputs(t *testing.T) {
	defer func(v int) { maxGatherBytes = v }(maxGatherBytes)
	// call is the outcome of one Compact: whether it failed with ErrSegmentTooLarge, and
	// the merges attempted and done so far.
	type call struct {
		tooLarge              bool
		attempts, compactions int64
	}
	f := func(limit, segs int, want ...call) {
		t.Helper()
		maxGatherBytes = limit
		s := openWith(t, t.TempDir(), Options{Tables: map[string]TableOptions{"t": {Shards: 1}}})
		defer mustClose(t, s)
		next := 0
		sealSkipBatches(t, s, &next, 0, segs, 10, 100) // 1,000 bytes each
		tbl := mustTable(t, s, "t")
		for i, w := range want {
			err := tbl.Compact(context.Background())
			got := call{errors.Is(err, ErrSegmentTooLarge), tbl.compactState().attempts, tbl.Stats().Compactions}
			if got != w || (err != nil && !got.tooLarge) {
				t.Fatalf("limit %d, %d segments, Compact #%d: got %+v (err %v); want %+v", limit, segs, i+1, got, err, w)
			}
		}
		checkEveryRowOnce(t, tbl, next)
	}
	// 8 × 1,000 bytes over 5,000: fails; then 4 of them merge, then the other 4.
	f(5000, 8, call{true, 1, 0}, call{false, 2, 1}, call{false, 3, 2}, call{false, 3, 2})
	// Over 3,500: 8 fail, 4 fail, the other 4 fail; then nothing is tried.
	f(3500, 8, call{true, 1, 0}, call{true, 2, 0}, call{true, 3, 0}, call{false, 3, 0}, call{false, 3, 0})
	// 16 over 9,000: 16 fail, 8 merge, the other 8 merge (the 2 merged are too few).
	f(9000, 16, call{true, 1, 0}, call{false, 2, 1}, call{false, 3, 2}, call{false, 3, 2})
	// Within the limit nothing changes: 4 merge at once.
	f(1<<20, 4, call{false, 1, 1}, call{false, 1, 1})
}
