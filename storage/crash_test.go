package storage

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// crashDirEnv makes TestCrashWriterProcess act as the writer of TestCrashRecovery;
// crashBaseEnv is the first batch id it uses, so that ids stay unique across rounds.
const (
	crashDirEnv  = "SIGMAFLIGHT_STORAGE_CRASH_DIR"
	crashBaseEnv = "SIGMAFLIGHT_STORAGE_CRASH_BASE"
)

const (
	crashWriters      = 4  // concurrent writers in the child
	crashRowsPerBatch = 50 // every call writes two batches of this many rows
)

// TestCrashWriterProcess is the child of TestCrashRecovery: it appends batches forever
// and prints "ack <id>" after each Write returns. It does nothing in a normal test run.
func TestCrashWriterProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestCrashRecovery")
	}
	base, _ := strconv.ParseInt(os.Getenv(crashBaseEnv), 10, 64)
	s, err := Open(context.Background(), Options{Dir: dir})
	if err != nil {
		fmt.Fprintf(os.Stderr, "open: %v\n", err)
		os.Exit(2)
	}
	var mu sync.Mutex // one ack line at a time
	var wg sync.WaitGroup
	for w := 0; w < crashWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := base + int64(i*crashWriters+w)
				call := crashCall(id)
				_, err := s.Write(context.Background(), "events", appendOpts, call)
				releaseAll(call)
				if err != nil {
					fmt.Fprintf(os.Stderr, "write %d: %v\n", id, err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "ack %d\n", id) // os.Stdout is unbuffered
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// crashCall is the Write call of batch id: two batches of crashRowsPerBatch rows each,
// every row carrying the id; odd ids add a column, to exercise schema evolution.
func crashCall(id int64) []arrow.RecordBatch {
	ids := make([]int64, crashRowsPerBatch)
	msgs := make([]string, crashRowsPerBatch)
	for i := range ids {
		ids[i] = id
		msgs[i] = strings.Repeat("x", int(id%97))
	}
	call := []arrow.RecordBatch{mkBatch(col{"batch_id", ids}, col{"msg", msgs})}
	if id%2 == 1 {
		call = append(call, mkBatch(col{"batch_id", ids}, col{fmt.Sprintf("odd%d", id%5), msgs}))
	} else {
		call = append(call, mkBatch(col{"batch_id", ids}))
	}
	return call
}

// TestCrashRecovery re-executes the test binary as a writer, SIGKILLs it mid-stream and
// checks that every batch it acknowledged is present after reopening, whole, and that no
// batch is present in part.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a subprocess")
	}
	dir := t.TempDir()
	for round, kill := range []int{60, 200, 7} {
		acked := runCrashWriter(t, dir, int64(round)*1_000_000, kill)
		s := mustOpen(t, dir)
		rows := scanRows(t, mustTable(t, s, "events"), []string{"batch_id"})
		count := map[int64]int{}
		for _, r := range rows {
			count[r["batch_id"].(int64)]++
		}
		for id := range acked {
			if count[id] != 2*crashRowsPerBatch {
				t.Fatalf("round %d: acknowledged batch %d has %d rows; want %d", round, id, count[id], 2*crashRowsPerBatch)
			}
		}
		for id, n := range count {
			if n != 2*crashRowsPerBatch {
				t.Fatalf("round %d: batch %d has %d rows; want %d (a Write call is atomic)", round, id, n, 2*crashRowsPerBatch)
			}
		}
		t.Logf("round %d: %d batches acknowledged, %d present, recovery %+v", round, len(acked), len(count), s.Recovery())
		mustClose(t, s)
	}
}

// runCrashWriter starts the child on dir, waits for kill acknowledgements, kills it with
// SIGKILL and returns every id it acknowledged.
func runCrashWriter(t *testing.T, dir string, base int64, kill int) map[int64]bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriterProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashBaseEnv+"="+strconv.FormatInt(base, 10))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[int64]bool{}
	sc := bufio.NewScanner(out)
	killed := false
	deadline := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for sc.Scan() {
		line := sc.Text()
		id, err := strconv.ParseInt(strings.TrimPrefix(line, "ack "), 10, 64)
		if err != nil || !strings.HasPrefix(line, "ack ") {
			continue // test framework output
		}
		acked[id] = true
		if !killed && len(acked) >= kill {
			if err := cmd.Process.Signal(os.Kill); err != nil {
				t.Fatalf("kill writer: %v", err)
			}
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("writer exited after %d acknowledgements without being killed; stderr:\n%s", len(acked), stderr.String())
	}
	return acked
}
