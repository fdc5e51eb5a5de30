package sigmaql

import (
	"math"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The reference evaluator is the plainest implementation of the rule semantics: for each
// row it builds a map from field name to value, then walks every rule's AST. It shares
// only the parser and AST with the Program, so that every optimisation of the Program can
// be tested against it. Wildcard patterns are matched here with regular expressions over
// case-folded text, a different technique from the Program's kernels on purpose.

// refKind is the type of one event value as the reference evaluator sees it.
type refKind uint8

const (
	refStr   refKind = iota // Utf8, LargeUtf8, Utf8View, Dictionary of those
	refInt                  // Int8..Int64
	refUint                 // Uint8..Uint64
	refFloat                // Float32, Float64
	refBool                 // Boolean
	refOther                // any other type, by its Arrow string form
)

type refValue struct {
	kind refKind
	s    string
	i    int64
	u    uint64
	f    float64
	f32  bool
	b    bool
}

// ReferenceEval is the reference evaluator: row by row, rule by rule.
func ReferenceEval(rs *Ruleset, rec arrow.RecordBatch) ([]Match, error) {
	schema := rec.Schema()
	// fieldCol resolves a rule's field name: an exact column name wins, otherwise the
	// first column whose name without spaces is the field name.
	// A column of type null (arrow-go's IsNull does not see its values as null) holds no
	// value: the field is absent.
	fieldCol := map[string]int{}
	for c, f := range schema.Fields() {
		if f.Type.ID() == arrow.NULL {
			continue
		}
		stripped := strings.ReplaceAll(f.Name, " ", "")
		if _, ok := fieldCol[stripped]; !ok {
			fieldCol[stripped] = c
		}
	}
	for c, f := range schema.Fields() {
		if f.Type.ID() != arrow.NULL {
			fieldCol[f.Name] = c
		}
	}
	var stringCols []int
	for c, f := range schema.Fields() {
		if refIsStringType(f.Type) {
			stringCols = append(stringCols, c)
		}
	}
	ev := &refEvent{regexps: map[*pred]*regexp.Regexp{}}
	var out []Match
	for row := 0; row < int(rec.NumRows()); row++ {
		ev.fields = map[string]refValue{}
		ev.folded = map[string]string{}
		for name, c := range fieldCol {
			if v, ok := refValueAt(rec.Column(c), row); ok {
				ev.fields[name] = v
			}
		}
		ev.strings = ev.strings[:0]
		for _, c := range stringCols {
			if v, ok := refValueAt(rec.Column(c), row); ok {
				ev.strings = append(ev.strings, v)
			}
		}
		for ri, r := range rs.Rules {
			if ev.rule(r) {
				out = append(out, Match{Row: int32(row), Rule: int32(ri)})
			}
		}
	}
	return out, nil
}

func refIsStringType(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	case arrow.DICTIONARY:
		return refIsStringType(t.(*arrow.DictionaryType).ValueType)
	}
	return false
}

// refValueAt reads row i of col; false means null.
func refValueAt(col arrow.Array, i int) (refValue, bool) {
	if col.DataType().ID() == arrow.NULL || col.IsNull(i) {
		return refValue{}, false
	}
	switch a := col.(type) {
	case *array.String:
		return refValue{kind: refStr, s: a.Value(i)}, true
	case *array.LargeString:
		return refValue{kind: refStr, s: a.Value(i)}, true
	case *array.StringView:
		return refValue{kind: refStr, s: a.Value(i)}, true
	case *array.Dictionary:
		if refIsStringType(a.DataType()) {
			return refValueAt(a.Dictionary(), a.GetValueIndex(i))
		}
		return refValue{kind: refOther, s: a.ValueStr(i)}, true
	case *array.Int8:
		return refValue{kind: refInt, i: int64(a.Value(i))}, true
	case *array.Int16:
		return refValue{kind: refInt, i: int64(a.Value(i))}, true
	case *array.Int32:
		return refValue{kind: refInt, i: int64(a.Value(i))}, true
	case *array.Int64:
		return refValue{kind: refInt, i: a.Value(i)}, true
	case *array.Uint8:
		return refValue{kind: refUint, u: uint64(a.Value(i))}, true
	case *array.Uint16:
		return refValue{kind: refUint, u: uint64(a.Value(i))}, true
	case *array.Uint32:
		return refValue{kind: refUint, u: uint64(a.Value(i))}, true
	case *array.Uint64:
		return refValue{kind: refUint, u: a.Value(i)}, true
	case *array.Float32:
		return refValue{kind: refFloat, f: float64(a.Value(i)), f32: true}, true
	case *array.Float64:
		return refValue{kind: refFloat, f: a.Value(i)}, true
	case *array.Boolean:
		return refValue{kind: refBool, b: a.Value(i)}, true
	}
	return refValue{kind: refOther, s: col.ValueStr(i)}, true
}

// refEvent is one row being evaluated.
type refEvent struct {
	fields  map[string]refValue // non-null values by field name
	strings []refValue          // non-null values of the string columns, for keywords
	regexps map[*pred]*regexp.Regexp
	folded  map[string]string // case-folded values of this row, by raw value
}

func (ev *refEvent) fold(s string) string {
	f, ok := ev.folded[s]
	if !ok {
		f = fold(s)
		ev.folded[s] = f
	}
	return f
}

func (ev *refEvent) rule(r *Rule) bool {
	d := r.det
	for _, it := range d.logsource {
		if !ev.item(it) {
			return false
		}
	}
	return ev.cond(d, d.cond)
}

