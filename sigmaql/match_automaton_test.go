package sigmaql

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveOccurrences lists every (literal, end) occurrence of lits in text with
// strings.Index, ordered by end then literal.
func naiveOccurrences(lits []string, text string) [][2]int {
	var out [][2]int
	for pi, l := range lits {
		for off := 0; off+len(l) <= len(text); off++ {
			if strings.HasPrefix(text[off:], l) {
				out = append(out, [2]int{off + len(l), pi})
			}
		}
	}
	slices.SortFunc(out, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return out
}

func automatonOccurrences(a *automaton, text string) [][2]int {
	var out [][2]int
	a.scan(text, func(pat int32, end int) { out = append(out, [2]int{end, int(pat)}) })
	slices.SortFunc(out, func(a, b [2]int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		return a[1] - b[1]
	})
	return out
}

func TestAutomaton(t *testing.T) {
	f := func(lits []string, text string) {
		t.Helper()
		a := newAutomaton(lits)
		got, want := automatonOccurrences(a, text), naiveOccurrences(lits, text)
		if !slices.Equal(got, want) {
			t.Fatalf("lits %q text %q: got %v; want %v", lits, text, got, want)
		}
	}
	f([]string{"he", "she", "his", "hers"}, "ushers")
	f([]string{"a", "aa", "aaa"}, "aaaa")
	f([]string{"\\", "\\cmd", "cmd.exe"}, "c:\\windows\\system32\\cmd.exe /c")
	f([]string{"ab", "ab"}, "xabab")
	f([]string{"x"}, "")
	f([]string{"σ", "ς", "κ"}, "σςκσ")
	f([]string{"\xff", "\x00a"}, "\x00a\xff\xff")
}

// TestAutomatonRandom compares the automaton with strings.Index on random literal sets
// over small alphabets (many overlaps and shared prefixes), with dense tables both
// complete and cut to a few states (the sparse, failure-link path).
func TestAutomatonRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	word := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for iter := 0; iter < 300; iter++ {
		alpha := []string{"ab", "abc", "a\\.x", "\x00\x80\xffa"}[iter%4]
		var lits []string
		for range 1 + rng.IntN(40) {
			lits = append(lits, word(alpha, 1+rng.IntN(6)))
		}
		text := word(alpha, rng.IntN(200))
		a := newAutomaton(lits)
		if got, want := automatonOccurrences(a, text), naiveOccurrences(lits, text); !slices.Equal(got, want) {
			t.Fatalf("lits %q text %q: got %v; want %v", lits, text, got, want)
		}
		// Same literals with only the root dense: every deeper step is sparse.
		b := newAutomatonBudget(lits, 1)
		if got, want := automatonOccurrences(b, text), naiveOccurrences(lits, text); !slices.Equal(got, want) {
			t.Fatalf("sparse: lits %q text %q: got %v; want %v", lits, text, got, want)
		}
	}
}

func TestAutomatonAllBytes(t *testing.T) {
	var lits []string
	for b := 0; b < 256; b++ {
		lits = append(lits, string([]byte{byte(b), byte(255 - b)}))
	}
	text := string([]byte{0, 255, 0, 7, 248, 7, 255, 0})
	a := newAutomaton(lits)
	if got, want := automatonOccurrences(a, text), naiveOccurrences(lits, text); !slices.Equal(got, want) {
		t.Fatalf("got %v; want %v", got, want)
	}
}

// TestAutomatonFoldASCII checks that an automaton built with foldASCII finds in a raw
// ASCII text exactly the occurrences its literals have in the text's lower case, and
// that it refuses the option when a literal has an upper-case ASCII byte.
func TestAutomatonFoldASCII(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const alpha = "aAbBc\\.Zz"
	word := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for iter := 0; iter < 300; iter++ {
		var lits []string
		for range 1 + rng.IntN(30) {
			lits = append(lits, strings.ToLower(word(1+rng.IntN(5))))
		}
		text := word(rng.IntN(150))
		for _, budget := range []int{automatonDenseBudget, 1} {
			a := newAutomatonOpts(lits, budget, true)
			if !a.foldASCII {
				t.Fatalf("lits %q: foldASCII refused; want granted (no upper-case literal)", lits)
			}
			if got, want := automatonOccurrences(a, text), naiveOccurrences(lits, strings.ToLower(text)); !slices.Equal(got, want) {
				t.Fatalf("budget %d lits %q text %q: got %v; want %v", budget, lits, text, got, want)
			}
		}
	}
	a := newAutomatonOpts([]string{"ab", "Cd"}, automatonDenseBudget, true)
	if a.foldASCII {
		t.Fatalf("foldASCII granted with literal %q; want refused", "Cd")
	}
	if got, want := automatonOccurrences(a, "AB ab cd Cd"), naiveOccurrences([]string{"ab", "Cd"}, "AB ab cd Cd"); !slices.Equal(got, want) {
		t.Fatalf("got %v; want %v", got, want)
	}
}

// TestAutomatonLongText compares the automaton with strings.Index on texts long enough
// for the lockstep scan (two halves, the second starting maxLen-1 bytes early), with
// occurrences placed across the middle, and with dense and sparse tables.
func TestAutomatonLongText(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	word := func(alpha string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[rng.IntN(len(alpha))]
		}
		return string(b)
	}
	for iter := 0; iter < 200; iter++ {
		alpha := []string{"ab", "abcd", "a\\.x"}[iter%3]
		var lits []string
		for range 1 + rng.IntN(20) {
			lits = append(lits, word(alpha, 1+rng.IntN(12)))
		}
		n := scanSplitMin + rng.IntN(3000)
		text := word(alpha, n)
		// Put a literal across the middle, where the two walks meet.
		l := lits[rng.IntN(len(lits))]
		at := max(0, n/2-rng.IntN(len(l)+1))
		text = text[:at] + l + text[min(len(text), at+len(l)):]
		for _, budget := range []int{automatonDenseBudget, 3} {
			a := newAutomatonBudget(lits, budget)
			if got, want := automatonOccurrences(a, text), naiveOccurrences(lits, text); !slices.Equal(got, want) {
				t.Fatalf("budget %d lits %q text %q: got %d occurrences; want %d", budget, lits, text, len(got), len(want))
			}
		}
	}
}
