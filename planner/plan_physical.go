package planner

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// buildOperators turns the logical plan into a fresh operator tree (one per Execute),
// each operator wrapped in a guard that turns panics into errors and, under EXPLAIN
// ANALYZE, counts rows and time per plan node.
func buildOperators(root logicalNode, env *execEnv) (operator, error) {
	return buildOp(root, env, nil)
}

// buildOp builds the operators of n; src, when set, is the shared scan of the parallel
// fragment being built.
func buildOp(n logicalNode, env *execEnv, src *sharedIter) (operator, error) {
	var op operator
	var name string
	child := func(c logicalNode) (operator, error) { return buildOp(c, env, src) }
	switch x := n.(type) {
	case *scanNode:
		name = "scan"
		s := &scanOp{mem: env.mem, table: x.table, cols: x.cols, width: len(x.cols), columns: x.columns_, hints: x.scanHints}
		if src != nil {
			s.it = &workerIter{s: src}
		}
		op = s
	case *detectNode:
		in, err := child(x.input)
		if err != nil {
			return nil, err
		}
		name = "detect"
		names := make([]string, 0, len(x.input.columns()))
		for _, c := range x.input.columns() {
			names = append(names, c.name)
		}
		op = &detectOp{mem: env.mem, input: in, ruleset: x.ruleset, names: names, tableCols: x.tableCols, width: x.tableCols + len(ruleColumns()), needed: x.needed}
	case *filterNode:
		in, err := child(x.input)
		if err != nil {
			return nil, err
		}
		name = "filter"
		op = &filterOp{input: in, pred: x.pred}
	case *projectNode:
		in, err := child(x.input)
		if err != nil {
			return nil, err
		}
		name = "project"
		op = &projectOp{mem: env.mem, input: in, exprs: x.exprs}
	case *aggregateNode:
		in, err := child(x.input)
		if err != nil {
			return nil, err
		}
		name = "aggregate"
		cols := x.columns()
		keyOut := make([]arrow.DataType, len(x.keys))
		for i := range x.keys {
			keyOut[i] = cols[i].typ
		}
		op = &aggregateOp{mem: env.mem, budget: env.budget, input: in, keys: x.keys, keyOut: keyOut, aggs: x.aggs}
	case *sortNode:
		in, err := child(x.input)
		if err != nil {
			return nil, err
		}
		name = "sort"
		cols := x.input.columns()
		op = &sortOp{mem: env.mem, budget: env.budget, input: in, keys: x.keys, limit: x.limit, cols: cols, types: typesOf(x.columns())}
	case *limitNode:
		in, err := child(x.input)
		if err != nil {
			return nil, err
		}
		name = "limit"
		op = &limitOp{input: in, count: x.count, offset: x.offset}
	case *joinNode:
		l, err := child(x.left)
		if err != nil {
			return nil, err
		}
		r, err := child(x.right)
		if err != nil {
			l.close()
			return nil, err
		}
		name = "join"
		op = &joinOp{mem: env.mem, budget: env.budget, left: l, right: r, kind: x.kind, lkeys: x.lkeys, rkeys: x.rkeys,
			residual: x.residual, lcols: x.left.columns(), rcols: x.right.columns(), types: typesOf(x.columns())}
	case *unionNode:
		var ins []operator
		for _, c := range x.ins {
			in, err := child(c)
			if err != nil {
				for _, o := range ins {
					o.close()
				}
				return nil, err
			}
			ins = append(ins, in)
		}
		name = "union"
		op = &unionOp{mem: env.mem, ins: ins, types: typesOf(x.cols)}
	case *valuesNode:
		name = "values"
		op = &valuesOp{}
	case *exchangeNode:
		name = "exchange"
		scan := fragmentScan(x.input)
		if scan == nil || env.parallel <= 1 || !x.parallel() {
			// Sequential: the fragment runs inline.
			in, err := child(x.input)
			if err != nil {
				return nil, err
			}
			op = in
			break
		}
		input := x.input
		op = &exchangeOp{
			workers: env.parallel,
			budget:  env.budget,
			open: func(ctx context.Context) (BatchIterator, error) {
				return openScan(ctx, scan.table, scan.cols, scan.columns_, scan.scanHints)
			},
			build: func(s *sharedIter) (operator, error) { return buildOp(input, env, s) },
		}
	default:
		return nil, fmt.Errorf("BUG: no operator for %T", n)
	}
	g := &guard{name: name, op: op}
	if env.analyze {
		st := env.stats[n]
		if st == nil {
			st = &opStats{}
			env.stats[n] = st
		}
		st.workers.Add(1)
		g.stats = st
	}
	return g, nil
}

func typesOf(cols []relColumn) []arrow.DataType {
	out := make([]arrow.DataType, len(cols))
	for i, c := range cols {
		out[i] = c.typ
	}
	return out
}

// fragmentScan returns the scan at the bottom of a leaf fragment (a chain of
// single-input nodes), or nil.
func fragmentScan(n logicalNode) *scanNode {
	for {
		if s, ok := n.(*scanNode); ok {
			return s
		}
		in := n.inputs()
		if len(in) != 1 {
			return nil
		}
		if _, ok := n.(*exchangeNode); ok {
			return nil
		}
		n = in[0]
	}
}

// timeNow is the clock of statistics (a variable for tests).
var timeNow = time.Now
