package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// overlapTable writes 190 rows in 10-row batches with batch ids into a table sealing
// every 50 rows (a WAL generation every 50 rows too; the head holds at most 200), with
// maintenance off, and returns the ids written.
func overlapTable(t *testing.T, s *Store) []string {
	var ids []string
	for b := range 19 {
		var batch []string
		for i := range 10 {
			batch = append(batch, fmt.Sprintf("r%02d-%02d", b, i))
		}
		opts := appendOpts
		opts.BatchID = fmt.Sprintf("batch-%d", b)
		rec := mkBatch(col{"id", batch})
		if _, err := s.Write(context.Background(), "t", opts, []arrow.RecordBatch{rec}); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		ids = append(ids, batch...)
	}
	slices.Sort(ids)
	return ids
}

// unlistedSegments returns the segment files in tbl's directory its manifest does not
// list.
func unlistedSegments(t *testing.T, tbl *Table) []string {
	tbl.mu.Lock()
	listed := map[string]bool{}
	for _, m := range tbl.man.Segments {
		listed[m.File] = true
	}
	tbl.mu.Unlock()
	ents, err := os.ReadDir(tbl.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), segPrefix) && !listed[e.Name()] {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestOverlappedSeals: a maintenance round over a head of three seals' worth runs its
// seals two at a time (sealRound): every row is sealed once, the head keeps less than
// SealRows rows, the manifest on disk is the one in memory, and a reopen finds the same
// rows and remembers the batch ids.
func TestOverlappedSeals(t *testing.T) {
	dir := t.TempDir()
	opts := Options{TableDefaults: TableOptions{Shards: 2, SealRows: 50, RowGroupRows: 20}}
	s := openWith(t, dir, opts)
	ids := overlapTable(t, s)
	tbl := mustTable(t, s, "t")
	tbl.maintain(context.Background(), ingestTime)
	tbl.waitCompaction() // maintain started it in the background
	st := tbl.Stats()
	if st.Seals != 3 || st.Rows >= 50 {
		t.Fatalf("after a round: %d seals, %d head rows; want 3 and fewer than 50", st.Seals, st.Rows)
	}
	if got := idsOf(t, tbl); !slices.Equal(got, ids) {
		t.Fatalf("rows after the round: %d, want %d", len(got), len(ids))
	}
	checkDurable(t, tbl, "after the round")
	if u := unlistedSegments(t, tbl); len(u) > 0 {
		t.Fatalf("segment files not listed: %v", u)
	}
	mustClose(t, s)
	s = openWith(t, dir, opts)
	defer mustClose(t, s)
	tbl = mustTable(t, s, "t")
	if got := idsOf(t, tbl); !slices.Equal(got, ids) {
		t.Fatalf("rows after reopen: %d, want %d", len(got), len(ids))
	}
	// The batch ids are remembered: retries of the first and the last batch store nothing.
	for _, b := range []int{0, 18} {
		opts := appendOpts
		opts.BatchID = fmt.Sprintf("batch-%d", b)
		rec := mkBatch(col{"id", []string{"retry"}})
		_, err := s.Write(context.Background(), "t", opts, []arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := idsOf(t, tbl); !slices.Equal(got, ids) {
		t.Fatalf("rows after retries of sealed batch ids: %d, want %d", len(got), len(ids))
	}
}

// TestOverlappedSealFails: when a seal of a round fails (its manifest record cannot be
// written: a full disk), the seal overlapping it gives up too (its change would drop
// the failed seal's WAL generations): its segment files are removed, nothing is lost,
// and the next round seals everything.
func TestOverlappedSealFails(t *testing.T) {
	dir := t.TempDir()
	ffs := newFaultFS()
	opts := Options{Dir: dir, MaintenanceInterval: -1, fs: ffs, now: func() time.Time { return ingestTime },
		TableDefaults: TableOptions{Shards: 2, SealRows: 50, RowGroupRows: 20}}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	ids := overlapTable(t, s)
	tbl := mustTable(t, s, "t")
	var appends atomic.Int32
	ffs.setHook(func(op, path string) error {
		if op == "writeat" && filepath.Base(path) == manifestLogName && appends.Add(1) == 1 {
			return syscall.ENOSPC
		}
		return nil
	})
	tbl.maintain(context.Background(), ingestTime)
	tbl.waitCompaction()
	ffs.setHook(nil)
	if appends.Load() < 1 {
		t.Fatalf("%d log appends; the fault did not fire", appends.Load())
	}
	st := tbl.Stats()
	if st.Seals != 1 {
		t.Fatalf("%d seals in the round; want 1 (a checkpoint, then the record failed and the third seal gave up)", st.Seals)
	}
	if u := unlistedSegments(t, tbl); len(u) > 0 {
		t.Fatalf("segment files not listed after the failed seal: %v", u)
	}
	if got := idsOf(t, tbl); !slices.Equal(got, ids) {
		t.Fatalf("rows after the failure: %d, want %d", len(got), len(ids))
	}
	tbl.maintain(context.Background(), ingestTime)
	tbl.waitCompaction()
	if st := tbl.Stats(); st.Rows >= 50 {
		t.Fatalf("after the next round: %d head rows; want fewer than 50", st.Rows)
	}
	checkDurable(t, tbl, "after the next round")
	mustClose(t, s)
	s = openWith(t, dir, Options{TableDefaults: opts.TableDefaults})
	defer mustClose(t, s)
	if got := idsOf(t, mustTable(t, s, "t")); !slices.Equal(got, ids) {
		t.Fatalf("rows after reopen: %d, want %d", len(got), len(ids))
	}
}

// TestOverlappedSealAfterFailedBuild: when the first seal of a round fails writing its
// segments (a full disk at the first file), the round starts no second seal behind it
// (its work would be thrown away); nothing is lost and no file is left.
func TestOverlappedSealAfterFailedBuild(t *testing.T) {
	dir := t.TempDir()
	ffs := newFaultFS()
	opts := Options{Dir: dir, MaintenanceInterval: -1, fs: ffs, now: func() time.Time { return ingestTime },
		TableDefaults: TableOptions{Shards: 1, SealRows: 50, RowGroupRows: 20}}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer mustClose(t, s)
	ids := overlapTable(t, s)
	tbl := mustTable(t, s, "t")
	var opened []string
	var mu sync.Mutex
	ffs.setHook(func(op, path string) error {
		if op == "open" && strings.HasPrefix(filepath.Base(path), segPrefix) {
			mu.Lock()
			defer mu.Unlock()
			opened = append(opened, filepath.Base(path))
			if len(opened) == 1 {
				return syscall.ENOSPC
			}
		}
		return nil
	})
	tbl.sealRound(context.Background())
	ffs.setHook(nil)
	// The first seal's two pieces (25 rows each) are seg-1 and seg-2; a second seal's
	// would come after.
	for _, f := range opened {
		if segID(f) > 2 {
			t.Fatalf("segment files opened in the round: %v; want only the first seal's", opened)
		}
	}
	if tbl.Stats().Seals != 0 {
		t.Fatalf("%d seals; want none", tbl.Stats().Seals)
	}
	if u := unlistedSegments(t, tbl); len(u) > 0 {
		t.Fatalf("segment files left: %v", u)
	}
	if got := idsOf(t, tbl); !slices.Equal(got, ids) {
		t.Fatalf("rows: %d, want %d", len(got), len(ids))
	}
}
