package planner

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// LIKE is specialised the CockroachDB way: at bind time the pattern is classified and
// the common shapes get a kernel that is one library call per row (HasPrefix, HasSuffix,
// Contains, ==); only patterns with '_' or a '%' in the middle take the generic matcher.
// Matching is case-sensitive (standard SQL), '_' matches one UTF-8 character, and the
// escape character (default '\', as in MySQL/TiDB; ESCAPE changes it) makes the next
// pattern character literal.

// likeKind is the kernel a pattern was specialised into.
type likeKind uint8

const (
	likeEquals   likeKind = iota // no wildcard
	likePrefix                   // abc%
	likeSuffix                   // %abc
	likeContains                 // %abc%
	likeAny                      // % (every non-NULL value)
	likeGeneric                  // anything with _ or an inner %
)

var likeKindName = [...]string{likeEquals: "equals", likePrefix: "prefix", likeSuffix: "suffix",
	likeContains: "contains", likeAny: "any", likeGeneric: "generic"}

// likeElem is one pattern element of a generic segment: a literal character (its bytes)
// or '_' (any one character).
type likeElem struct {
	lit string
	any bool
}

// likeMatcher is a compiled LIKE pattern.
type likeMatcher struct {
	kind likeKind
	// lit is the literal of the specialised kinds.
	lit string
	// segs are the generic pattern split at '%' runs: segs[0] is anchored at the
	// start, segs[len-1] at the end; with one segment the whole value must match.
	segs [][]likeElem
	// lead is the literal each generic segment starts with ("" if it starts with
	// '_'): the search for a middle segment jumps between its occurrences with
	// strings.Index instead of trying every position.
	lead []string
	// lastChars is the length in characters of the last segment.
	lastChars int
}

// mergeLiterals joins adjacent literal elements so that a segment compares whole
// literal runs at once.
func mergeLiterals(seg []likeElem) []likeElem {
	var out []likeElem
	for _, e := range seg {
		if n := len(out); n > 0 && !e.any && !out[n-1].any {
			out[n-1].lit += e.lit
			continue
		}
		out = append(out, e)
	}
	return out
}

// compileLike classifies pattern. The only error is a pattern ending in the escape
// character.
func compileLike(pattern string, escape rune) (*likeMatcher, error) {
	segs := [][]likeElem{nil}
	hasUnderscore := false
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		switch {
		case escape != 0 && r == escape:
			if i+size >= len(pattern) {
				return nil, fmt.Errorf("LIKE pattern %s must not end with the escape character %q", sqlString(pattern), escape)
			}
			_, n := utf8.DecodeRuneInString(pattern[i+size:])
			segs[len(segs)-1] = append(segs[len(segs)-1], likeElem{lit: pattern[i+size : i+size+n]})
			i += size + n
			continue
		case r == '%':
			if last := segs[len(segs)-1]; len(segs) == 1 || len(last) > 0 {
				segs = append(segs, nil)
			}
		case r == '_':
			hasUnderscore = true
			segs[len(segs)-1] = append(segs[len(segs)-1], likeElem{any: true})
		default:
			segs[len(segs)-1] = append(segs[len(segs)-1], likeElem{lit: pattern[i : i+size]})
		}
		i += size
	}
	m := &likeMatcher{kind: likeGeneric, segs: segs}
	m.lead = make([]string, len(segs))
	m.lastChars = len(segs[len(segs)-1])
	for i, seg := range segs {
		segs[i] = mergeLiterals(seg)
		if len(segs[i]) > 0 && !segs[i][0].any {
			m.lead[i] = segs[i][0].lit
		}
	}
	if hasUnderscore {
		return m, nil
	}
	litOf := func(seg []likeElem) string {
		var b strings.Builder
		for _, e := range seg {
			b.WriteString(e.lit)
		}
		return b.String()
	}
	switch {
	case len(segs) == 1:
		m.kind, m.lit = likeEquals, litOf(segs[0])
	case len(segs) == 2 && len(segs[0]) == 0 && len(segs[1]) == 0:
		m.kind = likeAny
	case len(segs) == 2 && len(segs[1]) == 0:
		m.kind, m.lit = likePrefix, litOf(segs[0])
	case len(segs) == 2 && len(segs[0]) == 0:
		m.kind, m.lit = likeSuffix, litOf(segs[1])
	case len(segs) == 3 && len(segs[0]) == 0 && len(segs[2]) == 0:
		m.kind, m.lit = likeContains, litOf(segs[1])
	}
	return m, nil
}

// match reports whether s matches the pattern.
func (m *likeMatcher) match(s string) bool {
	switch m.kind {
	case likeEquals:
		return s == m.lit
	case likePrefix:
		return strings.HasPrefix(s, m.lit)
	case likeSuffix:
		return strings.HasSuffix(s, m.lit)
	case likeContains:
		return strings.Contains(s, m.lit)
	case likeAny:
		return true
	}
	return m.matchGeneric(s)
}

