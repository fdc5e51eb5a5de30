package sigmaql

import (
	"flag"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// longTests runs the differential tests over the whole corpus instead of a sample.
var longTests = flag.Bool("long", false, "run differential tests over the whole SigmaHQ corpus")

// adversarialValue derives an event value from a rule literal: random case (ASCII and
// Unicode), the literal split between a prefix and a suffix, embedded in text, cut by
// one code point (a near miss), or with a look-alike code point.
func adversarialValue(r *rand.Rand, lit string) string {
	randCase := func(s string) string {
		var sb strings.Builder
		for _, c := range s {
			if r.IntN(2) == 0 {
				sb.WriteString(strings.ToUpper(string(c)))
			} else {
				sb.WriteRune(c)
			}
		}
		return sb.String()
	}
	junk := []string{"", " ", "x", "é", "Σ", "ς", "\u212a", "İ", "ı", "ß", "\\", "/", "-", "\u2013", "\x00", "日本"}
	pick := func() string { return junk[r.IntN(len(junk))] }
	switch r.IntN(8) {
	case 0:
		return randCase(lit)
	case 1:
		return pick() + randCase(lit) + pick()
	case 2:
		return randCase(lit) + pick()
	case 3:
		return pick() + randCase(lit)
	case 4: // near miss: drop the last code point
		if _, w := utf8.DecodeLastRuneInString(lit); w > 0 {
			return pick() + lit[:len(lit)-w]
		}
		return lit
	case 5: // near miss: drop the first code point
		if _, w := utf8.DecodeRuneInString(lit); w > 0 {
			return lit[w:] + pick()
		}
		return lit
	case 6: // the literal twice, split in the middle
		h := len(lit) / 2
		for h > 0 && !utf8.RuneStart(lit[h]) {
			h--
		}
		return lit[h:] + pick() + lit[:h]
	}
	// Unicode look-alikes of ASCII letters.
	rep := strings.NewReplacer("k", "\u212a", "s", "ſ", "i", "ı", "e", "é", "a", "á")
	return rep.Replace(randCase(lit))
}

// adversarialBatch builds rows whose string columns hold values derived from the
// literals of the rules' preds on that column (and any column for keywords).
func adversarialBatch(t testing.TB, rs *Ruleset, cols []string, rows int, seed uint64) arrow.RecordBatch {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	lits := map[string][]string{}
	var any []string
	for _, rule := range rs.Rules {
		items := append([]*item(nil), rule.det.logsource...)
		for _, s := range rule.det.searches {
			for _, alt := range s.alts {
				items = append(items, alt...)
			}
		}
		for _, it := range items {
			for _, vs := range it.values {
				for _, p := range vs {
					var sb strings.Builder
					for _, tok := range p.glob {
						switch tok.kind {
						case globLit:
							sb.WriteString(tok.lit)
						case globOne:
							sb.WriteString("q")
						}
					}
					l := sb.String()
					if p.kind != predGlob {
						l = p.text
					}
					lits[it.field] = append(lits[it.field], l)
					any = append(any, l)
				}
			}
		}
	}
	if len(any) == 0 {
		t.Fatal("no literals in the ruleset")
	}
	// Each row takes the logsource values of a random rule, so rules see the rows.
	lsVals := make([]map[string]string, rows)
	for i := range lsVals {
		lsVals[i] = map[string]string{}
		rule := rs.Rules[r.IntN(len(rs.Rules))]
		for _, it := range rule.det.logsource {
			if len(it.values) > 0 && len(it.values[0]) > 0 {
				p := it.values[0][0]
				v := p.text
				if p.kind == predGlob {
					v = ""
					for _, tok := range p.glob {
						v += tok.lit
					}
				}
				lsVals[i][it.field] = v
			}
		}
	}
	mem := memory.DefaultAllocator
	var fields []arrow.Field
	var arrs []arrow.Array
	for _, c := range cols {
		b := array.NewStringBuilder(mem)
		pool := lits[c]
		for i := 0; i < rows; i++ {
			if v, ok := lsVals[i][c]; ok && r.IntN(8) != 0 {
				b.Append(v)
				continue
			}
			switch {
			case r.IntN(10) == 0:
				b.AppendNull()
			case len(pool) > 0 && r.IntN(4) != 0:
				b.Append(adversarialValue(r, pool[r.IntN(len(pool))]))
			default:
				b.Append(adversarialValue(r, any[r.IntN(len(any))]))
			}
		}
		fields = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true})
		arrs = append(arrs, b.NewArray())
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(rows))
}

