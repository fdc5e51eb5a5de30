package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"gopkg.in/yaml.v3"

	"github.com/sigmaflight/sigmaflight/clients/eventfile"
	"github.com/sigmaflight/sigmaflight/sigmaql"
)

const (
	huntSigmaHQRules = "../../../shared/data/sigmahq/rules"
	huntSigmaHQDir   = "../../../shared/data/sigmahq"
	huntRegression   = "../../../shared/data/sigmahq-regression"
	huntOTRF         = "../../../shared/data/otrf"
)

// huntRun runs hunt over paths with an already loaded ruleset and returns stdout and
// stderr.
func huntRun(t *testing.T, rs *sigmaql.Ruleset, f *huntFlags, paths ...string) (string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if f.progress == "" {
		f.progress = "never"
	}
	if err := huntFiles(context.Background(), rs, 0, time.Now(), f, paths, &out, &errOut); err != nil {
		t.Fatalf("hunt %v: %v (stderr: %s)", paths, err, errOut.String())
	}
	return out.String(), errOut.String()
}

func parseJSONL(t *testing.T, s string) []huntMatch {
	t.Helper()
	var ms []huntMatch
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var m huntMatch
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("output line %q is not a match object: %v", sc.Text(), err)
		}
		if m.Event == nil || m.RuleTags == nil {
			t.Fatalf("output line %q: want event and rule_tags present", sc.Text())
		}
		ms = append(ms, m)
	}
	return ms
}

var (
	huntRulesOnce sync.Once
	huntRules     *sigmaql.Ruleset
)

func mustLoadHuntRules(t *testing.T) *sigmaql.Ruleset {
	t.Helper()
	huntRulesOnce.Do(func() {
		var errOut bytes.Buffer
		// rules/ as the acceptance names it, plus the emerging-threats and threat-hunting
		// folders some regression cases are labelled with.
		roots := []string{huntSigmaHQRules, huntSigmaHQDir + "/rules-emerging-threats", huntSigmaHQDir + "/rules-threat-hunting"}
		rs, _, err := loadHuntRules(&huntFlags{format: huntJSONL, rules: roots}, &errOut)
		if err != nil {
			t.Fatalf("load SigmaHQ rules: %v", err)
		}
		huntRules = rs
	})
	if huntRules == nil {
		t.Fatal("SigmaHQ rules did not load")
	}
	return huntRules
}

