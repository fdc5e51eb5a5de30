package planner

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/pingcap/tidb/pkg/parser/ast"
)

// Scalar functions. Each binds its arguments, checks their kinds and returns a funcExpr
// whose kernel works on vecs. NULL in, NULL out unless stated (concat(), coalesce()).

var (
	tInt   = arrow.PrimitiveTypes.Int64
	tFloat = arrow.PrimitiveTypes.Float64
	tStr   = arrow.BinaryTypes.String
	tBool  = arrow.FixedWidthTypes.Boolean
)

// bindFunc binds a function call.
func (b *binder) bindFunc(f *ast.FuncCallExpr) (expr, error) {
	pos := f.OriginTextPosition()
	name := f.FnName.L
	switch name {
	case "detect":
		return nil, b.errAt(ErrUnsupported, pos, "detect() is a table function").withHint("use it in FROM: SELECT * FROM detect('ruleset')")
	case inlineSigmaFunc:
		return b.bindInlineSigma(f)
	case strings.ToLower(castFuncName), "_try_cst":
		return b.bindCast(f)
	case "date_add", "adddate", "date_sub", "subdate":
		return b.bindDateAdd(f, name == "date_sub" || name == "subdate")
	case "extract":
		if len(f.Args) == 2 {
			if u, ok := f.Args[0].(*ast.TimeUnitExpr); ok {
				ts, err := b.bindScalar(f.Args[1])
				if err != nil {
					return nil, err
				}
				return b.datePart(strings.ToLower(u.Unit.String()), ts, pos)
			}
		}
	case "trim", "ltrim", "rtrim":
		return b.bindTrim(f)
	}
	args := make([]expr, len(f.Args))
	for i, a := range f.Args {
		if _, ok := a.(*ast.TimeUnitExpr); ok {
			return nil, b.unsupported(a.OriginTextPosition(), "a time unit here")
		}
		e, err := b.bindScalar(a)
		if err != nil {
			return nil, err
		}
		args[i] = e
	}
	kinds := make([]vkind, len(args))
	for i, a := range args {
		kinds[i] = kindOf(a.dataType())
	}
	nargs := func(lo, hi int) error {
		if len(args) < lo || len(args) > hi {
			if lo == hi {
				return b.errAt(ErrInvalid, pos, "%s() takes %d arguments, got %d", name, lo, len(args))
			}
			return b.errAt(ErrInvalid, pos, "%s() takes %d to %d arguments, got %d", name, lo, hi, len(args))
		}
		return nil
	}
	want := func(i int, ks ...vkind) error {
		for _, k := range ks {
			if kinds[i] == k || kinds[i] == vNull {
				return nil
			}
		}
		names := map[vkind]string{vStr: "a string", vInt: "an integer", vFloat: "a number", vTime: "a timestamp", vBool: "a boolean"}
		return b.errAt(ErrType, f.Args[i].OriginTextPosition(), "argument %d of %s() must be %s, but %s is %s", i+1, name, names[ks[0]], args[i], args[i].dataType())
	}
	mk := func(typ arrow.DataType, fn func([]*vec, int) *vec) (expr, error) {
		return foldConstant(&funcExpr{name: name, args: args, typ: typ, fn: fn}), nil
	}
	switch name {
	case "lower", "upper", "length", "char_length", "character_length", "reverse":
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		if err := want(0, vStr); err != nil {
			return nil, err
		}
		switch name {
		case "lower":
			return mk(tStr, strMap(strings.ToLower))
		case "upper":
			return mk(tStr, strMap(strings.ToUpper))
		case "reverse":
			return mk(tStr, strMap(reverseString))
		}
		return mk(tInt, func(a []*vec, n int) *vec {
			out := newVec(vInt, n)
			out.nulls = mergeNulls(n, a[0])
			if a[0].kind == vNull {
				return out
			}
			for j := 0; j < n; j++ {
				out.i[j] = int64(utf8.RuneCountInString(a[0].s[j]))
			}
			return out
		})
	case "substr", "substring":
		if err := nargs(2, 3); err != nil {
			return nil, err
		}
		if err := want(0, vStr); err != nil {
			return nil, err
		}
		for i := 1; i < len(args); i++ {
			if err := want(i, vInt); err != nil {
				return nil, err
			}
		}
		return mk(tStr, func(a []*vec, n int) *vec {
			out := newVec(vStr, n)
			out.nulls = mergeNulls(n, a...)
			for j := 0; j < n; j++ {
				if out.isNull(j) {
					continue
				}
				length := int64(math.MaxInt64)
				if len(a) == 3 {
					length = a[2].i[j]
				}
				out.s[j] = substr(a[0].s[j], a[1].i[j], length)
			}
			return out
		})
	case "left", "right":
		if err := nargs(2, 2); err != nil {
			return nil, err
		}
		if err := want(0, vStr); err != nil {
			return nil, err
		}
		if err := want(1, vInt); err != nil {
			return nil, err
		}
		return mk(tStr, func(a []*vec, n int) *vec {
			out := newVec(vStr, n)
			out.nulls = mergeNulls(n, a...)
			for j := 0; j < n; j++ {
				if out.isNull(j) {
					continue
				}
				r := []rune(a[0].s[j])
				k := int(max(min(a[1].i[j], int64(len(r))), 0))
				if name == "left" {
					out.s[j] = string(r[:k])
				} else {
					out.s[j] = string(r[len(r)-k:])
				}
			}
			return out
		})
	case "concat":
		if len(args) == 0 {
			return nil, b.errAt(ErrInvalid, pos, "concat() needs arguments")
		}
		// `a || b` reaches us as concat(a, b) (PIPES_AS_CONCAT): it propagates NULL;
		// concat() skips NULL arguments (PostgreSQL, DuckDB).
		i := tokenIndexAt(b.rw.toks, pos)
		operator := i < 0 || !b.rw.toks[i].is("concat")
		if operator {
			name = "||"
		}
		fe := &funcExpr{name: name, infix: operator, args: args, typ: tStr, fn: func(a []*vec, n int) *vec {
			out := newVec(vStr, n)
			if operator {
				out.nulls = mergeNulls(n, a...)
			}
			var sb strings.Builder
			for j := 0; j < n; j++ {
				if out.isNull(j) {
					continue
				}
				sb.Reset()
				for _, v := range a {
					if v.kind != vNull && !v.isNull(j) {
						sb.WriteString(v.str(j))
					}
				}
				out.s[j] = sb.String()
			}
			return out
		}}
		return foldConstant(fe), nil
	case "replace":
		if err := nargs(3, 3); err != nil {
			return nil, err
		}
		for i := range args {
			if err := want(i, vStr); err != nil {
				return nil, err
			}
		}
		return mk(tStr, func(a []*vec, n int) *vec {
			out := newVec(vStr, n)
			out.nulls = mergeNulls(n, a...)
			for j := 0; j < n; j++ {
				if !out.isNull(j) {
					out.s[j] = strings.ReplaceAll(a[0].s[j], a[1].s[j], a[2].s[j])
				}
			}
			return out
		})
	case "split_part":
		if err := nargs(3, 3); err != nil {
			return nil, err
		}
		if err := want(0, vStr); err != nil {
			return nil, err
		}
		if err := want(1, vStr); err != nil {
			return nil, err
		}
		if err := want(2, vInt); err != nil {
			return nil, err
		}
		return mk(tStr, func(a []*vec, n int) *vec {
			out := newVec(vStr, n)
			out.nulls = mergeNulls(n, a...)
			for j := 0; j < n; j++ {
				if !out.isNull(j) {
					out.s[j] = splitPart(a[0].s[j], a[1].s[j], a[2].i[j])
				}
			}
			return out
		})
	case "starts_with", "strpos", "instr", "position", "contains":
		if err := nargs(2, 2); err != nil {
			return nil, err
		}
		for i := range args {
			if err := want(i, vStr); err != nil {
				return nil, err
			}
		}
		hay, needle := 0, 1
		if name == "position" { // position(needle IN haystack)
			hay, needle = 1, 0
		}
		if name == "starts_with" || name == "contains" {
			return mk(tBool, func(a []*vec, n int) *vec {
				out := newVec(vBool, n)
				out.nulls = mergeNulls(n, a...)
				for j := 0; j < n; j++ {
					if !out.isNull(j) {
						if name == "contains" {
							out.b[j] = strings.Contains(a[0].s[j], a[1].s[j])
						} else {
							out.b[j] = strings.HasPrefix(a[0].s[j], a[1].s[j])
						}
					}
				}
				return out
			})
		}
		return mk(tInt, func(a []*vec, n int) *vec {
			out := newVec(vInt, n)
			out.nulls = mergeNulls(n, a...)
			for j := 0; j < n; j++ {
				if out.isNull(j) {
					continue
				}
				h, s := a[hay].s[j], a[needle].s[j]
				if k := strings.Index(h, s); k >= 0 {
					out.i[j] = int64(utf8.RuneCountInString(h[:k])) + 1
				}
			}
			return out
		})
	case "regexp_matches", "regexp_like":
		if err := nargs(2, 2); err != nil {
			return nil, err
		}
		return b.regexpMatch(args[0], args[1], false, f.Args[1].OriginTextPosition())
	case "coalesce", "ifnull", "nvl":
		if len(args) == 0 || (name != "coalesce" && len(args) != 2) {
			return nil, b.errAt(ErrInvalid, pos, "%s() takes %s arguments", name, map[bool]string{true: "at least 1", false: "2"}[name == "coalesce"])
		}
		var t arrow.DataType = arrow.Null
		for i, a := range args {
			u, ok := unifyTypes(t, a.dataType())
			if !ok {
				return nil, b.errAt(ErrType, f.Args[i].OriginTextPosition(), "%s() arguments have different types: %s and %s", name, canonicalType(t), canonicalType(a.dataType()))
			}
			t = u
		}
		if t.ID() == arrow.NULL {
			t = tStr
		}
		k := kindOf(t)
		return mk(t, func(a []*vec, n int) *vec {
			out := newVec(k, n)
			cast := make([]*vec, len(a))
			for i, v := range a {
				cast[i] = castVec(v, k)
			}
			for j := 0; j < n; j++ {
				out.setNull(j)
				for _, v := range cast {
					if v.kind != vNull && !v.isNull(j) {
						copyRow(out, j, v, j)
						break
					}
				}
			}
			return out
		})
	case "nullif":
		if err := nargs(2, 2); err != nil {
			return nil, err
		}
		if !sameClass(kinds[0], kinds[1]) {
			return nil, b.errAt(ErrType, pos, "nullif() arguments have different types: %s and %s", args[0].dataType(), args[1].dataType())
		}
		return mk(canonicalType(args[0].dataType()), func(a []*vec, n int) *vec {
			out := castVec(a[0], a[0].kind)
			res := newVec(out.kind, n)
			for j := 0; j < n; j++ {
				if compareRow(a[0], j, a[1], j) == 0 {
					res.setNull(j)
				} else {
					copyRow(res, j, out, j)
				}
			}
			return res
		})
	case "if", "iif":
		if err := nargs(3, 3); err != nil {
			return nil, err
		}
		if err := want(0, vBool); err != nil {
			return nil, err
		}
		t, ok := unifyTypes(args[1].dataType(), args[2].dataType())
		if !ok {
			return nil, b.errAt(ErrType, pos, "if() branches have different types")
		}
		return &caseExpr{whens: []expr{args[0]}, thens: []expr{args[1]}, els: args[2], typ: t}, nil
	case "abs", "floor", "ceil", "ceiling", "sqrt", "round":
		if name == "round" {
			if err := nargs(1, 2); err != nil {
				return nil, err
			}
		} else if err := nargs(1, 1); err != nil {
			return nil, err
		}
		if err := want(0, vFloat, vInt); err != nil {
			return nil, err
		}
		typ := canonicalType(args[0].dataType())
		if name == "sqrt" || kinds[0] == vNull {
			typ = tFloat
		}
		return mk(typ, numMap(name, kindOf(typ)))
	case "greatest", "least":
		if len(args) == 0 {
			return nil, b.errAt(ErrInvalid, pos, "%s() needs arguments", name)
		}
		var t arrow.DataType = arrow.Null
		for i, a := range args {
			u, ok := unifyTypes(t, a.dataType())
			if !ok {
				return nil, b.errAt(ErrType, f.Args[i].OriginTextPosition(), "%s() arguments have different types", name)
			}
			t = u
		}
		k := kindOf(t)
		return mk(t, func(a []*vec, n int) *vec {
			out := newVec(k, n)
			for j := 0; j < n; j++ {
				best := -1
				for i, v := range a {
					if v.kind == vNull || v.isNull(j) {
						continue
					}
					if best < 0 {
						best = i
						continue
					}
					c := compareRow(v, j, a[best], j)
					if (name == "greatest" && c > 0) || (name == "least" && c < 0) {
						best = i
					}
				}
				if best < 0 {
					out.setNull(j)
					continue
				}
				copyRow(out, j, castVec(a[best], k), j)
			}
			return out
		})
	case "now", "current_timestamp", "localtimestamp", "utc_timestamp", "sysdate":
		if err := nargs(0, 1); err != nil {
			return nil, err
		}
		return &literal{val: b.now}, nil
	case "date_trunc", "datetrunc":
		if err := nargs(2, 2); err != nil {
			return nil, err
		}
		unit, ok := args[0].(*literal)
		us, isStr := "", false
		if ok {
			us, isStr = unit.val.(string)
		}
		if !isStr {
			return nil, b.errAt(ErrType, f.Args[0].OriginTextPosition(), "the first argument of date_trunc() must be a unit such as 'hour'")
		}
		us = strings.ToLower(us)
		if _, ok := truncUnits[us]; !ok {
			return nil, b.errAt(ErrInvalid, f.Args[0].OriginTextPosition(), "unknown date_trunc() unit %s", sqlString(us)).
				withHint("use second, minute, hour, day, week, month, quarter or year")
		}
		ts, err := b.timestampArg(args[1], f.Args[1].OriginTextPosition(), name)
		if err != nil {
			return nil, err
		}
		args[1] = ts
		return mk(timestampUTC, func(a []*vec, n int) *vec {
			out := newVec(vTime, n)
			out.nulls = mergeNulls(n, a[1])
			if a[1].kind == vNull {
				return out
			}
			for j := 0; j < n; j++ {
				out.i[j] = truncTime(a[1].i[j], us)
			}
			return out
		})
	case "date_part", "datepart":
		if err := nargs(2, 2); err != nil {
			return nil, err
		}
		unit, ok := args[0].(*literal)
		us, isStr := "", false
		if ok {
			us, isStr = unit.val.(string)
		}
		if !isStr {
			return nil, b.errAt(ErrType, f.Args[0].OriginTextPosition(), "the first argument of date_part() must be a unit such as 'hour'")
		}
		return b.datePart(strings.ToLower(us), args[1], pos)
	case "year", "quarter", "month", "week", "day", "dayofmonth", "hour", "minute", "second", "dayofweek", "dayofyear":
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		unit := map[string]string{"dayofmonth": "day", "dayofweek": "dow", "dayofyear": "doy"}[name]
		if unit == "" {
			unit = name
		}
		return b.datePart(unit, args[0], pos)
	case "to_timestamp", "from_unixtime":
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		if err := want(0, vFloat, vInt); err != nil {
			return nil, err
		}
		return mk(timestampUTC, func(a []*vec, n int) *vec {
			out := newVec(vTime, n)
			out.nulls = mergeNulls(n, a[0])
			if a[0].kind == vNull {
				return out
			}
			for j := 0; j < n; j++ {
				out.i[j] = int64(math.Round(a[0].float(j) * 1e6))
			}
			return out
		})
	case "epoch", "unix_timestamp", "epoch_ms":
		if err := nargs(1, 1); err != nil {
			return nil, err
		}
		ts, err := b.timestampArg(args[0], f.Args[0].OriginTextPosition(), name)
		if err != nil {
			return nil, err
		}
		args[0] = ts
		if name == "epoch_ms" {
			return mk(tInt, func(a []*vec, n int) *vec {
				out := newVec(vInt, n)
				out.nulls = mergeNulls(n, a[0])
				for j := 0; j < n && a[0].kind != vNull; j++ {
					out.i[j] = floorDiv(a[0].i[j], 1000)
				}
				return out
			})
		}
		return mk(tFloat, func(a []*vec, n int) *vec {
			out := newVec(vFloat, n)
			out.nulls = mergeNulls(n, a[0])
			for j := 0; j < n && a[0].kind != vNull; j++ {
				out.f[j] = float64(a[0].i[j]) / 1e6
			}
			return out
		})
	}
	return nil, b.unsupported(pos, "function "+f.FnName.O+"()")
}