// matchGeneric matches prefix segment, suffix segment, then each middle segment at its
// leftmost position; since every segment has a fixed length in characters, leftmost
// placement never loses a match.
func (m *likeMatcher) matchGeneric(s string) bool {
	segs := m.segs
	if len(segs) == 1 {
		n, ok := matchSegAt(segs[0], s, 0)
		return ok && n == len(s)
	}
	pos, ok := matchSegAt(segs[0], s, 0)
	if !ok {
		return false
	}
	last := segs[len(segs)-1]
	limit := len(s)
	for k := m.lastChars; k > 0; k-- {
		if limit <= pos {
			return false
		}
		_, size := utf8.DecodeLastRuneInString(s[:limit])
		limit -= size
	}
	if limit < pos {
		return false
	}
	if n, ok := matchSegAt(last, s, limit); !ok || n != len(s) {
		return false
	}
	for k, seg := range segs[1 : len(segs)-1] {
		found := false
		lead := m.lead[k+1]
		for p := pos; p <= limit; {
			if lead != "" {
				// Fast path: jump to the next occurrence of the segment's literal.
				i := strings.Index(s[p:limit], lead)
				if i < 0 {
					return false
				}
				p += i
			}
			if n, ok := matchSegAt(seg, s[:limit], p); ok {
				pos, found = n, true
				break
			}
			if p == limit {
				break
			}
			_, size := utf8.DecodeRuneInString(s[p:limit])
			p += size
		}
		if !found {
			return false
		}
	}
	return true
}

// matchSegAt matches seg at byte offset pos of s and returns the offset after it.
func matchSegAt(seg []likeElem, s string, pos int) (int, bool) {
	for _, e := range seg {
		if pos >= len(s) {
			return 0, false
		}
		if e.any {
			_, size := utf8.DecodeRuneInString(s[pos:])
			pos += size
			continue
		}
		if !strings.HasPrefix(s[pos:], e.lit) {
			return 0, false
		}
		pos += len(e.lit)
	}
	return pos, true
}

// likeExpr is x [NOT] LIKE pattern [ESCAPE c] with a constant pattern.
type likeExpr struct {
	x       *colRef
	pattern string
	escape  rune
	not     bool
	m       *likeMatcher
}

func (e *likeExpr) dataType() arrow.DataType { return arrow.FixedWidthTypes.Boolean }
func (e *likeExpr) String() string {
	kw := " LIKE "
	if e.not {
		kw = " NOT LIKE "
	}
	s := e.x.String() + kw + sqlString(e.pattern)
	if e.escape != '\\' {
		s += " ESCAPE " + sqlString(string(e.escape))
	}
	return s + " [" + likeKindName[e.m.kind] + "]"
}

func (e *likeExpr) selectRows(b *batch, sel []int32, want bool, out []int32) []int32 {
	return selectLike(e.m, b.cols[e.x.idx], sel, want != e.not, out)
}

// selectLike appends the valid rows of sel whose match result equals wantMatch.
func selectLike(m *likeMatcher, arr arrow.Array, sel []int32, wantMatch bool, out []int32) []int32 {
	hasNulls := arr.NullN() > 0
	switch a := arr.(type) {
	case *array.String:
		// Fast path: plain Utf8, one specialised loop per kernel.
		switch m.kind {
		case likeContains:
			for _, r := range sel {
				if (!hasNulls || a.IsValid(int(r))) && strings.Contains(a.Value(int(r)), m.lit) == wantMatch {
					out = append(out, r)
				}
			}
			return out
		case likePrefix:
			for _, r := range sel {
				if (!hasNulls || a.IsValid(int(r))) && strings.HasPrefix(a.Value(int(r)), m.lit) == wantMatch {
					out = append(out, r)
				}
			}
			return out
		case likeSuffix:
			for _, r := range sel {
				if (!hasNulls || a.IsValid(int(r))) && strings.HasSuffix(a.Value(int(r)), m.lit) == wantMatch {
					out = append(out, r)
				}
			}
			return out
		case likeEquals:
			for _, r := range sel {
				if (!hasNulls || a.IsValid(int(r))) && (a.Value(int(r)) == m.lit) == wantMatch {
					out = append(out, r)
				}
			}
			return out
		}
		for _, r := range sel {
			if (!hasNulls || a.IsValid(int(r))) && m.match(a.Value(int(r))) == wantMatch {
				out = append(out, r)
			}
		}
		return out
	case *array.Dictionary:
		return selectDict(a, sel, wantMatch, out, func(dict arrow.Array, dsel []int32, w bool, o []int32) []int32 {
			return selectLike(m, dict, dsel, w, o)
		})
	}
	// Slow path: LargeUtf8 and Utf8View through an accessor.
	get, ok := stringGetter(arr)
	if !ok {
		panic(fmt.Sprintf("BUG: no LIKE kernel for %s", arr.DataType()))
	}
	for _, r := range sel {
		if (!hasNulls || arr.IsValid(int(r))) && m.match(get(int(r))) == wantMatch {
			out = append(out, r)
		}
	}
	return out
}
