package sigmaql

import (
	"strconv"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// FuzzParseCondition checks that the condition parser never panics and that a parsed
// condition prints to text that parses back to the same tree.
func FuzzParseCondition(f *testing.F) {
	for _, s := range []string{
		"sel", "a or b and not c", "1 of sel* and not all of filter_*", "(a or (b))",
		"all of them", "sel | count() > 5", "a near b", "not not (x)", "((", "1 of", ")",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCondition(s)
		if err != nil {
			return
		}
		printed := c.String()
		c2, err := parseCondition(printed)
		if err != nil {
			t.Fatalf("%q printed as %q which does not parse: %v", s, printed, err)
		}
		if got := c2.String(); got != printed {
			t.Fatalf("%q: got %q after a round trip; want %q", s, got, printed)
		}
	})
}

// fuzzModifiers are the modifier chains FuzzValueMatch combines with its pattern.
var fuzzModifiers = []string{
	"", "|contains", "|startswith", "|endswith", "|contains|all", "|cased", "|contains|cased",
	"|re", "|re|i", "|gt", "|lte", "|cidr", "|contains|windash", "|exists",
}

// FuzzValueMatch checks the Program's kernels against the reference evaluator on one
// value matched against one pattern, as a string column and, when it is a number, as an
// integer column.
func FuzzValueMatch(f *testing.F) {
	f.Add("a*b?c", uint8(0), "AXXBYC")
	f.Add(`C:\Windows\\*`, uint8(3), `c:\windows\x`)
	f.Add("ΣΊΣ", uint8(1), "xσίςx")
	f.Add("4688", uint8(0), "4688")
	f.Add("10.0.0.0/8", uint8(11), "10.2.3.4")
	f.Add(" -enc ", uint8(12), " /enc ")
	f.Add("a.+b", uint8(7), "xaYYbx")
	f.Add("5", uint8(9), "7")
	f.Fuzz(func(t *testing.T, pattern string, mod uint8, value string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(value) {
			return
		}
		key := "A" + fuzzModifiers[int(mod)%len(fuzzModifiers)]
		var v any = pattern
		if n, err := strconv.ParseInt(pattern, 10, 64); err == nil {
			v = n
		}
		if key == "A|exists" {
			v = len(pattern)%2 == 0
		}
		doc := map[string]any{
			"title":     "fuzz",
			"detection": map[string]any{"sel": map[string]any{key: v}, "condition": "sel"},
		}
		src, err := yaml.Marshal(doc)
		if err != nil {
			return
		}
		rules, _ := ParseRules("fuzz.yml", src)
		if len(rules) != 1 {
			return
		}
		rs := &Ruleset{Name: "fuzz", Rules: rules}
		evalBoth(t, rs, oneRow(map[string]any{"A": value, "B": "other"}))
		if n, err := strconv.ParseInt(value, 10, 64); err == nil {
			evalBoth(t, rs, oneRow(map[string]any{"A": int(n)}))
		}
		evalBoth(t, rs, oneRow(map[string]any{"B": value}))
	})
}
