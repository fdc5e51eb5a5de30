package sigmaql

import (
	"fmt"
	"net/netip"
	"regexp"
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

// itemMode is how an item's values are compared, decided by its modifiers.
type itemMode uint8

const (
	modeGlob itemMode = iota
	modeRe
	modeCmp
	modeExists
	modeCIDR
)

// parseItem parses one "field|modifiers: values" entry of a search map. keyNode is nil
// for the values of a keyword list.
func parseItem(keyNode, valNode *yaml.Node) (*item, *posError) {
	it := &item{line: valNode.Line, col: valNode.Column}
	var mods []string
	if keyNode != nil {
		it.line, it.col = keyNode.Line, keyNode.Column
		parts := strings.Split(keyNode.Value, "|")
		it.field = parts[0]
		mods = parts[1:]
		if it.field == "" {
			it.keyword = true
		}
	} else {
		it.keyword = true
	}
	it.mods = mods

	var (
		mode           = modeGlob
		pos            string // contains, startswith or endswith
		cased, windash bool
		reFlagSet      string
		cmpOp          string
		hasRe          bool
		otherThanAll   int
	)
	for _, m := range mods {
		if m != modAll {
			otherThanAll++
		}
		switch {
		case m == modAll:
			it.all = true
		case m == modContains || m == modStartswith || m == modEndswith:
			if pos != "" {
				return nil, errAt(keyNode, "modifiers '%s' and '%s' cannot be combined", pos, m)
			}
			pos = m
		case m == modCased:
			cased = true
		case m == modWindash:
			windash = true
		case m == modRe:
			hasRe = true
			mode = modeRe
		case reFlags[m] != "":
			if !hasRe {
				return nil, errAt(keyNode, "modifier '%s' is only valid after 're'", m)
			}
			reFlagSet += reFlags[m]
		case m == modExists:
			mode = modeExists
		case m == modLt || m == modLte || m == modGt || m == modGte:
			if cmpOp != "" {
				return nil, errAt(keyNode, "modifiers '%s' and '%s' cannot be combined", cmpOp, m)
			}
			cmpOp = m
			mode = modeCmp
		case m == modCIDR:
			mode = modeCIDR
		case notYetModifiers[m]:
			return nil, errAt(keyNode, "modifier '%s' is not supported yet", m)
		case m == "":
			return nil, errAt(keyNode, "empty modifier in '%s'", keyNode.Value)
		default:
			return nil, errAt(keyNode, "unknown modifier '%s'", m)
		}
	}
	// Combinations: the non-glob modes stand alone (apart from 'all' and regex flags).
	switch mode {
	case modeRe:
		if pos != "" || cased || windash || cmpOp != "" {
			return nil, errAt(keyNode, "modifier 're' cannot be combined with other match modifiers")
		}
	case modeExists, modeCmp, modeCIDR:
		if otherThanAll != 1 {
			return nil, errAt(keyNode, "modifier '%s' cannot be combined with other modifiers", strings.Join(mods, "|"))
		}
	}

	var values []*yaml.Node
	switch valNode.Kind {
	case yaml.ScalarNode:
		values = []*yaml.Node{valNode}
	case yaml.SequenceNode:
		if len(valNode.Content) == 0 {
			return nil, errAt(valNode, "empty value list")
		}
		for _, v := range valNode.Content {
			if v.Kind != yaml.ScalarNode {
				return nil, errAt(v, "a value list may only hold scalars")
			}
		}
		values = valNode.Content
	case yaml.AliasNode:
		return nil, errAt(valNode, "YAML aliases are not supported in detections")
	default:
		return nil, errAt(valNode, "a field's value must be a scalar or a list of scalars, not a mapping")
	}

	for _, v := range values {
		var alts []*pred
		var err *posError
		switch mode {
		case modeExists:
			if v.ShortTag() != "!!bool" {
				return nil, errAt(v, "'exists' needs true or false, got %q", v.Value)
			}
			alts = []*pred{{kind: predExists, b: v.Value == "true" || v.Value == "True" || v.Value == "TRUE"}}
		case modeCmp:
			f, isInt, i, ok := yamlNumber(v)
			if !ok {
				return nil, errAt(v, "'%s' needs a number, got %q", cmpOp, v.Value)
			}
			alts = []*pred{{kind: predCmp, op: cmpOp, f: f, isInt: isInt, i: i, text: v.Value}}
		case modeRe:
			if v.ShortTag() == "!!null" {
				return nil, errAt(v, "'re' needs a pattern, got null")
			}
			src := v.Value
			if reFlagSet != "" {
				src = "(?" + reFlagSet + ")" + src
			}
			re, rerr := regexp.Compile(src)
			if rerr != nil {
				return nil, errAt(v, "invalid regular expression %q: %v", v.Value, rerr)
			}
			alts = []*pred{{kind: predRegex, text: src, re: re}}
		case modeCIDR:
			p, perr := netip.ParsePrefix(strings.TrimSpace(v.Value))
			if perr != nil {
				return nil, errAt(v, "invalid network %q for 'cidr': %v", v.Value, perr)
			}
			p = p.Masked()
			alts = []*pred{{kind: predCIDR, text: p.String(), nets: []ipNet{p}}}
		default:
			alts, err = globPreds(v, it.keyword, pos, cased, windash, otherThanAll > 0)
			if err != nil {
				return nil, err
			}
		}
		for _, p := range alts {
			p.makeKey()
		}
		it.values = append(it.values, alts)
	}
	return it, nil
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

// globPreds turns one plain value into the preds it stands for: one, or several when
// 'windash' expands it. hasMods reports modifiers other than 'all' on the item.
func globPreds(v *yaml.Node, keyword bool, pos string, cased, windash, hasMods bool) ([]*pred, *posError) {
	tag := v.ShortTag()
	stringMods := pos != "" || cased || windash
	switch tag {
	case "!!null":
		if keyword {
			return nil, errAt(v, "null is not a valid keyword")
		}
		if hasMods {
			return nil, errAt(v, "null cannot be combined with modifiers")
		}
		return []*pred{{kind: predNull}}, nil
	case "!!bool":
		if !keyword && !stringMods {
			b := strings.EqualFold(v.Value, "true")
			return []*pred{{kind: predBool, b: b, text: strconv.FormatBool(b)}}, nil
		}
	case "!!int", "!!float":
		if !keyword && !stringMods {
			f, isInt, i, ok := yamlNumber(v)
			if ok {
				return []*pred{{kind: predNum, f: f, isInt: isInt, i: i, text: v.Value}}, nil
			}
		}
	}
	raw := v.Value
	variants := []string{raw}
	if windash {
		variants = windashVariants(raw)
		if len(variants) > maxWindashVariants {
			return nil, errAt(v, "'windash' expands %q into %d variants, more than %d", raw, len(variants), maxWindashVariants)
		}
	}
	if keyword && pos == "" {
		pos = modContains
	}
	out := make([]*pred, 0, len(variants))
	for _, s := range variants {
		toks := parseGlob(s)
		switch pos {
		case modContains:
			toks = append(append([]globTok{{kind: globStar}}, toks...), globTok{kind: globStar})
		case modStartswith:
			toks = append(toks, globTok{kind: globStar})
		case modEndswith:
			toks = append([]globTok{{kind: globStar}}, toks...)
		}
		toks = normGlob(toks, !cased)
		out = append(out, &pred{kind: predGlob, glob: toks, cased: cased, text: s})
	}
	return out, nil
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
