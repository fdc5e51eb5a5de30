package sigmaql

import (
	"regexp/syntax"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// The multi-pattern pass: every string leaf of a column is decided in one pass over the
// column's distinct values. Case-insensitive wildcard patterns (and number/boolean text
// compared with string columns) run against the value folded once per batch:
//
//   - whole-value literals ("L", and number or boolean text) through one hash map;
//   - "L*", "*L", "*L*" through one Aho-Corasick automaton over all the column's
//     literals, with the match position deciding prefix (start 0) and suffix (end at the
//     value's length);
//   - any other wildcard pattern through the automaton on its longest literal piece, then
//     verified with globMatch on the values where that piece occurs; patterns without a
//     literal piece are verified on every value;
//   - regular expressions behind their required literal (regexp/syntax), folded, in the
//     same automaton, then matched on the raw value; a regex without a usable literal
//     runs on every value.
//
// Case-sensitive patterns, numeric comparisons and CIDR leaves run their scalar kernel
// on every distinct value. The automaton is our own (match_automaton.go: a
// hybrid dense/sparse Aho-Corasick DFA over byte classes, allocation-free); see DESIGN.md.

// useKind is what an automaton hit on a literal means for one leaf.
type useKind uint8

const (
	useContains useKind = iota // the leaf holds
	usePrefix                  // the leaf holds when the literal starts the value
	useSuffix                  // the leaf holds when the literal ends the value
	useGlob                    // verify the leaf's wildcard pattern on the folded value
	useRegex                   // verify the leaf's regex on the raw value
)

type litUse struct {
	kind useKind
	leaf int32 // index into groupMatcher.items
}

// matchItem is one string predicate of a matcher with its scalar kernel.
type matchItem struct {
	pred *pred
	str  func(string) bool
}

// groupMatcher decides a set of string predicates per value. Its hits are indices into
// items; the owner maps them to leaves (one column group's leaves, or the keyword
// predicates shared by every string column).
type groupMatcher struct {
	items []matchItem
	ac    *automaton         // nil when the group has no automaton literal
	uses  [][]litUse         // by automaton pattern
	exact map[string][]int32 // folded whole value -> leaves
	// exactLen[n] is set when some key of exact has n bytes.
	exactLen []bool
	verify   []litUse // useGlob/useRegex leaves checked on every value
	scalar   []int32  // leaves decided by their own kernel on the raw value
	folds    bool     // some item reads the folded value
}

// buildMatcher builds the matcher of a set of string predicates.
func buildMatcher(items []matchItem) *groupMatcher {
	m := &groupMatcher{items: items, exact: map[string][]int32{}}
	litIdx := map[string]int{}
	var lits []string
	addLit := func(lit string, u litUse) {
		if lit == "" {
			// An empty literal occurs everywhere: verify the pattern on every value.
			m.verify = append(m.verify, litUse{useGlob, u.leaf})
			return
		}
		i, ok := litIdx[lit]
		if !ok {
			i = len(lits)
			litIdx[lit] = i
			lits = append(lits, lit)
			m.uses = append(m.uses, nil)
		}
		m.uses[i] = append(m.uses[i], u)
	}
	for id, l := range items {
		lid := int32(id)
		pr := l.pred
		switch {
		case pr.kind == predGlob && !pr.cased:
			m.folds = true
			toks := pr.glob
			switch shape := globShape(toks); shape {
			case "":
				m.exact[""] = append(m.exact[""], lid)
			case "L":
				m.exact[toks[0].lit] = append(m.exact[toks[0].lit], lid)
			case "L*":
				addLit(toks[0].lit, litUse{usePrefix, lid})
			case "*L":
				addLit(toks[1].lit, litUse{useSuffix, lid})
			case "*L*":
				addLit(toks[1].lit, litUse{useContains, lid})
			default:
				if lit := longestLit(toks); lit != "" {
					addLit(lit, litUse{useGlob, lid})
				} else {
					m.verify = append(m.verify, litUse{useGlob, lid})
				}
			}
		case pr.kind == predNum:
			m.folds = true
			m.exact[fold(pr.text)] = append(m.exact[fold(pr.text)], lid)
		case pr.kind == predBool:
			m.folds = true
			m.exact[pr.text] = append(m.exact[pr.text], lid)
		case pr.kind == predRegex:
			m.folds = true
			items[id].str = regexKernel(pr)
			if lit := regexRequiredLit(pr.text); lit != "" {
				addLit(fold(lit), litUse{useRegex, lid})
			} else {
				m.verify = append(m.verify, litUse{useRegex, lid})
			}
		default:
			m.scalar = append(m.scalar, lid)
		}
	}
	if len(lits) > 0 {
		m.ac = newAutomatonOpts(lits, automatonDenseBudget, true)
	}
	// exactLen[n] marks a whole-value literal of n bytes; values of other lengths skip
	// the lookup (and the fold it needs). Its length bounds the lengths it records.
	maxLen := -1
	for k := range m.exact {
		maxLen = max(maxLen, len(k))
	}
	m.exactLen = make([]bool, maxLen+1)
	for k := range m.exact {
		m.exactLen[len(k)] = true
	}
	return m
}

func globShape(toks []globTok) string {
	shape := make([]byte, len(toks))
	for i, t := range toks {
		shape[i] = "L*?"[t.kind]
	}
	return string(shape)
}

func longestLit(toks []globTok) string {
	best := ""
	for _, t := range toks {
		if t.kind == globLit && len(t.lit) > len(best) {
			best = t.lit
		}
	}
	return best
}

// regexRequiredLit returns a literal that every match of the RE2 source re contains,
// such that the folded value containing fold(literal) is necessary for a match; "" when
// there is none. Only literals that are direct parts of the top-level concatenation are
// required. A case-insensitive literal is usable only when folding maps every member of
// each of its runes' case orbits to the same rune (true for ASCII and most scripts).
func regexRequiredLit(re string) string {
	t, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return ""
	}
	t = t.Simplify()
	for t.Op == syntax.OpCapture {
		t = t.Sub[0]
	}
	var cands []*syntax.Regexp
	switch t.Op {
	case syntax.OpLiteral:
		cands = []*syntax.Regexp{t}
	case syntax.OpConcat:
		for _, s := range t.Sub {
			for s.Op == syntax.OpCapture {
				s = s.Sub[0]
			}
			if s.Op == syntax.OpLiteral {
				cands = append(cands, s)
			}
		}
	}
	best := ""
	for _, c := range cands {
		lit := string(c.Rune)
		if !utf8.ValidString(lit) {
			continue
		}
		if c.Flags&syntax.FoldCase != 0 && !foldsOrbits(c.Rune) {
			continue
		}
		if len(lit) > len(best) {
			best = lit
		}
	}
	return best
}

