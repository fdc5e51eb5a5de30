package planner

import (
	"math/rand"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// likeReference is the plain recursive LIKE matcher the kernels are checked against,
// memoised on (len(s), len(pattern)) so that fuzzed patterns full of '%' stay fast.
func likeReference(s, pattern string, escape rune) bool {
	return likeRef(s, pattern, escape, map[[2]int]bool{})
}

func likeRef(s, pattern string, escape rune, memo map[[2]int]bool) bool {
	key := [2]int{len(s), len(pattern)}
	if v, ok := memo[key]; ok {
		return v
	}
	v := likeStep(s, pattern, escape, memo)
	memo[key] = v
	return v
}

func likeStep(s, pattern string, escape rune, memo map[[2]int]bool) bool {
	likeReference := func(s, pattern string, escape rune) bool { return likeRef(s, pattern, escape, memo) }
	if pattern == "" {
		return s == ""
	}
	r, size := utf8.DecodeRuneInString(pattern)
	rest := pattern[size:]
	switch {
	case r == escape && rest != "":
		_, n := utf8.DecodeRuneInString(rest)
		lit := rest[:n]
		return len(s) >= len(lit) && s[:len(lit)] == lit && likeReference(s[len(lit):], rest[n:], escape)
	case r == '%':
		for i := 0; ; {
			if likeReference(s[i:], rest, escape) {
				return true
			}
			if i >= len(s) {
				return false
			}
			_, n := utf8.DecodeRuneInString(s[i:])
			i += n
		}
	case r == '_':
		if s == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(s)
		return likeReference(s[n:], rest, escape)
	}
	lit := pattern[:size]
	return len(s) >= len(lit) && s[:len(lit)] == lit && likeReference(s[len(lit):], rest, escape)
}

func TestLikeKinds(t *testing.T) {
	f := func(pattern string, kind likeKind, lit string) {
		t.Helper()
		m, err := compileLike(pattern, '\\')
		if err != nil {
			t.Fatal(err)
		}
		if m.kind != kind || (kind != likeGeneric && m.lit != lit) {
			t.Fatalf("%q: got %s %q; want %s %q", pattern, likeKindName[m.kind], m.lit, likeKindName[kind], lit)
		}
	}
	f(`abc`, likeEquals, "abc")
	f(``, likeEquals, "")
	f(`abc%`, likePrefix, "abc")
	f(`%abc`, likeSuffix, "abc")
	f(`%abc%`, likeContains, "abc")
	f(`%%abc%%`, likeContains, "abc")
	f(`%`, likeAny, "")
	f(`%%`, likeAny, "")
	f(`a\%b%`, likePrefix, "a%b")
	f(`a\_b`, likeEquals, "a_b")
	f(`a_c`, likeGeneric, "")
	f(`a%c`, likeGeneric, "")
	f(`%a%c%`, likeGeneric, "")
}

// randLikeString draws from a small alphabet so that matches are frequent, including
// wildcards, the escape character and a multi-byte character.
func randLikeString(rng *rand.Rand, alphabet []string, n int) string {
	s := ""
	for i := rng.Intn(n + 1); i > 0; i-- {
		s += alphabet[rng.Intn(len(alphabet))]
	}
	return s
}

func TestLikeAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	values := []string{"a", "b", "é", "%", "_"}
	patterns := []string{"a", "b", "é", "%", "_", "\\"}
	for i := 0; i < 20000; i++ {
		s := randLikeString(rng, values, 6)
		pat := randLikeString(rng, patterns, 5)
		m, err := compileLike(pat, '\\')
		if err != nil {
			continue // ends with the escape character
		}
		if got, want := m.match(s), likeReference(s, pat, '\\'); got != want {
			t.Fatalf("%q LIKE %q (%s): got %v; want %v", s, pat, likeKindName[m.kind], got, want)
		}
	}
}

// TestLikeKernelArrays runs the array kernels (Utf8 fast path, Utf8View and dictionary
// paths) with NULLs against the reference.
func TestLikeKernelArrays(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	mem := memory.DefaultAllocator
	vals := make([]string, 300)
	valid := make([]bool, len(vals))
	for i := range vals {
		vals[i] = randLikeString(rng, []string{"a", "b", "é", "ab"}, 5)
		valid[i] = rng.Intn(7) != 0
	}
	sb := array.NewStringBuilder(mem)
	sb.AppendValues(vals, valid)
	utf8Arr := sb.NewArray()
	defer utf8Arr.Release()
	vb := array.NewStringViewBuilder(mem)
	vb.AppendValues(vals, valid)
	viewArr := vb.NewArray()
	defer viewArr.Release()
	for _, pat := range []string{"a%", "%b", "%ab%", "ab", "%", "a_%", "%é_", "_", "%a%b%"} {
		m, err := compileLike(pat, '\\')
		if err != nil {
			t.Fatal(err)
		}
		var want []int32
		for i := range vals {
			if valid[i] && likeReference(vals[i], pat, '\\') {
				want = append(want, int32(i))
			}
		}
		for name, arr := range map[string]interface{ Len() int }{"utf8": utf8Arr, "view": viewArr} {
			_ = arr
			a := utf8Arr
			if name == "view" {
				a = viewArr
			}
			got := selectLike(m, a, identitySel(len(vals)), true, nil)
			if len(got) != len(want) {
				t.Fatalf("%s LIKE %q: got %d rows; want %d", name, pat, len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s LIKE %q: got %v; want %v", name, pat, got, want)
				}
			}
		}
	}
}

func FuzzLike(f *testing.F) {
	f.Add("abc", "a%c", "\\")
	f.Add("a_c", `a\_c`, "\\")
	f.Add("é", "_", "!")
	f.Add("aaa", "%a%a%a%", "\\")
	f.Fuzz(func(t *testing.T, s, pattern, esc string) {
		escape, _ := utf8.DecodeRuneInString(esc)
		if esc == "" || escape == '%' || escape == '_' {
			escape = '\\'
		}
		if !utf8.ValidString(s) || !utf8.ValidString(pattern) || len(s) > 512 || len(pattern) > 64 {
			return
		}
		m, err := compileLike(pattern, escape)
		if err != nil {
			return
		}
		refEscape := escape
		if escape == 0 {
			refEscape = -1 // ESCAPE '' (NUL): no escape character
		}
		if got, want := m.match(s), likeReference(s, pattern, refEscape); got != want {
			t.Fatalf("%q LIKE %q ESCAPE %q (%s): got %v; want %v", s, pattern, escape, likeKindName[m.kind], got, want)
		}
	})
}
