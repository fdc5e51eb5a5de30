package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLIIngestAndSQL drives `sigmaflight ingest` and `sigmaflight sql` against the real
// binary: counts come from an independent line count and the fixture, every output
// format is parsed back, errors show a caret under the position, and ingesting the same
// file again is deduplicated by its batch ids.
func TestCLIIngestAndSQL(t *testing.T) {
	n := startNode(t, t.TempDir())
	server := "grpc://" + n.addr
	fix := loadHitsFixture(t)
	recording := filepath.Join(otrfDir, fix.Recording)
	lines := countLines(t, fix.Recording)

	r := mustCLI(t, nil, "ingest", "--server", server, "--table", "events", "--batch-rows", "5000", recording)
	if want := fmt.Sprintf("ingested %d events", lines); !strings.Contains(r.stdout, want) {
		t.Fatalf("ingest output %q; want %q", r.stdout, want)
	}
	count := func() string {
		t.Helper()
		r := mustCLI(t, nil, "sql", "--server", server, "--format", "csv", "-e", "SELECT count(*) AS n FROM events")
		return strings.TrimSpace(r.stdout)
	}
	if got, want := count(), fmt.Sprintf("n\n%d", lines); got != want {
		t.Fatalf("count: got %q; want %q", got, want)
	}

	t.Run("same file again is deduplicated", func(t *testing.T) {
		mustCLI(t, nil, "ingest", "--server", server, "--table", "events", "--batch-rows", "5000", recording)
		if got, want := count(), fmt.Sprintf("n\n%d", lines); got != want {
			t.Fatalf("after a second ingest of the same file: got %q; want %q (batch ids must deduplicate)", got, want)
		}
	})

	t.Run("json format", func(t *testing.T) {
		r := mustCLI(t, nil, "sql", "--server", server, "--format", "json",
			"-e", "SELECT rule_title, rule_level, EventID FROM detect('examples')")
		got := map[string]int64{}
		for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
			var row struct {
				Title   string `json:"rule_title"`
				Level   string `json:"rule_level"`
				EventID *int64 `json:"EventID"`
			}
			if err := json.Unmarshal([]byte(l), &row); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			if row.EventID == nil {
				t.Fatalf("line %q: EventID is not a JSON number", l)
			}
			got[row.Title]++
		}
		if fmt.Sprint(got) != fmt.Sprint(fix.counts("")) {
			t.Fatalf("got %v; want %v", got, fix.counts(""))
		}
	})

	t.Run("file of statements and arrow format", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "q.sql")
		os.WriteFile(f, []byte("-- two statements; the second spans lines\nSELECT count(*) AS n FROM events;\nSELECT rule_title\n  FROM detect('examples')\n  WHERE rule_level = 'low';\n"), 0o644)
		r := mustCLI(t, nil, "sql", "--server", server, "-f", f)
		if !strings.Contains(r.stdout, "Account Discovery With whoami") || !strings.Contains(r.stdout, "(1 row)") {
			t.Fatalf("got\n%s", r.stdout)
		}
		r = mustCLI(t, nil, "sql", "--server", server, "--format", "arrow", "-e", "SELECT EventID FROM events LIMIT 7")
		if !strings.HasPrefix(r.stdout, "\xff\xff\xff\xff") {
			t.Fatalf("arrow output does not start with an IPC continuation marker: %q", r.stdout[:min(16, len(r.stdout))])
		}
	})

	t.Run("statements from stdin-less script", func(t *testing.T) {
		r := runCLI(t, time.Minute, nil, "sql", "--server", server, "-e", "SELECT 1; SELECT nope FROM events; SELECT 2")
		if r.err == nil {
			t.Fatal("a failing statement did not make sql exit non-zero")
		}
	})

	t.Run("error with caret", func(t *testing.T) {
		r := runCLI(t, time.Minute, nil, "sql", "--server", server, "-e", "SELECT Imge FROM events")
		if r.err == nil {
			t.Fatal("unknown column: exit status 0")
		}
		lines := strings.Split(r.stderr, "\n")
		var line, caret string
		for i, l := range lines {
			if strings.HasPrefix(l, "LINE 1: ") && i+1 < len(lines) {
				line, caret = l, lines[i+1]
			}
		}
		if !strings.Contains(r.stderr, "ERROR: ") || !strings.Contains(r.stderr, `"Imge"`) || line == "" {
			t.Fatalf("stderr:\n%s\nwant ERROR naming \"Imge\" and a LINE 1 excerpt", r.stderr)
		}
		// The caret points at the unknown identifier.
		if col := strings.Index(caret, "^"); col < 0 || !strings.HasPrefix(line[col:], "Imge") {
			t.Fatalf("caret not under Imge:\n%s\n%s", line, caret)
		}
	})

	t.Run("statements and shell commands from stdin", func(t *testing.T) {
		cmd := exec.Command(binary, "sql", "--server", server)
		cmd.Env = cliEnv()
		cmd.Stdin = strings.NewReader("SELECT count(*) AS n\n  FROM events;\n\\format csv\nSELECT count(*) AS n FROM events;\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sql < script: %v", err)
		}
		want := fmt.Sprintf(" n\n-------\n %d\n(1 row)\nn\n%d\n", lines, lines)
		if string(out) != want {
			t.Fatalf("got\n%s\nwant\n%s", out, want)
		}
	})

	t.Run("interactive shell on a terminal", func(t *testing.T) {
		// util-linux script(1) gives the shell a pseudo-terminal: readline line editing,
		// a continuation prompt for a statement spanning lines, history saved on disk.
		scriptCmd, err := exec.LookPath("script")
		if err != nil {
			t.Fatalf("script(1) from util-linux is needed for the terminal test: %v", err)
		}
		home := t.TempDir()
		pr, pw := io.Pipe()
		cmd := exec.Command(scriptCmd, "-qec", binary+" sql --server "+server, "/dev/null")
		cmd.Env = append(cliEnv(), "HOME="+home, "TERM=dumb")
		cmd.Stdin = pr
		var out syncBuffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor := func(s string) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(out.String(), s) {
				if time.Now().After(deadline) {
					t.Fatalf("no %q in the shell output:\n%s", s, out.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		waitFor("sigmaflight> ")
		io.WriteString(pw, "SELECT count(*) AS n\r")
		waitFor("-> ")
		io.WriteString(pw, "  FROM events;\r")
		waitFor("(1 row)")
		io.WriteString(pw, "SELECT imge FROM events;\r")
		waitFor("did you mean")
		io.WriteString(pw, "\\q\r")
		pw.Close()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("shell exit: %v\n%s", err, out.String())
		}
		if !strings.Contains(out.String(), fmt.Sprint(lines)) {
			t.Fatalf("count %d not in the shell output:\n%s", lines, out.String())
		}
		hist, err := os.ReadFile(filepath.Join(home, ".sigmaflight_history"))
		if err != nil {
			t.Fatal(err)
		}
		if got := string(hist); got != "SELECT count(*) AS n FROM events;\nSELECT imge FROM events;\n" {
			t.Fatalf("history file:\n%q", got)
		}
	})

	t.Run("unreachable server", func(t *testing.T) {
		r := runCLI(t, time.Minute, nil, "sql", "--server", "grpc://127.0.0.1:1", "--wait", "300ms", "-e", "SELECT 1")
		if r.err == nil || !strings.Contains(r.stderr, "127.0.0.1:1") {
			t.Fatalf("got err %v, stderr %q; want a failure naming the address", r.err, r.stderr)
		}
	})
}

// TestCLIIngestFormats ingests the evtx-dump regression corpus (a directory of nested,
// concatenated JSON objects) and a CSV through stdin, then checks the normalised columns.
func TestCLIIngestFormats(t *testing.T) {
	n := startNode(t, t.TempDir())
	server := "grpc://" + n.addr
	r := mustCLI(t, nil, "ingest", "--server", server, "--table", "evtx", "../../shared/data/sigmahq-regression/rules/windows/process_creation")
	if !strings.Contains(r.stdout, "ingested ") {
		t.Fatalf("ingest output: %s", r.stdout)
	}
	q := mustCLI(t, nil, "sql", "--server", server, "--format", "csv", "-e",
		"SELECT count(*) AS n FROM evtx WHERE Channel = 'Microsoft-Windows-Sysmon/Operational' AND EventID = 1 AND Image IS NOT NULL")
	if strings.TrimSpace(q.stdout) == "n\n0" {
		t.Fatalf("no normalised Sysmon process-creation events:\n%s", q.stdout)
	}

	csvFile := filepath.Join(t.TempDir(), "events.csv")
	os.WriteFile(csvFile, []byte("EventID,Image,Code\n1,C:\\\\a.exe,007\n4688,C:\\\\b.exe,12\n"), 0o644)
	mustCLI(t, nil, "ingest", "--server", server, "--table", "csvt", csvFile)
	q = mustCLI(t, nil, "sql", "--server", server, "--format", "json", "-e", "SELECT EventID, Code FROM csvt WHERE EventID = 4688")
	if got := strings.TrimSpace(q.stdout); got != `{"EventID":4688,"Code":"12"}` {
		t.Fatalf("got %s; want EventID as a number and Code kept as text", got)
	}
}
