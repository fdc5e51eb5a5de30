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
	width   int   // relation width (the table's columns)
	columns []int // ordinals to read; nil: all
	hints   ScanHints
	// it is preset for a worker of a parallel fragment (shared scan).
	it BatchIterator
	// owned are arrays this operator made for the current batch.
	owned []arrow.Array
	out   batch
}

func (s *scanOp) next(ctx context.Context) (*batch, error) {
	s.owned = releaseAll(s.owned)
	if s.it == nil {
		it, err := openScan(ctx, s.table, s.cols, s.columns, s.hints)
		if err != nil {
			return nil, err
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

// openScan opens a scan of the given ordinals, passing the hints to tables that take
// them (HintedTable).
func openScan(ctx context.Context, t Table, cols []relColumn, columns []int, hints ScanHints) (BatchIterator, error) {
	var names []string
	if columns != nil {
		names = make([]string, len(columns))
		for i, c := range columns {
			names[i] = cols[c].name
		}
	}
	if ht, ok := t.(HintedTable); ok {
		hints.Columns = names
		it, err := ht.ScanHinted(ctx, hints)
		if err != nil {
			return nil, fmt.Errorf("scan: %w", err)
		}
		return it, nil
	}
	it, err := t.Scan(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("scan: %w", err)
	}
	return it, nil
}
