package sigmaql

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// evalState is the per-batch state of one Eval call: leaf bitmaps computed so far and
// the per-column views shared by a column's leaves. It is owned by one goroutine.
type evalState struct {
	p        *Program
	rec      arrow.RecordBatch
	n        int
	all      []uint64 // every row of the batch
	leafDone []bool
	leafBits [][]uint64
	// leafCare is, for fallback leaves, the rows already decided (leafBits is exact on
	// them); fallback leaves are only decided on rows some rule still cares about.
	leafCare [][]uint64
	lsDone   []bool
	lsBits   [][]uint64
	groups   []groupState
	fb       *fallbackEvents
	// kwScratch and kwSeq serve keyword searches (keywordBitmap).
	kwScratch *matchScratch
	kwSeq     int32
	// scr is the scratch space of the goroutine evaluating the rules; workers are the
	// other goroutines' of a parallel Eval (program_arena.go).
	scr     evalScratch
	workers []*evalScratch
}

// evalScratch is one goroutine's scratch space for column passes.
type evalScratch struct {
	// foldBuf is the scratch buffer of foldScratch.
	foldBuf []byte
	// dedup deduplicates one column's values at a time (stringView).
	dedup dedupTable
	// arena holds the bitmaps this goroutine builds for the batch.
	arena wordArena
}

// groupState holds one column's per-batch views, each built on first use.
type groupState struct {
	validReady bool
	valid      []uint64 // non-null rows; nil when none

	strReady bool
	distinct []string // distinct string forms of the non-null values
	vrows    []int32  // the non-null rows, increasing
	vidx     []int32  // vidx[k] is the index into distinct of row vrows[k]
	passDone bool     // stringGroup has decided the group's matcher items

	// Keyword search state (keywordSearch). With kwView, values are identified by their
	// index into distinct (kwRun marks those searched); without, by kwSeen, built only
	// over the rows searched. kwHits holds each value's keyword leaves that hold.
	kwInit bool
	kwView bool
	kwDone []uint64 // rows keyword preds have been decided on
	kwRun  []bool
	kwSeen map[string]int32
	kwHits [][]int32

	numReady bool
	nums     []numValue // typed numeric values by row (numeric columns)
	bools    []bool     // typed values by row (boolean columns)
}

// numValue is a numeric value: an int64 when it is an integer that fits, else a float64.
type numValue struct {
	isInt bool
	i     int64
	f     float64
}

// Eval runs the program over rec and returns the matches ordered by row, then rule.
func (p *Program) Eval(ctx context.Context, rec arrow.RecordBatch) (out []Match, err error) {
	if err := p.checkSchema(rec.Schema()); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %v", ErrKernel, r)
		}
	}()
	n := int(rec.NumRows())
	if n == 0 {
		return nil, nil
	}
	workers := min(runtime.GOMAXPROCS(0), n/parallelMinRows)
	if workers <= 1 {
		return p.evalRows(ctx, rec)
	}
	// Parallel path: the column passes (most of the work) run concurrently, one column
	// at a time per goroutine, then the rules are evaluated over the decided leaves. Each
	// distinct value is thus searched once per batch, as on one goroutine; splitting the
	// batch into row ranges instead repeated the distinct-value work of every range.
	st := p.getEvalState(rec)
	if err := st.parallelPasses(ctx, workers); err != nil {
		return nil, err
	}
	out, err = st.run(ctx)
	if err == nil {
		p.putEvalState(st)
	}
	return out, err
}

