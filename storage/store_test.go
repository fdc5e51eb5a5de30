package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestOTRFRoundTrip(t *testing.T) {
	f := func(file string, batchSize int) {
		t.Helper()
		oe := loadOTRF(t, file)
		dir := t.TempDir()
		s := mustOpen(t, dir)
		recs := oe.batches(0, len(oe.events), batchSize)
		// Write in calls of three batches, as a collector would.
		var written int64
		for i := 0; i < len(recs); i += 3 {
			written += mustWrite(t, s, "events", recs[i:min(i+3, len(recs))]...)
		}
		releaseAll(recs)
		if written != int64(len(oe.events)) {
			t.Fatalf("%s: Write returned %d rows in all; want %d", file, written, len(oe.events))
		}
		check := func(s *Store, when string) {
			t.Helper()
			tbl := mustTable(t, s, "events")
			if got := schemaString(tbl.Schema()); !strings.HasPrefix(got, oe.keys[0]+":") || tbl.Schema().NumFields() != len(oe.keys)+1 {
				t.Fatalf("%s %s: schema %s; want the %d OTRF keys", file, when, got, len(oe.keys))
			}
			for _, k := range oe.keys {
				ix := tbl.Schema().FieldIndices(k)
				if len(ix) != 1 || !arrow.TypeEqual(tbl.Schema().Field(ix[0]).Type, oe.types[k]) {
					t.Fatalf("%s %s: column %q: got %v; want one column of type %s", file, when, k, ix, oe.types[k])
				}
			}
			rows := scanRows(t, tbl, nil)
			if len(rows) != len(oe.events) {
				t.Fatalf("%s %s: got %d rows; want %d", file, when, len(rows), len(oe.events))
			}
			for i, row := range rows {
				for _, k := range oe.keys {
					if got, want := row[k], oe.value(i, k); got != want {
						t.Fatalf("%s %s: row %d column %q: got %v; want %v", file, when, i, k, got, want)
					}
				}
			}
		}
		check(s, "before reopen")
		mustClose(t, s)
		s = mustOpen(t, dir)
		defer mustClose(t, s)
		check(s, "after reopen")
		rep := s.Recovery()
		if len(rep) != 1 || rep[0].TruncatedBytes != 0 || rep[0].Rows != int64(len(oe.events)) {
			t.Fatalf("%s: recovery %+v; want one table, %d rows, nothing truncated", file, rep, len(oe.events))
		}
	}
	f("cmd_seatbelt_group_user.zip", 100)
	f("psh_mavinject_dll_notepad.zip", 37)
	f("psh_control_panel_execution.zip", 1000)
}

func TestTableNames(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	defer mustClose(t, s)
	f := func(name string, valid bool) {
		t.Helper()
		rec := mkBatch(col{"a", []int64{1}})
		defer rec.Release()
		_, err := s.Write(context.Background(), name, appendOpts, []arrow.RecordBatch{rec})
		if valid && err != nil {
			t.Fatalf("Write(%q): got %v; want nil", name, err)
		}
		if !valid {
			if !errors.Is(err, ErrInvalidName) {
				t.Fatalf("Write(%q): got %v; want ErrInvalidName", name, err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) && name != "" {
				t.Fatalf("Write(%q): error %q does not name the table", name, err)
			}
		}
	}
	f("events", true)
	f("Sysmon-1.v2_x", true)
	f(strings.Repeat("a", 128), true)
	f("...", true)
	f("", false)
	f(".", false)
	f("..", false)
	f(strings.Repeat("a", 129), false)
	f("a/b", false)
	f("a b", false)
	f("é", false)
	f("a\x00", false)
}

func TestSecondOpenFails(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	_, err := Open(context.Background(), Options{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: got %v; want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "another sigmaflight process") {
		t.Fatalf("second Open: error %q; want it to name %s and another sigmaflight process", err, dir)
	}
	mustClose(t, s)
	s = mustOpen(t, dir) // released by Close
	mustClose(t, s)
}

func TestOpenCreatesDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := mustOpen(t, dir)
	defer mustClose(t, s)
	for _, p := range []string{lockFileName, tablesDirName} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Fatalf("stat %s: got %v; want nil", p, err)
		}
	}
	if _, err := Open(context.Background(), Options{}); err == nil {
		t.Fatalf("Open with no Dir: got nil error; want one")
	}
}

