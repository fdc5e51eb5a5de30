package storage

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// openFaultOpts opens dir through ffs with one shard per table and no background
// maintenance, so that seals and compactions happen only when a test calls them.
func openFaultOpts(tb testing.TB, dir string, ffs *faultFS) *Store {
	tb.Helper()
	opts := Options{Dir: dir, MaintenanceInterval: -1, TableDefaults: TableOptions{Shards: 1}}
	if ffs != nil {
		opts.fs = ffs
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// failDirSyncAfterRename returns a hook that lets the first rename onto a file named
// base happen and then fails the next directory fsync with EIO (once): the new file is
// in place, but its durability is unknown.
func failDirSyncAfterRename(base string) func(op, path string) error {
	var armed, fired atomic.Bool
	return func(op, path string) error {
		switch {
		case op == "rename" && filepath.Base(path) == base && !fired.Load():
			armed.Store(true)
		case op == "syncdir" && armed.Load() && fired.CompareAndSwap(false, true):
			return syscall.EIO
		}
		return nil
	}
}

// idsOf returns the sorted values of column id in tbl.
func idsOf(tb testing.TB, tbl *Table) []string {
	tb.Helper()
	var ids []string
	for _, r := range scanRows(tb, tbl, []string{"id"}) {
		ids = append(ids, r["id"].(string))
	}
	slices.Sort(ids)
	return ids
}

// reopenFinds opens the store in dir (no faults) and fails unless table "t" holds
// exactly the ids want (sorted in place) and nothing was quarantined; it returns the
// store, open.
func reopenFinds(tb testing.TB, dir string, want []string) *Store {
	tb.Helper()
	s := openFaultOpts(tb, dir, nil)
	slices.Sort(want)
	if got := idsOf(tb, mustTable(tb, s, "t")); !slices.Equal(got, want) {
		s.Close()
		tb.Fatalf("rows after reopen: got %v; want %v", got, want)
	}
	if rep := s.Recovery(); len(rep) != 1 || len(rep[0].Quarantined) > 0 {
		s.Close()
		tb.Fatalf("recovery %+v: want nothing quarantined", rep)
	}
	return s
}

// writeIDs writes one batch of the given ids and returns whether it was acknowledged.
func writeIDs(tb testing.TB, s *Store, opts WriteOptions, ids ...string) bool {
	tb.Helper()
	b := mkBatch(col{"id", ids})
	defer b.Release()
	_, err := s.Write(context.Background(), "t", opts, []arrow.RecordBatch{b})
	return err == nil
}

// TestFaultDirSyncAfterManifestRename: the directory fsync after the new MANIFEST was
// renamed into place fails, during a seal and during a compaction. The MANIFEST on disk
// may be the new one (it usually is) or the old one (after a power loss), so the store
// must keep every file both name: after a reopen every acknowledged row is there exactly
// once.
func TestFaultDirSyncAfterManifestRename(t *testing.T) {
	ctx := context.Background()
	defer func(v bool) { manifestLogOff = v }(manifestLogOff)
	manifestLogOff = true // every change writes a checkpoint (MANIFEST renamed into place)
	f := func(name string, segments int, op func(*Table) error) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := newFaultFS()
			s := openFaultOpts(t, dir, ffs)
			tbl := (*Table)(nil)
			var want []string
			for i := range max(segments, 1) {
				id := string(rune('a' + i))
				ids := []string{id + "1", id + "2", id + "3"}
				if !writeIDs(t, s, appendOpts, ids...) {
					t.Fatalf("write %v failed", ids)
				}
				want = append(want, ids...)
				tbl = mustTable(t, s, "t")
				if segments > 0 {
					if err := tbl.Seal(ctx); err != nil {
						t.Fatalf("Seal: %v", err)
					}
				}
			}
			ffs.setHook(failDirSyncAfterRename(manifestFileName))
			if err := op(tbl); err == nil || !errors.Is(err, syscall.EIO) {
				t.Fatalf("%s with a failing directory fsync: got %v; want EIO", name, err)
			}
			ffs.setHook(nil)
			// A write after the failure is either refused or acknowledged and kept.
			if writeIDs(t, s, appendOpts, "z1") {
				want = append(want, "z1")
			}
			s.Close()

			mustClose(t, reopenFinds(t, dir, want))
		})
	}
	f("seal", 0, func(tbl *Table) error { return tbl.Seal(ctx) })
	f("compaction", 4, func(tbl *Table) error { return tbl.Compact(ctx) })
}