// foldsOrbits reports whether foldRune maps every rune of each rune's simple case-fold
// orbit to the same rune.
func foldsOrbits(rs []rune) bool {
	for _, r := range rs {
		f := foldRune(r)
		for o := unicode.SimpleFold(r); o != r; o = unicode.SimpleFold(o) {
			if foldRune(o) != f {
				return false
			}
		}
	}
	return true
}

// matchScratch is per-evaluation scratch space for groupMatcher.run.
type matchScratch struct {
	stamp []int32 // by leaf: 1 + the distinct value index that last marked the leaf
	tried []int32 // by leaf: 1 + the distinct value index that last verified the leaf
	hits  []int32
}

// newScratch returns scratch space for m.run.
func (m *groupMatcher) newScratch() *matchScratch {
	return &matchScratch{stamp: make([]int32, len(m.items)), tried: make([]int32, len(m.items))}
}

// run appends to sc.hits the items that hold for the value raw, each once; j is a
// number distinct for each value of one scratch's life. The folded value is built in
// *buf only when needed: an ASCII value is scanned raw when the automaton matches ASCII
// letters case-insensitively (folding ASCII keeps every byte offset), and folded only for
// a whole-value lookup of its length or a glob verification.
func (m *groupMatcher) run(raw string, buf *[]byte, j int32, sc *matchScratch) {
	stamp := j + 1
	mark := func(lid int32) {
		if sc.stamp[lid] != stamp {
			sc.stamp[lid] = stamp
			sc.hits = append(sc.hits, lid)
		}
	}
	folded, haveFolded := "", false
	foldedValue := func() string {
		if !haveFolded {
			folded, haveFolded = foldScratch(buf, raw), true
		}
		return folded
	}
	verify := func(u litUse) {
		// Each leaf is verified at most once per value, however often its literal occurs.
		if sc.tried[u.leaf] == stamp {
			return
		}
		sc.tried[u.leaf] = stamp
		l := &m.items[u.leaf]
		var ok bool
		if u.kind == useGlob {
			ok = globMatch(l.pred.glob, foldedValue())
		} else {
			ok = l.str(raw)
		}
		if ok {
			mark(u.leaf)
		}
	}
	if m.folds {
		text := raw
		ascii := isASCII(raw)
		if !ascii || m.ac == nil || !m.ac.foldASCII {
			text = foldedValue()
		}
		if len(m.exact) > 0 && (!ascii || len(raw) < len(m.exactLen) && m.exactLen[len(raw)]) {
			// Only values of a whole-value literal's length are folded for the lookup
			// (folding an ASCII value keeps its length).
			for _, lid := range m.exact[foldedValue()] {
				mark(lid)
			}
		}
		if m.ac != nil && text != "" {
			m.ac.scan(text, func(pat int32, end int) {
				for _, u := range m.uses[pat] {
					switch u.kind {
					case useContains:
						mark(u.leaf)
					case usePrefix:
						if m.ac.start(pat, end) == 0 {
							mark(u.leaf)
						}
					case useSuffix:
						if end == len(text) {
							mark(u.leaf)
						}
					default:
						verify(u)
					}
				}
			})
		}
		for _, u := range m.verify {
			verify(u)
		}
	}
	for _, lid := range m.scalar {
		if m.items[lid].str(raw) {
			mark(lid)
		}
	}
}

