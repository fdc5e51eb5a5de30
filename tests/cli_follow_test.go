package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// appendEvents appends events seq [from, to) as JSON lines to path and fsyncs.
func appendEvents(t *testing.T, path string, from, to int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sb strings.Builder
	for i := from; i < to; i++ {
		fmt.Fprintf(&sb, `{"seq": %d, "Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\System32\\whoami.exe", "Nested": {"Pad": "%s"}}`+"\n", i, strings.Repeat("x", i%37))
	}
	if _, err := f.WriteString(sb.String()); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// followSeqs returns every seq stored in table (through the CLI's own sql command, csv);
// auth holds extra connection flags (--username ...).
func followSeqs(t *testing.T, server, table string, auth ...string) ([]int, error) {
	t.Helper()
	args := append([]string{"sql", "--server", server, "--wait", "2s", "--format", "csv", "-e", "SELECT seq FROM " + table}, auth...)
	r := runCLI(t, time.Minute, nil, args...)
	if r.err != nil {
		return nil, fmt.Errorf("%v: %s", r.err, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	var out []int
	for _, l := range lines[1:] {
		n, err := strconv.Atoi(l)
		if err != nil {
			return nil, fmt.Errorf("seq %q: %v", l, err)
		}
		out = append(out, n)
	}
	return out, nil
}

// waitExactlyOnce waits until table holds every seq in [0, n) exactly once, and fails if
// a seq is ever stored twice or the deadline passes; auth holds extra connection flags.
func waitExactlyOnce(t *testing.T, server, table string, n int, follower *bgProcess, auth ...string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var last []int
	for time.Now().Before(deadline) {
		seqs, err := followSeqs(t, server, table, auth...)
		if err == nil {
			last = seqs
			seen := make(map[int]int, len(seqs))
			for _, s := range seqs {
				seen[s]++
				if seen[s] > 1 {
					t.Fatalf("seq %d stored twice (of %d rows)\nfollower:\n%s", s, len(seqs), follower.stderr.String())
				}
				if s < 0 || s >= n {
					t.Fatalf("seq %d stored; only [0, %d) were written", s, n)
				}
			}
			if len(seqs) == n {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("after 90s the table has %d of %d events\nfollower:\n%s", len(last), n, follower.stderr.String())
}

// TestCLIIngestFollowSurvivesRestarts is acceptance 2 of issue 8: `ingest --follow`
// tails a growing JSON-lines file; the follower is SIGKILLed and restarted, the server is
// SIGKILLed and restarted on the same address, lines are appended all the while, and in
// the end every event is stored exactly once.
func TestCLIIngestFollowSurvivesRestarts(t *testing.T) {
	dataDir := t.TempDir()
	n := startNode(t, dataDir)
	server := "grpc://" + n.addr
	dir := t.TempDir()
	logFile := filepath.Join(dir, "sysmon.jsonl")
	stateDir := filepath.Join(dir, "state")
	follow := func() *bgProcess {
		return startCLI(t, "ingest", "--server", server, "--table", "follow", "--follow",
			"--state-dir", stateDir, "--poll", "20ms", "--flush-after", "50ms", "--batch-rows", "37", logFile)
	}
	appendEvents(t, logFile, 0, 300)
	f := follow()
	waitExactlyOnce(t, server, "follow", 300, f)

	// 1. The follower dies (SIGKILL) while lines keep coming: at several points, some
	// certainly in the middle of sending a batch.
	total := 300
	for round, delay := range []time.Duration{0, 2 * time.Millisecond, 5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 50 * time.Millisecond, 80 * time.Millisecond} {
		appendEvents(t, logFile, total, total+400)
		total += 400
		time.Sleep(delay)
		f.kill()
		appendEvents(t, logFile, total, total+50)
		total += 50
		f = follow()
		t.Logf("follower restart %d: %d events written", round+1, total)
	}
	waitExactlyOnce(t, server, "follow", total, f)

	// 2. The server dies (SIGKILL) while the follower is sending, and comes back on the
	// same address; the follower retries until it is back.
	for round := 0; round < 4; round++ {
		appendEvents(t, logFile, total, total+500)
		total += 500
		time.Sleep(time.Duration(5+round*25) * time.Millisecond)
		n.kill()
		appendEvents(t, logFile, total, total+100)
		total += 100
		n = startNode(t, dataDir, "--listen", n.addr, "--http-listen", "127.0.0.1:0")
		t.Logf("server restart %d: %d events written", round+1, total)
	}
	waitExactlyOnce(t, server, "follow", total, f)

	// 3. Both die; the server comes back first, then the follower.
	appendEvents(t, logFile, total, total+200)
	total += 200
	n.kill()
	f.kill()
	appendEvents(t, logFile, total, total+100)
	total += 100
	n = startNode(t, dataDir, "--listen", n.addr, "--http-listen", "127.0.0.1:0")
	f = follow()
	waitExactlyOnce(t, server, "follow", total, f)
	if !strings.Contains(f.stderr.String(), "sent") {
		t.Fatalf("follower printed no progress:\n%s", f.stderr.String())
	}
}