// TestFaultReplaceAfterManifest: a Replace whose manifest was written (or whose manifest
// rename's directory fsync failed) fails at the WAL rename or the directory fsync. The
// Replace was not acknowledged, so after a reopen the table is the old one or the new
// one, whole, and never empty.
func TestFaultReplaceAfterManifest(t *testing.T) {
	f := func(name string, hook func(op, path string) error) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := newFaultFS()
			s := openFaultOpts(t, dir, ffs)
			if !writeIDs(t, s, appendOpts, "a1", "a2") {
				t.Fatal("first write failed")
			}
			ffs.setHook(hook)
			if writeIDs(t, s, WriteOptions{IfExists: IfExistsReplace}, "b1") {
				t.Fatal("Replace under the fault was acknowledged; want an error")
			}
			ffs.setHook(nil)
			s.Close()

			s = openFaultOpts(t, dir, nil)
			defer mustClose(t, s)
			got := idsOf(t, mustTable(t, s, "t"))
			if !slices.Equal(got, []string{"a1", "a2"}) && !slices.Equal(got, []string{"b1"}) {
				t.Fatalf("rows after reopen: got %v; want [a1 a2] or [b1]", got)
			}
		})
	}
	f("manifest directory fsync fails", failDirSyncAfterRename(manifestFileName))
	f("WAL rename fails", func(op, path string) error {
		if op == "rename" && strings.HasPrefix(filepath.Base(path), walPrefix) {
			return syscall.EIO
		}
		return nil
	})
	f("WAL directory fsync fails", failDirSyncAfterRename(walName(2)))
}

// failDirSyncAfterCreate returns a hook that fails the directory fsync after the first
// OpenFile of a file named base (once): the file exists, its creation is not durable.
func failDirSyncAfterCreate(base string) func(op, path string) error {
	var armed, fired atomic.Bool
	return func(op, path string) error {
		switch {
		case op == "open" && filepath.Base(path) == base && !fired.Load():
			armed.Store(true)
		case op == "syncdir" && armed.Load() && fired.CompareAndSwap(false, true):
			return syscall.EIO
		}
		return nil
	}
}

// TestFaultCreateWALDirSync: the directory fsync after creating a new WAL generation
// fails, at a seal's rotation and at a rotation after a commit. The failed rotation must
// not block later ones (each would find the file left behind), so a later seal works,
// writes go on, and a reopen finds every acknowledged row exactly once.
func TestFaultCreateWALDirSync(t *testing.T) {
	ctx := context.Background()
	f := func(name string, sealRows int64, firstSealFails bool) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := newFaultFS()
			s, err := Open(ctx, Options{Dir: dir, MaintenanceInterval: -1, fs: ffs,
				TableDefaults: TableOptions{Shards: 1, SealRows: sealRows}})
			if err != nil {
				t.Fatal(err)
			}
			ffs.setHook(failDirSyncAfterCreate(walName(2)))
			want := []string{"a1", "a2", "a3"}
			if !writeIDs(t, s, appendOpts, "a1", "a2", "a3") {
				t.Fatal("first write failed")
			}
			if !writeIDs(t, s, appendOpts, "b1", "b2", "b3") {
				t.Fatal("second write failed")
			}
			want = append(want, "b1", "b2", "b3")
			tbl := mustTable(t, s, "t")
			err = tbl.Seal(ctx)
			if firstSealFails && (err == nil || !errors.Is(err, syscall.EIO)) {
				t.Fatalf("Seal with a failing directory fsync: got %v; want EIO", err)
			}
			ffs.setHook(nil)
			if err := tbl.Seal(ctx); err != nil {
				t.Fatalf("Seal after the fault: %v", err)
			}
			if !writeIDs(t, s, appendOpts, "c1") {
				t.Fatal("write after the seal failed")
			}
			want = append(want, "c1")
			mustClose(t, s)

			s = openFaultOpts(t, dir, nil)
			defer mustClose(t, s)
			slices.Sort(want)
			if got := idsOf(t, mustTable(t, s, "t")); !slices.Equal(got, want) {
				t.Fatalf("rows after reopen: got %v; want %v", got, want)
			}
		})
	}
	f("seal rotation", 1<<20, true)
	f("commit rotation", 3, false)
}

