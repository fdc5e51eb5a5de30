package tests

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// quickstartLines returns the shell lines of the README's quickstart block.
func quickstartLines(t *testing.T, readme string) []string {
	t.Helper()
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	begin := strings.Index(text, "<!-- quickstart:begin")
	end := strings.Index(text, "<!-- quickstart:end -->")
	if begin < 0 || end < begin {
		t.Fatalf("%s has no quickstart:begin/end markers", readme)
	}
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(text[begin:end]))
	in := false
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "```sh"):
			in = true
		case strings.HasPrefix(l, "```"):
			in = false
		case in && strings.TrimSpace(l) != "":
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		t.Fatal("the quickstart block has no commands")
	}
	return lines
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestQuickstartFromFreshClone is acceptance 1 of issue 8: the README quickstart, run
// line by line exactly as written from a fresh `git clone` of the repository's HEAD, with
// the test data beside the clone as ../shared/data, gets detections. Only the ports
// differ, through the documented SIGMAFLIGHT_* environment variables, so the test cannot
// collide with a node already running on the defaults.
func TestQuickstartFromFreshClone(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	shared, err := filepath.Abs("../../shared")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	clone := filepath.Join(work, "sigmaflight")
	if out, err := exec.Command("git", "clone", "--quiet", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v\n%s", err, out)
	}
	if err := os.Symlink(shared, filepath.Join(work, "shared")); err != nil {
		t.Fatal(err)
	}
	flightAddr := freePort(t)
	env := append(cliEnv(),
		"SIGMAFLIGHT_LISTEN="+flightAddr,
		"SIGMAFLIGHT_HTTP_LISTEN="+freePort(t),
		"SIGMAFLIGHT_SERVER=grpc://"+flightAddr,
	)
	var outputs []string
	for _, line := range quickstartLines(t, filepath.Join(clone, "README.md")) {
		command, _, _ := strings.Cut(line, " #")
		command = strings.TrimSpace(command)
		if bg, ok := strings.CutSuffix(command, "&"); ok {
			cmd := exec.Command("bash", "-c", strings.TrimSpace(bg))
			cmd.Dir, cmd.Env = clone, env
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			var logs syncBuffer
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Start(); err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			done := make(chan struct{})
			go func() { _ = cmd.Wait(); close(done) }()
			t.Cleanup(func() {
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-done
				if t.Failed() {
					t.Logf("%s:\n%s", line, logs.String())
				}
			})
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, "bash", "-c", command)
		cmd.Dir, cmd.Env = clone, env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		cancel()
		if err != nil {
			t.Fatalf("quickstart line %q: %v\nstdout:\n%s\nstderr:\n%s", line, err, stdout.String(), stderr.String())
		}
		outputs = append(outputs, stdout.String())
	}

	// The ingest reports every event of the recording, counted independently.
	fix := loadHitsFixture(t)
	want := fmt.Sprintf("ingested %d events", countLines(t, fix.Recording))
	if !strings.Contains(strings.Join(outputs, "\n"), want) {
		t.Fatalf("no %q in the quickstart output:\n%s", want, strings.Join(outputs, "\n"))
	}
	// The detect() query printed one table row per (event, rule), as the fixture says.
	last := outputs[len(outputs)-1]
	got := map[string]int64{}
	rows := 0
	for _, l := range strings.Split(last, "\n") {
		cells := strings.Split(l, "|")
		if len(cells) != 4 || strings.TrimSpace(cells[0]) == "rule_level" {
			continue
		}
		got[strings.TrimSpace(cells[1])]++
		rows++
	}
	wantCounts := fix.counts("")
	if fmt.Sprint(got) != fmt.Sprint(wantCounts) {
		t.Fatalf("detections by title: got %v; want %v\noutput:\n%s", got, wantCounts, last)
	}
	if !strings.Contains(last, fmt.Sprintf("(%d rows)", rows)) {
		t.Fatalf("no row count footer for %d rows:\n%s", rows, last)
	}
}
