package storage

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// faultFS is a real file system with injectable faults, armed by the test.
type faultFS struct {
	failSync     atomic.Bool  // every Sync returns EIO
	shortWrite   atomic.Bool  // every write stores half its bytes and reports that
	failTruncate atomic.Bool  // every Truncate returns EIO (the disk is gone)
	spaceLeft    atomic.Int64 // bytes that may still be written; <0: unlimited
	// hook, when set, is called before every OpenFile ("open"), Open ("openread"),
	// Rename ("rename", with the new path), file Sync ("sync") and SyncDir ("syncdir");
	// an error it returns is what the operation returns, without doing it. Before a
	// file's WriteAt ("writeat") an error makes half the bytes reach the file first.
	hook atomic.Pointer[func(op, path string) error]
}

// setHook arms fn (nil disarms); fn may be called from several goroutines.
func (ffs *faultFS) setHook(fn func(op, path string) error) {
	if fn == nil {
		ffs.hook.Store(nil)
		return
	}
	ffs.hook.Store(&fn)
}

func (ffs *faultFS) callHook(op, path string) error {
	if fn := ffs.hook.Load(); fn != nil {
		return (*fn)(op, path)
	}
	return nil
}

func (ffs *faultFS) Open(path string) (*os.File, error) {
	if err := ffs.callHook("openread", path); err != nil {
		return nil, err
	}
	return os.Open(path)
}

func (ffs *faultFS) Rename(oldpath, newpath string) error {
	if err := ffs.callHook("rename", newpath); err != nil {
		return err
	}
	return os.Rename(oldpath, newpath)
}

func (ffs *faultFS) SyncDir(dir string) error {
	if err := ffs.callHook("syncdir", dir); err != nil {
		return err
	}
	return osSyncDir(dir)
}

func newFaultFS() *faultFS {
	f := &faultFS{}
	f.spaceLeft.Store(-1)
	return f
}

func (ffs *faultFS) OpenFile(path string, flag int, perm os.FileMode) (writableFile, error) {
	if err := ffs.callHook("open", path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, flag, perm)
	if err != nil {
		return nil, err
	}
	return &faultFile{f: f, fs: ffs}, nil
}

type faultFile struct {
	f  *os.File
	fs *faultFS
}

// budget returns how many of n bytes may be written and the error to report for the rest.
func (ff *faultFile) budget(n int) (int, error) {
	if ff.fs.shortWrite.Load() {
		return n / 2, nil // a short write reports no error, just fewer bytes
	}
	left := ff.fs.spaceLeft.Load()
	if left < 0 || int64(n) <= left {
		if left >= 0 {
			ff.fs.spaceLeft.Add(-int64(n))
		}
		return n, nil
	}
	ff.fs.spaceLeft.Store(0)
	return int(left), syscall.ENOSPC
}

func (ff *faultFile) Write(p []byte) (int, error) {
	k, ferr := ff.budget(len(p))
	n, err := ff.f.Write(p[:k])
	if err != nil {
		return n, err
	}
	return n, ferr
}

func (ff *faultFile) WriteAt(p []byte, off int64) (int, error) {
	if err := ff.fs.callHook("writeat", ff.f.Name()); err != nil {
		n, _ := ff.f.WriteAt(p[:len(p)/2], off) // half of it reaches the file
		return n, err
	}
	k, ferr := ff.budget(len(p))
	n, err := ff.f.WriteAt(p[:k], off)
	if err != nil {
		return n, err
	}
	return n, ferr
}

func (ff *faultFile) Sync() error {
	if err := ff.fs.callHook("sync", ff.f.Name()); err != nil {
		return err
	}
	if ff.fs.failSync.Load() {
		return syscall.EIO
	}
	return ff.f.Sync()
}

func (ff *faultFile) Truncate(size int64) error {
	if ff.fs.failTruncate.Load() {
		return syscall.EIO
	}
	return ff.f.Truncate(size)
}

func (ff *faultFile) Close() error { return ff.f.Close() }

