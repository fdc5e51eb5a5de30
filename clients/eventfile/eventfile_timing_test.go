package eventfile

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// BenchmarkReadOTRF reads a zipped JSON-lines OTRF recording (32,706 events, 185
// columns) into Arrow batches: decompression, JSON decoding, flattening, type inference
// and building.
func BenchmarkReadOTRF(b *testing.B) {
	path := filepath.Join(otrfDir, "empire_dcom_shellwindows_stager.zip")
	info, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size())
	b.ReportAllocs()
	var rows int64
	for i := 0; i < b.N; i++ {
		err := Read(context.Background(), []string{path}, Options{}, func(_ Source, rec arrow.RecordBatch) error {
			rows += rec.NumRows()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "events/s")
}