// timestampArg checks that e is a timestamp (a string constant is read as one).
func (b *binder) timestampArg(e expr, pos int, fn string) (expr, error) {
	switch kindOf(e.dataType()) {
	case vTime, vNull:
		return e, nil
	case vStr:
		if lit, ok := e.(*literal); ok {
			t, err := parseTimestamp(lit.val.(string))
			if err == nil {
				return &literal{val: t}, nil
			}
		}
	}
	return nil, b.errAt(ErrType, pos, "%s() needs a timestamp, but %s is %s", fn, e, e.dataType())
}

// datePart binds extract(unit FROM ts) and its spellings.
func (b *binder) datePart(unit string, ts expr, pos int) (expr, error) {
	ts, err := b.timestampArg(ts, pos, "extract")
	if err != nil {
		return nil, err
	}
	switch unit {
	case "year", "quarter", "month", "week", "day", "hour", "minute", "second", "millisecond", "microsecond", "dow", "doy", "isodow":
	case "epoch":
	default:
		return nil, b.errAt(ErrInvalid, pos, "unknown date part %s", sqlString(unit)).
			withHint("use year, quarter, month, week, day, hour, minute, second, dow, doy or epoch")
	}
	typ := arrow.DataType(tInt)
	if unit == "epoch" {
		typ = tFloat
	}
	fe := &funcExpr{name: "date_part", args: []expr{&literal{val: unit}, ts}, typ: typ, fn: func(a []*vec, n int) *vec {
		out := newVec(kindOf(typ), n)
		out.nulls = mergeNulls(n, a[1])
		if a[1].kind == vNull {
			return out
		}
		for j := 0; j < n; j++ {
			us := a[1].i[j]
			if unit == "epoch" {
				out.f[j] = float64(us) / 1e6
				continue
			}
			out.i[j] = timePart(us, unit)
		}
		return out
	}}
	return foldConstant(fe), nil
}

