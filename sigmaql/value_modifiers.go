package sigmaql

import (
	"encoding/base64"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// itemMode is how an item's values are compared, decided by its modifiers.
type itemMode uint8

const (
	modeGlob itemMode = iota
	modeRe
	modeCmp
	modeExists
	modeCIDR
	modeFieldRef
	modeTimePart
)

// modSpec is an item's modifier chain after validation. Encoders (windash, the utf16
// family, base64, base64offset) transform each value in chain order before the position
// modifier (contains, startswith, endswith) wraps it in wildcards.
type modSpec struct {
	mode     itemMode
	pos      string // contains, startswith or endswith
	cased    bool
	encoders []string
	reFlags  string
	cmpOp    string
	timePart string
	all      bool
	expand   bool
	neq      bool
	// valueMods reports modifiers that change how a value is compared (everything except
	// all, neq and expand): null and booleans cannot take them.
	valueMods bool
}

// parseMods validates an item's modifier chain. keyNode locates errors.
func parseMods(keyNode *yaml.Node, mods []string) (modSpec, *posError) {
	var sp modSpec
	var hasRe bool
	standalone := "" // a mode modifier that admits only all/neq (and re flags) beside it
	others := 0      // modifiers other than all, neq, expand and re flags
	for _, m := range mods {
		switch {
		case m == modAll:
			sp.all = true
			continue
		case m == modNeq:
			sp.neq = true
			continue
		case m == modExpand:
			sp.expand = true
			continue
		case reFlags[m] != "":
			if !hasRe {
				return sp, errAt(keyNode, "modifier '%s' is only valid after 're'", m)
			}
			sp.reFlags += reFlags[m]
			continue
		}
		others++
		switch {
		case m == modContains || m == modStartswith || m == modEndswith:
			if sp.pos != "" {
				return sp, errAt(keyNode, "modifiers '%s' and '%s' cannot be combined", sp.pos, m)
			}
			sp.pos = m
		case m == modCased:
			sp.cased = true
		case m == modWindash:
			if len(sp.encoders) > 0 {
				return sp, errAt(keyNode, "'windash' must come before '%s' in '%s'", sp.encoders[0], keyNode.Value)
			}
			sp.encoders = append(sp.encoders, m)
		case encodingModifiers[m]:
			if sp.pos != "" {
				return sp, errAt(keyNode, "'%s' must come before '%s': the position modifier applies to the encoded value", m, sp.pos)
			}
			for _, e := range sp.encoders {
				if (e == modBase64 || e == modBase64Offset) && utf16Encodings[m] != nil {
					return sp, errAt(keyNode, "'%s' after '%s' would encode base64 text as UTF-16; write '%s|%s'", m, e, m, e)
				}
				if (e == modBase64 || e == modBase64Offset) && (m == modBase64 || m == modBase64Offset) {
					return sp, errAt(keyNode, "'%s' and '%s' cannot be combined", e, m)
				}
			}
			sp.encoders = append(sp.encoders, m)
		case m == modRe:
			hasRe = true
			sp.mode = modeRe
			standalone = m
		case m == modExists:
			sp.mode = modeExists
			standalone = m
		case m == modLt || m == modLte || m == modGt || m == modGte:
			if sp.cmpOp != "" {
				return sp, errAt(keyNode, "modifiers '%s' and '%s' cannot be combined", sp.cmpOp, m)
			}
			sp.cmpOp = m
			sp.mode = modeCmp
			standalone = m
		case m == modCIDR:
			sp.mode = modeCIDR
			standalone = m
		case m == modFieldRef:
			sp.mode = modeFieldRef
		case timeParts[m]:
			if sp.timePart != "" {
				return sp, errAt(keyNode, "modifiers '%s' and '%s' cannot be combined", sp.timePart, m)
			}
			sp.timePart = m
			sp.mode = modeTimePart
			standalone = m
		case m == "":
			return sp, errAt(keyNode, "empty modifier in '%s'", keyNode.Value)
		default:
			return sp, errAt(keyNode, "unknown modifier '%s' in '%s'; supported: %s", m, keyNode.Value, supportedModifierList)
		}
	}
	sp.valueMods = others > 0
	switch {
	case sp.mode == modeRe:
		if sp.pos != "" || sp.cased || len(sp.encoders) > 0 || sp.expand {
			return sp, errAt(keyNode, "modifier 're' cannot be combined with other match modifiers (only i, m, s, all, neq)")
		}
	case standalone != "":
		if others != 1 || sp.expand {
			return sp, errAt(keyNode, "modifier '%s' cannot be combined with other modifiers in '%s'", standalone, keyNode.Value)
		}
	case sp.mode == modeFieldRef:
		if len(sp.encoders) > 0 || sp.expand {
			return sp, errAt(keyNode, "'fieldref' only combines with contains, startswith, endswith, cased, all and neq")
		}
	}
	for _, e := range sp.encoders {
		if e == modBase64Offset && sp.pos != modContains {
			return sp, errAt(keyNode, "'base64offset' must be followed by 'contains': its variants are fragments of a longer base64 text")
		}
	}
	return sp, nil
}

// parseItem parses one "field|modifiers: values" entry of a search map. keyNode is nil
// for the values of a keyword list. Values of an 'expand' item are compiled only once the
// placeholders are known (compileItem with the pipeline's variables).
func parseItem(keyNode, valNode *yaml.Node) (*item, *posError) {
	valNode = deref(valNode)
	it := &item{line: valNode.Line, col: valNode.Column}
	if keyNode != nil {
		it.line, it.col = keyNode.Line, keyNode.Column
		parts := strings.Split(keyNode.Value, "|")
		it.field = parts[0]
		it.mods = parts[1:]
		it.keyword = it.field == ""
	} else {
		it.keyword = true
		keyNode = &yaml.Node{Kind: yaml.ScalarNode, Line: valNode.Line, Column: valNode.Column}
	}
	sp, err := parseMods(keyNode, it.mods)
	if err != nil {
		return nil, err
	}
	if it.keyword && sp.mode != modeGlob && sp.mode != modeRe {
		return nil, errAt(keyNode, "keywords (values without a field) cannot use '%s'", strings.Join(it.mods, "|"))
	}
	if it.keyword && sp.neq {
		return nil, errAt(keyNode, "keywords (values without a field) cannot use 'neq'; negate the search in the condition with 'not'")
	}
	it.spec = sp
	switch valNode.Kind {
	case yaml.ScalarNode:
		it.src = []*yaml.Node{valNode}
	case yaml.SequenceNode:
		if len(valNode.Content) == 0 {
			return nil, errAt(valNode, "empty value list")
		}
		for _, v := range valNode.Content {
			v = deref(v)
			if v.Kind != yaml.ScalarNode {
				return nil, errAt(v, "a value list may only hold scalars")
			}
			if v.ShortTag() == "!!null" && len(valNode.Content) > 1 {
				it.warnings = append(it.warnings, errAt(v, "null inside a value list: the specification wants null alone in its own selection"))
			}
			it.src = append(it.src, v)
		}
	default:
		return nil, errAt(valNode, "a field's value must be a scalar or a list of scalars, not a mapping")
	}
	if sp.all && len(it.src) == 1 && !it.keyword {
		it.warnings = append(it.warnings, errAt(keyNode, "'all' on a single value has no effect"))
	}
	if !sp.expand {
		if err := compileItem(it, nil); err != nil {
			return nil, err
		}
	}
	return it, nil
}

// deref follows a YAML alias to its anchored node.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// compileItem (re)builds it.values from it.src and it.spec. vars holds placeholder values
// for 'expand' items; an unresolved placeholder is an error naming it.
func compileItem(it *item, vars map[string][]string) *posError {
	sp := it.spec
	it.values = it.values[:0:0]
	for _, v := range it.src {
		alts, err := valuePreds(it, v, vars)
		if err != nil {
			return err
		}
		if sp.neq {
			// pySigma negates the whole detection item: NOT (v1 OR v2 ...).
			alts = []*pred{{kind: predNot, sub: alts}}
		}
		for _, p := range alts {
			p.makeKey()
		}
		it.values = append(it.values, alts)
	}
	// NOT (a OR b) = (NOT a) AND (NOT b), and NOT (a AND b) = (NOT a) OR (NOT b).
	it.all = sp.all != sp.neq
	if len(it.values) == 1 {
		it.all = false
	}
	return nil
}

// valuePreds turns one value of an item into the preds it stands for (OR).
func valuePreds(it *item, v *yaml.Node, vars map[string][]string) ([]*pred, *posError) {
	sp := it.spec
	switch sp.mode {
	case modeExists:
		if v.ShortTag() != "!!bool" {
			return nil, errAt(v, "'exists' needs true or false, got %q", v.Value)
		}
		return []*pred{{kind: predExists, b: strings.EqualFold(v.Value, "true")}}, nil
	case modeCmp:
		f, isInt, i, ok := yamlNumber(v)
		if !ok {
			return nil, errAt(v, "'%s' needs a number, got %q", sp.cmpOp, v.Value)
		}
		return []*pred{{kind: predCmp, op: sp.cmpOp, f: f, isInt: isInt, i: i, text: v.Value}}, nil
	case modeRe:
		if v.ShortTag() == "!!null" {
			return nil, errAt(v, "'re' needs a pattern, got null")
		}
		src := v.Value
		if sp.reFlags != "" {
			src = "(?" + sp.reFlags + ")" + src
		}
		re, err := regexp.Compile(src)
		if err != nil {
			return nil, errAt(v, "invalid regular expression %q: %v", v.Value, err)
		}
		return []*pred{{kind: predRegex, text: src, re: re}}, nil
	case modeCIDR:
		p, err := netip.ParsePrefix(strings.TrimSpace(v.Value))
		if err != nil {
			return nil, errAt(v, "invalid network %q for 'cidr': %v", v.Value, err)
		}
		p = p.Masked()
		return []*pred{{kind: predCIDR, text: p.String(), nets: []ipNet{p}}}, nil
	case modeFieldRef:
		if v.ShortTag() == "!!null" || v.Value == "" {
			return nil, errAt(v, "'fieldref' needs the name of another field")
		}
		if strings.ContainsAny(v.Value, "*?") {
			return nil, errAt(v, "'fieldref' field name %q cannot contain wildcards", v.Value)
		}
		return []*pred{{kind: predFieldRef, text: v.Value, op: sp.pos, cased: sp.cased}}, nil
	case modeTimePart:
		if v.ShortTag() != "!!int" {
			return nil, errAt(v, "'%s' needs an integer, got %q", sp.timePart, v.Value)
		}
		_, _, i, ok := yamlNumber(v)
		if !ok {
			return nil, errAt(v, "'%s' needs an integer, got %q", sp.timePart, v.Value)
		}
		return []*pred{{kind: predTimePart, op: sp.timePart, i: i, isInt: true, text: v.Value}}, nil
	}
	return globPreds(it, v, vars)
}

// globVariant is one string variant of a value on its way through the encoders: the raw
// Sigma text (wildcards and escapes as written) until an encoder parses it into tokens.
type globVariant struct {
	raw    string
	toks   []globTok
	parsed bool
}

func (g *globVariant) tokens() []globTok {
	if !g.parsed {
		g.toks, g.parsed = parseGlob(g.raw), true
	}
	return g.toks
}

// globPreds turns one plain value into its preds: one, or several when windash,
// base64offset or placeholders expand it.
func globPreds(it *item, v *yaml.Node, vars map[string][]string) ([]*pred, *posError) {
	sp := it.spec
	switch v.ShortTag() {
	case "!!null":
		if it.keyword {
			return nil, errAt(v, "null is not a valid keyword")
		}
		if sp.valueMods || sp.expand {
			return nil, errAt(v, "null cannot be combined with modifiers")
		}
		return []*pred{{kind: predNull}}, nil
	case "!!bool":
		if !it.keyword && !sp.valueMods && !sp.expand {
			b := strings.EqualFold(v.Value, "true")
			return []*pred{{kind: predBool, b: b, text: strconv.FormatBool(b)}}, nil
		}
	case "!!int", "!!float":
		if !it.keyword && !sp.valueMods && !sp.expand {
			if f, isInt, i, ok := yamlNumber(v); ok {
				return []*pred{{kind: predNum, f: f, isInt: isInt, i: i, text: v.Value}}, nil
			}
		}
	}
	raws := []string{v.Value}
	if sp.expand {
		var err *posError
		raws, err = expandPlaceholders(v, vars)
		if err != nil {
			return nil, err
		}
	}
	variants := make([]globVariant, 0, len(raws))
	for _, r := range raws {
		variants = append(variants, globVariant{raw: r})
	}
	for _, enc := range sp.encoders {
		var next []globVariant
		for _, g := range variants {
			out, err := encodeVariant(v, enc, g)
			if err != nil {
				return nil, err
			}
			next = append(next, out...)
		}
		variants = next
		if len(variants) > maxValueVariants {
			return nil, errAt(v, "value %q expands into %d variants, more than %d", v.Value, len(variants), maxValueVariants)
		}
	}
	pos := sp.pos
	if it.keyword && pos == "" {
		pos = modContains
	}
	out := make([]*pred, 0, len(variants))
	for i := range variants {
		g := &variants[i]
		toks := g.tokens()
		for _, t := range toks {
			if t.kind == globLit && !utf8.ValidString(t.lit) {
				return nil, errAt(v, "the UTF-16 form of %q is not text; follow the utf16 modifier with base64 or base64offset", v.Value)
			}
		}
		switch pos {
		case modContains:
			toks = append(append([]globTok{{kind: globStar}}, toks...), globTok{kind: globStar})
		case modStartswith:
			toks = append(append([]globTok(nil), toks...), globTok{kind: globStar})
		case modEndswith:
			toks = append([]globTok{{kind: globStar}}, toks...)
		}
		toks = normGlob(toks, !sp.cased)
		text := g.raw
		if g.parsed {
			text = globText(g.toks)
		}
		out = append(out, &pred{kind: predGlob, glob: toks, cased: sp.cased, text: text})
	}
	return out, nil
}

// encodeVariant applies one encoder to one variant.
func encodeVariant(v *yaml.Node, enc string, g globVariant) ([]globVariant, *posError) {
	switch enc {
	case modWindash:
		var out []globVariant
		ws := windashVariants(g.raw)
		if len(ws) > maxWindashVariants {
			return nil, errAt(v, "'windash' expands %q into %d variants, more than %d", g.raw, len(ws), maxWindashVariants)
		}
		for _, w := range ws {
			out = append(out, globVariant{raw: w})
		}
		return out, nil
	case modBase64, modBase64Offset:
		toks := g.tokens()
		var lit strings.Builder
		for _, t := range toks {
			if t.kind != globLit {
				return nil, errAt(v, "'%s' cannot encode the wildcards in %q; escape * and ? with a backslash", enc, v.Value)
			}
			lit.WriteString(t.lit)
		}
		b := []byte(lit.String())
		if enc == modBase64 {
			s := base64.StdEncoding.EncodeToString(b)
			return []globVariant{{toks: []globTok{{kind: globLit, lit: s}}, parsed: true}}, nil
		}
		var out []globVariant
		for _, s := range base64OffsetVariants(b) {
			out = append(out, globVariant{toks: []globTok{{kind: globLit, lit: s}}, parsed: true})
		}
		return out, nil
	default: // the utf16 family
		encode := utf16Encodings[enc]
		toks := g.tokens()
		out := make([]globTok, len(toks))
		for i, t := range toks {
			out[i] = t
			if t.kind == globLit {
				out[i].lit = encode(t.lit)
			}
		}
		if enc == modUTF16 {
			// The byte order mark goes once in front of the whole value.
			out = append([]globTok{{kind: globLit, lit: "\xff\xfe"}}, out...)
		}
		return []globVariant{{toks: out, parsed: true}}, nil
	}
}

// base64OffsetVariants returns the three base64 fragments of b at byte offsets 0, 1 and 2
// inside a longer base64 text, exactly as pySigma computes them:
// b64(" "*i + b)[start[i] : end[(len(b)+i) % 3]] with start = (0, 2, 3) and
// end = (none, -3, -2).
func base64OffsetVariants(b []byte) []string {
	start := [3]int{0, 2, 3}
	end := [3]int{0, -3, -2} // 0 = to the end
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), b...))
		hi := len(enc)
		if e := end[(len(b)+i)%3]; e != 0 {
			hi = len(enc) + e
		}
		lo := start[i]
		if lo > hi {
			lo = hi
		}
		out = append(out, enc[lo:hi])
	}
	return out
}