func TestWriteOptions(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	a := mkBatch(col{"a", []int64{1, 2}})
	defer a.Release()
	b := mkBatch(col{"b", []string{"x", "y", "z"}})
	defer b.Release()

	_, err := s.Write(ctx, "t", WriteOptions{IfExists: IfExistsAppend, IfNotExists: IfNotExistsFail}, []arrow.RecordBatch{a})
	if !errors.Is(err, ErrTableNotFound) || !strings.Contains(err.Error(), `"t"`) {
		t.Fatalf("IfNotExistsFail on a missing table: got %v; want ErrTableNotFound naming it", err)
	}
	if _, err := s.Table("t"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Table after refused write: got %v; want ErrTableNotFound", err)
	}
	if _, err := s.Write(ctx, "t", WriteOptions{IfExists: IfExistsFail}, []arrow.RecordBatch{a}); err != nil {
		t.Fatalf("IfExistsFail on a missing table: got %v; want nil", err)
	}
	if _, err := s.Write(ctx, "t", WriteOptions{IfExists: IfExistsFail}, []arrow.RecordBatch{a}); !errors.Is(err, ErrTableExists) {
		t.Fatalf("IfExistsFail on an existing table: got %v; want ErrTableExists", err)
	}
	if n, err := s.Write(ctx, "t", appendOpts, nil); err != nil || n != 0 {
		t.Fatalf("append of no batches: got %d, %v; want 0, nil", n, err)
	}
	if _, err := s.Write(ctx, "u", appendOpts, nil); !errors.Is(err, ErrInvalidBatch) {
		t.Fatalf("create with no batches: got %v; want ErrInvalidBatch", err)
	}
	mustWrite(t, s, "t", a)
	n, err := s.Write(ctx, "t", WriteOptions{IfExists: IfExistsReplace}, []arrow.RecordBatch{b})
	if err != nil || n != 3 {
		t.Fatalf("replace: got %d, %v; want 3, nil", n, err)
	}
	check := func(s *Store) {
		t.Helper()
		tbl := mustTable(t, s, "t")
		if got, want := schemaString(tbl.Schema()), "b:utf8"; got != want {
			t.Fatalf("schema after replace: got %s; want %s", got, want)
		}
		if got := tbl.Rows(); got != 3 {
			t.Fatalf("rows after replace: got %d; want 3", got)
		}
		rows := scanRows(t, tbl, nil)
		want := []map[string]any{{"b": "x"}, {"b": "y"}, {"b": "z"}}
		if !reflect.DeepEqual(rows, want) {
			t.Fatalf("rows after replace: got %v; want %v", rows, want)
		}
	}
	check(s)
	// An append after the replace evolves from the new schema only.
	mustWrite(t, s, "t", a)
	if got, want := schemaString(mustTable(t, s, "t").Schema()), "b:utf8, a:int64"; got != want {
		t.Fatalf("schema after replace and append: got %s; want %s", got, want)
	}
	if _, err := s.Write(ctx, "t", WriteOptions{IfExists: IfExistsReplace}, []arrow.RecordBatch{b}); err != nil {
		t.Fatalf("second replace: %v", err)
	}
	mustClose(t, s)
	if tmps, _ := filepath.Glob(filepath.Join(dir, tablesDirName, "t", "*"+tmpSuffix)); len(tmps) != 0 {
		t.Fatalf("temporary files after replace: %v; want none", tmps)
	}
	s = mustOpen(t, dir)
	defer mustClose(t, s)
	check(s)
}

func TestDrop(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := mustOpen(t, dir)
	a := mkBatch(col{"a", []int64{1, 2}})
	defer a.Release()
	mustWrite(t, s, "t", a)
	mustWrite(t, s, "u", a)
	if err := s.Drop(ctx, "t"); err != nil {
		t.Fatalf("Drop: %v", err)
	}
	if err := s.Drop(ctx, "t"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("second Drop: got %v; want ErrTableNotFound", err)
	}
	mustClose(t, s)
	s = mustOpen(t, dir)
	defer mustClose(t, s)
	var names []string
	for _, tbl := range s.Tables() {
		names = append(names, tbl.Name())
	}
	if !reflect.DeepEqual(names, []string{"u"}) {
		t.Fatalf("tables after drop and reopen: got %v; want [u]", names)
	}
	mustWrite(t, s, "t", a) // the name is free again
	if got := mustTable(t, s, "t").Rows(); got != 2 {
		t.Fatalf("rows of recreated table: got %d; want 2", got)
	}
}