// TestProgramAdversarial compares the Program with the reference on generated events
// built from the rules' own literals (random case, Unicode, split, near misses), with the
// logsource columns set so that rules see the rows. The default run takes a sample of the
// SigmaHQ windows rules; -long takes all of them and more rows.
func TestProgramAdversarial(t *testing.T) {
	win := sigmahqWindows(t)
	rs := &Ruleset{Name: "adversarial"}
	step, rows := 5, 400
	if *longTests {
		step, rows = 1, 3000
	}
	for i, r := range win.Rules {
		if i%step == 0 {
			rs.Rules = append(rs.Rules, r)
		}
	}
	cols := []string{"Channel", "EventID", "CommandLine", "Image", "ParentImage", "OriginalFileName",
		"TargetFilename", "TargetObject", "Details", "ImageLoaded", "ScriptBlockText", "ParentCommandLine",
		"Provider_Name", "ServiceName", "ImagePath", "QueryName", "Hashes", "User", "Description"}
	for seed := uint64(1); seed <= 3; seed++ {
		rec := adversarialBatch(t, rs, cols, rows, seed)
		ms := assertSameMatches(t, rs, rec)
		t.Logf("seed %d: %d rules, %d rows, %d matches", seed, len(rs.Rules), rows, len(ms))
		if len(ms) == 0 {
			t.Errorf("seed %d: got no matches; want generated events to fire rules", seed)
		}
	}
}

// FuzzProgramRules builds a small ruleset from random literals and modifiers and checks
// the Program against the reference on random values derived from the same literals.
func FuzzProgramRules(f *testing.F) {
	f.Add("abc", "ΣΊΣ", uint8(3), uint64(1))
	f.Add(`C:\Windows\`, "k", uint8(7), uint64(2))
	f.Add("a*b", "?x", uint8(11), uint64(3))
	f.Fuzz(func(t *testing.T, a, b string, mods uint8, seed uint64) {
		if !utf8.ValidString(a) || !utf8.ValidString(b) || a == "" || b == "" {
			return
		}
		chains := []string{"", "|contains", "|startswith", "|endswith", "|contains|all", "|cased", "|re", "|contains|windash"}
		var sb strings.Builder
		for i, lit := range []string{a, b, a + b} {
			m := chains[(int(mods)>>i)%len(chains)]
			sb.WriteString("title: f\ndetection:\n  sel:\n    A" + m + ":\n      - " + yamlQuote(lit) + "\n")
			sb.WriteString("  kw:\n    - " + yamlQuote(b) + "\n  condition: sel or (kw and not sel)\n---\n")
		}
		rules, _ := ParseRules("fuzz.yml", []byte(sb.String()))
		if len(rules) == 0 {
			return
		}
		rs := &Ruleset{Name: "fuzz", Rules: rules}
		r := rand.New(rand.NewPCG(seed, 2))
		mem := memory.DefaultAllocator
		var arrs []arrow.Array
		for c := 0; c < 2; c++ {
			bld := array.NewStringBuilder(mem)
			for i := 0; i < 16; i++ {
				bld.Append(adversarialValue(r, []string{a, b, a + b}[r.IntN(3)]))
			}
			arrs = append(arrs, bld.NewArray())
		}
		schema := arrow.NewSchema([]arrow.Field{{Name: "A", Type: arrow.BinaryTypes.String, Nullable: true}, {Name: "B", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
		assertSameMatches(t, rs, array.NewRecordBatch(schema, arrs, 16))
	})
}

func yamlQuote(s string) string {
	return `'` + strings.ReplaceAll(s, `'`, `''`) + `'`
}
