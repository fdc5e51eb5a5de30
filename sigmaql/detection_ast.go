package sigmaql

import (
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// detection is the parsed detection section of a rule: named searches and the condition
// that combines them, plus the logsource condition the routing table adds.
type detection struct {
	searches map[string]*search
	names    []string // search identifiers in declaration order
	cond     condNode
	// logsource holds the items (AND) the logsource routing adds to the rule; empty when
	// the rule's logsource is unmapped.
	logsource []*item
	// warnings are lint findings (the rule still loads).
	warnings []*posError
}

// search is one search identifier: an OR over alternatives, each an AND over items. A
// map is one alternative, a list of maps several, a keyword list one keyword item.
type search struct {
	name      string
	line, col int
	alts      [][]*item
}

// item is one detection item: a field (empty for keywords), its modifiers and its values.
// The values are OR-ed, or AND-ed when all is set; each value is an OR over its variants
// (one pred, or several when 'windash' expands it). A keyword item matches when a value
// matches any string column of the event.
type item struct {
	field     string
	keyword   bool
	mods      []string
	all       bool
	values    [][]*pred
	line, col int

	// spec and src are the validated modifier chain and the value nodes as written; the
	// pipeline rewrites src (replace_string, placeholders) and compileItem rebuilds values.
	spec     modSpec
	src      []*yaml.Node
	warnings []*posError
}

// predKind is the kind of comparison a pred performs against one event value.
type predKind uint8

const (
	predGlob     predKind = iota // string pattern with wildcards, case-folded unless cased
	predNum                      // numeric equality (string columns: equality with text)
	predBool                     // boolean equality (string columns: "true"/"false")
	predNull                     // value is null or the field is absent
	predRegex                    // RE2 search over the value's string form
	predCmp                      // numeric lt/lte/gt/gte
	predExists                   // field present with a non-null value (or not, if !b)
	predCIDR                     // IP address inside a network
	predNot                      // none of sub matches (neq)
	predFieldRef                 // value equals (op: contains/startswith/endswith) field text
	predTimePart                 // the op part (minute..year) of a timestamp value equals i
)

// globKind is the kind of one token of a parsed wildcard pattern.
type globKind uint8

const (
	globLit  globKind = iota // literal text (already case-folded unless the pred is cased)
	globStar                 // '*': any sequence of code points, including none
	globOne                  // '?': exactly one code point
)

// globTok is one token of a wildcard pattern.
type globTok struct {
	kind globKind
	lit  string
}

// pred is one value of a detection item after its modifiers are applied: the leaf of both
// evaluators. Two preds with the same key mean the same predicate on any field.
type pred struct {
	kind  predKind
	key   string
	text  string    // scalar text: number/bool form for string columns, regex source
	glob  []globTok // predGlob
	cased bool      // predGlob: compare without case folding
	isInt bool      // predNum/predCmp: value is an integer held in i
	i     int64
	f     float64 // predNum/predCmp: value as float64
	b     bool    // predBool, predExists
	op    string  // predCmp: lt, lte, gt, gte
	re    *regexp.Regexp
	nets  []ipNet // predCIDR
	sub   []*pred // predNot
}

// makeKey fills p.key from the pred's defining fields.
func (p *pred) makeKey() {
	var sb strings.Builder
	sb.WriteString(strconv.Itoa(int(p.kind)))
	sb.WriteByte(':')
	switch p.kind {
	case predGlob:
		if p.cased {
			sb.WriteString("cased:")
		}
		for _, t := range p.glob {
			switch t.kind {
			case globLit:
				sb.WriteString(strconv.Quote(t.lit))
			case globStar:
				sb.WriteByte('*')
			case globOne:
				sb.WriteByte('?')
			}
		}
	case predNum:
		sb.WriteString(p.text)
	case predBool, predExists:
		sb.WriteString(strconv.FormatBool(p.b))
	case predRegex:
		sb.WriteString(p.text)
	case predCmp:
		sb.WriteString(p.op)
		sb.WriteByte(' ')
		sb.WriteString(p.text)
	case predCIDR:
		sb.WriteString(p.text)
	case predNot:
		sb.WriteByte('(')
		for i, q := range p.sub {
			if i > 0 {
				sb.WriteByte('|')
			}
			if q.key == "" {
				q.makeKey()
			}
			sb.WriteString(q.key)
		}
		sb.WriteByte(')')
	case predFieldRef:
		if p.cased {
			sb.WriteString("cased:")
		}
		sb.WriteString(p.op)
		sb.WriteByte(' ')
		sb.WriteString(strconv.Quote(p.text))
	case predTimePart:
		sb.WriteString(p.op)
		sb.WriteByte(' ')
		sb.WriteString(strconv.FormatInt(p.i, 10))
	}
	p.key = sb.String()
}

// condNode is a node of a parsed condition. at is the byte offset in the condition text.
type condNode interface {
	String() string
}

type condAnd struct{ xs []condNode }
type condOr struct{ xs []condNode }
type condNot struct{ x condNode }
type condIdent struct {
	name string
	at   int
}

// condOf is "1 of X", "any of X", "all of X" or the same with "them".
type condOf struct {
	all     bool
	pattern string // "them" for all identifiers
	at      int
}

func (c *condAnd) String() string { return joinCond(c.xs, " and ") }
func (c *condOr) String() string  { return joinCond(c.xs, " or ") }
func (c *condNot) String() string { return "not " + c.x.String() }
func (c *condIdent) String() string {
	return c.name
}
func (c *condOf) String() string {
	if c.all {
		return "all of " + c.pattern
	}
	return "1 of " + c.pattern
}

func joinCond(xs []condNode, sep string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = x.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}

// ofTargets returns the search identifiers, in declaration order, that the pattern of an
// "x of" selects: '*' matches any run of characters; identifiers starting with '_' are
// only selected when the pattern starts with '_'; "them" selects every identifier not
// starting with '_'.
func ofTargets(names []string, pattern string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, "_") && !strings.HasPrefix(pattern, "_") {
			continue
		}
		if pattern == "them" || identGlob(pattern, n) {
			out = append(out, n)
		}
	}
	return out
}

// identGlob matches an identifier against a pattern where '*' is the only wildcard.
func identGlob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
