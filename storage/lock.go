package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// dirLock is an exclusive flock on <dir>/LOCK. flock belongs to the open file
// description, so a second Open in the same process conflicts just like another process
// does, and the kernel releases it when the process dies.
type dirLock struct {
	path string
	f    *os.File
}

// lockDir takes the lock of dir without waiting: a held lock is an error at once.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, filePerm)
	created := err == nil
	if errors.Is(err, os.ErrExist) {
		f, err = os.OpenFile(path, os.O_RDWR, filePerm)
	}
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if created {
		if err := syncDir(osFS{}, dir); err != nil {
			f.Close()
			return nil, err
		}
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil && len(bytes.TrimSpace(b)) > 0 {
			holder = fmt.Sprintf(" (pid %s)", bytes.TrimSpace(b))
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("open data directory %s: another sigmaflight process%s holds %s; stop it or use another directory: %w",
				dir, holder, path, ErrLocked)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The pid is informational only (for the message above); the flock is the lock.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{path: path, f: f}, nil
}

// unlock releases the lock. The LOCK file stays: removing it would race with a process
// that opened it and is about to flock it.
func (l *dirLock) unlock() error {
	_ = l.f.Truncate(0)
	if err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN); err != nil {
		l.f.Close()
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return l.f.Close()
}
