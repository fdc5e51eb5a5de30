package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// benchRecording is the OTRF recording the benchmarks write: 10,487 Windows events with
// 100+ columns, mostly strings.
const benchRecording = "proxylogon_ssrf_rce_poc.zip"

// benchWALLimit bounds the WAL a write benchmark grows before it starts over (untimed) in
// a fresh directory, so that long runs do not fill the disk.
const benchWALLimit = 512 << 20

// BenchmarkWrite measures durable appends (one fsync per Write call) of OTRF events in
// batches of the given size, from one writer and from eight concurrent writers sharing
// fsyncs through group commit.
func BenchmarkWrite(b *testing.B) {
	oe := loadOTRF(b, benchRecording)
	for _, rows := range []int{1000, 10000} {
		recs := oe.batches(0, len(oe.events), rows)
		// Keep only full batches so that every Write carries rows events.
		full := recs[:0]
		for _, r := range recs {
			if r.NumRows() == int64(rows) {
				full = append(full, r)
			} else {
				r.Release()
			}
		}
		for _, writers := range []int{1, 8} {
			if writers > 1 && rows > 1000 {
				continue
			}
			b.Run(fmt.Sprintf("rows=%d/writers=%d", rows, writers), func(b *testing.B) {
				benchWrite(b, full, writers)
			})
		}
		releaseAll(full)
	}
}

func benchWrite(b *testing.B, recs []arrow.RecordBatch, writers int) {
	var bytes int64
	for _, r := range recs {
		bytes += recordBytes([]arrow.RecordBatch{r})
	}
	rows := recs[0].NumRows()
	b.SetBytes(bytes / int64(len(recs)))
	b.ReportAllocs()

	dir := b.TempDir()
	s := mustOpen(b, dir)
	defer func() { mustClose(b, s) }()
	restart := func() {
		b.StopTimer()
		mustClose(b, s)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
		s = mustOpen(b, dir)
		b.StartTimer()
	}
	ctx := context.Background()
	b.ResetTimer()
	if writers == 1 {
		for i := 0; i < b.N; i++ {
			if _, err := s.Write(ctx, "events", appendOpts, recs[i%len(recs):i%len(recs)+1]); err != nil {
				b.Fatal(err)
			}
			if tbl, _ := s.Table("events"); tbl != nil && tbl.Stats().WALBytes > benchWALLimit {
				restart()
			}
		}
	} else {
		// One small write first so that the parallel writers append to an existing table.
		if _, err := s.Write(ctx, "events", appendOpts, recs[:1]); err != nil {
			b.Fatal(err)
		}
		b.SetParallelism(writers) // writers × GOMAXPROCS goroutines
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := s.Write(ctx, "events", appendOpts, recs[i%len(recs):i%len(recs)+1]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		st := mustTable(b, s, "events").Stats()
		b.ReportMetric(float64(st.Commits)/float64(st.Syncs), "writes/fsync")
	}
	b.ReportMetric(float64(int64(b.N)*rows)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkScan measures full scans of the OTRF recording held in the head, with every
// column (converting batches that lack columns to the table schema) and with two.
func BenchmarkScan(b *testing.B) {
	oe := loadOTRF(b, benchRecording)
	s := mustOpen(b, b.TempDir())
	defer mustClose(b, s)
	recs := oe.batches(0, len(oe.events), 1000)
	mustWrite(b, s, "events", recs...)
	defer releaseAll(recs)
	tbl := mustTable(b, s, "events")
	for _, bc := range []struct {
		name    string
		columns []string
	}{
		{"columns=all", nil},
		{"columns=2", []string{"EventID", "Hostname"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(projectedBytes(recs, bc.columns))
			b.ReportAllocs()
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				it, err := tbl.Scan(ctx, ScanOptions{Columns: bc.columns})
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := it.Next(ctx)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				it.Close()
			}
			b.ReportMetric(float64(b.N)*float64(tbl.Rows())/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// projectedBytes is the size of the named columns' buffers in recs (all columns for nil).
func projectedBytes(recs []arrow.RecordBatch, columns []string) int64 {
	if columns == nil {
		return recordBytes(recs)
	}
	var n int64
	for _, r := range recs {
		for _, name := range columns {
			for _, i := range r.Schema().FieldIndices(name) {
				for _, buf := range r.Column(i).Data().Buffers() {
					if buf != nil {
						n += int64(buf.Len())
					}
				}
			}
		}
	}
	return n
}
