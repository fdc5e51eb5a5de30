package planner

import (
	"fmt"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
)

// bindTableRef binds a FROM item: a table, a detect() call, a CTE, a subquery or a
// join, and returns its plan and scope.
func (b *binder) bindTableRef(n ast.ResultSetNode) (logicalNode, []scopeCol, error) {
	switch x := n.(type) {
	case *ast.Join:
		if x.Right == nil {
			return b.bindTableRef(x.Left)
		}
		return b.bindJoin(x)
	case *ast.TableSource:
		alias := x.AsName.O
		switch src := x.Source.(type) {
		case *ast.TableName:
			node, quals, err := b.bindTableName(src)
			if err != nil {
				return nil, nil, err
			}
			if alias != "" {
				quals = []string{alias}
			}
			return node, scopeOf(node, quals...), nil
		case *ast.SelectStmt, *ast.SetOprStmt:
			node, err := b.bindResultSet(src)
			if err != nil {
				return nil, nil, err
			}
			return node, scopeOf(node, alias), nil
		}
		return nil, nil, b.unsupported(-1, fmt.Sprintf("%T in FROM", x.Source))
	}
	return nil, nil, b.unsupported(-1, fmt.Sprintf("%T in FROM", n))
}

// bindTableName resolves a table name: a detect() placeholder, a CTE, or a table.
func (b *binder) bindTableName(tn *ast.TableName) (logicalNode, []string, error) {
	if tf, ok := b.rw.funcs[tn.Name.O]; ok && tn.Schema.O == "" {
		return b.bindDetect(tf)
	}
	nameTok := b.tableNameToken(tn)
	if tn.Schema.O == "" {
		if d := b.lookupCTE(tn.Name.O); d != nil {
			node, err := b.bindCTERef(d, nameTok.pos)
			if err != nil {
				return nil, nil, err
			}
			return node, []string{d.name}, nil
		}
	}
	schema := b.qualify(tn.Schema.O)
	table, name, err := b.resolveTable(schema, tn.Name.O, nameTok.kind == tokQuotedIdent, nameTok.pos)
	if err != nil {
		return nil, nil, err
	}
	return newScanNode(table, schema, name), []string{name, tn.Name.O}, nil
}

// tableNameToken finds the token of a table name in the user's text (TiDB does not
// record table name positions): the first identifier token with that value in table
// position.
func (b *binder) tableNameToken(tn *ast.TableName) token {
	for i, t := range b.rw.toks {
		if isIdentTok(t) && t.value == tn.Name.O && i > 0 {
			prev := b.rw.toks[i-1]
			if prev.is("FROM") || prev.is("JOIN") || prev.isPunct(",") || prev.isPunct(".") {
				return t
			}
		}
	}
	for _, t := range b.rw.toks {
		if isIdentTok(t) && strings.EqualFold(t.value, tn.Name.O) {
			return t
		}
	}
	return token{pos: b.kwPos("FROM")}
}

// bindJoin binds a join: ON (or USING) conjuncts that equate a left expression with a
// right one become hash keys, the rest the residual predicate.
func (b *binder) bindJoin(j *ast.Join) (logicalNode, []scopeCol, error) {
	if j.NaturalJoin {
		return nil, nil, b.unsupported(b.kwPos("NATURAL"), "NATURAL JOIN")
	}
	left, lscope, err := b.bindTableRef(j.Left)
	if err != nil {
		return nil, nil, err
	}
	right, rscope, err := b.bindTableRef(j.Right)
	if err != nil {
		return nil, nil, err
	}
	kind := joinInner
	switch j.Tp {
	case ast.LeftJoin:
		kind = joinLeft
	case ast.RightJoin:
		// a RIGHT JOIN b = b LEFT JOIN a, with the columns put back in order below.
		left, right, lscope, rscope = right, left, rscope, lscope
		kind = joinLeft
	}
	scope := append(append([]scopeCol(nil), lscope...), rscope...)
	saved := b.scope
	b.scope = scope
	defer func() { b.scope = saved }()
	var pred predicate
	switch {
	case j.On != nil:
		if pred, err = b.bindPredicate(j.On.Expr); err != nil {
			return nil, nil, err
		}
		if sq := findSubquery(pred); sq != nil {
			return nil, nil, b.unsupported(sq.pos, "IN (subquery) in a join condition")
		}
	case len(j.Using) > 0:
		for _, u := range j.Using {
			li, ri := -1, -1
			for i, c := range lscope {
				if strings.EqualFold(c.name, u.Name.O) {
					li = i
				}
			}
			for i, c := range rscope {
				if strings.EqualFold(c.name, u.Name.O) {
					ri = i
				}
			}
			if li < 0 || ri < 0 {
				return nil, nil, b.errAt(ErrUnknownColumn, b.kwPos("USING"), "USING column %s is not in both tables", quoteName(u.Name.O))
			}
			eq := &cmpScalar{op: opEQ, l: &colRef{idx: li, name: lscope[li].name, typ: lscope[li].typ},
				r: &colRef{idx: len(lscope) + ri, name: rscope[ri].name, typ: rscope[ri].typ}}
			if pred == nil {
				pred = eq
			} else {
				pred = &andExpr{l: pred, r: eq}
			}
		}
	}
	node := newJoin(left, right, kind, pred, len(lscope))
	if j.Tp == ast.RightJoin {
		// Restore the written column order: original left (now right) first.
		cols := node.columns()
		p := &projectNode{input: node}
		nl, nr := len(lscope), len(rscope)
		for i := 0; i < nr; i++ {
			c := cols[nl+i]
			p.exprs = append(p.exprs, &colRef{idx: nl + i, name: c.name, typ: c.typ})
			p.names = append(p.names, c.name)
		}
		for i := 0; i < nl; i++ {
			c := cols[i]
			p.exprs = append(p.exprs, &colRef{idx: i, name: c.name, typ: c.typ})
			p.names = append(p.names, c.name)
		}
		return p, append(append([]scopeCol(nil), rscope...), lscope...), nil
	}
	return node, scope, nil
}

