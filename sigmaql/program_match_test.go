package sigmaql

import (
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"regexp"
	"strings"
	"testing"
)

// TestRegexKernel checks the specialised regex kernels against RE2 itself.
func TestRegexKernel(t *testing.T) {
	values := []string{
		"", "a", "abc", strings.Repeat("x", 9), strings.Repeat("x", 10), strings.Repeat("é", 10),
		strings.Repeat("é", 5), strings.Repeat("x", 5) + "\n" + strings.Repeat("y", 5),
		strings.Repeat("x", 4) + "\n" + strings.Repeat("y", 10), strings.Repeat("\xff", 10),
		"\n\n\n\n\n\n\n\n\n\n\n", "cmd.exe /c whoami", "0123456789abcdef",
	}
	f := func(src string) {
		t.Helper()
		re := regexp.MustCompile(src)
		k := regexKernel(&pred{kind: predRegex, text: src, re: re})
		for _, v := range values {
			if got, want := k(v), re.MatchString(v); got != want {
				t.Errorf("regex %q on %q: got %v; want %v", src, v, got, want)
			}
		}
	}
	f(`.{10,}`)
	f(`(.{10,})`)
	f(`(?s).{10,}`)
	f(`(?i).{3,}`)
	f(`.{0,}`)
	f(`x{10,}`)
	f(`whoami`)
	f(`(?:abc|\d{5,})`)
	f(`^$`)
	f(`\s[a-f0-9]{4}`)
	f(`[0-9a-f]{16}|cmd`)
	f(`a*`)
	f(`\bx+`)
}

// TestFoldScratch checks the engine's scratch fold against fold, reusing one buffer.
func TestFoldScratch(t *testing.T) {
	var buf []byte
	f := func(s string) {
		t.Helper()
		if got, want := foldScratch(&buf, s), fold(s); got != want {
			t.Errorf("foldScratch(%q) = %q; want %q", s, got, want)
		}
	}
	f("")
	f("abc")
	f("ABC")
	f("C:\\Windows\\System32\\CMD.EXE")
	f("ΣΑΣ σς")
	f("KELVIN \u212a")
	f("İstanbul")
	f("bad \xff\xfe UTF-8 Ä")
	f(strings.Repeat("Ab", 1000))
	f("short")
	f("ǅǄǆ ẞß")
}

// TestArrowValidWords checks the validity bitmap against IsValid on slices at aligned
// and unaligned offsets.
func TestArrowValidWords(t *testing.T) {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	for i := range 1000 {
		if i%3 == 0 || i%7 == 0 {
			b.AppendNull()
		} else {
			b.Append("v")
		}
	}
	full := b.NewArray()
	defer full.Release()
	for _, r := range [][2]int64{{0, 1000}, {64, 1000}, {128, 200}, {8, 13}, {3, 900}, {0, 0}, {512, 1000}} {
		a := array.NewSlice(full, r[0], r[1])
		n := a.Len()
		got := arrowValidWords(a, n)
		for i := range n {
			if bitmapGet(got, i) != a.IsValid(i) {
				t.Fatalf("slice %v row %d: got valid=%v; want %v", r, i, bitmapGet(got, i), a.IsValid(i))
			}
		}
		if n%64 != 0 && len(got) > 0 && got[len(got)-1]>>(uint(n)%64) != 0 {
			t.Fatalf("slice %v: bits set past the last row", r)
		}
		a.Release()
	}
}
