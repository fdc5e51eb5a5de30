package tests

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitExit waits for a background CLI process to end and fails the test if it does not
// within d.
func waitExit(t *testing.T, p *bgProcess, d time.Duration) {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(d):
		t.Fatalf("the follower did not stop within %s:\n%s", d, p.stderr.String())
	}
}

// TestCLIIngestFollowTableChangedUnderIt: the follower starts before its table exists and
// infers seq as an integer; meanwhile another writer creates the table with seq as text.
// The node refuses the follower's batch (schema conflict); the follower rebuilds it with
// the table's current schema and sends it again instead of stopping.
func TestCLIIngestFollowTableChangedUnderIt(t *testing.T) {
	n := startNode(t, t.TempDir())
	server := "grpc://" + n.addr
	dir := t.TempDir()
	logFile := filepath.Join(dir, "sysmon.jsonl")
	appendEvents(t, logFile, 0, 0) // empty: the follower has no table schema and nothing to send
	f := startCLI(t, "ingest", "--server", server, "--table", "conf", "--follow",
		"--state-dir", filepath.Join(dir, "state"), "--poll", "20ms", "--flush-after", "50ms", logFile)
	time.Sleep(300 * time.Millisecond) // the follower has read the (absent) table's schema

	other := filepath.Join(dir, "other.jsonl")
	if err := os.WriteFile(other, []byte(`{"seq": "not a number"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, nil, "ingest", "--server", server, "--table", "conf", other)
	appendEvents(t, logFile, 0, 100)

	deadline := time.Now().Add(60 * time.Second)
	for {
		r := runCLI(t, time.Minute, nil, "sql", "--server", server, "--format", "csv", "-e",
			"SELECT count(*) AS n, count(DISTINCT seq) AS d FROM conf")
		if strings.TrimSpace(r.stdout) == "n,d\n101,101" {
			break
		}
		select {
		case <-f.done:
			t.Fatalf("the follower stopped on the schema conflict:\n%s", f.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: %q (%v %s); want 101 distinct rows\nfollower:\n%s", r.stdout, r.err, r.stderr, f.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(f.stderr.String(), "sending them again with the table's current schema") {
		t.Fatalf("the follower did not say it rebuilt the batch:\n%s", f.stderr.String())
	}
}

// TestCLIIngestFollowRejectedBatch: a line the node refuses for good (a number in the
// time column ts). The follower stops with an error naming the file, the byte range and
// the state file, and stops the same way after a restart (the range stays pending). With
// --skip-rejected the range is copied to a file beside the state file and recorded in the
// rejects log, and the lines after it are stored.
func TestCLIIngestFollowRejectedBatch(t *testing.T) {
	n := startNode(t, t.TempDir())
	server := "grpc://" + n.addr
	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.jsonl")
	stateDir := filepath.Join(dir, "state")
	bad := `{"ts": 1700000000, "seq": -1}` + "\n"
	if err := os.WriteFile(logFile, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	follow := func(extra ...string) *bgProcess {
		args := append([]string{"ingest", "--server", server, "--table", "rej", "--follow",
			"--state-dir", stateDir, "--poll", "20ms", "--flush-after", "50ms"}, extra...)
		return startCLI(t, append(args, logFile)...)
	}
	for round := 1; round <= 2; round++ {
		f := follow()
		waitExit(t, f, 60*time.Second)
		out := f.stderr.String()
		for _, want := range []string{logFile, "bytes 0.." + itoa(int64(len(bad))), stateDir, "--skip-rejected", "InvalidArgument"} {
			if !strings.Contains(out, want) {
				t.Fatalf("run %d: the error does not name %q:\n%s", round, want, out)
			}
		}
		if f.cmd.ProcessState.ExitCode() == 0 {
			t.Fatalf("run %d: exit code 0 after a refused batch:\n%s", round, out)
		}
		if round == 1 {
			appendEvents(t, logFile, 0, 120)
		}
	}

	f := follow("--skip-rejected", "--batch-rows", "50")
	waitExactlyOnce(t, server, "rej", 120, f)
	logs, _ := filepath.Glob(filepath.Join(stateDir, "*.rejected.jsonl"))
	if len(logs) != 1 {
		t.Fatalf("rejects logs: %v; want one\nfollower:\n%s", logs, f.stderr.String())
	}
	data, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Path       string `json:"path"`
		Table      string `json:"table"`
		Start, End int64
		Lines      string `json:"lines"`
		Error      string `json:"error"`
	}
	if lines := bytes.Count(data, []byte("\n")); lines != 1 {
		t.Fatalf("rejects log has %d records; want 1:\n%s", lines, data)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Path != logFile || rec.Table != "rej" || rec.Start != 0 || rec.End != int64(len(bad)) || !strings.Contains(rec.Error, "ts") {
		t.Fatalf("rejects record: got %+v; want %s bytes 0..%d of rej with the node's error", rec, logFile, len(bad))
	}
	kept, err := os.ReadFile(rec.Lines)
	if err != nil {
		t.Fatal(err)
	}
	if string(kept) != bad {
		t.Fatalf("set-aside lines: got %q; want %q", kept, bad)
	}
	if !strings.Contains(f.stderr.String(), rec.Lines) {
		t.Fatalf("the follower did not say where the lines went:\n%s", f.stderr.String())
	}
}