// parallelPasses runs, on workers goroutines, the column pass of every string group some
// rule needs on this batch: a group read by a rule whose logsource selects some row.
// Logsources are decided first, on the calling goroutine. Passes are handed out largest
// column first (bytes of string data), so one long column does not finish last.
func (st *evalState) parallelPasses(ctx context.Context, workers int) error {
	p := st.p
	for li := range p.ls {
		st.lsBits[li], st.lsDone[li] = st.eval(p.ls[li], st.all), true
	}
	need := make([]bool, len(p.groups))
	for ri := range p.exprs {
		if st.lsBits[p.lsOf[ri]] != nil {
			for _, gi := range p.ruleGroups[ri] {
				need[gi] = true
			}
		}
	}
	type job struct {
		gi   int
		size int
	}
	var jobs []job
	for gi, ok := range need {
		if ok && !st.groups[gi].passDone && st.validity(gi) != nil {
			jobs = append(jobs, job{gi, columnBytes(st.rec.Column(p.groups[gi].col))})
		}
	}
	slices.SortFunc(jobs, func(a, b job) int { return b.size - a.size })
	for len(st.workers) < workers-1 {
		st.workers = append(st.workers, &evalScratch{})
	}
	var next atomic.Int32
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					errs[w] = fmt.Errorf("%w: %v", ErrKernel, r)
				}
			}()
			scr := &st.scr
			if w > 0 {
				scr = st.workers[w-1]
			}
			for {
				k := int(next.Add(1)) - 1
				if k >= len(jobs) {
					return
				}
				if err := ctx.Err(); err != nil {
					errs[w] = err
					return
				}
				st.stringGroup(jobs[k].gi, scr)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// columnBytes estimates the work of a column pass: its string data in bytes (its rows
// for other arrays).
func columnBytes(col arrow.Array) int {
	switch a := col.(type) {
	case *array.String:
		return len(a.ValueBytes())
	case *array.LargeString:
		return len(a.ValueBytes())
	case *array.Dictionary:
		return columnBytes(a.Dictionary())
	}
	return col.Len()
}

// evalRows evaluates every rule over rec on the calling goroutine.
func (p *Program) evalRows(ctx context.Context, rec arrow.RecordBatch) (out []Match, err error) {
	st := p.getEvalState(rec)
	out, err = st.run(ctx)
	if err == nil {
		p.putEvalState(st)
	}
	return out, err
}

// run evaluates every rule over the state's batch and returns the matches ordered by
// row, then rule.
func (st *evalState) run(ctx context.Context) (out []Match, err error) {
	p := st.p
	for ri := range p.exprs {
		if ri%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		bm := st.rule(ri)
		if bm == nil {
			continue
		}
		p.stats[ri].hits.Add(int64(bitmapCount(bm)))
		bitmapForEach(bm, func(row int) {
			out = append(out, Match{Row: int32(row), Rule: int32(ri)})
		})
	}
	// Matches were produced rule by rule in increasing row order; a stable sort by row
	// keeps rules in increasing order within a row.
	slices.SortStableFunc(out, func(a, b Match) int { return int(a.Row) - int(b.Row) })
	return out, nil
}

// rule returns the rows where rule ri matches, nil for none: its condition evaluated on
// the rows its logsource selects.
func (st *evalState) rule(ri int) []uint64 {
	li := st.p.lsOf[ri]
	if !st.lsDone[li] {
		st.lsBits[li] = st.eval(st.p.ls[li], st.all)
		st.lsDone[li] = true
	}
	s := &st.p.stats[ri]
	ls := st.lsBits[li]
	if ls == nil {
		s.skipped.Add(1)
		return nil
	}
	start := time.Now()
	bm := st.eval(st.p.exprs[ri], ls)
	s.nanos.Add(int64(time.Since(start)))
	s.evals.Add(1)
	return bm
}

// eval returns exactly the rows of care where n holds, nil for none. care is non-empty.
// The result may be shared (a leaf bitmap or care itself): the caller must not modify it.
func (st *evalState) eval(n *node, care []uint64) []uint64 {
	switch n.op {
	case opConst:
		if n.val {
			return care
		}
		return nil
	case opLeaf:
		b := st.leafBitmap(n.leaf, care)
		if b == nil {
			return nil
		}
		return st.and(care, b)
	case opAnd:
		cur := care
		for _, k := range n.kids {
			b := st.eval(k, cur)
			if b == nil {
				// Fast path: a required operand is empty on the rows left; skip the rest.
				return nil
			}
			cur = b
		}
		return cur
	case opOr:
		var acc []uint64
		rem := care
		for _, k := range n.kids {
			b := st.eval(k, rem)
			if b == nil {
				continue
			}
			if acc == nil {
				acc = st.clone(b)
			} else {
				bitmapOrInto(acc, b)
			}
			if rem = st.andNot(rem, b); rem == nil {
				// Fast path: every row of care already holds.
				break
			}
		}
		return acc
	case opNot:
		b := st.eval(n.kids[0], care)
		if b == nil {
			return care
		}
		return st.andNot(care, b)
	}
	panic("BUG: unknown node op")
}

// leafBitmap returns a bitmap exact on the rows of care where leaf id holds (it may hold
// other rows too), nil when none. Columnar leaves are computed for all rows on first
// use; fallback leaves only for the rows of care not yet decided.
func (st *evalState) leafBitmap(id int, care []uint64) []uint64 {
	l := st.p.leaves[id]
	if l.fallback {
		return st.fallbackBitmap(id, l, care)
	}
	if l.kw {
		if st.p.groups[l.group].kwInPass {
			if !st.groups[l.group].passDone {
				st.stringGroup(l.group, &st.scr)
			}
			return st.leafBits[id]
		}
		return st.keywordBitmap(id, l, care)
	}
	if st.leafDone[id] {
		return st.leafBits[id]
	}
	gi := l.group
	var bm []uint64
	switch {
	case l.pred.kind == predNull || (l.pred.kind == predExists && !l.pred.b):
		bm = bitmapNot(st.validity(gi), st.n)
	case l.pred.kind == predExists:
		bm = st.validity(gi)
	case l.str != nil:
		st.stringGroup(gi, &st.scr)
		return st.leafBits[id]
	case st.p.groups[gi].intEq != nil && l.pred.kind == predNum && l.pred.isInt:
		st.intEqPass(gi)
		return st.leafBits[id]
	default:
		bm = st.typedLeaf(gi, l.pred)
	}
	if bm != nil && bitmapEmpty(bm) {
		bm = nil
	}
	st.leafDone[id] = true
	st.leafBits[id] = bm
	return bm
}

// fallbackBitmap decides a fallback leaf on the rows of care it has not decided yet.
func (st *evalState) fallbackBitmap(id int, l *leaf, care []uint64) []uint64 {
	todo := care
	if done := st.leafCare[id]; done != nil {
		todo = st.andNot(care, done)
	}
	if todo != nil {
		got := st.fallbackLeaf(l, todo)
		if st.leafBits[id] == nil {
			st.leafBits[id] = got
		} else {
			bitmapOrInto(st.leafBits[id], got)
		}
		if st.leafCare[id] == nil {
			st.leafCare[id] = st.clone(todo)
		} else {
			bitmapOrInto(st.leafCare[id], todo)
		}
	}
	return st.leafBits[id]
}

// validity returns the non-null rows of a group's column. A dictionary entry that is
// itself null makes its rows null.
func (st *evalState) validity(gi int) []uint64 {
	gs := &st.groups[gi]
	if gs.validReady {
		return gs.valid
	}
	col := st.rec.Column(st.p.groups[gi].col)
	var bm []uint64
	if d, ok := col.(*array.Dictionary); ok {
		bm = make([]uint64, bitmapWords(st.n))
		dict := d.Dictionary()
		for i := 0; i < st.n; i++ {
			if d.IsValid(i) && dict.IsValid(d.GetValueIndex(i)) {
				bitmapSet(bm, i)
			}
		}
	} else {
		bm = arrowValidWords(col, st.n)
	}
	if bm != nil && bitmapEmpty(bm) {
		bm = nil
	}
	gs.validReady, gs.valid = true, bm
	return bm
}

// stringGroup decides every string leaf of group gi (and its keyword leaves when
// kwInPass) in one pass over the column's distinct values (groupMatcher) and stores
// their bitmaps. It writes only the group's own state and leaves, so passes of different
// groups may run concurrently, each with its own scratch.
func (st *evalState) stringGroup(gi int, scr *evalScratch) {
	g := st.p.groups[gi]
	m := g.matcher
	gs := st.stringView(gi, scr)
	sc := m.newScratch()
	// hitOff[j]..hitOff[j+1] delimit the leaves that hold for distinct value j.
	hitOff := make([]int32, len(gs.distinct)+1)
	for j, raw := range gs.distinct {
		m.run(raw, &scr.foldBuf, int32(j), sc)
		hitOff[j+1] = int32(len(sc.hits))
	}
	if len(sc.hits) > 0 {
		words := bitmapWords(st.n)
		for k, j := range gs.vidx {
			if hitOff[j] == hitOff[j+1] {
				continue
			}
			row := int(gs.vrows[k])
			for _, h := range sc.hits[hitOff[j]:hitOff[j+1]] {
				lid := g.hitLeaf[h]
				if lid < 0 {
					continue
				}
				bm := st.leafBits[lid]
				if bm == nil {
					bm = scr.arena.alloc(words)
					st.leafBits[lid] = bm
				}
				bitmapSet(bm, row)
			}
		}
	}
	for _, id := range g.strLeaves {
		st.leafDone[id] = true
	}
	st.groups[gi].passDone = true
}

// keywordBitmap decides keyword leaf id on the rows of care its column has not been
// searched on yet: every keyword pred is decided at once for those rows of the column.
func (st *evalState) keywordBitmap(id int, l *leaf, care []uint64) []uint64 {
	gs := &st.groups[l.group]
	todo := care
	if gs.kwDone != nil {
		todo = st.andNot(care, gs.kwDone)
	}
	if todo != nil {
		st.keywordSearch(l.group, todo)
		if gs.kwDone == nil {
			gs.kwDone = st.clone(todo)
		} else {
			bitmapOrInto(gs.kwDone, todo)
		}
	}
	return st.leafBits[id]
}

// keywordSearch decides every keyword leaf of group gi on the rows of todo, searching
// each distinct value once per batch. Keyword rules usually care about few rows (those of
// their logsource), so a plain string column is not deduplicated as a whole: its values
// are looked up row by row on todo only (kwSeen). Dictionary columns, and columns whose
// view another leaf already built, go through the view.
func (st *evalState) keywordSearch(gi int, todo []uint64) {
	g := st.p.groups[gi]
	gs := &st.groups[gi]
	m := st.p.kwMatcher
	if st.kwScratch == nil {
		st.kwScratch = m.newScratch()
	}
	sc := st.kwScratch
	col := st.rec.Column(g.col)
	if !gs.kwInit {
		gs.kwInit = true
		_, dict := col.(*array.Dictionary)
		gs.kwView = gs.strReady || dict
		if gs.kwView {
			st.stringView(gi, &st.scr)
			gs.kwHits = make([][]int32, len(gs.distinct))
			gs.kwRun = make([]bool, len(gs.distinct))
		} else {
			gs.kwSeen = map[string]int32{}
		}
	}
	search := func(raw string) []int32 {
		sc.hits = sc.hits[:0]
		st.kwSeq++
		m.run(raw, &st.scr.foldBuf, st.kwSeq, sc)
		var out []int32
		for _, k := range sc.hits {
			if lid := g.kwLeaf[k]; lid >= 0 {
				out = append(out, lid)
			}
		}
		return out
	}
	words := bitmapWords(st.n)
	set := func(row int, hits []int32) {
		for _, lid := range hits {
			bm := st.leafBits[lid]
			if bm == nil {
				bm = make([]uint64, words)
				st.leafBits[lid] = bm
			}
			bitmapSet(bm, row)
		}
	}
	if gs.kwView {
		for k, row := range gs.vrows {
			if !bitmapGet(todo, int(row)) {
				continue
			}
			j := gs.vidx[k]
			if !gs.kwRun[j] {
				gs.kwHits[j], gs.kwRun[j] = search(gs.distinct[j]), true
			}
			set(int(row), gs.kwHits[j])
		}
		return
	}
	valid := st.validity(gi)
	if valid == nil {
		return
	}
	last, lastJ := "", int32(-1)
	for wi, w := range todo {
		// Fast path: null rows are skipped a word at a time.
		w &= valid[wi]
		for w != 0 {
			row := wi*bitmapWordBits + bits.TrailingZeros64(w)
			w &= w - 1
			raw := stringAt(col, row)
			if lastJ < 0 || raw != last {
				j, ok := gs.kwSeen[raw]
				if !ok {
					j = int32(len(gs.kwHits))
					gs.kwSeen[raw] = j
					gs.kwHits = append(gs.kwHits, search(raw))
				}
				last, lastJ = raw, j
			}
			set(row, gs.kwHits[lastJ])
		}
	}
}

func uint64At(col arrow.Array, i int) uint64 {
	switch a := col.(type) {
	case *array.Uint8:
		return uint64(a.Value(i))
	case *array.Uint16:
		return uint64(a.Value(i))
	case *array.Uint32:
		return uint64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	}
	panic("BUG: not an unsigned column")
}

// numberAt reads a numeric value; unsigned values above MaxInt64 become floats.
func numberAt(col arrow.Array, i int) numValue {
	switch a := col.(type) {
	case *array.Int8:
		return numValue{isInt: true, i: int64(a.Value(i))}
	case *array.Int16:
		return numValue{isInt: true, i: int64(a.Value(i))}
	case *array.Int32:
		return numValue{isInt: true, i: int64(a.Value(i))}
	case *array.Int64:
		return numValue{isInt: true, i: a.Value(i)}
	case *array.Uint8, *array.Uint16, *array.Uint32, *array.Uint64:
		u := uint64At(col, i)
		if u <= math.MaxInt64 {
			return numValue{isInt: true, i: int64(u)}
		}
		return numValue{f: float64(u)}
	case *array.Float32:
		return numValue{f: float64(a.Value(i))}
	case *array.Float64:
		return numValue{f: a.Value(i)}
	}
	panic("BUG: not a numeric column")
}

// typedLeaf decides numeric and boolean preds from typed values, row by row.
func (st *evalState) typedLeaf(gi int, p *pred) []uint64 {
	gs := &st.groups[gi]
	g := st.p.groups[gi]
	col := st.rec.Column(g.col)
	if !gs.numReady {
		if g.kind == colBool {
			b := col.(*array.Boolean)
			gs.bools = make([]bool, st.n)
			for i := range gs.bools {
				gs.bools[i] = b.IsValid(i) && b.Value(i)
			}
		} else {
			gs.nums = make([]numValue, st.n)
			for i := range gs.nums {
				if col.IsValid(i) {
					gs.nums[i] = numberAt(col, i)
				}
			}
		}
		gs.numReady = true
	}
	valid := st.validity(gi)
	if valid == nil {
		return nil
	}
	bm := make([]uint64, bitmapWords(st.n))
	bitmapForEach(valid, func(row int) {
		var m bool
		switch p.kind {
		case predBool:
			m = gs.bools[row] == p.b
		case predNum:
			v := gs.nums[row]
			if v.isInt && p.isInt {
				m = v.i == p.i
			} else {
				m = v.asFloat() == p.f
			}
		case predCmp:
			v := gs.nums[row]
			if v.isInt && p.isInt {
				m = compareInt(p.op, v.i, p.i)
			} else {
				m = compareFloat(p.op, v.asFloat(), p.f)
			}
		default:
			panic("BUG: pred kind has no typed kernel")
		}
		if m {
			bitmapSet(bm, row)
		}
	})
	return bm
}

func (v numValue) asFloat() float64 {
	if v.isInt {
		return float64(v.i)
	}
	return v.f
}

func (p *Program) checkSchema(s *arrow.Schema) error {
	if s.NumFields() != p.schema.NumFields() {
		return fmt.Errorf("%w: %d columns; want %d", ErrSchemaMismatch, s.NumFields(), p.schema.NumFields())
	}
	for i, f := range s.Fields() {
		g := p.schema.Field(i)
		if f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) {
			return fmt.Errorf("%w: column %d is %s %s; want %s %s", ErrSchemaMismatch, i, f.Name, f.Type, g.Name, g.Type)
		}
	}
	return nil
}

// arrowValidWords returns the non-null rows of col (n rows) as a bitmap, read a word at a
// time from the Arrow validity bitmap when the array's offset is byte-aligned.
func arrowValidWords(col arrow.Array, n int) []uint64 {
	nb := col.NullBitmapBytes()
	if len(nb) == 0 || col.NullN() == 0 {
		return bitmapNot(nil, n)
	}
	bm := make([]uint64, bitmapWords(n))
	off := col.Data().Offset()
	if off%8 == 0 {
		// Fast path: whole bytes, eight at a time.
		src := nb[off/8:]
		full := n / 8
		i := 0
		for ; i+8 <= full; i += 8 {
			bm[i/8] = binary.LittleEndian.Uint64(src[i:])
		}
		for ; i < full; i++ {
			bm[i/8] |= uint64(src[i]) << (8 * uint(i%8))
		}
		for r := full * 8; r < n; r++ {
			if src[r/8]&(1<<(uint(r)%8)) != 0 {
				bitmapSet(bm, r)
			}
		}
		return bm
	}
	for i := 0; i < n; i++ {
		if col.IsValid(i) {
			bitmapSet(bm, i)
		}
	}
	return bm
}