func TestConcurrentWrites(t *testing.T) {
	const writers, calls, rowsPerCall = 8, 40, 10
	dir := t.TempDir()
	s := mustOpen(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := 0; c < calls; c++ {
				ids := make([]int64, rowsPerCall)
				for i := range ids {
					ids[i] = int64((w*calls+c)*rowsPerCall + i)
				}
				cols := []col{{"id", ids}}
				if c%5 == 0 { // some calls bring a new column per writer
					cols = append(cols, col{fmt.Sprintf("w%d", w), make([]string, rowsPerCall)})
				}
				rec := mkBatch(cols...)
				_, err := s.Write(context.Background(), "events", appendOpts, []arrow.RecordBatch{rec})
				rec.Release()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent Write: %v", err)
	}
	st := mustTable(t, s, "events").Stats()
	t.Logf("commits %d, fsyncs %d", st.Commits, st.Syncs)
	if st.Commits != writers*calls || st.Syncs > st.Commits {
		t.Fatalf("stats %+v: want %d commits and no more fsyncs than commits", st, writers*calls)
	}
	mustClose(t, s)

	s = mustOpen(t, dir)
	defer mustClose(t, s)
	tbl := mustTable(t, s, "events")
	// id, one column per writer, and ts.
	if got, want := tbl.Schema().NumFields(), 2+writers; got != want {
		t.Fatalf("columns after reopen: got %d; want %d", got, want)
	}
	rows := scanRows(t, tbl, []string{"id"})
	if got, want := len(rows), writers*calls*rowsPerCall; got != want {
		t.Fatalf("rows after reopen: got %d; want %d", got, want)
	}
	seen := make([]bool, len(rows))
	for _, r := range rows {
		id := r["id"].(int64)
		if seen[id] {
			t.Fatalf("id %d seen twice", id)
		}
		seen[id] = true
	}
}

func TestWriteAfterClose(t *testing.T) {
	s := mustOpen(t, t.TempDir())
	a := mkBatch(col{"a", []int64{1}})
	defer a.Release()
	mustWrite(t, s, "t", a)
	tbl := mustTable(t, s, "t")
	mustClose(t, s)
	if _, err := s.Write(context.Background(), "t", appendOpts, []arrow.RecordBatch{a}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: got %v; want ErrClosed", err)
	}
	if _, err := tbl.write(context.Background(), nil, nil, nil, false, "", nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("table write after Close: got %v; want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: got %v; want nil", err)
	}
}

// TestWriteFailureIsSticky breaks the WAL's file descriptor under the table: the write
// fails, later writes fail with the same sticky error, and a reopen finds the rows
// acknowledged before.
func TestWriteFailureIsSticky(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	a := mkBatch(col{"a", []int64{1, 2, 3}})
	defer a.Release()
	mustWrite(t, s, "t", a)
	tbl := mustTable(t, s, "t")
	tbl.wal.f.Close() // every write and fsync now fails with "file already closed"
	_, err := s.Write(context.Background(), "t", appendOpts, []arrow.RecordBatch{a})
	if !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), tbl.wal.path) {
		t.Fatalf("Write on a broken WAL: got %v; want ErrWriteFailed naming %s", err, tbl.wal.path)
	}
	_, err2 := s.Write(context.Background(), "t", appendOpts, []arrow.RecordBatch{a})
	if !errors.Is(err2, ErrWriteFailed) {
		t.Fatalf("Write after failure: got %v; want sticky ErrWriteFailed", err2)
	}
	if got := tbl.Rows(); got != 3 {
		t.Fatalf("rows after failed write: got %d; want 3", got)
	}
	s.Close() // the WAL close error is expected
	s = mustOpen(t, dir)
	defer mustClose(t, s)
	if got := mustTable(t, s, "t").Rows(); got != 3 {
		t.Fatalf("rows after reopen: got %d; want 3", got)
	}
}
