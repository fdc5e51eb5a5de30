package planner

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Prepared-statement parameters.
//
// A query with `?` placeholders is planned once at Prepare with every placeholder bound
// as an untyped NULL constant; the binder records, for each placeholder, the type its
// context implies (the column it is compared with, Int64 in LIMIT/OFFSET, Utf8 for a LIKE
// pattern). That plan only serves ParameterSchema and is never executed. Bind renders
// the row's values as SQL literals of the placeholder types, substitutes them for the
// `?` tokens of the user's text and prepares the result: the bound query is an ordinary
// query, so values take exactly the path of literals (folding, rule pruning, pushdown).

// paramSet collects the placeholders of a statement while binding.
type paramSet struct {
	types []arrow.DataType // by placeholder number; nil: unknown (Utf8)
	// at maps the byte offset of each `?` to its number: TiDB's ParamMarkerExpr.Order
	// is not set by the parser, its Offset is.
	at map[int]int
}

// index returns the number (0-based) of the placeholder at byte offset off.
func (ps *paramSet) index(off int) int {
	if i, ok := ps.at[off]; ok {
		return i
	}
	return -1
}

// note registers placeholder idx (0-based) and returns it.
func (ps *paramSet) note(idx int) {
	for len(ps.types) <= idx {
		ps.types = append(ps.types, nil)
	}
}

// hint sets the type of placeholder idx from its context; the first hint wins.
func (ps *paramSet) hint(idx int, dt arrow.DataType) {
	if ps == nil || idx < 0 {
		return
	}
	ps.note(idx)
	if ps.types[idx] == nil && dt != nil {
		ps.types[idx] = paramType(dt)
	}
}

// paramType maps a context type to the type a client should send.
func paramType(dt arrow.DataType) arrow.DataType {
	switch classOf(dt) {
	case classNumber:
		switch dt.ID() {
		case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
			return arrow.PrimitiveTypes.Float64
		}
		return arrow.PrimitiveTypes.Int64
	case classBool:
		return arrow.FixedWidthTypes.Boolean
	case classTime:
		return timestampUTC
	}
	return arrow.BinaryTypes.String
}