// bindDateAdd binds DATE_ADD/DATE_SUB(ts, INTERVAL n unit), which is also what
// `ts + INTERVAL n unit` parses to.
func (b *binder) bindDateAdd(f *ast.FuncCallExpr, sub bool) (expr, error) {
	pos := f.OriginTextPosition()
	if len(f.Args) != 3 {
		return nil, b.unsupported(pos, f.FnName.O+"() without an INTERVAL")
	}
	u, ok := f.Args[2].(*ast.TimeUnitExpr)
	if !ok {
		return nil, b.unsupported(pos, f.FnName.O+"() without an INTERVAL")
	}
	ts, err := b.bindScalar(f.Args[0])
	if err != nil {
		return nil, err
	}
	if ts, err = b.timestampArg(ts, f.Args[0].OriginTextPosition(), "INTERVAL arithmetic"); err != nil {
		return nil, err
	}
	amount, err := b.bindScalar(f.Args[1])
	if err != nil {
		return nil, err
	}
	if lit, ok := amount.(*literal); ok {
		if s, isStr := lit.val.(string); isStr {
			v, perr := parseIntervalAmount(s)
			if perr != nil {
				return nil, b.errAt(ErrInvalid, f.Args[1].OriginTextPosition(), "bad INTERVAL amount %s", sqlString(s))
			}
			amount = &literal{val: v}
		}
	}
	if k := kindOf(amount.dataType()); k != vInt && k != vFloat && k != vNull {
		return nil, b.errAt(ErrType, f.Args[1].OriginTextPosition(), "an INTERVAL amount must be a number")
	}
	unit := strings.ToLower(u.Unit.String())
	step, calendar := intervalUnits[unit]
	if !calendar && step == 0 {
		if _, ok := calendarUnits[unit]; !ok {
			return nil, b.unsupported(f.Args[2].OriginTextPosition(), "INTERVAL unit "+u.Unit.String())
		}
	}
	sign := 1.0
	name := "+"
	if sub {
		sign, name = -1, "-"
	}
	fe := &funcExpr{name: name, infix: true, args: []expr{ts, &intervalLit{amount: amount, unit: unit}}, typ: timestampUTC,
		fn: func(a []*vec, n int) *vec {
			out := newVec(vTime, n)
			out.nulls = mergeNulls(n, a[0], a[1])
			for j := 0; j < n; j++ {
				if out.isNull(j) {
					continue
				}
				out.i[j] = addInterval(a[0].i[j], sign*a[1].float(j), unit)
			}
			return out
		}}
	return foldConstant(fe), nil
}

