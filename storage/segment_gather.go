package storage

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rowRef names one row of the batches being sealed: batch b, row i.
type rowRef struct{ b, i uint32 }

// gatherColumn returns column c of recs at the rows refs, in order, as one array: the
// columns of a segment built straight from the head batches in one copy (concatenating
// the batches and then taking the sorted order copied every value twice). Strings,
// binaries and fixed-width primitives are gathered directly; a column that is null in
// every batch becomes a null array without touching the rows; other types are
// concatenated and taken. starts[b] is the first row of batch b in the concatenation.
func gatherColumn(ctx context.Context, recs []arrow.RecordBatch, c int, dt arrow.DataType, refs []rowRef, starts []int64) (arrow.Array, error) {
	n := len(refs)
	allNull := true
	for _, r := range recs {
		if col := r.Column(c); col.NullN() != col.Len() {
			allNull = false
			break
		}
	}
	if allNull {
		return array.MakeArrayOfNull(mem, dt, n), nil
	}
	switch dt.ID() {
	case arrow.STRING, arrow.BINARY:
		return gatherBinary(recs, c, dt, refs)
	}
	if fw, ok := dt.(arrow.FixedWidthDataType); ok && fw.BitWidth() >= 8 && fw.BitWidth()%8 == 0 && isPrimitiveLayout(dt) {
		return gatherFixed(recs, c, dt, fw.BitWidth()/8, refs), nil
	}
	return gatherByTake(ctx, recs, c, dt, refs, starts)
}

// isPrimitiveLayout reports whether dt is stored as [validity, values] with fixed-width
// values (the layout gatherFixed writes).
func isPrimitiveLayout(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DATE32, arrow.DATE64, arrow.TIME32, arrow.TIME64,
		arrow.TIMESTAMP, arrow.DURATION:
		return true
	}
	return false
}

// gatherValidity returns the validity bitmap of the gathered rows (nil when none is null)
// and the null count.
func gatherValidity(recs []arrow.RecordBatch, c int, refs []rowRef) (*memory.Buffer, int) {
	anyNull := false
	for _, r := range recs {
		if r.Column(c).NullN() > 0 {
			anyNull = true
			break
		}
	}
	if !anyNull {
		return nil, 0
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(refs)))))
	bits := buf.Bytes()
	clear(bits)
	nulls := 0
	for k, ref := range refs {
		if recs[ref.b].Column(c).IsValid(int(ref.i)) {
			bitutil.SetBit(bits, k)
		} else {
			nulls++
		}
	}
	return buf, nulls
}

// maxGatherBytes is the most value bytes one gathered string or binary column may hold:
// what 32-bit offsets address. A variable so tests can lower it.
var maxGatherBytes = math.MaxInt32

func gatherBinary(recs []arrow.RecordBatch, c int, dt arrow.DataType, refs []rowRef) (arrow.Array, error) {
	type binCol interface{ ValueOffsets() []int32 }
	offsets := make([][]int32, len(recs)) // absolute offsets into values
	values := make([][]byte, len(recs))
	for b, r := range recs {
		col := r.Column(c)
		offsets[b] = col.(binCol).ValueOffsets()
		if vb := col.Data().Buffers()[2]; vb != nil {
			values[b] = vb.Bytes()
		}
	}
	validity, nulls := gatherValidity(recs, c, refs)
	offBuf := memory.NewResizableBuffer(mem)
	offBuf.Resize((len(refs) + 1) * arrow.Int32SizeBytes)
	offs := arrow.Int32Traits.CastFromBytes(offBuf.Bytes())
	total := 0
	offs[0] = 0
	for k, ref := range refs {
		o := offsets[ref.b]
		total += int(o[ref.i+1] - o[ref.i])
		if total > maxGatherBytes {
			// 32-bit offsets cannot address the gathered values: refuse instead of
			// wrapping (a compaction of large segments would otherwise panic the node).
			offBuf.Release()
			if validity != nil {
				validity.Release()
			}
			return nil, fmt.Errorf("%w: the values of column %d exceed 2 GiB in one segment (%d rows gathered so far)", ErrSegmentTooLarge, c, k+1)
		}
		offs[k+1] = int32(total)
	}
	valBuf := memory.NewResizableBuffer(mem)
	valBuf.Resize(total)
	vals := valBuf.Bytes()
	for k, ref := range refs {
		o := offsets[ref.b]
		copy(vals[offs[k]:offs[k+1]], values[ref.b][o[ref.i]:o[ref.i+1]])
	}
	data := array.NewData(dt, len(refs), []*memory.Buffer{validity, offBuf, valBuf}, nil, nulls, 0)
	defer data.Release()
	releaseBuffers(validity, offBuf, valBuf)
	return array.MakeFromData(data), nil
}

func gatherFixed(recs []arrow.RecordBatch, c int, dt arrow.DataType, width int, refs []rowRef) arrow.Array {
	src := make([][]byte, len(recs))
	for b, r := range recs {
		d := r.Column(c).Data()
		if bufs := d.Buffers(); len(bufs) > 1 && bufs[1] != nil {
			src[b] = bufs[1].Bytes()[d.Offset()*width:]
		}
	}
	validity, nulls := gatherValidity(recs, c, refs)
	valBuf := memory.NewResizableBuffer(mem)
	valBuf.Resize(len(refs) * width)
	vals := valBuf.Bytes()
	for k, ref := range refs {
		if s := src[ref.b]; s != nil {
			copy(vals[k*width:(k+1)*width], s[int(ref.i)*width:(int(ref.i)+1)*width])
		}
	}
	data := array.NewData(dt, len(refs), []*memory.Buffer{validity, valBuf}, nil, nulls, 0)
	defer data.Release()
	releaseBuffers(validity, valBuf)
	return array.MakeFromData(data)
}

// gatherByTake is the general path: concatenate the column's parts, take the rows.
func gatherByTake(ctx context.Context, recs []arrow.RecordBatch, c int, dt arrow.DataType, refs []rowRef, starts []int64) (arrow.Array, error) {
	parts := make([]arrow.Array, len(recs))
	for b, r := range recs {
		parts[b] = r.Column(c)
	}
	all, err := array.Concatenate(parts, mem)
	if err != nil {
		return nil, fmt.Errorf("concatenate column of type %s: %w", dt, err)
	}
	defer all.Release()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.Reserve(len(refs))
	for _, ref := range refs {
		ib.UnsafeAppend(starts[ref.b] + int64(ref.i))
	}
	idx := ib.NewArray()
	defer idx.Release()
	return compute.TakeArray(ctx, all, idx)
}

func releaseBuffers(bufs ...*memory.Buffer) {
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
}
