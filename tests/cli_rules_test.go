package tests

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCLIRules loads a ruleset with `rules load` (two example rules and one broken file),
// lists and shows it, queries detect() with it, and runs `rules test` client-side.
func TestCLIRules(t *testing.T) {
	n := startNode(t, t.TempDir())
	server := "grpc://" + n.addr
	fix := loadHitsFixture(t)
	dir := t.TempDir()
	for _, name := range []string{"proc_creation_whoami.yml", "proc_creation_powershell_encoded_command.yml"} {
		data, err := os.ReadFile(filepath.Join("../docs/examples/rules", name))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
		os.WriteFile(filepath.Join(dir, "sub", name), data, 0o644)
	}
	os.WriteFile(filepath.Join(dir, "broken.yml"), []byte("title: Broken\nlogsource:\n  product: windows\ndetection:\n  sel:\n    Image: x\n  condition: sel and missing\n"), 0o644)

	r := mustCLI(t, nil, "rules", "load", "--server", server, "mine", dir)
	if !strings.Contains(r.stdout, "loaded 2 of 3 rules from 3 files (1 rejected)") {
		t.Fatalf("load output %q", r.stdout)
	}
	if !regexp.MustCompile(`(?m)^broken\.yml:\d+:\d+: `).MatchString(r.stderr) {
		t.Fatalf("rejected rule not reported as file:line:column: %q", r.stderr)
	}
	if r := runCLI(t, time.Minute, nil, "rules", "load", "--server", server, "--strict", "mine", dir); r.err == nil {
		t.Fatal("--strict with a rejected rule exited 0")
	}

	r = mustCLI(t, nil, "rules", "list", "--server", server)
	if !regexp.MustCompile(`(?m)^mine\s+2$`).MatchString(r.stdout) || !regexp.MustCompile(`(?m)^examples\s+\d+$`).MatchString(r.stdout) {
		t.Fatalf("list output:\n%s", r.stdout)
	}
	r = mustCLI(t, nil, "rules", "show", "--server", server, "mine")
	if !strings.Contains(r.stdout, "Account Discovery With whoami") || !strings.Contains(r.stdout, "(2 rules)") {
		t.Fatalf("show output:\n%s", r.stdout)
	}
	r = mustCLI(t, nil, "rules", "show", "--server", server, "--yaml", "mine")
	if !strings.Contains(r.stdout, "whoami.exe") || !strings.Contains(r.stdout, "# sub/proc_creation_whoami.yml") {
		t.Fatalf("show --yaml output:\n%s", r.stdout)
	}

	recording := filepath.Join(otrfDir, fix.Recording)
	mustCLI(t, nil, "ingest", "--server", server, "--table", "events", recording)
	want := fix.counts("")
	r = mustCLI(t, nil, "sql", "--server", server, "--format", "csv", "-e", "SELECT rule_title FROM detect('mine')")
	got := map[string]int64{}
	for _, l := range strings.Split(strings.TrimSpace(r.stdout), "\n")[1:] {
		got[l]++
	}
	for _, title := range []string{"Account Discovery With whoami", "PowerShell Started With An Encoded Command"} {
		if got[title] != want[title] {
			t.Fatalf("detect('mine'): %s: got %d; want %d", title, got[title], want[title])
		}
	}

	// rules test evaluates client-side: the server's ruleset and a local directory agree
	// with the fixture.
	for _, ruleset := range []string{"examples", "../docs/examples/rules"} {
		r = mustCLI(t, nil, "rules", "test", "--server", server, ruleset, recording)
		for title, count := range want {
			re := regexp.MustCompile(`(?m)^` + itoa(count) + `\s+\w+\s+` + regexp.QuoteMeta(title) + `\s`)
			if !re.MatchString(r.stdout) {
				t.Fatalf("rules test %s: no line with %d hits for %q:\n%s", ruleset, count, title, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, "3 of ") || !strings.Contains(r.stdout, "rules fired on "+itoa(countLines(t, fix.Recording))+" events") {
			t.Fatalf("rules test %s summary:\n%s", ruleset, r.stdout)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
