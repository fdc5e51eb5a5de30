package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// syncDir fsyncs a directory through fsys so that entries created, renamed or removed in
// it survive a crash.
func syncDir(fsys fileSystem, dir string) error {
	if err := fsys.SyncDir(dir); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// osSyncDir fsyncs a directory of the real file system.
func osSyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s for fsync: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirSync creates dir (and missing parents) and fsyncs the parent of every directory it
// created, so that the new entries are durable.
func mkdirSync(fsys fileSystem, dir string) error {
	dir = filepath.Clean(dir)
	if _, err := os.Stat(dir); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirSync(fsys, parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("create directory %s: %w", dir, err)
	}
	return syncDir(fsys, parent)
}

// removeAllSync removes path and everything under it and fsyncs its parent.
func removeAllSync(fsys fileSystem, path string) error {
	if err := os.RemoveAll(path); err != nil {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return syncDir(fsys, filepath.Dir(path))
}

// fileSystem is the seam through which the store creates and writes files (WAL
// generations, segments, manifests), renames them and fsyncs directories, so that tests
// can inject a failing fsync (of a file or a directory), a failing rename, a short write
// or a full disk, or a failing open of a segment being verified. Other reads, removals and directory listings use the os package directly.
// The files are always real; a fault-injecting implementation wraps osFS.
type fileSystem interface {
	OpenFile(path string, flag int, perm os.FileMode) (writableFile, error)
	// Rename renames oldpath to newpath (os.Rename); the caller fsyncs the directory.
	Rename(oldpath, newpath string) error
	// Open opens path for reading (os.Open); segment verification reads through it.
	Open(path string) (*os.File, error)
	// SyncDir fsyncs the directory dir, making entries created, renamed or removed in it
	// durable.
	SyncDir(dir string) error
}

// writableFile is what the store does with an open file it writes.
type writableFile interface {
	Write(p []byte) (int, error)
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) OpenFile(path string, flag int, perm os.FileMode) (writableFile, error) {
	return os.OpenFile(path, flag, perm)
}

func (osFS) Open(path string) (*os.File, error) { return os.Open(path) }

func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

func (osFS) SyncDir(dir string) error { return osSyncDir(dir) }

// writeFileSync writes data to path through fsys atomically: to path+tmpSuffix, fsync,
// rename over path, fsync the directory. A crash leaves the old file or the new one. An
// error wrapping errAfterRename means the rename happened but may not be durable: either
// version may be found after a crash, and the caller must cope with both.
func writeFileSync(fsys fileSystem, path string, data []byte) error {
	tmp := path + tmpSuffix
	if err := writeTempSync(fsys, tmp, data); err != nil {
		return err
	}
	return renameSync(fsys, tmp, path)
}

// writeTempSync writes data to tmp (created or truncated) and fsyncs it; on error tmp
// is removed.
func writeTempSync(fsys fileSystem, tmp string, data []byte) error {
	f, err := fsys.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, filePerm)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	return nil
}

// renameSync renames the fsynced tmp to path and fsyncs the directory. A failed rename
// removes tmp; a failed directory fsync after it returns errAfterRename (the disk may
// hold either file under path after a crash).
func renameSync(fsys fileSystem, tmp, path string) error {
	if err := fsys.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("rename %s to %s: %w", tmp, path, err)
	}
	if err := syncDir(fsys, filepath.Dir(path)); err != nil {
		return fmt.Errorf("write %s: %w: %w", path, errAfterRename, err)
	}
	return nil
}

// removeInSteps deletes the file at path: the name goes at once (os.Remove), the blocks
// a few MiB at a time afterwards. The file system is mounted with online discard here
// (and often in the cloud): every block freed is discarded in the journal commit that
// frees it, and a WAL fsync waiting on that commit waited for the discard of a whole
// sealed WAL generation (tens of MiB, once per seal) or of a merge's inputs. The file is
// opened before it is unlinked and truncated removeStep bytes at a time, removeStepPause
// apart, by one goroutine for the whole process (shrinker); a crash in between leaves an
// unnamed inode the file system frees when it mounts. The file is freed at once instead
// when another name still links it (truncating would empty that name too: a hard-link
// snapshot of the data directory, say), when it cannot be opened, or when the files
// waiting would hold more than maxShrinkBacklog bytes or files: space is never held back
// for long (at most ~1.3 s at 200 MiB/s) on a disk that may be nearly full.
func removeInSteps(path string) error {
	f, oerr := os.OpenFile(path, os.O_WRONLY, 0)
	if err := os.Remove(path); err != nil {
		if oerr == nil {
			f.Close()
		}
		return err
	}
	if oerr != nil {
		return nil
	}
	st, err := f.Stat()
	if err != nil || st.Size() <= removeStep || linked(st) {
		f.Close()
		return nil
	}
	shrinkQ.mu.Lock()
	if len(shrinkQ.files) >= maxShrinkFiles || shrinkQ.bytes+st.Size() > maxShrinkBacklog {
		shrinkQ.mu.Unlock()
		f.Close()
		return nil
	}
	shrinkQ.files = append(shrinkQ.files, shrinkFile{f, st.Size()})
	shrinkQ.bytes += st.Size()
	if !shrinkQ.running {
		shrinkQ.running = true
		go shrinker()
	}
	shrinkQ.mu.Unlock()
	return nil
}

// linked reports whether the file of st still has a name (a hard link elsewhere).
func linked(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return !ok || sys.Nlink > 0
}

const (
	removeStep       = 4 << 20
	removeStepPause  = 20 * time.Millisecond
	maxShrinkBacklog = 256 << 20
	maxShrinkFiles   = 64
)

type shrinkFile struct {
	f    *os.File
	size int64
}

// shrinkQ is the queue of unlinked files the shrinker frees step by step.
var shrinkQ struct {
	mu      sync.Mutex
	files   []shrinkFile
	bytes   int64 // what the files in files and the one being shrunk still hold
	running bool  // a shrinker goroutine is running
}

// shrinker frees the queued files one at a time and ends when none is left.
func shrinker() {
	for {
		shrinkQ.mu.Lock()
		if len(shrinkQ.files) == 0 {
			shrinkQ.running = false
			shrinkQ.mu.Unlock()
			return
		}
		sf := shrinkQ.files[0]
		shrinkQ.files = shrinkQ.files[1:]
		shrinkQ.mu.Unlock()
		size := sf.size
		for size > removeStep {
			if sf.f.Truncate(size-removeStep) != nil {
				break
			}
			size -= removeStep
			shrinkQ.mu.Lock()
			shrinkQ.bytes -= removeStep
			shrinkQ.mu.Unlock()
			time.Sleep(removeStepPause)
		}
		sf.f.Close()
		shrinkQ.mu.Lock()
		shrinkQ.bytes -= size
		shrinkQ.mu.Unlock()
	}
}

// freeRemovedFiles frees every file still waiting for the shrinker at once (Store.Close:
// nothing of a closed store stays open longer than the step in progress).
func freeRemovedFiles() {
	shrinkQ.mu.Lock()
	files := shrinkQ.files
	shrinkQ.files = nil
	for _, sf := range files {
		shrinkQ.bytes -= sf.size
	}
	shrinkQ.mu.Unlock()
	for _, sf := range files {
		sf.f.Close()
	}
}
