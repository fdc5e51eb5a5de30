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

// TestRemoveInStepsKeepsOtherLinks: a file another name still links (a hard-link
// snapshot of the data directory) loses only the removed name, not its data.
func TestRemoveInStepsKeepsOtherLinks(t *testing.T) {
	dir := t.TempDir()
	path, other := filepath.Join(dir, "seg-1.parquet"), filepath.Join(dir, "snapshot")
	const size = 3*removeStep + 1
	if err := os.WriteFile(path, make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(path, other); err != nil {
		t.Fatal(err)
	}
	if err := removeInSteps(path); err != nil {
		t.Fatalf("removeInSteps: %v", err)
	}
	time.Sleep(5 * removeStepPause) // what the shrinker would need for a step or two
	st, err := os.Stat(other)
	if err != nil || st.Size() != size {
		t.Fatalf("the other link after removeInSteps: %v, %v; want %d bytes", st, err, size)
	}
}

// TestFreeRemovedFiles: Store.Close's freeRemovedFiles closes every file still waiting
// for the shrinker, and the backlog accounting returns to zero once the shrinker is done.
func TestFreeRemovedFiles(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		p := filepath.Join(dir, "wal-"+string(rune('a'+i)))
		if err := os.WriteFile(p, make([]byte, 4*removeStep), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := removeInSteps(p); err != nil {
			t.Fatal(err)
		}
	}
	freeRemovedFiles()
	shrinkQ.mu.Lock()
	waiting := len(shrinkQ.files)
	shrinkQ.mu.Unlock()
	if waiting != 0 {
		t.Fatalf("%d files still wait after freeRemovedFiles", waiting)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		shrinkQ.mu.Lock()
		running, bytes := shrinkQ.running, shrinkQ.bytes
		shrinkQ.mu.Unlock()
		if !running {
			if bytes != 0 {
				t.Fatalf("the shrinker ended with %d bytes still counted", bytes)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the shrinker still runs after 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
