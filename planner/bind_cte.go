package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// Common table expressions are bound once, lazily, at their first reference, in the
// scope of their definition (the enclosing WITH clauses and the entries before them in
// their own WITH). The first reference uses that plan; every further reference gets a
// deep copy of its nodes (expressions are immutable and shared), because the optimiser
// rewrites nodes in place and a pushed-down predicate must reach only its own copy.
//
// Copies are what make a plan large: a chain of CTEs each referring twice to the one
// before doubles at every level (25 levels are 2^25 scans from 1.7 KB of SQL). The
// binder counts the nodes it copies and refuses the query with ErrUnsupported past
// maxPlanNodes, before copying; binding is then linear in the text plus the plan it
// returns, and checks ctx at every CTE reference and subquery.

// cteFrame is one WITH clause in scope: its entries by lower-case name. Only entries
// with index < visible can be referenced (a CTE body sees the entries before it).
type cteFrame struct {
	defs    map[string]*cteDef
	visible int
}

// cteDef is a WITH entry.
type cteDef struct {
	name    string
	query   ast.ResultSetNode
	colName []string
	// index is the entry's position in its WITH; outer the frames in scope at the
	// WITH clause, and defs the WITH's own entries: together the scope its body is
	// bound in.
	index int
	outer []cteFrame
	defs  map[string]*cteDef
	// binding is set while the body is being bound (a reference then is recursion).
	binding bool
	// plan is the bound body (nil until the first reference); size its node count;
	// used is set once the first reference has taken plan itself.
	plan logicalNode
	size int
	used bool
}

// pushCTEs makes a WITH clause's entries visible; the caller pops them.
func (b *binder) pushCTEs(w *ast.WithClause) error {
	if w.IsRecursive {
		return b.unsupported(b.kwPos("RECURSIVE"), "WITH RECURSIVE")
	}
	outer := b.ctes[:len(b.ctes):len(b.ctes)]
	m := make(map[string]*cteDef, len(w.CTEs))
	for i, c := range w.CTEs {
		key := strings.ToLower(c.Name.O)
		if _, dup := m[key]; dup {
			return b.errAt(ErrInvalid, b.cteNamePos(c.Name.O, 2), "common table expression %s is defined twice in one WITH clause", quoteName(c.Name.O))
		}
		d := &cteDef{name: c.Name.O, query: c.Query.Query, index: i, outer: outer, defs: m}
		for _, n := range c.ColNameList {
			d.colName = append(d.colName, n.O)
		}
		m[key] = d
	}
	b.ctes = append(b.ctes, cteFrame{defs: m, visible: len(w.CTEs)})
	return nil
}

// lookupCTE finds a CTE visible by name (case-insensitively, innermost first). An entry
// whose body is being bound is returned even where it is not visible, so that
// bindCTERef reports the recursion.
func (b *binder) lookupCTE(name string) *cteDef {
	key := strings.ToLower(name)
	for i := len(b.ctes) - 1; i >= 0; i-- {
		f := b.ctes[i]
		if d, ok := f.defs[key]; ok && (d.index < f.visible || d.binding) {
			return d
		}
	}
	return nil
}