// TestFaultVerifyWithoutEvidence: a segment that cannot be opened for a reason that says
// nothing about its content (EMFILE here) is not quarantined, neither by Open (which
// fails, naming the segment and the cause) nor by Verify (which reports the error and
// keeps it). Once the cause is gone every row is there, and nothing was quarantined.
func TestFaultVerifyWithoutEvidence(t *testing.T) {
	ctx := context.Background()
	emfile := func(op, path string) error {
		if op == "openread" && strings.HasPrefix(filepath.Base(path), segPrefix) {
			return syscall.EMFILE
		}
		return nil
	}
	dir := t.TempDir()
	ffs := newFaultFS()
	s := openFaultOpts(t, dir, ffs)
	if !writeIDs(t, s, appendOpts, "a1", "a2") {
		t.Fatal("write failed")
	}
	tbl := mustTable(t, s, "t")
	if err := tbl.Seal(ctx); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	ffs.setHook(emfile)
	bad, err := tbl.Verify(ctx)
	if len(bad) != 0 || !errors.Is(err, syscall.EMFILE) {
		t.Fatalf("Verify under EMFILE: got %v, %v; want nothing quarantined and EMFILE", bad, err)
	}
	if got := idsOf(t, tbl); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("rows after Verify under EMFILE: got %v; want [a1 a2]", got)
	}
	mustClose(t, s)

	if s, err := Open(ctx, Options{Dir: dir, MaintenanceInterval: -1, fs: ffs}); err == nil || !errors.Is(err, syscall.EMFILE) {
		if err == nil {
			s.Close()
		}
		t.Fatalf("Open under EMFILE: got %v; want EMFILE", err)
	}
	ffs.setHook(nil)
	s = openFaultOpts(t, dir, nil)
	defer mustClose(t, s)
	if got := idsOf(t, mustTable(t, s, "t")); !slices.Equal(got, []string{"a1", "a2"}) {
		t.Fatalf("rows after reopen: got %v; want [a1 a2]", got)
	}
	if rep := s.Recovery(); len(rep) != 1 || len(rep[0].Quarantined) > 0 || rep[0].Segments != 1 {
		t.Fatalf("recovery %+v: want 1 segment, nothing quarantined", rep)
	}
}

// TestDroppedScanKeepsNewTableSegments: a scan holds a segment that a Replace made dead;
// the table is dropped and created again under the same name (numbering segments from 1
// again) and sealed; when the old scan closes, it must not delete the new table's
// segment of the same name. A reopen finds every acknowledged row of the new table.
func TestDroppedScanKeepsNewTableSegments(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openFaultOpts(t, dir, nil)
	if !writeIDs(t, s, appendOpts, "a1", "a2") {
		t.Fatal("write failed")
	}
	if err := mustTable(t, s, "t").Seal(ctx); err != nil {
		t.Fatalf("Seal: %v", err)
	}
	it, err := mustTable(t, s, "t").Scan(ctx, ScanOptions{Columns: []string{"id"}})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if !writeIDs(t, s, WriteOptions{IfExists: IfExistsReplace}, "b1") {
		t.Fatal("Replace failed")
	}
	if err := s.Drop(ctx, "t"); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if !writeIDs(t, s, appendOpts, "c1", "c2") {
		t.Fatal("write to the new table failed")
	}
	if err := mustTable(t, s, "t").Seal(ctx); err != nil {
		t.Fatalf("Seal of the new table: %v", err)
	}
	it.Close()
	mustClose(t, s)

	s = openFaultOpts(t, dir, nil)
	defer mustClose(t, s)
	if got := idsOf(t, mustTable(t, s, "t")); !slices.Equal(got, []string{"c1", "c2"}) {
		t.Fatalf("rows after reopen: got %v; want [c1 c2]", got)
	}
	if rep := s.Recovery(); len(rep) != 1 || len(rep[0].Quarantined) > 0 {
		t.Fatalf("recovery %+v: want nothing quarantined", rep)
	}
}