func openFault(tb testing.TB, dir string, ffs *faultFS) *Store {
	tb.Helper()
	s, err := Open(context.Background(), Options{Dir: dir, fs: ffs, MaintenanceInterval: -1})
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// TestFaults drives each fault through a real store on real files: the failing write
// gets a clear error naming the WAL, later writes are refused with the same sticky
// ErrWriteFailed, and a reopen finds exactly the acknowledged rows with nothing corrupt.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	f := func(name string, arm func(*faultFS), wantInErr string, wantTruncated bool) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := newFaultFS()
			s := openFault(t, dir, ffs)
			a := mkBatch(col{"id", []string{"a1", "a2", "a3"}})
			defer a.Release()
			b := mkBatch(col{"id", []string{"b1", "b2"}})
			defer b.Release()
			mustWrite(t, s, "t", a)
			tbl := mustTable(t, s, "t")

			arm(ffs)
			_, err := s.Write(ctx, "t", appendOpts, []arrow.RecordBatch{b})
			if !errors.Is(err, ErrWriteFailed) || !strings.Contains(err.Error(), wantInErr) || !strings.Contains(err.Error(), tbl.wal.path) {
				t.Fatalf("write under fault: got %v; want ErrWriteFailed naming %s and %q", err, tbl.wal.path, wantInErr)
			}
			// The fault is gone, but the table stays refused until the store is reopened.
			*ffs = *newFaultFS()
			if _, err := s.Write(ctx, "t", appendOpts, []arrow.RecordBatch{a}); !errors.Is(err, ErrWriteFailed) {
				t.Fatalf("write after the fault: got %v; want sticky ErrWriteFailed", err)
			}
			if got := tbl.Rows(); got != 3 {
				t.Fatalf("rows visible after the fault: got %d; want 3", got)
			}
			s.Close()

			s = openFault(t, dir, ffs)
			defer mustClose(t, s)
			if got, want := scanRows(t, mustTable(t, s, "t"), []string{"id"}), []map[string]any{{"id": "a1"}, {"id": "a2"}, {"id": "a3"}}; !equalRows(got, want) {
				t.Fatalf("rows after reopen: got %v; want %v", got, want)
			}
			rep := s.Recovery()
			if len(rep) != 1 || (rep[0].TruncatedBytes > 0) != wantTruncated {
				t.Fatalf("recovery %+v: want truncated=%v", rep, wantTruncated)
			}
			// And the table takes writes again.
			mustWrite(t, s, "t", b)
			if got := mustTable(t, s, "t").Rows(); got != 5 {
				t.Fatalf("rows after a write on the reopened store: got %d; want 5", got)
			}
		})
	}
	f("failing fsync", func(ffs *faultFS) { ffs.failSync.Store(true) }, "input/output error", false)
	f("short write", func(ffs *faultFS) { ffs.shortWrite.Store(true) }, "short write", false)
	f("full disk", func(ffs *faultFS) { ffs.spaceLeft.Store(40) }, "no space left on device", false)
	// A short write that cannot even be undone (truncate fails too) leaves a torn tail in
	// the WAL; recovery finds and truncates it.
	f("torn tail left by a short write", func(ffs *faultFS) {
		ffs.shortWrite.Store(true)
		ffs.failTruncate.Store(true)
	}, "short write", true)
}

func equalRows(a, b []map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k, v := range a[i] {
			if b[i][k] != v {
				return false
			}
		}
	}
	return true
}

// TestSealOnFullDisk: a seal that cannot write its segment fails with the disk's error,
// leaves the rows in the head and the WAL, and writes go on; after a reopen every
// acknowledged row is there and no orphan segment is left.
func TestSealOnFullDisk(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := newFaultFS()
	s := openFault(t, dir, ffs)
	a := mkBatch(col{"id", []string{"a1", "a2", "a3"}})
	defer a.Release()
	mustWrite(t, s, "t", a)
	tbl := mustTable(t, s, "t")
	ffs.spaceLeft.Store(100) // enough for the new WAL generation, not for a segment
	err := tbl.Seal(ctx)
	if err == nil || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("Seal on a full disk: got %v; want the ENOSPC error", err)
	}
	if st := tbl.Stats(); st.Segments != 0 || st.Rows != 3 {
		t.Fatalf("after the failed seal: %+v; want 0 segments and 3 rows in the head", st)
	}
	ffs.spaceLeft.Store(-1)
	mustWrite(t, s, "t", a)
	mustClose(t, s)
	s = openFault(t, dir, ffs)
	defer mustClose(t, s)
	tbl = mustTable(t, s, "t")
	if got := tbl.Rows(); got != 6 {
		t.Fatalf("rows after reopen: got %d; want 6", got)
	}
	if err := tbl.Seal(ctx); err != nil {
		t.Fatalf("Seal with space: %v", err)
	}
	if st := tbl.Stats(); st.Segments == 0 || st.Rows != 0 || tbl.Rows() != 6 {
		t.Fatalf("after the seal: %+v, %d rows; want segments, an empty head and 6 rows", st, tbl.Rows())
	}
}
