package sigmaql

import "math/bits"

// Bitmaps are []uint64 with one bit per row, row r at word r/64, bit r%64. Throughout
// the Program a nil bitmap means "no row set"; bits past the batch length are always
// zero. Bitmaps returned by evaluation are read-only to their receiver: combinators clone
// before they write.

func bitmapWords(n int) int { return (n + bitmapWordBits - 1) / bitmapWordBits }

func bitmapSet(bm []uint64, i int) { bm[i>>6] |= 1 << (uint(i) & 63) }

func bitmapGet(bm []uint64, i int) bool { return bm[i>>6]&(1<<(uint(i)&63)) != 0 }

func bitmapEmpty(bm []uint64) bool {
	for _, w := range bm {
		if w != 0 {
			return false
		}
	}
	return true
}

func bitmapCount(bm []uint64) int {
	n := 0
	for _, w := range bm {
		n += bits.OnesCount64(w)
	}
	return n
}

func bitmapClone(bm []uint64) []uint64 { return append([]uint64(nil), bm...) }

// bitmapAndInto sets dst to dst AND src and reports whether dst is still non-empty.
func bitmapAndInto(dst, src []uint64) bool {
	var any uint64
	for i := range dst {
		dst[i] &= src[i]
		any |= dst[i]
	}
	return any != 0
}

func bitmapOrInto(dst, src []uint64) {
	for i := range dst {
		dst[i] |= src[i]
	}
}

// bitmapNot returns the complement of bm over n rows, or nil when it is empty.
func bitmapNot(bm []uint64, n int) []uint64 {
	out := make([]uint64, bitmapWords(n))
	var any uint64
	for i := range out {
		w := ^uint64(0)
		if bm != nil {
			w = ^bm[i]
		}
		out[i] = w
	}
	if rem := n % bitmapWordBits; rem != 0 {
		out[len(out)-1] &= (1 << uint(rem)) - 1
	}
	for _, w := range out {
		any |= w
	}
	if any == 0 {
		return nil
	}
	return out
}

// bitmapForEach calls f for every set row in increasing order.
func bitmapForEach(bm []uint64, f func(row int)) {
	for wi, w := range bm {
		for w != 0 {
			b := bits.TrailingZeros64(w)
			f(wi*bitmapWordBits + b)
			w &= w - 1
		}
	}
}

// bitmapAnd returns a AND b as a new bitmap, or nil when it is empty.
func bitmapAnd(a, b []uint64) []uint64 {
	out := make([]uint64, len(a))
	var any uint64
	for i := range out {
		out[i] = a[i] & b[i]
		any |= out[i]
	}
	if any == 0 {
		return nil
	}
	return out
}

// bitmapAndNot returns a AND NOT b as a new bitmap, or nil when it is empty.
func bitmapAndNot(a, b []uint64) []uint64 {
	out := make([]uint64, len(a))
	var any uint64
	for i := range out {
		out[i] = a[i] &^ b[i]
		any |= out[i]
	}
	if any == 0 {
		return nil
	}
	return out
}