// intervalLit is the amount of an INTERVAL; it evaluates to the amount.
type intervalLit struct {
	amount expr
	unit   string
}

func (l *intervalLit) dataType() arrow.DataType { return l.amount.dataType() }
func (l *intervalLit) children() []expr         { return []expr{l.amount} }
func (l *intervalLit) String() string {
	return "INTERVAL " + l.amount.String() + " " + strings.ToUpper(l.unit)
}
func (l *intervalLit) eval(b *batch, sel []int32) *vec { return evalVec(l.amount, b, sel) }

// bindTrim binds TRIM([[BOTH|LEADING|TRAILING] [chars] FROM] s), LTRIM(s), RTRIM(s).
func (b *binder) bindTrim(f *ast.FuncCallExpr) (expr, error) {
	name := f.FnName.L
	pos := f.OriginTextPosition()
	if len(f.Args) == 0 {
		return nil, b.errAt(ErrInvalid, pos, "%s() needs a string", name)
	}
	s, err := b.bindScalar(f.Args[0])
	if err != nil {
		return nil, err
	}
	chars := expr(&literal{val: " "})
	dir := map[string]string{"trim": "both", "ltrim": "leading", "rtrim": "trailing"}[name]
	for _, a := range f.Args[1:] {
		switch x := a.(type) {
		case *ast.TrimDirectionExpr:
			switch strings.ToLower(x.Direction.String()) {
			case "leading":
				dir = "leading"
			case "trailing":
				dir = "trailing"
			}
		default:
			if chars, err = b.bindScalar(a); err != nil {
				return nil, err
			}
		}
	}
	if k := kindOf(s.dataType()); k != vStr && k != vNull {
		return nil, b.errAt(ErrType, pos, "%s() needs a string, but %s is %s", name, s, s.dataType())
	}
	fe := &funcExpr{name: name, args: []expr{s, chars}, typ: tStr, fn: func(a []*vec, n int) *vec {
		out := newVec(vStr, n)
		out.nulls = mergeNulls(n, a...)
		for j := 0; j < n; j++ {
			if out.isNull(j) {
				continue
			}
			v, c := a[0].s[j], a[1].str(j)
			switch dir {
			case "leading":
				v = strings.TrimLeft(v, c)
			case "trailing":
				v = strings.TrimRight(v, c)
			default:
				v = strings.Trim(v, c)
			}
			out.s[j] = v
		}
		return out
	}}
	return foldConstant(fe), nil
}

