package sigmaql

import "github.com/apache/arrow-go/v18/arrow"

// Per-batch memory is recycled: an evalState (its per-leaf and per-column slices, the
// column views' row lists) is taken from the Program's pool and returned after the batch,
// and the bitmaps evaluation builds come from a wordArena owned by the goroutine that
// builds them. Without this, every batch allocated ~30 MB (4 KB per bitmap at 32k rows,
// several per rule) and the collector took ~10% of the CPU. Nothing allocated from a
// state or an arena outlives the Eval call that used it: matches are copied out.

// arenaChunkWords is the size of one arena chunk in words (512 KiB): a few hundred
// bitmaps of a 32k-row batch.
const arenaChunkWords = 1 << 16

// wordArena hands out zeroed []uint64 from chunks kept across batches; reset makes
// every chunk reusable. It is owned by one goroutine.
type wordArena struct {
	chunks [][]uint64
	ci     int // chunk being filled
	off    int // words used in chunks[ci]
}

// alloc returns n zeroed words, valid until the next reset.
func (a *wordArena) alloc(n int) []uint64 {
	for a.ci < len(a.chunks) {
		if c := a.chunks[a.ci]; a.off+n <= len(c) {
			s := c[a.off : a.off+n : a.off+n]
			a.off += n
			clear(s)
			return s
		}
		a.ci++
		a.off = 0
	}
	c := make([]uint64, max(n, arenaChunkWords))
	a.chunks = append(a.chunks, c)
	a.ci, a.off = len(a.chunks)-1, n
	return c[:n:n]
}

func (a *wordArena) reset() { a.ci, a.off = 0, 0 }

// bitmap returns an empty bitmap of the batch's rows from scr's arena.
func (st *evalState) bitmap(scr *evalScratch) []uint64 { return scr.arena.alloc(bitmapWords(st.n)) }

// and returns a AND b (nil when empty), from the evaluating goroutine's arena.
func (st *evalState) and(a, b []uint64) []uint64 {
	out := st.scr.arena.alloc(len(a))
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

// andNot returns a AND NOT b (nil when empty), from the evaluating goroutine's arena.
func (st *evalState) andNot(a, b []uint64) []uint64 {
	out := st.scr.arena.alloc(len(a))
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

// clone returns a copy of b from the evaluating goroutine's arena.
func (st *evalState) clone(b []uint64) []uint64 {
	out := st.scr.arena.alloc(len(b))
	copy(out, b)
	return out
}

// getEvalState returns a state for rec, recycled from the program's pool when possible.
func (p *Program) getEvalState(rec arrow.RecordBatch) *evalState {
	st, _ := p.statePool.Get().(*evalState)
	if st == nil {
		st = &evalState{
			p:        p,
			leafDone: make([]bool, len(p.leaves)),
			leafBits: make([][]uint64, len(p.leaves)),
			leafCare: make([][]uint64, len(p.leaves)),
			lsDone:   make([]bool, len(p.ls)),
			lsBits:   make([][]uint64, len(p.ls)),
			groups:   make([]groupState, len(p.groups)),
		}
	}
	st.rec, st.n = rec, int(rec.NumRows())
	st.all = bitmapNot(nil, st.n)
	return st
}

// putEvalState clears st of the batch (no reference to its data is kept) and returns it
// to the pool. The caller must not use st or any bitmap of it afterwards.
func (p *Program) putEvalState(st *evalState) {
	st.rec, st.all, st.fb = nil, nil, nil
	clear(st.leafDone)
	clear(st.leafBits)
	clear(st.leafCare)
	clear(st.lsDone)
	clear(st.lsBits)
	for i := range st.groups {
		gs := &st.groups[i]
		clear(gs.distinct)
		*gs = groupState{distinct: gs.distinct[:0], vrows: gs.vrows[:0], vidx: gs.vidx[:0]}
	}
	if st.kwScratch != nil {
		clear(st.kwScratch.stamp)
		clear(st.kwScratch.tried)
		st.kwScratch.hits = st.kwScratch.hits[:0]
	}
	st.kwSeq = 0
	st.scr.arena.reset()
	for _, w := range st.workers {
		w.arena.reset()
	}
	p.statePool.Put(st)
}
