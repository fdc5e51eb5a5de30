package sigmaql

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// foldRune maps r to its case-insensitive canonical form: the lower case of its upper
// case, so that 'K', 'k' and KELVIN SIGN fold alike, as do 'Σ', 'σ' and 'ς'. The mapping
// is rune to rune, so folding keeps the number of code points ('?' stays one code point).
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}
	return unicode.ToLower(unicode.ToUpper(r))
}

// fold returns s case-folded with foldRune. Invalid UTF-8 bytes are kept as they are.
func fold(s string) string {
	// Fast path: ASCII without upper case needs no copy.
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			break
		}
	}
	if i == len(s) {
		return s
	}
	// Slow path: rewrite from the first byte that may change.
	var sb strings.Builder
	sb.Grow(len(s))
	sb.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			sb.WriteByte(c)
			i++
			continue
		}
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			sb.WriteByte(s[i])
		} else {
			sb.WriteRune(foldRune(r))
		}
		i += w
	}
	return sb.String()
}
