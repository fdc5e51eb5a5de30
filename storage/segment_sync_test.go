package storage

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// segmentFiles returns the segment files under dir.
func segmentFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasPrefix(d.Name(), segPrefix) {
			out = append(out, path)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestSegmentStepFsyncFailure: a segment is fsynced in steps while it is written
// (syncingWriter); when one of those background fsyncs fails, the seal fails with its
// error even though the final fsync succeeds (after a failed fsync a later one can
// succeed without the data being on disk), leaves no segment file and keeps the rows in
// the head. With the fault gone the seal succeeds, and every segment was fsynced at least
// twice: a step and the final fsync.
func TestSegmentStepFsyncFailure(t *testing.T) {
	defer func(n int64) { segSyncEvery = n }(segSyncEvery)
	segSyncEvery = 1 // a step after every write
	ctx := context.Background()
	dir := t.TempDir()
	ffs := newFaultFS()
	s := openFault(t, dir, ffs)
	defer mustClose(t, s)
	a := mkBatch(col{"id", []string{"a1", "a2", "a3"}})
	defer a.Release()
	mustWrite(t, s, "t", a)
	tbl := mustTable(t, s, "t")

	var mu sync.Mutex
	syncs := map[string]int{}
	failed := false
	ffs.setHook(func(op, path string) error {
		if op != "sync" || !strings.HasPrefix(filepath.Base(path), segPrefix) {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		syncs[path]++
		if !failed {
			failed = true
			return syscall.EIO
		}
		return nil
	})
	err := tbl.Seal(ctx)
	if err == nil || !strings.Contains(err.Error(), "fsync segment") || !strings.Contains(err.Error(), "input/output error") {
		t.Fatalf("Seal with a failing step fsync: got %v; want the segment's fsync error", err)
	}
	if st := tbl.Stats(); st.Segments != 0 || st.Rows != 3 {
		t.Fatalf("after the failed seal: %+v; want 0 segments and 3 rows in the head", st)
	}
	if left := segmentFiles(t, dir); len(left) != 0 {
		t.Fatalf("segment files left after the failed seal: %v", left)
	}

	mu.Lock()
	clear(syncs)
	mu.Unlock()
	if err := tbl.Seal(ctx); err != nil {
		t.Fatalf("Seal without the fault: %v", err)
	}
	files := segmentFiles(t, dir)
	if st := tbl.Stats(); st.Segments == 0 || st.Rows != 0 || len(files) != st.Segments {
		t.Fatalf("after the seal: %+v, files %v; want the segments written and an empty head", st, files)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, f := range files {
		if syncs[f] < 2 {
			t.Errorf("segment %s fsynced %d times; want a step and the final fsync", f, syncs[f])
		}
	}
}
