package planner

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// detectOp runs a (possibly pruned) ruleset over each input batch and emits one row per
// (row, matching rule), ordered by batch, row, then rule. The table columns are gathered
// at the matched rows (converted to client-safe types in the same pass, since they are
// copied anyway); the rule columns are dictionary arrays whose indices are the match's
// rule numbers over a per-program dictionary of rule metadata, so a filter on rule_level
// tests each distinct level once per batch.
//
// The program is compiled for each distinct batch schema (sigmaql caches programs per
// schema), because batches of one table may differ in encoding.
type detectOp struct {
	mem       memory.Allocator
	input     operator
	ruleset   *sigmaql.Ruleset
	names     []string // relation column names by ordinal
	tableCols int
	width     int
	// needed are the table columns gathered at matched rows (nil: all).
	needed map[int]bool

	schema *arrow.Schema // schema of the last compiled program
	prog   *sigmaql.Program
	meta   [4]arrow.Array // rule id, title, level, tags of prog
	owned  []arrow.Array
	out    batch
}

func (d *detectOp) next(ctx context.Context) (*batch, error) {
	d.owned = releaseAll(d.owned)
	for {
		in, err := d.input.next(ctx)
		if err != nil {
			return nil, err
		}
		matches, err := d.eval(ctx, in)
		if err != nil {
			return nil, err
		}
		if len(matches) == 0 {
			continue
		}
		rows := make([]int32, len(matches))
		ruleIdx := make([]int32, len(matches))
		for i, m := range matches {
			rows[i], ruleIdx[i] = m.Row, m.Rule
		}
		if cap(d.out.cols) < d.width {
			d.out.cols = make([]arrow.Array, d.width)
		}
		d.out.cols = d.out.cols[:d.width]
		clear(d.out.cols)
		for c := 0; c < d.tableCols; c++ {
			arr := in.cols[c]
			if arr == nil || (d.needed != nil && !d.needed[c]) {
				continue
			}
			g, err := materialise(d.mem, arr, rows, in.n, clientSafeType(arr.DataType()))
			if err != nil {
				return nil, fmt.Errorf("detect: %w", err)
			}
			d.owned = append(d.owned, g)
			d.out.cols[c] = g
		}
		ib := array.NewInt32Builder(d.mem)
		ib.AppendValues(ruleIdx, nil)
		indices := ib.NewArray()
		ib.Release()
		dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: utf8Type}
		for k := range d.meta {
			col := array.NewDictionaryArray(dictType, indices, d.meta[k])
			d.owned = append(d.owned, col)
			d.out.cols[d.tableCols+k] = col
		}
		indices.Release()
		d.out.n, d.out.sel, d.out.ident = len(matches), nil, d.out.ident[:0]
		return &d.out, nil
	}
}

// eval runs the program over the batch's table columns and keeps the matches of live
// rows.
func (d *detectOp) eval(ctx context.Context, in *batch) ([]sigmaql.Match, error) {
	var fields []arrow.Field
	var cols []arrow.Array
	for c := 0; c < d.tableCols; c++ {
		if in.cols[c] != nil {
			fields = append(fields, arrow.Field{Name: d.names[c], Type: in.cols[c].DataType(), Nullable: true})
			cols = append(cols, in.cols[c])
		}
	}
	schema := arrow.NewSchema(fields, nil)
	if d.prog == nil || !d.schema.Equal(schema) {
		prog, err := d.ruleset.Compile(schema)
		if err != nil {
			return nil, fmt.Errorf("detect: compile ruleset %q: %w", d.ruleset.Name, err)
		}
		d.setProgram(prog, schema)
	}
	if in.sel != nil && len(in.sel) < in.n/2 {
		// A filter below kept few rows: evaluate the program over those rows only.
		compact := make([]arrow.Array, len(cols))
		for i, c := range cols {
			a, err := materialise(d.mem, c, in.sel, in.n, clientSafeType(c.DataType()))
			if err != nil {
				// Types materialise cannot keep: evaluate the whole batch instead.
				releaseAll(compact[:i])
				compact = nil
				break
			}
			compact[i] = a
		}
		if compact != nil {
			cfields := make([]arrow.Field, len(compact))
			for i, a := range compact {
				cfields[i] = arrow.Field{Name: fields[i].Name, Type: a.DataType(), Nullable: true}
			}
			cschema := arrow.NewSchema(cfields, nil)
			prog, err := d.ruleset.Compile(cschema)
			if err != nil {
				releaseAll(compact)
				return nil, fmt.Errorf("detect: compile ruleset %q: %w", d.ruleset.Name, err)
			}
			rec := array.NewRecordBatch(cschema, compact, int64(len(in.sel)))
			releaseAll(compact)
			matches, err := prog.Eval(ctx, rec)
			rec.Release()
			if err != nil {
				return nil, fmt.Errorf("detect: ruleset %q: %w", d.ruleset.Name, err)
			}
			for i := range matches {
				matches[i].Row = in.sel[matches[i].Row]
			}
			return matches, nil
		}
	}
	rec := array.NewRecordBatch(schema, cols, int64(in.n))
	defer rec.Release()
	matches, err := d.prog.Eval(ctx, rec)
	if err != nil {
		return nil, fmt.Errorf("detect: ruleset %q: %w", d.ruleset.Name, err)
	}
	if in.sel == nil {
		return matches, nil
	}
	// Keep the matches of live rows (both lists are ascending).
	kept := matches[:0]
	j := 0
	for _, m := range matches {
		for j < len(in.sel) && in.sel[j] < m.Row {
			j++
		}
		if j < len(in.sel) && in.sel[j] == m.Row {
			kept = append(kept, m)
		}
	}
	return kept, nil
}

// setProgram installs prog and builds its rule metadata dictionaries.
func (d *detectOp) setProgram(prog *sigmaql.Program, schema *arrow.Schema) {
	releaseAll(d.meta[:])
	d.meta = [4]arrow.Array{}
	d.prog, d.schema = prog, schema
	rules := prog.Rules()
	bs := [4]*array.StringBuilder{}
	for k := range bs {
		bs[k] = array.NewStringBuilder(d.mem)
	}
	for _, r := range rules {
		bs[0].Append(r.ID)
		bs[1].Append(r.Title)
		bs[2].Append(r.Level)
		bs[3].Append(strings.Join(r.Tags, ","))
	}
	for k, b := range bs {
		d.meta[k] = b.NewArray()
		b.Release()
	}
}

func (d *detectOp) close() {
	d.owned = releaseAll(d.owned)
	releaseAll(d.meta[:])
	d.meta = [4]arrow.Array{}
	d.input.close()
}