// bindCast binds a CAST rewritten by rewriteSyntax.
func (b *binder) bindCast(f *ast.FuncCallExpr) (expr, error) {
	pos := f.OriginTextPosition()
	spec, ok := b.rw.casts[pos]
	if !ok || len(f.Args) != 1 {
		return nil, b.errAt(ErrSyntax, pos, "malformed CAST").withHint("write CAST(expr AS type)")
	}
	x, err := b.bindScalar(f.Args[0])
	if err != nil {
		return nil, err
	}
	var k vkind
	switch spec.typ {
	case "VARCHAR", "CHAR", "TEXT", "STRING", "NVARCHAR", "NCHAR", "CHARACTER", "CLOB":
		k = vStr
	case "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "SIGNED", "UNSIGNED", "INT64", "INT32", "LONG", "HUGEINT":
		k = vInt
	case "DOUBLE", "FLOAT", "REAL", "DECIMAL", "NUMERIC", "FLOAT8", "FLOAT4", "DEC":
		k = vFloat
	case "TIMESTAMP", "DATETIME", "TIMESTAMPTZ", "DATE":
		k = vTime
	case "BOOLEAN", "BOOL":
		k = vBool
	default:
		return nil, b.unsupported(pos, "CAST to "+spec.typ)
	}
	if spec.typ == "DATE" {
		return b.castDate(x, pos)
	}
	if lit, ok := x.(*literal); ok && lit.val == nil {
		b.params.hint(lit.param-1, kindType[k])
		return &literal{}, nil
	}
	try := spec.try
	fe := &funcExpr{name: "CAST", args: []expr{x}, typ: kindType[k], fn: func(a []*vec, n int) *vec {
		if !try {
			return castVec(a[0], k)
		}
		out := newVec(k, n)
		for j := 0; j < n; j++ {
			func() {
				defer func() {
					if r := recover(); r != nil {
						out.setNull(j)
					}
				}()
				copyRow(out, j, castVec(a[0].take([]int32{int32(j)}), k), 0)
			}()
		}
		return out
	}}
	return foldConstant(&castExpr{funcExpr: fe, to: spec.typ}), nil
}