// utf16Encodings maps each utf16 modifier to its encoder of a literal; the result is the
// encoded bytes held in a Go string.
var utf16Encodings = map[string]func(string) string{
	modWide:    utf16LE,
	modUTF16LE: utf16LE,
	modUTF16:   utf16LE, // plus a byte order mark in front of the value (encodeVariant)
	modUTF16BE: utf16BE,
}

func utf16LE(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return string(b)
}

func utf16BE(s string) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u))
	for _, c := range u {
		b = append(b, byte(c>>8), byte(c))
	}
	return string(b)
}

// globText renders tokens back into Sigma text (wildcards, escaped literals).
func globText(toks []globTok) string {
	var sb strings.Builder
	for _, t := range toks {
		switch t.kind {
		case globLit:
			r := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`)
			sb.WriteString(r.Replace(t.lit))
		case globStar:
			sb.WriteByte('*')
		case globOne:
			sb.WriteByte('?')
		}
	}
	return sb.String()
}

// placeholderRe finds %name% placeholders; a backslash before % escapes it.
var placeholderRe = regexp.MustCompile(`(\\?)%([^%\s]+)%`)

// placeholderNames returns the placeholders of an 'expand' value, in order.
func placeholderNames(s string) []string {
	var out []string
	for _, m := range placeholderRe.FindAllStringSubmatch(s, -1) {
		if m[1] == "" {
			out = append(out, m[2])
		}
	}
	return out
}

// expandPlaceholders replaces every %name% of v by each of its values (the cartesian
// product when a value holds several), and `\%` by '%'. Values are Sigma strings: their
// wildcards stay wildcards.
func expandPlaceholders(v *yaml.Node, vars map[string][]string) ([]string, *posError) {
	s := v.Value
	locs := placeholderRe.FindAllStringSubmatchIndex(s, -1)
	out := []string{""}
	last := 0
	for _, l := range locs {
		if l[3] > l[2] { // escaped: \%name% is literal text
			continue
		}
		name := s[l[4]:l[5]]
		vals, ok := vars[name]
		if !ok || len(vals) == 0 {
			return nil, errAt(v, "placeholder without a value: '%%%s%%'; give values in a placeholder file (rules check --placeholders FILE) or in a pipeline's value_placeholders vars", name)
		}
		seg := unescapePercent(s[last:l[0]])
		var next []string
		for _, prefix := range out {
			for _, val := range vals {
				next = append(next, prefix+seg+val)
			}
		}
		if len(next) > maxValueVariants {
			return nil, errAt(v, "placeholders of %q expand into more than %d values", s, maxValueVariants)
		}
		out = next
		last = l[1]
	}
	tail := unescapePercent(s[last:])
	for i := range out {
		out[i] += tail
	}
	return out, nil
}

func unescapePercent(s string) string { return strings.ReplaceAll(s, `\%`, "%") }
