package server

import "testing"

func TestLike(t *testing.T) {
	f := func(pattern, s string, want bool) {
		t.Helper()
		if got := likeMatch(&pattern, s); got != want {
			t.Fatalf("%q LIKE %q: got %v; want %v", s, pattern, got, want)
		}
	}
	f("%", "", true)
	f("%", "events", true)
	f("ev%", "events", true)
	f("ev%", "xevents", false)
	f("even_s", "events", true)
	f("even_s", "evens", false)
	f("%nt%", "events", true)
	f(`a\_b`, "a_b", true)
	f(`a\_b`, "axb", false)
	f("public", "Public", false)
	if !likeMatch(nil, "anything") {
		t.Fatal("a nil pattern must match everything")
	}
}
