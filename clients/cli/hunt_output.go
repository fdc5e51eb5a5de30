package cli

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sigmaflight/sigmaflight/clients/eventfile"
	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// huntTimeColumns are the columns, in order of preference, the table format shows as an
// event's time.
var huntTimeColumns = []string{"@timestamp", "UtcTime", "TimeCreated", "SystemTime", "EventTime", "TimeCreated_SystemTime", "timestamp", "time"}

// huntSummaryColumns are the columns the table format shows to summarise an event.
var huntSummaryColumns = []string{"Computer", "EventID", "Image", "CommandLine", "TargetFilename", "TargetObject", "ScriptBlockText", "QueryName", "DestinationIp"}

// huntWriter prints matches in one output format.
type huntWriter struct {
	format string
	out    io.Writer
	enc    *json.Encoder
	csv    *csv.Writer
	rows   [][]string // table: timeline rows, printed at finish
}

func newHuntWriter(format string, out io.Writer) *huntWriter {
	w := &huntWriter{format: format, out: out}
	switch format {
	case huntJSONL:
		w.enc = json.NewEncoder(out)
		w.enc.SetEscapeHTML(false)
	case huntCSV:
		w.csv = csv.NewWriter(out)
		_ = w.csv.Write([]string{"time", "rule_id", "rule_title", "rule_level", "rule_tags", "source", "event"})
	}
	return w
}

// huntEvent returns the non-null fields of one row.
func huntEvent(rec arrow.RecordBatch, row int) map[string]any {
	ev := make(map[string]any, rec.NumCols())
	for c, fld := range rec.Schema().Fields() {
		col := rec.Column(c)
		if col.IsNull(row) {
			continue
		}
		ev[fld.Name] = col.GetOneForMarshal(row)
	}
	return ev
}

// huntField returns the string form of the first of names present and non-null in row.
func huntField(rec arrow.RecordBatch, row int, names ...string) string {
	for _, n := range names {
		idx := rec.Schema().FieldIndices(n)
		if len(idx) == 0 {
			continue
		}
		col := rec.Column(idx[0])
		if col.IsValid(row) {
			return col.ValueStr(row)
		}
	}
	return ""
}

func tags(r *sigmaql.Rule) []string {
	if r.Tags == nil {
		return []string{}
	}
	return r.Tags
}

func (w *huntWriter) write(r *sigmaql.Rule, src eventfile.Source, rec arrow.RecordBatch, row int) error {
	switch w.format {
	case huntJSONL:
		return w.enc.Encode(huntMatch{
			RuleID: r.ID, RuleTitle: r.Title, RuleLevel: r.Level, RuleTags: tags(r),
			Source: src.String(), Event: huntEvent(rec, row),
		})
	case huntCSV:
		ev, err := json.Marshal(huntEvent(rec, row))
		if err != nil {
			return err
		}
		return w.csv.Write([]string{huntField(rec, row, huntTimeColumns...), r.ID, r.Title, r.Level,
			strings.Join(r.Tags, " "), src.String(), string(ev)})
	}
	var summary []string
	for _, n := range huntSummaryColumns {
		if v := huntField(rec, row, n); v != "" {
			if len(v) > 120 {
				v = v[:117] + "..."
			}
			summary = append(summary, n+"="+strings.ReplaceAll(v, "\n", " "))
		}
	}
	w.rows = append(w.rows, []string{huntField(rec, row, huntTimeColumns...), r.Level, r.Title, strings.Join(summary, " ")})
	return nil
}

// finish flushes the output; the table format prints its timeline (sorted by time) and
// a per-rule summary (most matches first).
func (w *huntWriter) finish(rules []*sigmaql.Rule, fired map[int32]int64) error {
	switch w.format {
	case huntCSV:
		w.csv.Flush()
		return w.csv.Error()
	case huntJSONL:
		return nil
	}
	slices.SortStableFunc(w.rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	tw := tabwriter.NewWriter(w.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tLEVEL\tRULE\tEVENT")
	for _, r := range w.rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	ids := make([]int32, 0, len(fired))
	for id := range fired {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int32) int {
		if fired[a] != fired[b] {
			return int(fired[b] - fired[a])
		}
		return strings.Compare(rules[a].Title, rules[b].Title)
	})
	fmt.Fprintf(w.out, "\n%d matches of %d rules\n", len(w.rows), len(ids))
	tw = tabwriter.NewWriter(w.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MATCHES\tLEVEL\tRULE\tID")
	for _, id := range ids {
		r := rules[id]
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", fired[id], r.Level, r.Title, r.ID)
	}
	return tw.Flush()
}
