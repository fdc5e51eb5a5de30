package storage

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestRemoveInSteps: the name goes at once, the blocks in removeStep pieces afterwards
// (watched through a second descriptor of the same inode), and a missing file is
// reported as such.
func TestRemoveInSteps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wal-big")
	const size = 5*removeStep + 123
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	watch, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	if err := removeInSteps(path); err != nil {
		t.Fatalf("removeInSteps: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("after removeInSteps the name is still there: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	var sizes []int64
	for {
		st, err := watch.Stat()
		if err != nil {
			t.Fatal(err)
		}
		if len(sizes) == 0 || sizes[len(sizes)-1] != st.Size() {
			sizes = append(sizes, st.Size())
		}
		if st.Size() < removeStep {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the unlinked file still holds %d bytes after 10 s (sizes seen %v)", st.Size(), sizes)
		}
		time.Sleep(time.Millisecond)
	}
	if len(sizes) < 3 {
		t.Errorf("sizes seen %v; want the file shrunk in steps", sizes)
	}
	if err := removeInSteps(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("removeInSteps of a missing file: %v; want ErrNotExist", err)
	}
}
