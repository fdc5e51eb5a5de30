package sigmaql

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const regressionDir = "../../shared/data/sigmahq-regression"

// regressionCase is one labelled SigmaHQ regression case: its folder, the ids of the
// rules that must fire and its events (every JSON object of every file, normalised).
type regressionCase struct {
	dir    string
	ruleID []string
	events []map[string]any
}

func loadRegressionCases(t *testing.T) []regressionCase {
	t.Helper()
	var infos []string
	err := filepath.WalkDir(regressionDir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == "info.yml" {
			infos = append(infos, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", regressionDir, err)
	}
	var cases []regressionCase
	for _, info := range infos {
		data, err := os.ReadFile(info)
		if err != nil {
			t.Fatalf("read %s: %v", info, err)
		}
		var meta struct {
			RuleMetadata []struct {
				ID string `yaml:"id"`
			} `yaml:"rule_metadata"`
		}
		if err := yaml.Unmarshal(data, &meta); err != nil {
			t.Fatalf("decode %s: %v", info, err)
		}
		c := regressionCase{dir: filepath.Dir(info)}
		for _, m := range meta.RuleMetadata {
			c.ruleID = append(c.ruleID, m.ID)
		}
		files, _ := filepath.Glob(filepath.Join(c.dir, "*.json"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatalf("read %s: %v", f, err)
			}
			// Several files hold concatenated JSON objects.
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			for {
				var obj map[string]any
				err := dec.Decode(&obj)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("decode %s: %v", f, err)
				}
				c.events = append(c.events, NormalizeEvtxEvent(obj))
			}
		}
		// Raw log cases (one line per event) are read as a single string field, which the
		// keyword searches of their rules scan.
		raws, _ := filepath.Glob(filepath.Join(c.dir, "*.raw"))
		for _, f := range raws {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatalf("read %s: %v", f, err)
			}
			for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
				c.events = append(c.events, map[string]any{"Message": line})
			}
		}
		if len(c.ruleID) == 0 || len(c.events) == 0 {
			t.Fatalf("%s: regression case without rule id or events", c.dir)
		}
		cases = append(cases, c)
	}
	return cases
}

// TestSigmaHQRegression runs every SigmaHQ regression case through the reference
// evaluator with all SigmaHQ rules and the default pipeline: the labelled rule must fire
// on at least one event of its case; other rules that fire are reported.
func TestSigmaHQRegression(t *testing.T) {
	rules, _ := mustLoadSigmaHQ(t)
	rs := &Ruleset{Name: "sigmahq", Rules: rules}
	byID := map[string]int{}
	for i, r := range rules {
		byID[r.ID] = i
	}
	cases := loadRegressionCases(t)
	if len(cases) < 202 {
		t.Errorf("got %d regression cases; want at least 202", len(cases))
	}
	// One batch for all cases (the union of their fields), so that the evaluator compiles
	// each pattern once; rowCase maps a row back to its case.
	var all []map[string]any
	var rowCase []int
	for ci, c := range cases {
		all = append(all, c.events...)
		for range c.events {
			rowCase = append(rowCase, ci)
		}
	}
	matches, err := ReferenceEval(rs, eventsToBatch(all))
	if err != nil {
		t.Fatalf("reference eval: %v", err)
	}
	hits := make([]map[int]bool, len(cases))
	for i := range hits {
		hits[i] = map[int]bool{}
	}
	for _, m := range matches {
		hits[rowCase[m.Row]][int(m.Rule)] = true
	}
	fired, extra := 0, 0
	for ci, c := range cases {
		hit := hits[ci]
		name := strings.TrimPrefix(c.dir, regressionDir+"/")
		ok := true
		for _, id := range c.ruleID {
			ri, loaded := byID[id]
			if !loaded {
				t.Errorf("%s: labelled rule %s is not loaded", name, id)
				ok = false
				continue
			}
			if !hit[ri] {
				t.Errorf("%s: labelled rule %s (%s) did not fire on %d events", name, id, rules[ri].Title, len(c.events))
				ok = false
			}
		}
		if ok {
			fired++
		}
		var others []string
		for ri := range hit {
			if !slices.Contains(c.ruleID, rules[ri].ID) {
				others = append(others, rules[ri].Title)
			}
		}
		slices.Sort(others)
		if len(others) > 0 {
			extra += len(others)
			t.Logf("%s: also fired: %s", name, strings.Join(others, "; "))
		}
	}
	t.Logf("%d of %d regression cases fire their labelled rule; %d additional hits", fired, len(cases), extra)
}
