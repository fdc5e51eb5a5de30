package sigmaql

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestNullTypedColumnIsAbsent checks that a column of Arrow type null (what storage keeps
// for a column whose values were all null so far) reads as an absent field in both
// evaluators: `null` matches, nothing else does. arrow-go's IsNull does not report the
// values of such a column as null, so this needs handling of its own.
func TestNullTypedColumnIsAbsent(t *testing.T) {
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "Parent", Type: arrow.Null, Nullable: true},
		{Name: "Image", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	img := array.NewStringBuilder(memory.DefaultAllocator)
	img.AppendValues([]string{"a.exe", "b.exe"}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{array.NewNull(2), img.NewArray()}, 2)
	defer rec.Release()

	f := func(sel string, want bool) {
		t.Helper()
		if got := evalBoth(t, mustParseOne(t, sel), rec); got != want {
			t.Errorf("%s over a null-typed column: got %v; want %v", sel, got, want)
		}
	}
	f(`{Parent: null}`, true)
	f(`{Parent|contains: 'null'}`, false)
	f(`{Parent: '*'}`, false)
	f(`{Parent|exists: true}`, false)
	f(`{Parent|exists: false}`, true)
	f(`['(null)']`, false) // keywords do not see the column either
}