// newJoin splits pred into equi-keys and a residual.
func newJoin(left, right logicalNode, kind joinKind, pred predicate, nLeft int) *joinNode {
	j := &joinNode{left: left, right: right, kind: kind}
	if pred == nil {
		return j
	}
	var rest []predicate
	for _, c := range conjuncts(pred) {
		l, r, ok := equiSides(c)
		if ok {
			lmax, lmin := colRange(l)
			rmax, rmin := colRange(r)
			switch {
			case lmin >= 0 && lmax < nLeft && rmin >= nLeft:
				j.lkeys = append(j.lkeys, l)
				j.rkeys = append(j.rkeys, shiftCols(r, -nLeft))
				continue
			case rmin >= 0 && rmax < nLeft && lmin >= nLeft:
				j.lkeys = append(j.lkeys, r)
				j.rkeys = append(j.rkeys, shiftCols(l, -nLeft))
				continue
			}
		}
		rest = append(rest, c)
	}
	j.residual = andAll(rest)
	return j
}

// equiSides returns the operands of an equality.
func equiSides(p predicate) (expr, expr, bool) {
	switch x := p.(type) {
	case *cmpExpr:
		if x.op == opEQ {
			if _, ok := x.r.(*colRef); ok {
				return x.l, x.r, true
			}
		}
	case *cmpScalar:
		if x.op == opEQ {
			return x.l, x.r, true
		}
	}
	return nil, nil, false
}

// colRange returns the largest and smallest ordinal e references (-1, -1: none).
func colRange(e expr) (hi, lo int) {
	used := map[int]bool{}
	collectCols(e, used)
	hi, lo = -1, -1
	for i := range used {
		if hi < 0 || i > hi {
			hi = i
		}
		if lo < 0 || i < lo {
			lo = i
		}
	}
	return hi, lo
}

// andAll joins predicates with AND (nil for none).
func andAll(ps []predicate) predicate {
	var out predicate
	for _, p := range ps {
		if out == nil {
			out = p
		} else {
			out = &andExpr{l: out, r: p}
		}
	}
	return out
}

// resolveColumn resolves a column reference in the scope: exact match first, then
// (unquoted names only) a unique case-insensitive match.
func (b *binder) resolveColumn(e *ast.ColumnNameExpr) (*colRef, error) {
	pos := e.OriginTextPosition()
	idx := tokenIndexAt(b.rw.toks, pos)
	quoted := false
	if idx >= 0 {
		for idx+2 < len(b.rw.toks) && b.rw.toks[idx+1].isPunct(".") && isIdentTok(b.rw.toks[idx+2]) {
			idx += 2
		}
		quoted = b.rw.toks[idx].kind == tokQuotedIdent
	}
	namePos := pos
	if idx >= 0 {
		namePos = b.rw.toks[idx].pos
	}
	q := e.Name.Table.O
	if q != "" {
		known := false
		for _, c := range b.scope {
			if hasQual(c.quals, q) {
				known = true
				break
			}
		}
		if !known {
			err := b.errAt(ErrUnknownTable, pos, "unknown table %s in column reference %s", quoteName(q), quoteName(q+"."+e.Name.Name.O))
			var quals []string
			for _, c := range b.scope {
				if len(c.quals) > 0 && c.quals[0] != "" && !containsStr(quals, c.quals[0]) {
					quals = append(quals, c.quals[0])
				}
			}
			if len(quals) > 0 {
				err.withHint(fmt.Sprintf("the FROM clause names %s", quoteList(quals)))
			}
			return nil, err
		}
	}
	name := e.Name.Name.O
	var exact, folded []int
	for i, c := range b.scope {
		if q != "" && !hasQual(c.quals, q) {
			continue
		}
		if c.name == name {
			exact = append(exact, i)
		} else if !quoted && strings.EqualFold(c.name, name) {
			folded = append(folded, i)
		}
	}
	match := exact
	if len(match) == 0 {
		match = folded
	}
	switch len(match) {
	case 1:
		c := b.scope[match[0]]
		return &colRef{idx: match[0], name: c.name, typ: c.typ}, nil
	case 0:
		names := make([]string, len(b.scope))
		for i, c := range b.scope {
			names[i] = c.name
		}
		err := b.errAt(ErrUnknownColumn, namePos, "unknown column %s", quoteName(name))
		if s := suggest(name, names); s != "" {
			err.withHint(fmt.Sprintf("did you mean %s?", quoteName(s)))
		}
		return nil, err
	}
	names := make([]string, len(match))
	sameTable := true
	for i, m := range match {
		names[i] = b.scope[m].name
		if firstQual(b.scope[m].quals) != firstQual(b.scope[match[0]].quals) {
			sameTable = false
		}
	}
	if sameTable {
		return nil, b.errAt(ErrUnknownColumn, namePos, "column name %s is ambiguous: it matches %s", quoteName(name), quoteList(names)).
			withHint("quote the name to match it exactly")
	}
	for i, m := range match {
		if q := firstQual(b.scope[m].quals); q != "" {
			names[i] = q + "." + names[i]
		}
	}
	return nil, b.errAt(ErrUnknownColumn, namePos, "column name %s is ambiguous: it matches %s", quoteName(name), quoteList(names)).
		withHint("qualify or quote the name to match it exactly")
}

func containsStr(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func firstQual(quals []string) string {
	if len(quals) == 0 {
		return ""
	}
	return quals[0]
}
