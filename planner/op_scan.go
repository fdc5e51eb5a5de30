package planner

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// scanOp reads a table through its BatchIterator and places each batch's columns at
// their relation ordinals. A requested column missing from a batch (written before the
// schema grew) becomes a null array of the bound type.
type scanOp struct {
	mem     memory.Allocator
	table   Table
	cols    []relColumn
	width   int   // relation width (scan columns plus any detect columns)
	columns []int // ordinals to read; nil: all
	it      BatchIterator
	// owned are arrays this operator made for the current batch.
	owned []arrow.Array
	out   batch
}

func (s *scanOp) next(ctx context.Context) (*batch, error) {
	s.owned = releaseAll(s.owned)
	if s.it == nil {
		var names []string
		if s.columns != nil {
			names = make([]string, len(s.columns))
			for i, c := range s.columns {
				names[i] = s.cols[c].name
			}
		}
		it, err := s.table.Scan(ctx, names)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		s.it = it
	}
	for {
		rec, err := s.it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		if rec == nil || rec.NumRows() == 0 {
			continue
		}
		n := int(rec.NumRows())
		if cap(s.out.cols) < s.width {
			s.out.cols = make([]arrow.Array, s.width)
		}
		s.out.cols = s.out.cols[:s.width]
		clear(s.out.cols)
		byName := make(map[string]int, rec.NumCols())
		for i, f := range rec.Schema().Fields() {
			byName[f.Name] = i
		}
		wanted := s.columns
		if wanted == nil {
			wanted = identityInts(len(s.cols))
		}
		for _, c := range wanted {
			if i, ok := byName[s.cols[c].name]; ok {
				s.out.cols[c] = rec.Column(i)
				continue
			}
			nulls := array.MakeArrayOfNull(s.mem, s.cols[c].typ, n)
			s.owned = append(s.owned, nulls)
			s.out.cols[c] = nulls
		}
		s.out.n, s.out.sel, s.out.ident = n, nil, s.out.ident[:0]
		return &s.out, nil
	}
}

func (s *scanOp) close() {
	s.owned = releaseAll(s.owned)
	if s.it != nil {
		s.it.Close()
		s.it = nil
	}
}

func identityInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