// TestHuntRegression runs hunt with every SigmaHQ rule over each regression case (all
// case files in one run) and checks that every case reports the rule its info.yml names.
func TestHuntRegression(t *testing.T) {
	rs := mustLoadHuntRules(t)
	type regCase struct {
		dir   string
		rules []string
	}
	var cases []regCase
	var files []string
	err := filepath.WalkDir(huntRegression, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.Name() != "info.yml" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		var info struct {
			RuleMetadata []struct{ ID string } `yaml:"rule_metadata"`
		}
		if err := yaml.Unmarshal(data, &info); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := regCase{dir: filepath.Dir(p)}
		for _, m := range info.RuleMetadata {
			c.rules = append(c.rules, m.ID)
		}
		jsons, _ := filepath.Glob(filepath.Join(c.dir, "*.json"))
		if len(c.rules) == 0 {
			t.Fatalf("%s: want a labelled rule id", c.dir)
		}
		if len(jsons) == 0 {
			t.Logf("%s: no JSON event file (raw syslog case); skipped", c.dir)
			return nil
		}
		files = append(files, jsons...)
		cases = append(cases, c)
		return nil
	})
	if err != nil || len(cases) < 200 {
		t.Fatalf("got %d regression cases (%v); want at least 200", len(cases), err)
	}
	loaded := map[string]bool{}
	for _, r := range rs.Rules {
		loaded[r.ID] = true
	}
	out, _ := huntRun(t, rs, &huntFlags{format: huntJSONL}, files...)
	fired := map[string]map[string]bool{} // case dir -> rule ids
	for _, m := range parseJSONL(t, out) {
		dir := filepath.Dir(strings.SplitN(m.Source, "!", 2)[0])
		if fired[dir] == nil {
			fired[dir] = map[string]bool{}
		}
		fired[dir][m.RuleID] = true
	}
	missed, notLoaded := 0, 0
	for _, c := range cases {
		for _, id := range c.rules {
			if !loaded[id] {
				notLoaded++
				t.Logf("%s: rule %s did not load", c.dir, id)
				continue
			}
			if !fired[c.dir][id] {
				missed++
				t.Errorf("%s: got rules %v; want %s among them", c.dir, keys(fired[c.dir]), id)
			}
		}
	}
	t.Logf("%d cases, %d files: %d labelled rules missed, %d not loaded", len(cases), len(files), missed, notLoaded)
	if notLoaded > 0 {
		t.Errorf("got %d labelled rules that did not load; want none", notLoaded)
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestHuntOTRFEqualsReference runs hunt over OTRF recordings and compares its matches with
// the reference evaluator run on the same batches, read independently.
func TestHuntOTRFEqualsReference(t *testing.T) {
	rs := mustLoadHuntRules(t)
	for _, name := range []string{"psh_lsass_memory_dump_comsvcs.zip", "cmd_psexec_lsa_secrets_dump.zip"} {
		path := filepath.Join(huntOTRF, name)
		t.Run(name, func(t *testing.T) {
			out, _ := huntRun(t, rs, &huntFlags{format: huntJSONL}, path)
			got := map[string]int{}
			for _, m := range parseJSONL(t, out) {
				got[m.RuleID]++
			}
			want := map[string]int{}
			events := 0
			err := eventfile.Read(context.Background(), []string{path}, eventfile.Options{}, func(_ eventfile.Source, rec arrow.RecordBatch) error {
				events += int(rec.NumRows())
				ms, err := sigmaql.ReferenceEval(rs, rec)
				for _, m := range ms {
					want[rs.Rules[m.Rule].ID]++
				}
				return err
			})
			if err != nil {
				t.Fatalf("reference over %s: %v", name, err)
			}
			if len(want) == 0 {
				t.Fatalf("reference found no match in %s; want a recording with matches", name)
			}
			for id, n := range want {
				if got[id] != n {
					t.Errorf("rule %s: got %d matches; want %d", id, got[id], n)
				}
			}
			for id, n := range got {
				if want[id] == 0 {
					t.Errorf("rule %s: got %d matches; want none", id, n)
				}
			}
			t.Logf("%d events, %d rules fired", events, len(want))
		})
	}
}

// TestHuntFormats checks the table and csv formats and --stats on a small recording.
func TestHuntFormats(t *testing.T) {
	rs := mustLoadHuntRules(t)
	path := filepath.Join(huntOTRF, "psh_lsass_memory_dump_comsvcs.zip")
	jsonl, _ := huntRun(t, rs, &huntFlags{format: huntJSONL}, path)
	ms := parseJSONL(t, jsonl)
	if len(ms) == 0 {
		t.Fatal("got no matches; want some")
	}
	table, _ := huntRun(t, rs, &huntFlags{format: huntTable}, path)
	if !strings.HasPrefix(table, "TIME") || !strings.Contains(table, ms[0].RuleTitle) || !strings.Contains(table, "MATCHES") {
		t.Errorf("table output lacks the timeline header, rule %q or the summary:\n%s", ms[0].RuleTitle, table)
	}
	csvOut, errOut := huntRun(t, rs, &huntFlags{format: huntCSV, stats: true}, path)
	recs, err := csv.NewReader(strings.NewReader(csvOut)).ReadAll()
	if err != nil {
		t.Fatalf("csv output does not parse: %v", err)
	}
	if len(recs) != len(ms)+1 || recs[0][1] != "rule_id" {
		t.Errorf("got %d csv records (header %v); want %d matches and a header", len(recs), recs[0], len(ms))
	}
	var st huntStats
	if err := json.Unmarshal([]byte(strings.TrimSpace(errOut)), &st); err != nil {
		t.Fatalf("--stats printed %q: %v", errOut, err)
	}
	events := int64(0)
	if err := eventfile.Read(context.Background(), []string{path}, eventfile.Options{}, func(_ eventfile.Source, rec arrow.RecordBatch) error {
		events += rec.NumRows()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if st.Events != events || events == 0 || st.Matches != int64(len(ms)) || st.RulesLoaded != len(rs.Rules) || st.EventsPerSecond <= 0 {
		t.Errorf("got stats %+v; want %d events, %d matches, %d rules", st, events, len(ms), len(rs.Rules))
	}
	var out, e bytes.Buffer
	if err := runHunt(context.Background(), &huntFlags{format: "xml", rules: []string{huntSigmaHQRules}}, []string{path}, &out, &e); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("got %v for --format xml; want an error naming --format", err)
	}
}
