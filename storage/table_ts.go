package storage

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TSColumn is the name of the time column every table has: timestamp[us, UTC], never
// null once stored.
const TSColumn = "ts"

// tsType is the type of the ts column.
var tsType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// DefaultTimeFields are the event fields the ts column is taken from when a table sets no
// TimeFields: the first present, non-null and parseable one per row. "ts" first (a
// client that already computed it), then the Elastic/ECS and Winlogbeat "@timestamp",
// the Windows event "TimeCreated" (evtx and OTRF), Sysmon's "UtcTime", and a plain
// "timestamp".
var DefaultTimeFields = []string{"ts", "@timestamp", "TimeCreated", "UtcTime", "timestamp"}

// DefaultPartitionKeys are the fields hashed to pick a row's shard when a table sets no
// PartitionKeys: the host, as Sysmon/OTRF ("Hostname"), evtx ("Computer") and ECS-like
// collectors ("host") name it.
var DefaultPartitionKeys = []string{"Hostname", "Computer", "host"}

// timeLayouts are the string layouts the ts column parses, tried in order. A layout
// without a zone is read as UTC (Sysmon's UtcTime is "2006-01-02 15:04:05.000").
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
}

// parseTime parses s in one of timeLayouts.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// withTS returns rec (normalized form) with its ts column computed from fields, as the
// first column (moved there if rec had one). Rows whose fields are all null or unparseable get ingest.
// The result is a new batch; rec is not released.
func withTS(table string, rec arrow.RecordBatch, fields []string, ingest time.Time) (arrow.RecordBatch, error) {
	n := int(rec.NumRows())
	sch := rec.Schema()
	out := make([]int64, n)
	set := make([]bool, n)
	left := n
	for _, name := range fields {
		if left == 0 {
			break
		}
		ix := sch.FieldIndices(name)
		if len(ix) == 0 {
			continue
		}
		col := rec.Column(ix[0])
		switch a := col.(type) {
		case *array.Timestamp:
			unit := a.DataType().(*arrow.TimestampType).Unit
			for i := range n {
				if !set[i] && a.IsValid(i) {
					out[i] = a.Value(i).ToTime(unit).UnixMicro()
					set[i] = true
					left--
				}
			}
		case *array.String:
			var lastS string
			var lastV int64
			haveLast := false
			for i := range n {
				if set[i] || a.IsNull(i) {
					continue
				}
				s := a.Value(i)
				// Fast path: consecutive events often share a timestamp string.
				if haveLast && s == lastS {
					out[i], set[i] = lastV, true
					left--
					continue
				}
				t, ok := parseTime(s)
				if !ok {
					continue
				}
				lastS, lastV, haveLast = strings.Clone(s), t.UnixMicro(), true
				out[i], set[i] = lastV, true
				left--
			}
		default:
			if name == TSColumn {
				return nil, fmt.Errorf("table %q: column %q is the table's time column and must be a timestamp or a string, batch has %s: %w",
					table, TSColumn, col.DataType(), ErrInvalidBatch)
			}
		}
	}
	if left > 0 {
		us := ingest.UnixMicro()
		for i := range n {
			if !set[i] {
				out[i] = us
			}
		}
	}
	b := array.NewTimestampBuilder(mem, tsType)
	defer b.Release()
	b.Reserve(n)
	for _, v := range out {
		b.UnsafeAppend(arrow.Timestamp(v))
	}
	ts := b.NewArray()
	defer ts.Release()

	fieldsOut := slices.Clone(sch.Fields())
	cols := slices.Clone(rec.Columns())
	tsField := arrow.Field{Name: TSColumn, Type: tsType, Nullable: true}
	if ix := sch.FieldIndices(TSColumn); len(ix) > 0 {
		fieldsOut = slices.Delete(fieldsOut, ix[0], ix[0]+1)
		cols = slices.Delete(cols, ix[0], ix[0]+1)
	}
	fieldsOut = append([]arrow.Field{tsField}, fieldsOut...)
	cols = append([]arrow.Array{ts}, cols...)
	return array.NewRecordBatch(arrow.NewSchema(fieldsOut, nil), cols, int64(n)), nil
}

// tsRange returns the min and max of rec's ts column (microseconds); ok is false when the
// batch has no rows or no ts column.
func tsRange(rec arrow.RecordBatch) (lo, hi int64, ok bool) {
	ix := rec.Schema().FieldIndices(TSColumn)
	if len(ix) == 0 || rec.NumRows() == 0 {
		return 0, 0, false
	}
	a, isTS := rec.Column(ix[0]).(*array.Timestamp)
	if !isTS {
		return 0, 0, false
	}
	vals := a.TimestampValues()
	lo, hi = int64(vals[0]), int64(vals[0])
	for _, v := range vals[1:] {
		lo, hi = min(lo, int64(v)), max(hi, int64(v))
	}
	return lo, hi, true
}