// isASCII reports whether s has only ASCII bytes, eight at a time.
func isASCII(s string) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if w&0x8080808080808080 != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// matcherCache shares built matchers between compilations: the same rules on the same
// field give the same predicate list for every schema that has the field, and building
// an automaton is most of a compilation's cost. A matcher is immutable, so sharing is
// safe. The cache is cleared when it reaches matcherCacheMax entries.
var matcherCache struct {
	sync.Mutex
	m map[string]*groupMatcher
}

// matcherCacheMax bounds the cached matchers (a few rulesets × their columns).
const matcherCacheMax = 4096

// cachedMatcher returns the matcher of items, building it on first use.
func cachedMatcher(items []matchItem) *groupMatcher {
	var sb strings.Builder
	for _, it := range items {
		sb.WriteString(it.pred.key)
		sb.WriteByte(0)
	}
	key := sb.String()
	matcherCache.Lock()
	m := matcherCache.m[key]
	matcherCache.Unlock()
	if m != nil {
		return m
	}
	m = buildMatcher(items)
	matcherCache.Lock()
	defer matcherCache.Unlock()
	if matcherCache.m == nil || len(matcherCache.m) >= matcherCacheMax {
		matcherCache.m = map[string]*groupMatcher{}
	}
	matcherCache.m[key] = m
	return m
}

// resetMatcherCache empties the shared matcher cache (cold-compile benchmarks).
func resetMatcherCache() {
	matcherCache.Lock()
	matcherCache.m = nil
	matcherCache.Unlock()
}

// regexKernel returns a kernel equivalent to pr.re.MatchString, specialised by the
// regex's shape: ".{n,}" (a line of at least n code points; seen in SigmaHQ, where RE2
// spends ~0.5 ms per long value on it) is a rune count, and every other regex is skipped
// on values shorter (in bytes) than its shortest match (in code points, each at least a
// byte) before RE2 runs.
func regexKernel(pr *pred) func(string) bool {
	re := pr.re
	t, err := syntax.Parse(pr.text, syntax.Perl)
	if err != nil {
		return re.MatchString
	}
	for t.Op == syntax.OpCapture {
		t = t.Sub[0]
	}
	if t.Op == syntax.OpRepeat && t.Max == -1 && len(t.Sub) == 1 {
		n := t.Min
		switch t.Sub[0].Op {
		case syntax.OpAnyCharNotNL:
			return func(s string) bool {
				for len(s) >= n {
					line := s
					if i := strings.IndexByte(s, '\n'); i >= 0 {
						line, s = s[:i], s[i+1:]
					} else {
						s = ""
					}
					if len(line) >= n && utf8.RuneCountInString(line) >= n {
						return true
					}
				}
				return false
			}
		case syntax.OpAnyChar:
			return func(s string) bool { return len(s) >= n && utf8.RuneCountInString(s) >= n }
		}
	}
	minLen := regexMinRunes(t)
	if minLen == 0 {
		return re.MatchString
	}
	return func(s string) bool { return len(s) >= minLen && re.MatchString(s) }
}

// regexMinRunes is the fewest code points any match of t spans (capped at 1<<20).
func regexMinRunes(t *syntax.Regexp) int {
	const limit = 1 << 20
	switch t.Op {
	case syntax.OpLiteral:
		return len(t.Rune)
	case syntax.OpCharClass, syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return 1
	case syntax.OpCapture, syntax.OpPlus:
		return regexMinRunes(t.Sub[0])
	case syntax.OpRepeat:
		return min(limit, t.Min*regexMinRunes(t.Sub[0]))
	case syntax.OpConcat:
		n := 0
		for _, s := range t.Sub {
			n = min(limit, n+regexMinRunes(s))
		}
		return n
	case syntax.OpAlternate:
		n := limit
		for _, s := range t.Sub {
			n = min(n, regexMinRunes(s))
		}
		return n
	}
	// Star, Quest, empty matches, anchors and boundaries span nothing.
	return 0
}