// ParameterSchema returns one nullable field per `?` placeholder, in order of appearance,
// named "$1", "$2"... and typed from its context (Utf8 when nothing better is known). A
// query without placeholders returns an empty schema.
func (q *Query) ParameterSchema() *arrow.Schema {
	fields := make([]arrow.Field, len(q.params))
	for i, dt := range q.params {
		if dt == nil {
			dt = arrow.BinaryTypes.String
		}
		fields[i] = arrow.Field{Name: "$" + strconv.Itoa(i+1), Type: dt, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

// Bind returns a copy of the query with its placeholders set from row `row` of params,
// whose columns correspond to ParameterSchema by position. Values are cast to the
// placeholder types; a value that cannot be cast is an error naming the parameter.
// A query without placeholders accepts a batch with no columns and returns itself.
func (q *Query) Bind(params arrow.RecordBatch, row int) (*Query, error) {
	if len(q.params) == 0 {
		if params != nil && params.NumCols() > 0 {
			return nil, fmt.Errorf("%w: the query has no parameters but %d values were bound", ErrInvalid, params.NumCols())
		}
		return q, nil
	}
	if params == nil || int(params.NumCols()) != len(q.params) {
		got := 0
		if params != nil {
			got = int(params.NumCols())
		}
		return nil, fmt.Errorf("%w: the query has %d parameters but %d values were bound", ErrInvalid, len(q.params), got)
	}
	if row < 0 || int64(row) >= params.NumRows() {
		return nil, fmt.Errorf("%w: parameter row %d out of range (batch has %d rows)", ErrInvalid, row, params.NumRows())
	}
	literalOnly := q.literalOnlyParams()
	var b strings.Builder
	last := 0
	for i, pos := range q.paramPos {
		text, err := paramLiteral(params.Column(i), row, q.ParameterSchema().Field(i).Type)
		if err != nil {
			return nil, fmt.Errorf("%w: parameter %d: %v", ErrType, i+1, err)
		}
		b.WriteString(q.sql[last:pos])
		// The literal stands alone: spaces keep it from merging with its neighbours
		// (`1 -?` with -5 must not become the comment `1 --5`), parentheses keep a
		// sign or a multi-token literal one operand. Where the grammar takes only a
		// literal (LIMIT, OFFSET, ESCAPE) it gets the spaces alone.
		if literalOnly[i] {
			b.WriteString(" " + text + " ")
		} else {
			b.WriteString(" (" + text + ") ")
		}
		last = pos + 1
	}
	b.WriteString(q.sql[last:])
	bound, err := q.planner.prepare(q.ctx(), b.String(), false, q.cfg)
	if err != nil {
		return nil, fmt.Errorf("bind parameters: %w", err)
	}
	return bound, nil
}

// paramLiteral renders value row of arr, cast to the placeholder type to, as SQL text.
func paramLiteral(arr arrow.Array, row int, to arrow.DataType) (string, error) {
	// A Null-typed column (what a client binding None sends) has no validity bitmap, and
	// arrow-go's IsNull reports false for it.
	if arr.DataType().ID() == arrow.NULL || arr.IsNull(row) {
		return "NULL", nil
	}
	if d, ok := arr.(*array.Dictionary); ok {
		return paramLiteral(d.Dictionary(), d.GetValueIndex(row), to)
	}
	var v any
	switch a := arr.(type) {
	case *array.String:
		v = a.Value(row)
	case *array.LargeString:
		v = a.Value(row)
	case *array.StringView:
		v = a.Value(row)
	case *array.Boolean:
		v = a.Value(row)
	case *array.Float32:
		v = float64(a.Value(row))
	case *array.Float64:
		v = a.Value(row)
	case *array.Timestamp:
		v = a.Value(row).ToTime(a.DataType().(*arrow.TimestampType).Unit)
	case *array.Date32:
		v = a.Value(row).ToTime()
	case *array.Date64:
		v = a.Value(row).ToTime()
	case *array.Uint64:
		if a.Value(row) > math.MaxInt64 {
			return "", fmt.Errorf("value %d does not fit Int64", a.Value(row))
		}
		v = int64(a.Value(row))
	default:
		if g := intGetter(arr); g != nil && isIntArray(arr) {
			v = g(row)
		} else {
			return "", fmt.Errorf("values of type %s are not supported", arr.DataType())
		}
	}
	switch to.ID() {
	case arrow.INT64:
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<62 {
				return "", fmt.Errorf("cannot cast %v to Int64", x)
			}
			return strconv.FormatInt(int64(x), 10), nil
		case string:
			i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
			if err != nil {
				return "", fmt.Errorf("cannot cast %s to Int64", sqlString(x))
			}
			return strconv.FormatInt(i, 10), nil
		}
	case arrow.FLOAT64:
		switch x := v.(type) {
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return floatLiteral(x)
		case string:
			f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
			if err != nil {
				return "", fmt.Errorf("cannot cast %s to Float64", sqlString(x))
			}
			return floatLiteral(f)
		}
	case arrow.BOOL:
		switch x := v.(type) {
		case bool:
			return strings.ToUpper(strconv.FormatBool(x)), nil
		case int64:
			return strings.ToUpper(strconv.FormatBool(x != 0)), nil
		case string:
			bv, err := strconv.ParseBool(strings.TrimSpace(x))
			if err != nil {
				return "", fmt.Errorf("cannot cast %s to Boolean", sqlString(x))
			}
			return strings.ToUpper(strconv.FormatBool(bv)), nil
		}
	case arrow.TIMESTAMP:
		switch x := v.(type) {
		case time.Time:
			return sqlStringLiteral(x.UTC().Format(time.RFC3339Nano)), nil
		case string:
			t, err := parseTimestamp(x)
			if err != nil {
				return "", fmt.Errorf("cannot cast %s to a timestamp", sqlString(x))
			}
			return sqlStringLiteral(t.UTC().Format(time.RFC3339Nano)), nil
		}
	default: // Utf8
		switch x := v.(type) {
		case string:
			return sqlStringLiteral(x), nil
		case int64:
			return sqlStringLiteral(strconv.FormatInt(x, 10)), nil
		case float64:
			return sqlStringLiteral(strconv.FormatFloat(x, 'g', -1, 64)), nil
		case bool:
			return sqlStringLiteral(strconv.FormatBool(x)), nil
		case time.Time:
			return sqlStringLiteral(x.UTC().Format(time.RFC3339Nano)), nil
		}
	}
	return "", fmt.Errorf("cannot cast %s to %s", arr.DataType(), to)
}

// floatLiteral renders a finite float as an SQL numeric literal.
func floatLiteral(f float64) (string, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("%v has no SQL literal", f)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s, nil
}

// sqlStringLiteral quotes s for the TiDB lexer, which treats backslash as an escape.
func sqlStringLiteral(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// literalOnlyParams reports, per placeholder, whether it stands where the grammar takes
// only a literal: after LIMIT, OFFSET or ESCAPE, or after the comma of `LIMIT n, m`.
func (q *Query) literalOnlyParams() []bool {
	out := make([]bool, len(q.paramPos))
	toks, err := lexSQL(q.sql)
	if err != nil {
		return out
	}
	at := make(map[int]int, len(q.paramPos))
	for i, pos := range q.paramPos {
		at[pos] = i
	}
	for j, t := range toks {
		i, ok := at[t.pos]
		if !ok || !t.isPunct("?") || j == 0 {
			continue
		}
		prev := toks[j-1]
		out[i] = prev.is("LIMIT") || prev.is("OFFSET") || prev.is("ESCAPE") ||
			prev.isPunct(",") && j >= 3 && toks[j-3].is("LIMIT")
	}
	return out
}
