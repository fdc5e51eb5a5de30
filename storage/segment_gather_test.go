package storage

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestGatherRefusesOverOffsetLimit checks that gathering a string column whose values
// would pass what 32-bit offsets address (2 GiB; lowered here to 10 bytes) fails with
// ErrSegmentTooLarge instead of wrapping the offsets, which panicked a compaction of large
// segments; a column within the limit gathers as before.
func TestGatherRefusesOverOffsetLimit(t *testing.T) {
	defer func(v int) { maxGatherBytes = v }(maxGatherBytes)
	maxGatherBytes = 10

	b := array.NewStringBuilder(memory.DefaultAllocator)
	b.AppendValues([]string{"aaaaa", "bbbbb", "ccccc"}, nil)
	col := b.NewArray()
	defer col.Release()
	sc := arrow.NewSchema([]arrow.Field{{Name: "CommandLine", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{col}, 3)
	defer rec.Release()
	gather := func(refs []rowRef) (arrow.Array, error) {
		return gatherColumn(context.Background(), []arrow.RecordBatch{rec}, 0, arrow.BinaryTypes.String, refs, []int64{0})
	}

	got, err := gather([]rowRef{{0, 2}, {0, 0}})
	if err != nil {
		t.Fatalf("gather 10 bytes: %v", err)
	}
	if s := got.(*array.String); s.Value(0) != "ccccc" || s.Value(1) != "aaaaa" {
		t.Fatalf("gathered %v; want [ccccc aaaaa]", got)
	}
	got.Release()

	got, err = gather([]rowRef{{0, 0}, {0, 1}, {0, 2}})
	if got != nil {
		got.Release()
	}
	if !errors.Is(err, ErrSegmentTooLarge) {
		t.Fatalf("gather 15 bytes over a 10-byte limit: got %v; want ErrSegmentTooLarge", err)
	}
}
