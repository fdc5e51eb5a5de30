package storage

import (
	"fmt"
	"time"
)

// Op is a predicate's comparison.
type Op int

const (
	// OpEq is column = value.
	OpEq Op = iota
	// OpLt is column < value.
	OpLt
	// OpLe is column <= value.
	OpLe
	// OpGt is column > value.
	OpGt
	// OpGe is column >= value.
	OpGe
	// OpIsNull is column IS NULL (Value unused).
	OpIsNull
	// OpIsNotNull is column IS NOT NULL (Value unused).
	OpIsNotNull
	// OpIn is column IN (Values...).
	OpIn
)

func (o Op) String() string {
	switch o {
	case OpEq:
		return "="
	case OpLt:
		return "<"
	case OpLe:
		return "<="
	case OpGt:
		return ">"
	case OpGe:
		return ">="
	case OpIsNull:
		return "IS NULL"
	case OpIsNotNull:
		return "IS NOT NULL"
	case OpIn:
		return "IN"
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Predicate is one column-op-literal condition pushed into a scan. Value (and each of
// Values for OpIn) is an int64 (any integer column, and timestamp columns of any unit as microseconds since
// the epoch), a float64 (float columns), a string (string columns) or a time.Time
// (timestamp columns). A literal whose kind does not fit the column never prunes
// anything: the scan stays correct, it only reads more. SQL semantics: a comparison is
// never true for a null.
type Predicate struct {
	Column string
	Op     Op
	Value  any
	Values []any
}

func (p Predicate) String() string {
	switch p.Op {
	case OpIsNull, OpIsNotNull:
		return fmt.Sprintf("%s %s", p.Column, p.Op)
	case OpIn:
		return fmt.Sprintf("%s IN %v", p.Column, p.Values)
	}
	return fmt.Sprintf("%s %s %v", p.Column, p.Op, p.Value)
}

// zoneValue is a literal in the zone map's value space: kind 'i' (int64), 'f' (float64)
// or 's' (string).
type zoneValue struct {
	kind byte
	i    int64
	f    float64
	s    string
}

// literalValue converts a predicate literal; ok is false for kinds the zone maps do not
// know (such literals never prune).
func literalValue(v any) (zoneValue, bool) {
	switch x := v.(type) {
	case int:
		return zoneValue{kind: 'i', i: int64(x)}, true
	case int8:
		return zoneValue{kind: 'i', i: int64(x)}, true
	case int16:
		return zoneValue{kind: 'i', i: int64(x)}, true
	case int32:
		return zoneValue{kind: 'i', i: int64(x)}, true
	case int64:
		return zoneValue{kind: 'i', i: x}, true
	case uint8:
		return zoneValue{kind: 'i', i: int64(x)}, true
	case uint16:
		return zoneValue{kind: 'i', i: int64(x)}, true
	case uint32:
		return zoneValue{kind: 'i', i: int64(x)}, true
	case float64:
		return zoneValue{kind: 'f', f: x}, true
	case float32:
		return zoneValue{kind: 'f', f: float64(x)}, true
	case string:
		return zoneValue{kind: 's', s: x}, true
	case time.Time:
		return zoneValue{kind: 'i', i: x.UnixMicro()}, true
	}
	return zoneValue{}, false
}

// cmp compares a and b of the same kind; ok is false when the kinds differ (an int
// literal against a float column compares as floats).
func (a zoneValue) cmp(b zoneValue) (int, bool) {
	if a.kind != b.kind {
		if a.kind == 'i' && b.kind == 'f' {
			return zoneValue{kind: 'f', f: float64(a.i)}.cmp(b)
		}
		if a.kind == 'f' && b.kind == 'i' {
			return a.cmp(zoneValue{kind: 'f', f: float64(b.i)})
		}
		return 0, false
	}
	switch a.kind {
	case 'i':
		return cmpOrdered(a.i, b.i), true
	case 'f':
		return cmpOrdered(a.f, b.f), true
	case 's':
		return cmpOrdered(a.s, b.s), true
	}
	return 0, false
}

func cmpOrdered[T int64 | uint32 | float64 | string](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mayMatch reports whether a zone (rows rows, with column statistics cs, nil when the
// zone lacks the column: all nulls) can hold a row satisfying p. It errs on the side of
// true.
func (p Predicate) mayMatch(cs *ColumnStats, rows int64) bool {
	if cs == nil {
		// The column is absent from this zone: every value is null.
		return p.Op == OpIsNull
	}
	switch p.Op {
	case OpIsNull:
		return cs.Nulls > 0
	case OpIsNotNull:
		return cs.Nulls < rows
	}
	if cs.Nulls >= rows {
		return false // comparisons are never true for nulls
	}
	if !cs.HasMinMax {
		return true
	}
	lo, hi := cs.min(), cs.max()
	inRange := func(v any) bool {
		lit, ok := literalValue(v)
		if !ok {
			return true
		}
		c1, ok1 := lit.cmp(lo)
		c2, ok2 := lit.cmp(hi)
		if !ok1 || !ok2 {
			return true
		}
		switch p.Op {
		case OpEq, OpIn:
			return c1 >= 0 && c2 <= 0
		case OpLt: // some x < v  <=>  min < v
			return c1 > 0
		case OpLe:
			return c1 >= 0
		case OpGt: // some x > v  <=>  max > v
			return c2 < 0
		case OpGe:
			return c2 <= 0
		}
		return true
	}
	if p.Op == OpIn {
		for _, v := range p.Values {
			if inRange(v) {
				return true
			}
		}
		return false
	}
	return inRange(p.Value)
}
