package sigmaql

import (
	"unicode/utf8"
	"unsafe"
)

// foldScratch returns fold(s), built in *buf when s changes under folding: the result is
// only valid until the next call with the same buf and must not be retained (map keys,
// slices kept past the value's pass). It is the engine's allocation-free fold: one
// buffer per evaluation instead of one string per distinct value.
func foldScratch(buf *[]byte, s string) string {
	// Fast path: ASCII without upper case is its own fold.
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
	b := append((*buf)[:0], s[:i]...)
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
			continue
		}
		// Slow path: non-ASCII through foldRune; invalid bytes are kept.
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			b = append(b, c)
		} else {
			b = utf8.AppendRune(b, foldRune(r))
		}
		i += w
	}
	*buf = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}
