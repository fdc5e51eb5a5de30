package eventfile

import (
	"bufio"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Typed formats (Parquet, Arrow IPC) pass their batches through with their own types:
// they already have a schema, and the server's schema rules apply to it as they are.

func (r *reader) parquet(src Source, ra *sizedReaderAt) error {
	if err := r.emit(src); err != nil { // batches never mix sources
		return err
	}
	pf, err := file.NewParquetReader(io.NewSectionReader(ra, 0, ra.size))
	if err != nil {
		return fmt.Errorf("read %s: parquet: %w", src, err)
	}
	defer pf.Close()
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: int64(r.opts.BatchRows)}, r.opts.Mem)
	if err != nil {
		return fmt.Errorf("read %s: parquet: %w", src, err)
	}
	rr, err := fr.GetRecordReader(r.ctx, nil, nil)
	if err != nil {
		return fmt.Errorf("read %s: parquet: %w", src, err)
	}
	defer rr.Release()
	for rr.Next() {
		if err := r.fn(src, rr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		return fmt.Errorf("read %s: parquet: %w", src, err)
	}
	return nil
}

func (r *reader) arrowFile(src Source, ra *sizedReaderAt) error {
	fr, err := ipc.NewFileReader(io.NewSectionReader(ra, 0, ra.size), ipc.WithAllocator(r.opts.Mem))
	if err != nil {
		return fmt.Errorf("read %s: arrow file: %w", src, err)
	}
	defer fr.Close()
	for i := 0; i < fr.NumRecords(); i++ {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		rec, err := fr.RecordBatch(i)
		if err != nil {
			return fmt.Errorf("read %s: arrow file: batch %d: %w", src, i, err)
		}
		if err := r.fn(src, rec); err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) arrowStream(src Source, br *bufio.Reader) error {
	sr, err := ipc.NewReader(br, ipc.WithAllocator(r.opts.Mem))
	if err != nil {
		return fmt.Errorf("read %s: arrow stream: %w", src, err)
	}
	defer sr.Release()
	for i := 0; sr.Next(); i++ {
		if err := r.ctx.Err(); err != nil {
			return err
		}
		if err := r.fn(src, sr.RecordBatch()); err != nil {
			return err
		}
	}
	if err := sr.Err(); err != nil {
		return fmt.Errorf("read %s: arrow stream: %w", src, err)
	}
	return nil
}
