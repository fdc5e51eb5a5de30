package sigmaql

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
)

// sigmahqRoots are the main SigmaHQ rule folders (rules*/).
func sigmahqRoots(t testing.TB) []string {
	t.Helper()
	roots, err := filepath.Glob(filepath.Join(sigmahqDir, "rules*"))
	if err != nil || len(roots) == 0 {
		t.Fatalf("no SigmaHQ rule folders under %s: %v", sigmahqDir, err)
	}
	return roots
}

var (
	sigmahqOnce  sync.Once
	sigmahqRules []*Rule
	sigmahqDiags []Diagnostic
)

// mustLoadSigmaHQ loads every rule of the main SigmaHQ folders once per test binary.
func mustLoadSigmaHQ(t testing.TB) ([]*Rule, []Diagnostic) {
	t.Helper()
	roots := sigmahqRoots(t)
	sigmahqOnce.Do(func() {
		for _, root := range roots {
			rs, diags, err := LoadRulesetPath("sigmahq", root)
			if err != nil {
				t.Fatalf("load %s: %v", root, err)
			}
			sigmahqRules = append(sigmahqRules, rs.Rules...)
			sigmahqDiags = append(sigmahqDiags, diags...)
		}
	})
	return sigmahqRules, sigmahqDiags
}

// quoted normalises a diagnostic message into its reason by dropping quoted specifics
// other than modifier names.
var quotedValue = regexp.MustCompile(`"[^"]*"`)

func TestLoadSigmaHQ(t *testing.T) {
	rules, diags := mustLoadSigmaHQ(t)
	reasons := map[string]int{}
	for _, d := range diags {
		if d.File == "" || d.Line <= 0 || d.Column <= 0 || d.Message == "" {
			t.Errorf("diagnostic without location or reason: %+v", d)
		}
		if _, err := os.Stat(d.File); err != nil {
			t.Errorf("diagnostic names a missing file: %+v", d)
		}
		if !d.Warning {
			reasons[quotedValue.ReplaceAllString(d.Message, `"…"`)]++
		}
	}
	keys := make([]string, 0, len(reasons))
	for k := range reasons {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return reasons[b] - reasons[a] })
	t.Logf("SigmaHQ rules*/: %d loaded, %d rejected", len(rules), len(diags))
	for _, k := range keys {
		t.Logf("  %4d %s", reasons[k], k)
	}
	if total := len(rules) + len(diags); total < 3780 {
		t.Errorf("got %d rules and diagnostics; want at least 3780 (one per rule)", total)
	}
	const floor = 3600
	if len(rules) < floor {
		t.Errorf("got %d loaded rules; want at least %d", len(rules), floor)
	}
}

// TestLoadSigmaHQLegacy loads the deprecated and unsupported folders: legacy constructs
// must be rejected with a located reason, never a panic.
func TestLoadSigmaHQLegacy(t *testing.T) {
	for _, dir := range []string{"deprecated", "unsupported"} {
		rs, diags, err := LoadRulesetPath(dir, filepath.Join(sigmahqDir, dir))
		if err != nil {
			t.Fatalf("load %s: %v", dir, err)
		}
		legacy := 0
		for _, d := range diags {
			if d.Line <= 0 || d.Message == "" {
				t.Errorf("diagnostic without location or reason: %+v", d)
			}
			if regexp.MustCompile(`legacy|correlation`).MatchString(d.Message) {
				legacy++
			}
		}
		t.Logf("%s: %d loaded, %d rejected (%d as legacy aggregations)", dir, len(rs.Rules), len(diags), legacy)
	}
}
