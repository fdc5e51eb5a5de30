package planner

// Generic walks over bound expressions: the columns an expression reads and rewriting
// its column references (for join keys and for pushing filters through projections).

// collectCols adds the ordinals e references to used.
func collectCols(e expr, used map[int]bool) {
	switch x := e.(type) {
	case nil:
	case *colRef:
		used[x.idx] = true
	case *literal:
	case *cmpExpr:
		collectCols(x.l, used)
		collectCols(x.r, used)
	case *andExpr:
		collectCols(x.l, used)
		collectCols(x.r, used)
	case *orExpr:
		collectCols(x.l, used)
		collectCols(x.r, used)
	case *notExpr:
		collectCols(x.x, used)
	case *isNullExpr:
		used[x.x.idx] = true
	case *likeExpr:
		used[x.x.idx] = true
	case *inExpr:
		used[x.x.idx] = true
	case *scalarPred:
		collectCols(x.e, used)
	case *truthPred:
		collectCols(x.x, used)
	case *inSubquery:
		collectCols(x.x, used)
	case *sigmaPred:
		for i := range x.names {
			used[i] = true
		}
	case scalar:
		for _, c := range x.children() {
			collectCols(c, used)
		}
	default:
		panic("BUG: collectCols: unknown expression " + e.String())
	}
}

// mapCols returns e with every column reference replaced by f(ref). ok is false when e
// holds something that cannot be rewritten (an inline Sigma rule).
func mapCols(e expr, f func(*colRef) expr) (out expr, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			if _, isStop := r.(mapStop); !isStop {
				panic(r)
			}
			out, ok = nil, false
		}
	}()
	return mapColsRec(e, f), true
}

type mapStop struct{}

func mapColsRec(e expr, f func(*colRef) expr) expr {
	switch x := e.(type) {
	case *colRef:
		return f(x)
	case *literal:
		return x
	case *cmpExpr:
		l, r := mapColsRec(x.l, f), mapColsRec(x.r, f)
		if lc, ok := l.(*colRef); ok {
			if _, rIsLit := r.(*literal); rIsLit {
				return &cmpExpr{op: x.op, l: lc, r: r}
			}
			if _, rIsCol := r.(*colRef); rIsCol {
				return &cmpExpr{op: x.op, l: lc, r: r}
			}
		}
		return &cmpScalar{op: x.op, l: l, r: r}
	case *andExpr:
		return &andExpr{l: asPredicate(mapColsRec(x.l, f)), r: asPredicate(mapColsRec(x.r, f))}
	case *orExpr:
		return &orExpr{l: asPredicate(mapColsRec(x.l, f)), r: asPredicate(mapColsRec(x.r, f))}
	case *notExpr:
		return &notExpr{x: asPredicate(mapColsRec(x.x, f))}
	case *isNullExpr:
		n := mapColsRec(x.x, f)
		if c, ok := n.(*colRef); ok {
			return &isNullExpr{x: c, not: x.not}
		}
		return &isNullScalar{x: n, not: x.not}
	case *likeExpr:
		n := mapColsRec(x.x, f)
		if c, ok := n.(*colRef); ok && classOf(c.typ) == classString {
			return &likeExpr{x: c, pattern: x.pattern, escape: x.escape, not: x.not, m: x.m}
		}
		return &matchScalar{x: n, op: "LIKE", pat: x.pattern, not: x.not, test: x.m.match}
	case *inExpr:
		n := mapColsRec(x.x, f)
		if c, ok := n.(*colRef); ok {
			return newInExpr(c, x.vals, x.hasNull, x.not)
		}
		list := make([]expr, 0, len(x.vals)+1)
		for _, v := range x.vals {
			list = append(list, v)
		}
		if x.hasNull {
			list = append(list, &literal{})
		}
		return &inScalar{x: n, list: list, not: x.not}
	case *scalarPred:
		return &scalarPred{e: mapColsRec(x.e, f)}
	case *truthPred:
		return &truthPred{x: asPredicate(mapColsRec(x.x, f)), want: x.want}
	case *funcExpr:
		c := *x
		c.args = mapList(x.args, f)
		return &c
	case *castExpr:
		c := *x.funcExpr
		c.args = mapList(x.args, f)
		return &castExpr{funcExpr: &c, to: x.to}
	case *intervalLit:
		return &intervalLit{amount: mapColsRec(x.amount, f), unit: x.unit}
	case *caseExpr:
		c := *x
		c.whens = mapList(x.whens, f)
		c.thens = mapList(x.thens, f)
		if x.els != nil {
			c.els = mapColsRec(x.els, f)
		}
		return &c
	case *cmpScalar:
		return &cmpScalar{op: x.op, l: mapColsRec(x.l, f), r: mapColsRec(x.r, f)}
	case *inScalar:
		return &inScalar{x: mapColsRec(x.x, f), list: mapList(x.list, f), not: x.not}
	case *matchScalar:
		c := *x
		c.x = mapColsRec(x.x, f)
		return &c
	case *isNullScalar:
		return &isNullScalar{x: mapColsRec(x.x, f), not: x.not}
	}
	panic(mapStop{})
}

func mapList(es []expr, f func(*colRef) expr) []expr {
	out := make([]expr, len(es))
	for i, e := range es {
		out[i] = mapColsRec(e, f)
	}
	return out
}

// asPredicate makes a Boolean expression a predicate.
func asPredicate(e expr) predicate {
	if p, ok := e.(predicate); ok {
		return p
	}
	return &scalarPred{e: e}
}

// shiftCols moves every column ordinal of e by delta.
func shiftCols(e expr, delta int) expr {
	out, ok := mapCols(e, func(c *colRef) expr {
		return &colRef{idx: c.idx + delta, name: c.name, typ: c.typ}
	})
	if !ok {
		panic("BUG: shiftCols on an expression that cannot be rewritten")
	}
	return out
}