// castDate binds CAST(x AS DATE): a timestamp at midnight UTC.
func (b *binder) castDate(x expr, pos int) (expr, error) {
	if kindOf(x.dataType()) == vStr {
		x = &funcExpr{name: "CAST", args: []expr{x}, typ: timestampUTC, fn: func(a []*vec, n int) *vec { return castVec(a[0], vTime) }}
	}
	ts, err := b.timestampArg(x, pos, "CAST AS DATE")
	if err != nil {
		return nil, err
	}
	return foldConstant(&funcExpr{name: "date_trunc", args: []expr{&literal{val: "day"}, ts}, typ: timestampUTC, fn: func(a []*vec, n int) *vec {
		out := newVec(vTime, n)
		out.nulls = mergeNulls(n, a[1])
		for j := 0; j < n && a[1].kind != vNull; j++ {
			out.i[j] = truncTime(a[1].i[j], "day")
		}
		return out
	}}), nil
}

// castExpr renders as CAST(x AS type).
type castExpr struct {
	*funcExpr
	to string
}

func (c *castExpr) String() string { return "CAST(" + c.args[0].String() + " AS " + c.to + ")" }

// substr implements SQL SUBSTRING(s FROM start FOR length) over characters: positions
// are 1-based and a start before 1 eats into the length.
func substr(s string, start, length int64) string {
	if length < 0 {
		return ""
	}
	r := []rune(s)
	from := start - 1
	to := int64(len(r))
	if length != math.MaxInt64 {
		to = min(from+length, to)
	}
	if start < 1 && length == math.MaxInt64 {
		from = 0
	}
	from = max(from, 0)
	if from >= to {
		return ""
	}
	return string(r[from:to])
}

