package planner

import (
	"strings"
	"unicode/utf8"
)

// suggest returns the candidate closest to name by case-insensitive Levenshtein
// distance, or "" when none is close enough to be a plausible typo: the distance must
// be at most a third of the name's length (and at least 1, at most 3).
func suggest(name string, candidates []string) string {
	limit := utf8.RuneCountInString(name) / 3
	if limit < 1 {
		limit = 1
	}
	if limit > 3 {
		limit = 3
	}
	best, bestD := "", limit+1
	lname := strings.ToLower(name)
	for _, c := range candidates {
		d := levenshtein(lname, strings.ToLower(c))
		if d < bestD || (d == bestD && best != "" && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// levenshtein returns the edit distance between a and b in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
