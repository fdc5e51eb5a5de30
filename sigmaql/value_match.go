package sigmaql

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// stringKernel returns the Program's matcher for p over one value's string form, and
// whether it wants the case-folded form. Wildcard patterns are specialised by shape
// into equality, prefix, suffix and substring kernels; the rest use globMatch.
func stringKernel(p *pred) (fn func(string) bool, wantFold bool) {
	switch p.kind {
	case predGlob:
		return globKernel(p.glob), !p.cased
	case predNum:
		want := fold(p.text)
		return func(s string) bool { return s == want }, true
	case predBool:
		want := p.text
		return func(s string) bool { return s == want }, true
	case predRegex:
		return p.re.MatchString, false
	case predCmp:
		return func(s string) bool {
			f, err := strconv.ParseFloat(s, 64)
			return err == nil && compareFloat(p.op, f, p.f)
		}, false
	case predCIDR:
		nets := p.nets
		return func(s string) bool {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return false
			}
			for _, n := range nets {
				if n.Contains(a) {
					return true
				}
			}
			return false
		}, false
	}
	panic("BUG: pred kind has no string kernel")
}

// globKernel specialises a wildcard pattern by its shape.
func globKernel(toks []globTok) func(string) bool {
	shape := make([]byte, len(toks))
	for i, t := range toks {
		shape[i] = "L*?"[t.kind]
	}
	switch string(shape) {
	case "":
		return func(s string) bool { return s == "" }
	case "L":
		lit := toks[0].lit
		return func(s string) bool { return s == lit }
	case "*":
		return func(string) bool { return true }
	case "L*":
		lit := toks[0].lit
		return func(s string) bool { return strings.HasPrefix(s, lit) }
	case "*L":
		lit := toks[1].lit
		return func(s string) bool { return strings.HasSuffix(s, lit) }
	case "*L*":
		lit := toks[1].lit
		return func(s string) bool { return strings.Contains(s, lit) }
	}
	return func(s string) bool { return globMatch(toks, s) }
}

// globMatch matches s against a wildcard pattern, backtracking only to the last star.
func globMatch(toks []globTok, s string) bool {
	ti, si := 0, 0
	starTi, starSi := -1, 0
	for {
		if ti < len(toks) {
			t := toks[ti]
			switch t.kind {
			case globStar:
				starTi, starSi = ti, si
				ti++
				continue
			case globLit:
				if strings.HasPrefix(s[si:], t.lit) {
					si += len(t.lit)
					ti++
					continue
				}
			case globOne:
				if si < len(s) {
					_, w := utf8.DecodeRuneInString(s[si:])
					si += w
					ti++
					continue
				}
			}
		} else if si == len(s) {
			return true
		}
		// Mismatch: let the last star swallow one more code point, or fail.
		if starTi < 0 || starSi >= len(s) {
			return false
		}
		_, w := utf8.DecodeRuneInString(s[starSi:])
		starSi += w
		ti, si = starTi+1, starSi
	}
}

// compareFloat applies a comparison modifier to a and b.
func compareFloat(op string, a, b float64) bool {
	switch op {
	case modLt:
		return a < b
	case modLte:
		return a <= b
	case modGt:
		return a > b
	case modGte:
		return a >= b
	}
	panic("BUG: unknown comparison " + op)
}

// compareInt applies a comparison modifier to a and b.
func compareInt(op string, a, b int64) bool {
	switch op {
	case modLt:
		return a < b
	case modLte:
		return a <= b
	case modGt:
		return a > b
	case modGte:
		return a >= b
	}
	panic("BUG: unknown comparison " + op)
}
