package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// Output formats of `sql --format`.
const (
	formatTable = "table"
	formatCSV   = "csv"
	formatJSON  = "json"
	formatArrow = "arrow"
)

// maxCellWidth truncates wide cells in table output (a PowerShell script block can be
// kilobytes); csv and json never truncate.
const maxCellWidth = 80

// writeResult writes every batch of rdr to w in format and returns the row count.
func writeResult(w io.Writer, rdr array.RecordReader, format string) (int64, error) {
	switch format {
	case formatTable:
		return writeTable(w, rdr)
	case formatCSV:
		return writeCSV(w, rdr)
	case formatJSON:
		return writeJSON(w, rdr)
	case formatArrow:
		return writeArrow(w, rdr)
	}
	return 0, fmt.Errorf("unknown format %q (want table, csv, json or arrow)", format)
}

// cell renders one value as text; nulls are "".
func cell(col arrow.Array, i int) string {
	if col.IsNull(i) {
		return ""
	}
	switch c := col.(type) {
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.Timestamp:
		unit := c.DataType().(*arrow.TimestampType).Unit
		return c.Value(i).ToTime(unit).UTC().Format("2006-01-02T15:04:05.999999Z07:00")
	}
	return col.ValueStr(i)
}

func writeTable(w io.Writer, rdr array.RecordReader) (int64, error) {
	schema := rdr.Schema()
	names := make([]string, schema.NumFields())
	widths := make([]int, len(names))
	for i, f := range schema.Fields() {
		names[i] = f.Name
		widths[i] = utf8.RuneCountInString(f.Name)
	}
	var rows [][]string
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			row := make([]string, len(names))
			for c := range names {
				s := strings.NewReplacer("\r\n", "↵", "\n", "↵", "\t", " ").Replace(cell(rec.Column(c), r))
				if utf8.RuneCountInString(s) > maxCellWidth {
					s = string([]rune(s)[:maxCellWidth-1]) + "…"
				}
				row[c] = s
				widths[c] = max(widths[c], utf8.RuneCountInString(s))
			}
			rows = append(rows, row)
		}
	}
	if err := rdr.Err(); err != nil {
		return int64(len(rows)), err
	}
	line := func(vals []string) {
		var sb strings.Builder
		for i, v := range vals {
			if i > 0 {
				sb.WriteString(" | ")
			} else {
				sb.WriteString(" ")
			}
			sb.WriteString(v)
			sb.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(v)))
		}
		fmt.Fprintln(w, strings.TrimRight(sb.String(), " "))
	}
	line(names)
	seps := make([]string, len(names))
	for i := range seps {
		seps[i] = strings.Repeat("-", widths[i]+2)
	}
	fmt.Fprintln(w, strings.Join(seps, "+"))
	for _, r := range rows {
		line(r)
	}
	if len(rows) == 1 {
		fmt.Fprintln(w, "(1 row)")
	} else {
		fmt.Fprintf(w, "(%d rows)\n", len(rows))
	}
	return int64(len(rows)), nil
}

func writeCSV(w io.Writer, rdr array.RecordReader) (int64, error) {
	cw := csv.NewWriter(w)
	schema := rdr.Schema()
	head := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		head[i] = f.Name
	}
	if err := cw.Write(head); err != nil {
		return 0, err
	}
	var n int64
	row := make([]string, len(head))
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			for c := range row {
				row[c] = cell(rec.Column(c), r)
			}
			if err := cw.Write(row); err != nil {
				return n, err
			}
			n++
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return n, err
	}
	return n, rdr.Err()
}

// writeJSON writes one JSON object per row (JSON lines), numbers and booleans typed,
// nulls as null.
func writeJSON(w io.Writer, rdr array.RecordReader) (int64, error) {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	schema := rdr.Schema()
	var n int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		for r := 0; r < int(rec.NumRows()); r++ {
			obj := make(orderedRow, schema.NumFields())
			for c, f := range schema.Fields() {
				col := rec.Column(c)
				var v any
				switch {
				case col.IsNull(r):
				case col.DataType().ID() == arrow.TIMESTAMP:
					v = cell(col, r)
				default:
					v = col.GetOneForMarshal(r)
				}
				obj[c] = kv{f.Name, v}
			}
			if err := enc.Encode(obj); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, rdr.Err()
}

type kv struct {
	k string
	v any
}

// orderedRow marshals as a JSON object with the result's column order.
type orderedRow []kv

func (o orderedRow) MarshalJSON() ([]byte, error) {
	var sb strings.Builder
	sb.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			sb.WriteByte(',')
		}
		k, _ := json.Marshal(e.k)
		v, err := json.Marshal(e.v)
		if err != nil {
			return nil, err
		}
		sb.Write(k)
		sb.WriteByte(':')
		sb.Write(v)
	}
	sb.WriteByte('}')
	return []byte(sb.String()), nil
}

// writeArrow writes an Arrow IPC stream (pipe it to pyarrow.ipc.open_stream).
func writeArrow(w io.Writer, rdr array.RecordReader) (int64, error) {
	iw := ipc.NewWriter(w, ipc.WithSchema(rdr.Schema()))
	var n int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		if err := iw.Write(rec); err != nil {
			return n, err
		}
		n += rec.NumRows()
	}
	if err := iw.Close(); err != nil {
		return n, err
	}
	return n, rdr.Err()
}
