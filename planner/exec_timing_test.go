package planner

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchTable builds a table of batches of 64Ki rows of process-like paths and ints.
func benchTable(b *testing.B, batches int) (*Planner, int64, int) {
	mem := memory.DefaultAllocator
	cat := newMemCatalog()
	var recs []arrow.RecordBatch
	var bytes int64
	rows := 0
	dirs := []string{`C:\Windows\System32\`, `C:\Program Files\Vendor\`, `C:\Users\alice\AppData\Local\Temp\`, `/usr/bin/`}
	names := []string{"svchost.exe", "cmd.exe", "powershell.exe", "explorer.exe", "bash", "updater_tool.exe"}
	schema := arrow.NewSchema([]arrow.Field{{Name: "Image", Type: utf8Type, Nullable: true}, {Name: "pid", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	for k := 0; k < batches; k++ {
		sb := array.NewStringBuilder(mem)
		ib := array.NewInt64Builder(mem)
		for i := 0; i < 1<<16; i++ {
			sb.Append(dirs[(i/7)%len(dirs)] + names[(i*31+k)%len(names)])
			ib.Append(int64(i))
		}
		s, ii := sb.NewArray(), ib.NewArray()
		bytes += arraySize(s.Data()) + arraySize(ii.Data())
		rows += s.Len()
		recs = append(recs, array.NewRecordBatch(schema, []arrow.Array{s, ii}, int64(s.Len())))
		s.Release()
		ii.Release()
		sb.Release()
		ib.Release()
	}
	cat.addTable("events", recs...)
	return New(cat, Options{}), bytes, rows
}

// BenchmarkFilterProject measures filter + project throughput over 1 Mi rows; bytes
// are the scanned column bytes. like-contains uses the specialised Contains kernel,
// like-generic the same selectivity through the generic matcher ('_' forces it).
func BenchmarkFilterProject(b *testing.B) {
	p, bytes, rows := benchTable(b, 16)
	for _, bc := range []struct{ name, where string }{
		{"kernel=like-contains", `Image LIKE '%cmd.exe%'`},
		{"kernel=like-generic", `Image LIKE '%cmd_exe%'`},
		{"kernel=like-prefix", `Image LIKE 'C:\\\\Windows%'`},
		{"kernel=compare-int", `pid < 1000`},
		{"kernel=compare-string", `Image = '/usr/bin/bash'`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			q, err := p.Prepare(context.Background(), `SELECT Image, pid FROM events WHERE `+bc.where)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(bytes)
			b.ReportAllocs()
			b.ResetTimer()
			var out int64
			for i := 0; i < b.N; i++ {
				rr, err := q.Execute(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				for rr.Next() {
					out += rr.RecordBatch().NumRows()
				}
				if rr.Err() != nil {
					b.Fatal(rr.Err())
				}
				rr.Release()
			}
			b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			if out == 0 {
				b.Fatal(fmt.Errorf("no rows selected"))
			}
		})
	}
}
