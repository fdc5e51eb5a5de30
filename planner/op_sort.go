package planner

import (
	"context"
	"errors"
	"io"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rebuiltType is the type of a column once an operator has rebuilt it from vecs (sort,
// join, union, aggregate): its client-safe type, except decimals (Float64) and binaries
// (Utf8), which vecs do not carry.
func rebuiltType(dt arrow.DataType) arrow.DataType {
	switch kindOf(dt) {
	case vFloat:
		return arrow.PrimitiveTypes.Float64
	case vStr:
		return arrow.BinaryTypes.String
	case vNull:
		return arrow.BinaryTypes.String
	}
	return clientSafeType(dt)
}

// rebuiltColumns maps a relation's columns to their rebuilt types.
func rebuiltColumns(cols []relColumn) []relColumn {
	out := make([]relColumn, len(cols))
	for i, c := range cols {
		out[i] = relColumn{name: c.name, typ: rebuiltType(c.typ)}
	}
	return out
}

// rowStore buffers rows as vecs (one per column, owning their strings).
type rowStore struct {
	cols []*vec
	n    int
}

func newRowStore(cols []relColumn) *rowStore {
	s := &rowStore{cols: make([]*vec, len(cols))}
	for i, c := range cols {
		s.cols[i] = newVec(kindOf(c.typ), 0)
		if s.cols[i].kind == vNull {
			s.cols[i].nulls = []bool{}
		}
	}
	return s
}

// add appends the live rows of b and returns the bytes added.
func (s *rowStore) add(b *batch) int64 {
	sel := b.selection()
	var size int64
	for i, c := range s.cols {
		var v *vec
		if b.cols[i] == nil {
			v = newVec(vNull, len(sel))
		} else {
			v = readVec(b.cols[i], sel, true)
		}
		if v.kind != c.kind {
			v = castVec(v, c.kind)
		}
		size += v.memSize()
		c.appendVec(v)
	}
	s.n += len(sel)
	return size
}

// take returns the rows idx of the store as a batch of Arrow arrays in types.
func (s *rowStore) take(mem memory.Allocator, idx []int32, types []arrow.DataType) *batch {
	cols := make([]arrow.Array, len(s.cols))
	for i, c := range s.cols {
		cols[i] = c.take(idx).toArrow(mem, types[i])
	}
	return &batch{cols: cols, n: len(idx)}
}

// sortOp orders its whole input by the keys; with limit >= 0 it keeps only the first
// limit rows (top-N), pruning its buffer whenever it holds twice that many.
type sortOp struct {
	mem    memory.Allocator
	budget *memBudget
	input  operator
	keys   []sortKey
	limit  int64
	cols   []relColumn
	types  []arrow.DataType

	store *rowStore
	order []int32
	pos   int
	used  int64
	owned []arrow.Array
	out   batch
}

func (s *sortOp) next(ctx context.Context) (*batch, error) {
	s.owned = releaseAll(s.owned)
	if s.store == nil {
		if err := s.fill(ctx); err != nil {
			return nil, err
		}
	}
	if s.pos >= len(s.order) {
		return nil, io.EOF
	}
	end := min(s.pos+maxOutputRows, len(s.order))
	b := s.store.take(s.mem, s.order[s.pos:end], s.types)
	s.pos = end
	s.owned = append(s.owned, b.cols...)
	s.out = *b
	return &s.out, nil
}

func (s *sortOp) fill(ctx context.Context) error {
	s.store = newRowStore(s.cols)
	for {
		in, err := s.input.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		size := s.store.add(in)
		s.used += size
		if err := s.budget.grow(size); err != nil {
			return err
		}
		if s.limit >= 0 && int64(s.store.n) > 2*s.limit+1024 {
			s.sortStore()
			s.compact()
		}
	}
	s.sortStore()
	if s.limit >= 0 && int64(len(s.order)) > s.limit {
		s.order = s.order[:s.limit]
	}
	return nil
}

// sortStore sorts the row order by the keys (stable: ties keep input order).
func (s *sortOp) sortStore() {
	s.order = identitySel(s.store.n)
	keys := make([]*vec, len(s.keys))
	for i, k := range s.keys {
		keys[i] = s.store.cols[k.e.(*colRef).idx]
	}
	sort.SliceStable(s.order, func(x, y int) bool {
		a, b := int(s.order[x]), int(s.order[y])
		for i, k := range s.keys {
			c := compareSortRow(keys[i], a, b, k)
			if c != 0 {
				return c < 0
			}
		}
		return false
	})
}

// compact keeps only the first limit rows of the sorted store.
func (s *sortOp) compact() {
	keep := s.order
	if int64(len(keep)) > s.limit {
		keep = keep[:s.limit]
	}
	ns := &rowStore{cols: make([]*vec, len(s.store.cols)), n: len(keep)}
	for i, c := range s.store.cols {
		ns.cols[i] = c.take(keep)
	}
	s.budget.shrink(s.used)
	s.used = 0
	for _, c := range ns.cols {
		s.used += c.memSize()
	}
	_ = s.budget.grow(s.used)
	s.store = ns
}

// compareSortRow compares rows a and b of v under a key's direction and NULL order.
func compareSortRow(v *vec, a, b int, k sortKey) int {
	an, bn := v.kind == vNull || v.isNull(a), v.kind == vNull || v.isNull(b)
	switch {
	case an && bn:
		return 0
	case an:
		if k.nullsFirst {
			return -1
		}
		return 1
	case bn:
		if k.nullsFirst {
			return 1
		}
		return -1
	}
	c := compareRow(v, a, v, b)
	if k.desc {
		return -c
	}
	return c
}

func (s *sortOp) close() {
	s.owned = releaseAll(s.owned)
	s.budget.shrink(s.used)
	s.used = 0
	s.input.close()
}
