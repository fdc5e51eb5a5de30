package planner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// explainSchema is the result schema of EXPLAIN: one line of the plan per row.
var explainSchema = arrow.NewSchema([]arrow.Field{{Name: "plan", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)

// explainAnalyze runs the query to the end, discarding its rows, and returns the plan
// annotated with each node's rows, batches and time (inclusive of its inputs; summed
// over the workers of a parallel fragment).
func (q *Query) explainAnalyze(ctx context.Context, env *execEnv) (array.RecordReader, error) {
	env.analyze = true
	env.stats = map[logicalNode]*opStats{}
	root, err := buildOperators(q.plan, env)
	if err != nil {
		return nil, err
	}
	entry := q.planner.queries.start(q.sql)
	start := time.Now()
	var rows int64
	var runErr error
	for {
		b, err := root.next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			runErr = err
			break
		}
		rows += int64(b.live())
	}
	root.close()
	q.planner.queries.finish(entry, rows, env.budget.peak.Load(), runErr)
	if runErr != nil {
		return nil, runErr
	}
	text := explainPlan(q.plan, env.stats)
	text += fmt.Sprintf("Total: rows=%d time=%s peak-memory=%s\n", rows, time.Since(start).Round(time.Microsecond), formatBytes(env.budget.peak.Load()))
	return textReader(q.mem, explainSchema, strings.Split(strings.TrimSuffix(text, "\n"), "\n")), nil
}

// textReader returns a reader of one batch holding lines in a single Utf8 column.
func textReader(mem memory.Allocator, schema *arrow.Schema, lines []string) array.RecordReader {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.AppendValues(lines, nil)
	col := b.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(lines)))
	defer rec.Release()
	rr, err := array.NewRecordReader(schema, []arrow.RecordBatch{rec})
	if err != nil {
		panic("BUG: " + err.Error())
	}
	return rr
}

// isCancel reports whether err is a cancellation or deadline.
func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

var _ = atomic.Int64{}
