package tests

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCLIReferenceIsCurrent is acceptance 4 of issue 8: docs/cli.md is generated from
// the commands' own --help (`make docs`), and every command documents examples.
func TestCLIReferenceIsCurrent(t *testing.T) {
	r := runCLI(t, time.Minute, []string{"HOME=/nonexistent", "XDG_STATE_HOME="}, "gendocs")
	if r.err != nil {
		t.Fatalf("gendocs: %v\n%s", r.err, r.stderr)
	}
	committed, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(committed) != r.stdout {
		t.Fatalf("docs/cli.md is stale: run `make docs` and commit it.\nfirst difference at line %d", firstDiffLine(string(committed), r.stdout))
	}
	// Every command (not the root, which lists the others) has an Examples section.
	sections := regexp.MustCompile(`(?m)^## (sigmaflight[^\n]*)\n`).FindAllStringSubmatchIndex(r.stdout, -1)
	if len(sections) < 8 {
		t.Fatalf("got %d command sections; want every command", len(sections))
	}
	var missing []string
	for i, s := range sections {
		name := r.stdout[s[2]:s[3]]
		end := len(r.stdout)
		if i+1 < len(sections) {
			end = sections[i+1][0]
		}
		if name == "sigmaflight" {
			continue
		}
		if !strings.Contains(r.stdout[s[0]:end], "\nExamples:\n") {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("commands without examples in --help: %s", strings.Join(missing, ", "))
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