func (ev *refEvent) cond(d *detection, c condNode) bool {
	switch c := c.(type) {
	case *condAnd:
		for _, x := range c.xs {
			if !ev.cond(d, x) {
				return false
			}
		}
		return true
	case *condOr:
		for _, x := range c.xs {
			if ev.cond(d, x) {
				return true
			}
		}
		return false
	case *condNot:
		return !ev.cond(d, c.x)
	case *condIdent:
		return ev.search(d.searches[c.name])
	case *condOf:
		for _, name := range ofTargets(d.names, c.pattern) {
			m := ev.search(d.searches[name])
			if c.all && !m {
				return false
			}
			if !c.all && m {
				return true
			}
		}
		return c.all
	}
	panic("BUG: unknown condition node")
}

func (ev *refEvent) search(s *search) bool {
	for _, alt := range s.alts {
		ok := true
		for _, it := range alt {
			if !ev.item(it) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (ev *refEvent) item(it *item) bool {
	for _, variants := range it.values {
		m := false
		for _, p := range variants {
			if it.keyword {
				for _, v := range ev.strings {
					if ev.match(p, v, true) {
						m = true
						break
					}
				}
			} else {
				v, present := ev.fields[it.field]
				m = ev.match(p, v, present)
			}
			if m {
				break
			}
		}
		if it.all && !m {
			return false
		}
		if !it.all && m {
			return true
		}
	}
	return it.all
}

// refString is the string form of a value: how patterns, regexes and networks see it.
func refString(v refValue) string {
	switch v.kind {
	case refInt:
		return strconv.FormatInt(v.i, 10)
	case refUint:
		return strconv.FormatUint(v.u, 10)
	case refFloat:
		if v.f32 {
			return strconv.FormatFloat(v.f, 'f', -1, 32)
		}
		return strconv.FormatFloat(v.f, 'f', -1, 64)
	case refBool:
		return strconv.FormatBool(v.b)
	}
	return v.s
}

// refNumber is the numeric form of a number value: an int64 when it is an integer that
// fits, otherwise a float64.
func refNumber(v refValue) (isInt bool, i int64, f float64, ok bool) {
	switch v.kind {
	case refInt:
		return true, v.i, float64(v.i), true
	case refUint:
		if v.u <= math.MaxInt64 {
			return true, int64(v.u), float64(v.u), true
		}
		return false, 0, float64(v.u), true
	case refFloat:
		return false, 0, v.f, true
	}
	return false, 0, 0, false
}

func (ev *refEvent) match(p *pred, v refValue, present bool) bool {
	switch p.kind {
	case predNull:
		return !present
	case predExists:
		return present == p.b
	case predNot:
		for _, q := range p.sub {
			if ev.match(q, v, present) {
				return false
			}
		}
		return true
	}
	if !present {
		return false
	}
	switch p.kind {
	case predGlob:
		re := ev.regexps[p]
		if re == nil {
			re = globRegexp(p.glob)
			ev.regexps[p] = re
		}
		s := refString(v)
		if !p.cased {
			s = ev.fold(s)
		}
		return re.MatchString(s)
	case predNum:
		switch v.kind {
		case refStr, refOther:
			return fold(v.s) == fold(p.text)
		}
		isInt, i, f, ok := refNumber(v)
		if !ok {
			return false
		}
		if isInt && p.isInt {
			return i == p.i
		}
		return f == p.f
	case predBool:
		switch v.kind {
		case refBool:
			return v.b == p.b
		case refStr, refOther:
			return fold(v.s) == p.text
		}
		return false
	case predRegex:
		return p.re.MatchString(refString(v))
	case predCmp:
		isInt, i, f, ok := refNumber(v)
		if !ok {
			if v.kind != refStr && v.kind != refOther {
				return false
			}
			g, err := strconv.ParseFloat(v.s, 64)
			if err != nil {
				return false
			}
			f, isInt = g, false
		}
		if isInt && p.isInt {
			return refCompare(p.op, float64(cmpInt(i, p.i)))
		}
		if f < p.f {
			return refCompare(p.op, -1)
		}
		if f > p.f {
			return refCompare(p.op, 1)
		}
		if f == p.f {
			return refCompare(p.op, 0)
		}
		return false // NaN
	case predCIDR:
		if v.kind != refStr && v.kind != refOther {
			return false
		}
		a, err := netip.ParseAddr(v.s)
		if err != nil {
			return false
		}
		for _, n := range p.nets {
			if n.Contains(a) {
				return true
			}
		}
		return false
	case predFieldRef:
		other, ok := ev.fields[p.text]
		if !ok {
			return false
		}
		return fieldRefMatch(p, refString(v), refString(other))
	case predTimePart:
		t, ok := refTime(v)
		return ok && timePartOf(p.op, t) == p.i
	}
	panic("BUG: unknown pred kind")
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func refCompare(op string, c float64) bool {
	switch op {
	case modLt:
		return c < 0
	case modLte:
		return c <= 0
	case modGt:
		return c > 0
	case modGte:
		return c >= 0
	}
	panic("BUG: unknown comparison " + op)
}

// globRegexp translates a wildcard pattern into an anchored regular expression.
func globRegexp(toks []globTok) *regexp.Regexp {
	var sb strings.Builder
	sb.WriteString(`^(?s:`)
	for _, t := range toks {
		switch t.kind {
		case globLit:
			sb.WriteString(regexp.QuoteMeta(t.lit))
		case globStar:
			sb.WriteString(`.*`)
		case globOne:
			sb.WriteString(`.`)
		}
	}
	sb.WriteString(`)$`)
	return regexp.MustCompile(sb.String())
}
