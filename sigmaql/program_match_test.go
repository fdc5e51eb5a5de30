package sigmaql

import (
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
