package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const sigmahqCorpus = "../../../shared/data/sigmahq"

// runRulesCheck runs `rules check` with args and returns stdout and the command's error.
func runRulesCheck(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := RulesCommand()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(append([]string{"check"}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func checkJSON(t *testing.T, args ...string) checkReport {
	t.Helper()
	out, err := runRulesCheck(t, append([]string{"--format", "json"}, args...)...)
	if err != nil {
		t.Fatalf("rules check %v: %v\n%s", args, err, out)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("rules check %v: output is not JSON: %v\n%s", args, err, out)
	}
	return rep
}

var placeholderName = regexp.MustCompile(`'%([^%]+)%'`)

// TestRulesCheckSigmaHQ is the acceptance test of `rules check` on the SigmaHQ corpus:
// every rule loads except the 'expand' rules whose placeholders have no value, which are
// rejected naming the placeholder; with a placeholder file giving each a value, all load.
func TestRulesCheckSigmaHQ(t *testing.T) {
	roots, _ := filepath.Glob(filepath.Join(sigmahqCorpus, "rules*"))
	if len(roots) != 5 {
		t.Fatalf("got SigmaHQ folders %v; want rules and rules-*", roots)
	}
	rep := checkJSON(t, roots...)
	if rep.Files != 3780 || rep.Rules != 3780 {
		t.Errorf("got %d files and %d rules; want 3780 and 3780", rep.Files, rep.Rules)
	}
	names := map[string]bool{}
	for _, r := range rep.Rejected {
		ms := placeholderName.FindAllStringSubmatch(r.Reason, -1)
		if ms == nil || !strings.Contains(r.Reason, "placeholder without a value") {
			t.Errorf("%s:%d: rejected for another reason than an unresolved placeholder: %s", r.Path, r.Line, r.Reason)
			continue
		}
		for _, m := range ms {
			names[m[1]] = true
		}
		if r.Line <= 0 || r.Path == "" {
			t.Errorf("rejection without location: %+v", r)
		}
		src, err := os.ReadFile(r.Path)
		if err != nil || !strings.Contains(string(src), "|expand") {
			t.Errorf("%s: rejected for a placeholder but has no expand modifier (%v)", r.Path, err)
		}
	}
	// SIGMA.md §1: 25 rules use expand (23 in rules-placeholder, 2 in emerging threats).
	if len(rep.Rejected) != 25 || rep.Loaded != 3780-25 {
		t.Errorf("got %d loaded, %d rejected; want %d loaded and the 25 expand rules rejected", rep.Loaded, len(rep.Rejected), 3780-25)
	}
	// With every placeholder given a value, everything loads.
	var sb strings.Builder
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sb.WriteString("'" + k + "': ['value-of-" + k + "', 'other*']\n")
	}
	file := filepath.Join(t.TempDir(), "placeholders.yml")
	if err := os.WriteFile(file, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	rep = checkJSON(t, append([]string{"--placeholders", file}, roots...)...)
	if len(rep.Rejected) != 0 || rep.Loaded != 3780 {
		t.Errorf("with placeholders: got %d loaded, rejected %v; want all 3780 loaded", rep.Loaded, rep.Rejected)
	}
}

// TestRulesCheckLegacy checks deprecated/ and unsupported/: every rule loads or is
// rejected with a located reason; legacy aggregations and v1 collections name
// correlation rules as the way out.
func TestRulesCheckLegacy(t *testing.T) {
	for _, dir := range []string{"deprecated", "unsupported"} {
		rep := checkJSON(t, filepath.Join(sigmahqCorpus, dir))
		if rep.Rules < rep.Files || rep.Loaded+len(rep.Rejected) != rep.Rules {
			t.Errorf("%s: got files %d, rules %d, loaded %d, rejected %d; want every rule loaded or rejected",
				dir, rep.Files, rep.Rules, rep.Loaded, len(rep.Rejected))
		}
		legacy := 0
		for _, r := range rep.Rejected {
			if r.Line <= 0 || r.Column <= 0 || r.Reason == "" {
				t.Errorf("%s: rejection without location or reason: %+v", dir, r)
			}
			if strings.Contains(r.Reason, "correlation rule") {
				legacy++
			}
		}
		t.Logf("%s: %d files, %d rules, %d loaded, %d rejected (%d pointing to correlation rules)",
			dir, rep.Files, rep.Rules, rep.Loaded, len(rep.Rejected), legacy)
		if dir == "unsupported" && legacy < 55 {
			t.Errorf("unsupported: got %d rejections pointing to correlation rules; want at least the 55 legacy aggregations", legacy)
		}
	}
}

// TestRulesCheckText checks the text summary and the flags' errors.
func TestRulesCheckText(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("ok.yml", "title: ok\nid: r1\nname: base\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel: {Image|endswith: '\\cmd.exe'}\n  condition: sel\n")
	write("bad.yml", "title: bad\nid: r2\ndetection:\n  sel: {Image|sha256: x}\n  condition: sel\n")
	write("corr.yml", "title: c\nid: c1\ncorrelation:\n  type: event_count\n  rules: [base]\n  group-by: [User]\n  timespan: 5m\n  condition: {gte: 3}\n")
	write("warn.yml", "title: w\nid: r3\ndetection:\n  sel: {A: x}\n  other: {B: y}\n  condition: all of them\n")
	out, err := runRulesCheck(t, dir)
	if err != nil {
		t.Fatalf("rules check: %v\n%s", err, out)
	}
	for _, want := range []string{"files:     4", "rules:     4", "loaded:    3 (1 correlation rules)", "rejected:  1",
		"unknown modifier '…'", "bad.yml:4:9:", "'all of them' is discouraged"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	if _, err := runRulesCheck(t, "--strict", dir); err == nil || !strings.Contains(err.Error(), "1 of 4 rules rejected") {
		t.Errorf("--strict: got %v; want an error counting the rejection", err)
	}
	if _, err := runRulesCheck(t, "--pipeline", "nonesuch", dir); err == nil || !strings.Contains(err.Error(), "neither a built-in") {
		t.Errorf("--pipeline nonesuch: got %v; want an error naming the built-ins", err)
	}
	if _, err := runRulesCheck(t, "--format", "xml", dir); err == nil {
		t.Errorf("--format xml: got no error")
	}
	// A pipeline file: rule_failure rejects every rule of the windows product.
	pl := filepath.Join(dir, "p.pipeline")
	if err := os.WriteFile(pl, []byte("name: p\ntransformations:\n  - type: rule_failure\n    message: no windows here\n    rule_conditions:\n      - type: logsource\n        product: windows\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep := checkJSON(t, "--pipeline", pl, dir)
	if rep.Pipeline != "p" || len(rep.Rejected) != 3 || rep.Correlations != 0 {
		t.Errorf("with a rule_failure pipeline: got pipeline %q, rejected %v, %d correlations; want p, ok.yml rejected and bad.yml, and the correlation dropped with its rule", rep.Pipeline, rep.Rejected, rep.Correlations)
	}
}
