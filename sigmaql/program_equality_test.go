package sigmaql

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// equalityRecordings are OTRF recordings covering Sysmon, Security and PowerShell. The
// small ones (under 2,000 events) are also run with all SigmaHQ windows rules.
var equalityRecordings = []string{
	"psh_lsass_memory_dump_comsvcs.zip",
	"cmd_seatbelt_group_user.zip",
	"wmic_remote_xsl_jscript.zip",
	"empire_schtasks_creation_standard_user.zip",
	"cmd_bitsadmin_download_psh_script.zip",
	"psh_hh_local_html_payload.zip",
	"reg_disable_eventlog_service_startuptype_modification_via_registry.zip",
	"empire_dllinjection_LoadLibrary_CreateRemoteThread.zip",
	"cmd_psexec_lsa_secrets_dump.zip",
}

// sigmahqWindows returns the loadable SigmaHQ rules for product windows.
func sigmahqWindows(t testing.TB) *Ruleset {
	t.Helper()
	rules, _ := mustLoadSigmaHQ(t)
	rs := &Ruleset{Name: "sigmahq-windows"}
	for _, r := range rules {
		if strings.EqualFold(r.Logsource.Product, "windows") {
			rs.Rules = append(rs.Rules, r)
		}
	}
	return rs
}

func mustLoadExamples(t testing.TB) *Ruleset {
	t.Helper()
	rs, diags, err := LoadRuleset("examples", os.DirFS("../docs/examples/rules"))
	if err != nil {
		t.Fatalf("load examples: %v", err)
	}
	for _, d := range diags {
		t.Errorf("example rule diagnostic: %s", d)
	}
	return rs
}

// assertSameMatches compares Program.Eval with ReferenceEval on rec.
func assertSameMatches(t *testing.T, rs *Ruleset, rec arrow.RecordBatch) []Match {
	t.Helper()
	p, err := rs.Compile(rec.Schema())
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return assertProgramMatches(t, rs, p, rec)
}

// assertProgramMatches compares p.Eval with ReferenceEval(rs) on rec; p must be compiled
// from rs.Rules.
func assertProgramMatches(t *testing.T, rs *Ruleset, p *Program, rec arrow.RecordBatch) []Match {
	t.Helper()
	got, err := p.Eval(context.Background(), rec)
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	want, err := ReferenceEval(rs, rec)
	if err != nil {
		t.Fatalf("reference eval: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("got %d matches; want %d", len(got), len(want))
	}
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w Match
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			rule := func(m Match) string {
				if int(m.Rule) < len(rs.Rules) {
					return rs.Rules[m.Rule].File
				}
				return "?"
			}
			t.Fatalf("match %d: got %v (%s); want %v (%s)", i, g, rule(g), w, rule(w))
		}
	}
	return got
}

// TestProgramEqualsReference is the key test: on real recordings the columnar Program
// must produce exactly the reference evaluator's matches.
func TestProgramEqualsReference(t *testing.T) {
	sets := []*Ruleset{mustLoadExamples(t), sigmahqWindows(t)}
	for _, name := range equalityRecordings {
		b := mustLoadOTRF(t, name)
		for _, rs := range sets {
			if rs.Name != "examples" && b.rec.NumRows() > 2000 {
				continue // the reference evaluator is too slow for a unit test here
			}
			t.Run(rs.Name+"/"+name, func(t *testing.T) {
				ms := assertSameMatches(t, rs, b.rec)
				fired := map[int32]bool{}
				for _, m := range ms {
					fired[m.Rule] = true
				}
				t.Logf("%d events, %d matches, %d rules fired", b.rec.NumRows(), len(ms), len(fired))
			})
		}
	}
}

// TestProgramEncodings re-encodes string columns as dictionary and string view arrays:
// the matches must not change.
func TestProgramEncodings(t *testing.T) {
	b := mustLoadOTRF(t, "psh_lsass_memory_dump_comsvcs.zip")
	rs := sigmahqWindows(t)
	base := assertSameMatches(t, rs, b.rec)
	f := func(col string, dict bool) {
		t.Helper()
		rec := withColumnAs(t, b.rec, col, dict)
		got := assertSameMatches(t, rs, rec)
		if len(got) != len(base) {
			t.Errorf("%s (dict=%v): got %d matches; want %d", col, dict, len(got), len(base))
		}
	}
	for _, col := range []string{"Channel", "CommandLine", "Image", "TargetImage"} {
		f(col, true)
		f(col, false)
	}
}

// TestProgramFallback compiles every leaf into the generic row-by-row fallback (the path
// pred kinds without a columnar kernel take) and checks it against the reference.
func TestProgramFallback(t *testing.T) {
	b := mustLoadOTRF(t, "psh_lsass_memory_dump_comsvcs.zip")
	win := sigmahqWindows(t)
	sample := &Ruleset{Name: "sample"}
	for i, r := range win.Rules {
		if i%7 == 0 {
			sample.Rules = append(sample.Rules, r)
		}
	}
	for _, rs := range []*Ruleset{mustLoadExamples(t), sample} {
		t.Run(rs.Name, func(t *testing.T) {
			p, err := compileWith(rs.Rules, b.rec.Schema(), true)
			if err != nil {
				t.Fatalf("compile: %v", err)
			}
			for _, l := range p.leaves {
				if !l.fallback {
					t.Fatalf("leaf %s is columnar; want every leaf in the fallback", l.pred.key)
				}
			}
			ms := assertProgramMatches(t, rs, p, b.rec)
			if len(ms) == 0 {
				t.Errorf("got no matches; want some, so that the fallback is tested on hits")
			}
			t.Logf("%d rules, %d leaves, %d matches", len(rs.Rules), len(p.leaves), len(ms))
		})
	}
}