// splitPart returns the n-th (1-based) field of s split at delim; "" when out of range.
// A negative n counts from the end.
func splitPart(s, delim string, n int64) string {
	var parts []string
	if delim == "" {
		parts = []string{s}
	} else {
		parts = strings.Split(s, delim)
	}
	if n < 0 {
		n = int64(len(parts)) + n + 1
	}
	if n < 1 || n > int64(len(parts)) {
		return ""
	}
	return parts[n-1]
}

func reverseString(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// strMap returns a kernel applying f to a string argument.
func strMap(f func(string) string) func([]*vec, int) *vec {
	return func(a []*vec, n int) *vec {
		out := newVec(vStr, n)
		out.nulls = mergeNulls(n, a[0])
		if a[0].kind == vNull {
			return out
		}
		for j := 0; j < n; j++ {
			if !out.isNull(j) {
				out.s[j] = f(a[0].s[j])
			}
		}
		return out
	}
}

// numMap returns the kernel of a one-argument numeric function (round takes an
// optional number of decimals).
func numMap(name string, k vkind) func([]*vec, int) *vec {
	return func(a []*vec, n int) *vec {
		out := newVec(k, n)
		out.nulls = mergeNulls(n, a...)
		if a[0].kind == vNull {
			return out
		}
		for j := 0; j < n; j++ {
			if out.isNull(j) {
				continue
			}
			if k == vInt {
				v := a[0].i[j]
				if name == "abs" && v < 0 {
					v = -v
				}
				if name == "round" && len(a) == 2 && a[1].kind == vInt && a[1].i[j] < 0 {
					p := math.Pow(10, float64(-a[1].i[j]))
					v = int64(math.Round(float64(v)/p) * p)
				}
				out.i[j] = v
				continue
			}
			v := a[0].float(j)
			switch name {
			case "abs":
				v = math.Abs(v)
			case "floor":
				v = math.Floor(v)
			case "ceil", "ceiling":
				v = math.Ceil(v)
			case "sqrt":
				v = math.Sqrt(v)
			case "round":
				d := 0.0
				if len(a) == 2 {
					d = a[1].float(j)
				}
				p := math.Pow(10, d)
				v = math.Round(v*p) / p
			}
			out.f[j] = v
		}
		return out
	}
}

// arithKernel returns the kernel of an arithmetic operator with result type typ.
func arithKernel(op string, typ arrow.DataType) func([]*vec, int) *vec {
	k := kindOf(typ)
	return func(a []*vec, n int) *vec {
		out := newVec(k, n)
		out.nulls = mergeNulls(n, a...)
		l, r := a[0], a[1]
		if l.kind == vNull || r.kind == vNull {
			return out
		}
		for j := 0; j < n; j++ {
			if out.isNull(j) {
				continue
			}
			if k == vInt {
				x, y := intOf(l, j), intOf(r, j)
				ok := true
				switch op {
				case "+":
					out.i[j], ok = addInt64(x, y)
				case "-":
					out.i[j], ok = subInt64(x, y)
				case "*":
					out.i[j], ok = mulInt64(x, y)
				case "DIV", "%":
					if y == 0 {
						out.setNull(j)
					} else if op == "DIV" {
						out.i[j] = x / y
					} else {
						out.i[j] = x % y
					}
				}
				if !ok {
					evalOverflow("integer overflow in %d %s %d (BIGINT holds ±9223372036854775807); CAST an operand to DOUBLE", x, op, y)
				}
				continue
			}
			x, y := l.float(j), r.float(j)
			switch op {
			case "+":
				out.f[j] = x + y
			case "-":
				out.f[j] = x - y
			case "*":
				out.f[j] = x * y
			case "/":
				out.f[j] = x / y
			case "%":
				if y == 0 {
					out.setNull(j)
				} else {
					out.f[j] = math.Mod(x, y)
				}
			}
		}
		return out
	}
}

// intOf reads row j of an integer (or float, truncated) vec.
func intOf(v *vec, j int) int64 {
	if v.kind == vFloat {
		return int64(v.f[j])
	}
	return v.i[j]
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// truncUnits are the units date_trunc accepts.
var truncUnits = map[string]bool{"microsecond": true, "millisecond": true, "second": true, "minute": true, "hour": true,
	"day": true, "week": true, "month": true, "quarter": true, "year": true}

// truncTime truncates a timestamp (microseconds, UTC) to unit; weeks start on Monday
// (ISO), like PostgreSQL and DuckDB.
func truncTime(us int64, unit string) int64 {
	switch unit {
	case "microsecond":
		return us
	case "millisecond":
		return floorDiv(us, 1e3) * 1e3
	case "second":
		return floorDiv(us, 1e6) * 1e6
	case "minute":
		return floorDiv(us, 60e6) * 60e6
	case "hour":
		return floorDiv(us, 3600e6) * 3600e6
	case "day":
		return floorDiv(us, 86400e6) * 86400e6
	}
	t := time.UnixMicro(us).UTC()
	y, m, d := t.Date()
	switch unit {
	case "week":
		wd := (int(t.Weekday()) + 6) % 7 // Monday = 0
		return time.Date(y, m, d-wd, 0, 0, 0, 0, time.UTC).UnixMicro()
	case "month":
		return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	case "quarter":
		return time.Date(y, m-(m-1)%3, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
}

// timePart extracts a field of a timestamp (microseconds, UTC).
func timePart(us int64, unit string) int64 {
	t := time.UnixMicro(us).UTC()
	switch unit {
	case "year":
		return int64(t.Year())
	case "quarter":
		return int64((t.Month()-1)/3 + 1)
	case "month":
		return int64(t.Month())
	case "week":
		_, w := t.ISOWeek()
		return int64(w)
	case "day":
		return int64(t.Day())
	case "hour":
		return int64(t.Hour())
	case "minute":
		return int64(t.Minute())
	case "second":
		return int64(t.Second())
	case "millisecond":
		return int64(t.Second())*1000 + int64(t.Nanosecond()/1e6)
	case "microsecond":
		return int64(t.Second())*1e6 + int64(t.Nanosecond()/1e3)
	case "dow":
		return int64(t.Weekday())
	case "isodow":
		return int64((int(t.Weekday())+6)%7 + 1)
	case "doy":
		return int64(t.YearDay())
	}
	return 0
}

// intervalUnits are the fixed-length units in microseconds.
var intervalUnits = map[string]int64{"microsecond": 1, "second": 1e6, "minute": 60e6, "hour": 3600e6, "day": 86400e6, "week": 7 * 86400e6}

// calendarUnits are the units added on the calendar, in months.
var calendarUnits = map[string]int{"month": 1, "quarter": 3, "year": 12}

// addInterval adds amount units to a timestamp.
func addInterval(us int64, amount float64, unit string) int64 {
	if step, ok := intervalUnits[unit]; ok {
		return us + int64(math.Round(amount*float64(step)))
	}
	months := int(amount) * calendarUnits[unit]
	t := time.UnixMicro(us).UTC()
	return t.AddDate(0, months, 0).UnixMicro()
}

// parseIntervalAmount reads the amount of INTERVAL '2' DAY.
func parseIntervalAmount(s string) (float64, error) {
	var f float64
	_, err := fmtSscan(strings.TrimSpace(s), &f)
	return f, err
}

// fmtSscan is fmt.Sscan, named for the one place it is used.
var fmtSscan = func(s string, f *float64) (int, error) { return fmt.Sscan(s, f) }