// bindCTERef returns the plan of a reference to d at offset pos: its bound body on the
// first reference, a copy after that.
func (b *binder) bindCTERef(d *cteDef, pos int) (logicalNode, error) {
	if err := b.ctx.Err(); err != nil {
		return nil, fmt.Errorf("plan query: %w", err)
	}
	if d.binding {
		return nil, b.errAt(ErrUnsupported, pos, "common table expression %s refers to itself (WITH RECURSIVE is not supported)", quoteName(d.name))
	}
	if d.plan == nil {
		saved := b.ctes
		b.ctes = append(append([]cteFrame(nil), d.outer...), cteFrame{defs: d.defs, visible: d.index})
		d.binding = true
		node, err := b.bindResultSet(d.query)
		d.binding = false
		b.ctes = saved
		if err != nil {
			return nil, err
		}
		if len(d.colName) > 0 {
			cols := node.columns()
			if len(d.colName) != len(cols) {
				return nil, b.errAt(ErrInvalid, pos, "common table expression %s names %d columns but its query has %d", quoteName(d.name), len(d.colName), len(cols))
			}
			p := &projectNode{input: node}
			for i, c := range cols {
				p.exprs = append(p.exprs, &colRef{idx: i, name: c.name, typ: c.typ})
				p.names = append(p.names, d.colName[i])
			}
			node = p
		}
		d.plan, d.size = node, planSize(node)
	}
	if !d.used {
		d.used = true
		return d.plan, nil
	}
	if b.planNodes+d.size > maxPlanNodes {
		return nil, b.errAt(ErrUnsupported, pos, "query plans with more than %d nodes are not supported: each reference to a common table expression copies its plan, and this reference to %s (%d nodes) would exceed the limit",
			maxPlanNodes, quoteName(d.name), d.size).withHint("reference each common table expression fewer times, or materialise intermediate results")
	}
	b.planNodes += d.size
	return cloneNode(d.plan), nil
}

// cteNamePos returns the offset of the nth (1-based) identifier token spelling name
// followed by AS or "(" (a WITH entry's name), or -1.
func (b *binder) cteNamePos(name string, nth int) int {
	toks := b.rw.toks
	for i := 0; i+1 < len(toks); i++ {
		if isIdentTok(toks[i]) && strings.EqualFold(toks[i].value, name) && (toks[i+1].is("AS") || toks[i+1].isPunct("(")) {
			if nth--; nth == 0 {
				return toks[i].pos
			}
		}
	}
	return -1
}

// planSize counts the nodes of a plan.
func planSize(n logicalNode) int {
	size := 1
	for _, in := range n.inputs() {
		size += planSize(in)
	}
	return size
}

// cloneNode deep-copies the nodes of a bound plan (before optimisation: no exchanges)
// and the slices they hold; expressions, tables and rulesets are shared.
func cloneNode(n logicalNode) logicalNode {
	switch x := n.(type) {
	case *scanNode:
		c := *x
		c.cols = append([]relColumn(nil), x.cols...)
		c.columns_ = append([]int(nil), x.columns_...)
		c.pushed = append([]string(nil), x.pushed...)
		return &c
	case *detectNode:
		c := *x
		c.input = cloneNode(x.input)
		c.prunedBy = append([]string(nil), x.prunedBy...)
		c.needed = nil
		if x.needed != nil {
			c.needed = copySet(x.needed)
		}
		return &c
	case *filterNode:
		c := *x
		c.input = cloneNode(x.input)
		return &c
	case *projectNode:
		c := *x
		c.input = cloneNode(x.input)
		c.exprs = append([]expr(nil), x.exprs...)
		c.names = append([]string(nil), x.names...)
		return &c
	case *aggregateNode:
		c := *x
		c.input = cloneNode(x.input)
		c.keys = append([]expr(nil), x.keys...)
		c.keyNames = append([]string(nil), x.keyNames...)
		c.aggs = append([]aggCall(nil), x.aggs...)
		c.names = append([]string(nil), x.names...)
		return &c
	case *sortNode:
		c := *x
		c.input = cloneNode(x.input)
		c.keys = append([]sortKey(nil), x.keys...)
		return &c
	case *limitNode:
		c := *x
		c.input = cloneNode(x.input)
		return &c
	case *joinNode:
		c := *x
		c.left, c.right = cloneNode(x.left), cloneNode(x.right)
		c.lkeys = append([]expr(nil), x.lkeys...)
		c.rkeys = append([]expr(nil), x.rkeys...)
		return &c
	case *unionNode:
		c := *x
		c.ins = make([]logicalNode, len(x.ins))
		for i, in := range x.ins {
			c.ins[i] = cloneNode(in)
		}
		c.cols = append([]relColumn(nil), x.cols...)
		return &c
	case *valuesNode:
		return &valuesNode{}
	}
	panic(fmt.Sprintf("BUG: cloneNode: unexpected %T in a bound plan", n))
}
