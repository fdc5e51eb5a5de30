package sigmaql

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// ipNet is a network of a 'cidr' value, masked.
type ipNet = netip.Prefix

// posError is a parse error located in the rule's file.
type posError struct {
	line, col int
	msg       string
}

func (e *posError) Error() string { return e.msg }

func errAt(n *yaml.Node, format string, args ...any) *posError {
	return &posError{line: n.Line, col: n.Column, msg: fmt.Sprintf(format, args...)}
}

// yamlNumber decodes a YAML number (or a string holding one) into float and, when it is
// an integer that fits int64, into i.
func yamlNumber(v *yaml.Node) (f float64, isInt bool, i int64, ok bool) {
	switch v.ShortTag() {
	case "!!int", "!!float", "!!str":
	default:
		return 0, false, 0, false
	}
	var x any
	if v.ShortTag() == "!!str" {
		x = v.Value
	} else if err := v.Decode(&x); err != nil {
		return 0, false, 0, false
	}
	switch x := x.(type) {
	case int:
		return float64(x), true, int64(x), true
	case int64:
		return float64(x), true, x, true
	case uint64:
		return float64(x), false, 0, true
	case float64:
		return x, false, 0, true
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil {
			return float64(n), true, n, true
		}
		if g, err := strconv.ParseFloat(x, 64); err == nil {
			return g, false, 0, true
		}
	}
	return 0, false, 0, false
}

// parseGlob splits a Sigma string value into wildcard tokens. '*' and '?' are wildcards;
// '\*', '\?' and '\\' stand for '*', '?' and '\'; a backslash before any other character,
// or at the end, is a literal backslash (SIGMA.md §2.1).
func parseGlob(s string) []globTok {
	var toks []globTok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, globTok{kind: globLit, lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '*':
			flush()
			toks = append(toks, globTok{kind: globStar})
		case '?':
			flush()
			toks = append(toks, globTok{kind: globOne})
		case '\\':
			if i+1 < len(s) && (s[i+1] == '*' || s[i+1] == '?' || s[i+1] == '\\') {
				lit.WriteByte(s[i+1])
				i++
			} else {
				lit.WriteByte('\\')
			}
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return toks
}

// normGlob merges adjacent literals and stars, and folds literals when foldLits is set.
func normGlob(toks []globTok, foldLits bool) []globTok {
	out := make([]globTok, 0, len(toks))
	for _, t := range toks {
		if t.kind == globLit && foldLits {
			t.lit = fold(t.lit)
		}
		if n := len(out); n > 0 {
			last := &out[n-1]
			if t.kind == globStar && last.kind == globStar {
				continue
			}
			if t.kind == globLit && last.kind == globLit {
				last.lit += t.lit
				continue
			}
		}
		out = append(out, t)
	}
	return out
}

// windashVariants expands every flag dash of s (a '-' or '/' not preceded by a word
// character and followed by one: regex \B[-/]\b) into the five windashChars: 5^n
// variants, the original first.
func windashVariants(s string) []string {
	isWord := func(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }
	var positions []int
	prevWord := false
	for i, r := range s {
		if (r == '-' || r == '/') && !prevWord {
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			if i+1 < len(s) && isWord(next) {
				positions = append(positions, i)
			}
		}
		prevWord = isWord(r)
	}
	if len(positions) == 0 {
		return []string{s}
	}
	n := 1
	for range positions {
		n *= len(windashChars)
		if n > maxWindashVariants {
			return make([]string, n) // caller rejects by length
		}
	}
	out := []string{""}
	last := 0
	for _, p := range positions {
		seg := s[last:p]
		var next []string
		for _, prefix := range out {
			// The original dash first, so variant 0 is the value as written.
			orig := s[p : p+1]
			next = append(next, prefix+seg+orig)
			for _, d := range windashChars {
				if d != orig {
					next = append(next, prefix+seg+d)
				}
			}
		}
		out = next
		last = p + 1
	}
	for i := range out {
		out[i] += s[last:]
	}
	return out
}
