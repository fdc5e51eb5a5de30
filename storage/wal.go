package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// wal is one open WAL generation of a table. It is used by the table's commit goroutine
// only (and by Open before that goroutine starts), so it needs no lock.
//
// Invariant: size is the end of the last frame that was written and fsynced; everything
// in the file before size is complete frames, and nothing after it was acknowledged.
type wal struct {
	path string
	gen  uint64
	f    writableFile
	size int64
}

// walName is the file name of WAL generation gen; names sort in generation order.
func walName(gen uint64) string { return fmt.Sprintf("%s%016d%s", walPrefix, gen, walSuffix) }

// parseWALName returns the generation of a WAL file name.
func parseWALName(name string) (uint64, bool) {
	if !strings.HasPrefix(name, walPrefix) || !strings.HasSuffix(name, walSuffix) {
		return 0, false
	}
	g, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, walPrefix), walSuffix), 10, 64)
	return g, err == nil
}

// createWAL creates an empty WAL at path and makes its directory entry durable. path
// must not exist, or be an empty file: what an earlier createWAL left when its fsync
// failed and removing the file failed too (a rotation retried after a failure must not
// fail forever on EEXIST). On failure the file created is removed (best effort).
func createWAL(fsys fileSystem, path string, gen uint64) (*wal, error) {
	f, err := fsys.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	created := err == nil
	if errors.Is(err, fs.ErrExist) {
		if st, serr := os.Stat(path); serr == nil && st.Mode().IsRegular() && st.Size() == 0 {
			f, err = fsys.OpenFile(path, os.O_RDWR, filePerm)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create WAL %s: %w", path, err)
	}
	fail := func(err error) (*wal, error) {
		f.Close()
		if created {
			_ = os.Remove(path)
		}
		return nil, err
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("fsync WAL %s: %w", path, err))
	}
	if err := syncDir(fsys, filepath.Dir(path)); err != nil {
		return fail(err)
	}
	return &wal{path: path, gen: gen, f: f}, nil
}

// openWAL opens an existing WAL whose complete frames end at size (as found by replay).
func openWAL(fsys fileSystem, path string, gen uint64, size int64) (*wal, error) {
	f, err := fsys.OpenFile(path, os.O_RDWR, filePerm)
	if err != nil {
		return nil, fmt.Errorf("open WAL %s: %w", path, err)
	}
	return &wal{path: path, gen: gen, f: f, size: size}, nil
}

// append writes frames after the last good frame and fsyncs. On error it truncates the
// file back to the last good frame (best effort) and returns the error; the caller must
// treat the WAL as failed, since after a failed fsync the file's state is unknown.
func (w *wal) append(frames [][]byte) error {
	off := w.size
	for _, fr := range frames {
		n, err := w.f.WriteAt(fr, off)
		if err == nil && n < len(fr) {
			err = fmt.Errorf("short write: %d of %d bytes", n, len(fr))
		}
		if err != nil {
			return w.undo(fmt.Errorf("write WAL %s at offset %d: %w", w.path, off, err))
		}
		off += int64(len(fr))
	}
	// f.Sync (fsync), not fdatasync: every append grows the file, and the new size is
	// metadata the data cannot be read back without.
	if err := w.f.Sync(); err != nil {
		return w.undo(fmt.Errorf("fsync WAL %s: %w", w.path, err))
	}
	w.size = off
	return nil
}

// undo truncates the WAL back to the last good frame after a failed append, so that no
// partial or unacknowledged frame is left behind if the file system still works.
func (w *wal) undo(cause error) error {
	if err := w.f.Truncate(w.size); err != nil {
		return fmt.Errorf("%w; truncate back to offset %d: %v", cause, w.size, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("%w; fsync after truncating back to offset %d: %v", cause, w.size, err)
	}
	return cause
}

// close closes the file. Every acknowledged frame is already fsynced.
func (w *wal) close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close WAL %s: %w", w.path, err)
	}
	return nil
}
