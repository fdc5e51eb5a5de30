package planner

import (
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// joinOp is a hash join: it builds a table of the right input's rows by key, then
// streams the left input, emitting for each left row its matching right rows (those
// for which the residual predicate holds); a left join emits an unmatched left row once
// with NULL right columns. Rows whose key has a NULL never match (SQL equality).
// Without keys every pair is a candidate (cross join).
type joinOp struct {
	mem         memory.Allocator
	budget      *memBudget
	left, right operator
	kind        joinKind
	lkeys       []expr
	rkeys       []expr
	residual    predicate
	lcols       []relColumn
	rcols       []relColumn
	types       []arrow.DataType // output types, left then right

	built bool
	store *rowStore
	table map[string][]int32
	used  int64
	buf   []byte
	// buildNull is set when a build-side key is NULL (NOT IN then holds for no row).
	buildNull bool
	keep      []int32

	// Pending output of the current left batch.
	owned []arrow.Array
	out   batch
}

func (j *joinOp) build(ctx context.Context) error {
	j.store = newRowStore(j.rcols)
	j.table = map[string][]int32{}
	for {
		in, err := j.right.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		sel := in.selection()
		keys := make([]*vec, len(j.rkeys))
		for i, k := range j.rkeys {
			keys[i] = evalVec(k, in, sel)
		}
		base := int32(j.store.n)
		size := j.store.add(in)
		for r := range sel {
			key, ok := j.key(keys, r, j.lkeys)
			if !ok {
				j.buildNull = true
				continue
			}
			j.table[key] = append(j.table[key], base+int32(r))
			size += int64(len(key)) + 8
		}
		j.used += size
		if err := j.budget.grow(size); err != nil {
			return err
		}
	}
	j.built = true
	return nil
}

// key encodes row r of the key vecs; ok is false when a key is NULL. Numeric keys are
// encoded as floats when the other side's key is a float, so 1 = 1.0 matches.
func (j *joinOp) key(keys []*vec, r int, other []expr) (string, bool) {
	j.buf = j.buf[:0]
	for i, k := range keys {
		if k.kind == vNull || k.isNull(r) {
			return "", false
		}
		if k.kind == vInt && (kindOf(other[i].dataType()) == vFloat) {
			k = &vec{kind: vFloat, n: 1, f: []float64{float64(k.i[r])}}
			j.buf = appendKey(j.buf, k, 0)
			continue
		}
		j.buf = appendKey(j.buf, k, r)
	}
	return string(j.buf), true
}

func (j *joinOp) next(ctx context.Context) (*batch, error) {
	j.owned = releaseAll(j.owned)
	if !j.built {
		if err := j.build(ctx); err != nil {
			return nil, err
		}
	}
	for {
		in, err := j.left.next(ctx)
		if err != nil {
			return nil, err
		}
		sel := in.selection()
		keys := make([]*vec, len(j.lkeys))
		for i, k := range j.lkeys {
			keys[i] = evalVec(k, in, sel)
		}
		if j.kind == joinSemi || j.kind == joinAnti {
			// Semi and anti joins narrow the left batch's selection: no copy.
			j.keep = j.keep[:0]
			for x, r := range sel {
				key, ok := j.key(keys, x, j.rkeys)
				switch {
				case j.kind == joinSemi:
					if ok && len(j.table[key]) > 0 {
						j.keep = append(j.keep, r)
					}
				case j.store.n == 0:
					j.keep = append(j.keep, r) // x NOT IN (empty) is TRUE, even for NULL x
				case ok && !j.buildNull && len(j.table[key]) == 0:
					j.keep = append(j.keep, r)
				}
			}
			if len(j.keep) == 0 {
				continue
			}
			j.out = batch{cols: in.cols, n: in.n, sel: j.keep}
			return &j.out, nil
		}
		var li, ri []int32
		for x, r := range sel {
			if len(j.lkeys) == 0 {
				for k := 0; k < j.store.n; k++ {
					li, ri = append(li, r), append(ri, int32(k))
				}
			} else if key, ok := j.key(keys, x, j.rkeys); ok {
				for _, k := range j.table[key] {
					li, ri = append(li, r), append(ri, k)
				}
			}
			if len(li) > maxJoinPairs {
				return nil, j.budget.fail("join", int64(len(li))*int64(len(j.types))*8)
			}
		}
		pairs := j.assemble(in, li, ri)
		if j.residual != nil && pairs.n > 0 {
			keep := j.residual.selectRows(pairs, pairs.selection(), true, nil)
			if len(keep) < pairs.n {
				li2, ri2 := make([]int32, len(keep)), make([]int32, len(keep))
				for x, k := range keep {
					li2[x], ri2[x] = li[k], ri[k]
				}
				li, ri = li2, ri2
				j.owned = releaseAll(j.owned)
				pairs = j.assemble(in, li, ri)
			}
		}
		if j.kind == joinLeft {
			matched := map[int32]bool{}
			for _, r := range li {
				matched[r] = true
			}
			// Re-emit in left order with the unmatched rows in place.
			var li2, ri2 []int32
			x := 0
			for _, r := range sel {
				if !matched[r] {
					li2, ri2 = append(li2, r), append(ri2, -1)
					continue
				}
				for x < len(li) && li[x] == r {
					li2, ri2 = append(li2, r), append(ri2, ri[x])
					x++
				}
			}
			if len(li2) != len(li) {
				li, ri = li2, ri2
				j.owned = releaseAll(j.owned)
				pairs = j.assemble(in, li, ri)
			}
		}
		if pairs.n == 0 {
			j.owned = releaseAll(j.owned)
			continue
		}
		j.out = *pairs
		return &j.out, nil
	}
}

// assemble builds the output batch of the pairs (left row li[x], right row ri[x]; -1:
// NULL right columns).
func (j *joinOp) assemble(in *batch, li, ri []int32) *batch {
	nl := len(j.lcols)
	cols := make([]arrow.Array, nl+len(j.rcols))
	for c := 0; c < nl; c++ {
		if in.cols[c] == nil {
			continue
		}
		v := readVec(in.cols[c], li, false)
		cols[c] = v.toArrow(j.mem, j.types[c])
	}
	if j.store != nil {
		for c, v := range j.store.cols {
			cols[nl+c] = v.take(ri).toArrow(j.mem, j.types[nl+c])
		}
	}
	for _, c := range cols {
		if c != nil {
			j.owned = append(j.owned, c)
		}
	}
	return &batch{cols: cols, n: len(li)}
}

func (j *joinOp) close() {
	j.owned = releaseAll(j.owned)
	j.budget.shrink(j.used)
	j.used = 0
	j.left.close()
	j.right.close()
}

// unionOp concatenates its inputs, converting each column to the union's type.
type unionOp struct {
	mem   memory.Allocator
	ins   []operator
	types []arrow.DataType
	cur   int
	owned []arrow.Array
	out   batch
}

func (u *unionOp) next(ctx context.Context) (*batch, error) {
	u.owned = releaseAll(u.owned)
	for u.cur < len(u.ins) {
		in, err := u.ins[u.cur].next(ctx)
		if errors.Is(err, io.EOF) {
			u.cur++
			continue
		}
		if err != nil {
			return nil, err
		}
		sel := in.selection()
		cols := make([]arrow.Array, len(u.types))
		for i, t := range u.types {
			var v *vec
			if in.cols[i] == nil {
				v = newVec(vNull, len(sel))
			} else {
				v = readVec(in.cols[i], sel, false)
			}
			cols[i] = castVec(v, kindOf(t)).toArrow(u.mem, t)
		}
		u.owned = append(u.owned, cols...)
		u.out = batch{cols: cols, n: len(sel)}
		return &u.out, nil
	}
	return nil, io.EOF
}

func (u *unionOp) close() {
	u.owned = releaseAll(u.owned)
	for _, in := range u.ins {
		in.close()
	}
}

// valuesOp produces one row without columns.
type valuesOp struct{ done bool }

func (v *valuesOp) next(ctx context.Context) (*batch, error) {
	if v.done {
		return nil, io.EOF
	}
	v.done = true
	return &batch{n: 1}, nil
}

func (v *valuesOp) close() {}
