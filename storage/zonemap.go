package storage

import (
	"math"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// ColumnStats is one column's zone map over a zone (a segment or a row group): its null
// count and, for integer, float, timestamp and string columns, its minimum and maximum.
// Timestamps are kept as int64 microseconds since the epoch, whatever the column's unit. Strings longer
// than maxZoneStringLen keep no min/max (HasMinMax false), so the zone is never pruned by
// that column rather than pruned wrongly by a truncated bound.
type ColumnStats struct {
	Nulls     int64   `json:"nulls"`
	HasMinMax bool    `json:"has_minmax,omitempty"`
	Kind      string  `json:"kind,omitempty"` // "i", "f" or "s"
	MinI      int64   `json:"min_i,omitempty"`
	MaxI      int64   `json:"max_i,omitempty"`
	MinF      float64 `json:"min_f,omitempty"`
	MaxF      float64 `json:"max_f,omitempty"`
	MinS      string  `json:"min_s,omitempty"`
	MaxS      string  `json:"max_s,omitempty"`
}

func (cs *ColumnStats) min() zoneValue {
	return zoneValue{kind: cs.Kind[0], i: cs.MinI, f: cs.MinF, s: cs.MinS}
}

func (cs *ColumnStats) max() zoneValue {
	return zoneValue{kind: cs.Kind[0], i: cs.MaxI, f: cs.MaxF, s: cs.MaxS}
}

// columnStats computes the zone map of arr[off:off+n].
func columnStats(arr arrow.Array, off, n int) ColumnStats {
	cs := ColumnStats{}
	if n == 0 {
		return cs
	}
	s := array.NewSlice(arr, int64(off), int64(off+n))
	defer s.Release()
	cs.Nulls = int64(s.NullN())
	if cs.Nulls == int64(n) {
		return cs
	}
	switch a := s.(type) {
	case *array.Int8:
		intStats(&cs, a, func(i int) int64 { return int64(a.Value(i)) })
	case *array.Int16:
		intStats(&cs, a, func(i int) int64 { return int64(a.Value(i)) })
	case *array.Int32:
		intStats(&cs, a, func(i int) int64 { return int64(a.Value(i)) })
	case *array.Int64:
		intStats(&cs, a, func(i int) int64 { return a.Value(i) })
	case *array.Uint8:
		intStats(&cs, a, func(i int) int64 { return int64(a.Value(i)) })
	case *array.Uint16:
		intStats(&cs, a, func(i int) int64 { return int64(a.Value(i)) })
	case *array.Uint32:
		intStats(&cs, a, func(i int) int64 { return int64(a.Value(i)) })
	case *array.Timestamp:
		// Kept in microseconds whatever the column's unit, like time.Time literals.
		unit := a.DataType().(*arrow.TimestampType).Unit
		intStats(&cs, a, func(i int) int64 { return a.Value(i).ToTime(unit).UnixMicro() })
	case *array.Float32:
		floatStats(&cs, a, func(i int) float64 { return float64(a.Value(i)) })
	case *array.Float64:
		floatStats(&cs, a, func(i int) float64 { return a.Value(i) })
	case *array.String:
		stringStats(&cs, a, a.Value, false)
	case *array.Binary:
		// Bounds as byte strings, like the dictionaries' (dictStats): a string literal
		// compares with them byte by byte; other literals do not prune.
		stringStats(&cs, a, a.ValueString, true)
	}
	return cs
}

// boundable reports whether v can be a zone-map bound: at most maxZoneStringLen bytes,
// and (binary columns: checkUTF8) valid UTF-8, which the JSON manifest keeps as it is
// (it turns other bytes into U+FFFD, and a bound read back changed prunes wrongly: found
// in review). utf8 columns are valid UTF-8 already (ingest checks).
func boundable(v string, checkUTF8 bool) bool {
	return len(v) <= maxZoneStringLen && (!checkUTF8 || utf8.ValidString(v))
}

// stringStats sets cs's bounds from the non-null values of a (value(i): row i's value;
// checkUTF8: see boundable).
func stringStats(cs *ColumnStats, a arrow.Array, value func(int) string, checkUTF8 bool) {
	first := true
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			continue
		}
		v := value(i)
		if !boundable(v, checkUTF8) {
			// No usable bound; see ColumnStats. MinS/MaxS may point into arr (whose
			// buffers can be reused after this returns): drop them.
			cs.MinS, cs.MaxS = "", ""
			return
		}
		if first || v < cs.MinS {
			cs.MinS = v
		}
		if first || v > cs.MaxS {
			cs.MaxS = v
		}
		first = false
	}
	cs.Kind, cs.HasMinMax = "s", true
	cs.MinS, cs.MaxS = cloneString(cs.MinS), cloneString(cs.MaxS)
}

// cloneString copies s so that the zone map does not pin the Arrow buffer it points into.
func cloneString(s string) string { return string([]byte(s)) }

func intStats(cs *ColumnStats, a arrow.Array, v func(int) int64) {
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			continue
		}
		x := v(i)
		lo, hi = min(lo, x), max(hi, x)
	}
	cs.Kind, cs.HasMinMax, cs.MinI, cs.MaxI = "i", true, lo, hi
}

func floatStats(cs *ColumnStats, a arrow.Array, v func(int) float64) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for i := 0; i < a.Len(); i++ {
		if a.IsNull(i) {
			continue
		}
		x := v(i)
		if math.IsNaN(x) {
			return // NaN has no order; keep no bound
		}
		lo, hi = min(lo, x), max(hi, x)
	}
	cs.Kind, cs.HasMinMax, cs.MinF, cs.MaxF = "f", true, lo, hi
}

// zone is what pruning needs of a segment, a row group or a head batch.
type zone struct {
	rows         int64
	minTS, maxTS int64 // microseconds, inclusive
	cols         map[string]*ColumnStats
	haveCols     bool // false: no column statistics, only the time range (head batches)
}

// mayMatch reports whether the zone can hold rows wanted by the scan.
func (z zone) mayMatch(opts *scanPlan) bool {
	if z.rows == 0 {
		return false
	}
	if opts.hasMin && z.maxTS < opts.minTS {
		return false
	}
	if opts.hasMax && z.minTS >= opts.maxTS {
		return false
	}
	if !z.haveCols {
		return true
	}
	for _, p := range opts.preds {
		if !p.mayMatch(z.cols[p.Column], z.rows) {
			return false
		}
	}
	return true
}

// scanPlan is ScanOptions resolved for pruning.
type scanPlan struct {
	preds          []Predicate
	hasMin, hasMax bool
	minTS, maxTS   int64 // microseconds; minTS inclusive, maxTS exclusive
}

func newScanPlan(opts ScanOptions) *scanPlan {
	p := &scanPlan{preds: opts.Predicates}
	if !opts.MinTime.IsZero() {
		p.hasMin, p.minTS = true, opts.MinTime.UnixMicro()
	}
	if !opts.MaxTime.IsZero() {
		p.hasMax, p.maxTS = true, opts.MaxTime.UnixMicro()
	}
	return p
}
