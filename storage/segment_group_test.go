package storage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestGroupKeysMatchesSortAndCut: the groups groupKeys makes, each sorted, are exactly
// what sorting all the rows by (window, shard, ts, arrival) and cutting each (window,
// shard) run into pieces of (n+parts-1)/parts rows gives (the way seals were cut before:
// full row groups). Inputs with many equal timestamps, sorted, reversed and random,
// one to several buckets, pieces smaller and larger than the buckets.
func TestGroupKeysMatchesSortAndCut(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for c := 0; c < 300; c++ {
		n := 1 + rng.IntN(5000)
		buckets := 1 + rng.IntN(4)
		tsRange := 1 + rng.IntN(3*n)
		order := c % 3 // 0 random, 1 ascending ts, 2 descending ts
		keys := make([]keyed, n)
		for i := range keys {
			ts := int64(rng.IntN(tsRange))
			switch order {
			case 1:
				ts = int64(i * tsRange / n)
			case 2:
				ts = int64((n - i) * tsRange / n)
			}
			bk := rng.IntN(buckets)
			keys[i] = keyed{rowRef{uint32(i / 97), uint32(i % 97)}, int64(bk/2) * 3600, uint16(bk % 2), ts}
		}
		piece := 1 + rng.IntN(n+n/2)
		name := fmt.Sprintf("case %d (n=%d buckets=%d piece=%d order=%d)", c, n, buckets, piece, order)

		// The reference: sort everything, cut each run.
		want := slices.Clone(keys)
		slices.SortFunc(want, func(a, b keyed) int {
			if a.win != b.win {
				return cmpOrdered(a.win, b.win)
			}
			if a.shard != b.shard {
				return int(a.shard) - int(b.shard)
			}
			if keyedLess(a, b) {
				return -1
			}
			if keyedLess(b, a) {
				return 1
			}
			return 0
		})
		var wantGroups []group
		for start := 0; start < n; {
			end := start + 1
			for end < n && want[end].win == want[start].win && want[end].shard == want[start].shard {
				end++
			}
			for m := end - start; start < end; {
				parts := (m + piece - 1) / piece
				next := min(end, start+(m+parts-1)/parts)
				wantGroups = append(wantGroups, group{start, next})
				start = next
			}
		}

		got, groups := groupKeys(slices.Clone(keys), piece)
		if !slices.Equal(groups, wantGroups) {
			t.Fatalf("%s: groups %v; want %v", name, groups, wantGroups)
		}
		for _, g := range groups {
			sortKeyed(got[g.start:g.end])
		}
		if !slices.Equal(got, want) {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("%s: row %d is %+v; want %+v", name, i, got[i], want[i])
				}
			}
		}
	}
}

// TestSelectKeyedAdversarial: inputs that defeat a median-of-three pivot still end
// with the k-th row in place (the sort fallback), every k.
func TestSelectKeyedAdversarial(t *testing.T) {
	const n = 257
	for k := 0; k < n; k++ {
		rows := make([]keyed, n)
		for i := range rows {
			// Organ pipe: ascending then descending timestamps.
			ts := min(i, n-1-i)
			rows[i] = keyed{ref: rowRef{0, uint32(i)}, ts: int64(ts)}
		}
		want := slices.Clone(rows)
		sortKeyed(want)
		selectKeyed(rows, k)
		if rows[k] != want[k] {
			t.Fatalf("k=%d: %+v; want %+v", k, rows[k], want[k])
		}
		for i := range rows {
			if (i < k && keyedLess(rows[k], rows[i])) || (i > k && keyedLess(rows[i], rows[k])) {
				t.Fatalf("k=%d: row %d (%+v) on the wrong side of %+v", k, i, rows[i], rows[k])
			}
		}
	}
}
