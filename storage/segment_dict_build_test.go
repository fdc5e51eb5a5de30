package storage

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// TestDictBuildDifferential builds dictionary columns from random head batches (plain
// and dictionary-encoded, sliced so that bitmaps start mid-byte, with no, some, most or
// all rows null) over random subsets of their rows in random order, cut into row groups
// built one after another with the same scratch, and checks every row's value and
// nullness, the entries of the non-null rows, and the zone map against the batches
// themselves.
func TestDictBuildDifferential(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var d dictColumn
	var rows batchRows // reused across cases, as a worker's scratch is across segments
	for c := 0; c < 400; c++ {
		nb := 1 + rng.IntN(6)
		var recs []arrow.RecordBatch
		var want [][]*string
		for b := 0; b < nb; b++ {
			rec, vals := randomStringBatch(rng)
			recs = append(recs, rec)
			want = append(want, vals)
		}
		src, ok := stringSources(recs, 0)
		if !ok {
			t.Fatalf("case %d: stringSources refused the batches", c)
		}
		var all []rowRef
		sizes := make([]int64, nb)
		for b, r := range recs {
			sizes[b] = r.NumRows()
			for i := range int(r.NumRows()) {
				if rng.IntN(4) != 0 {
					all = append(all, rowRef{uint32(b), uint32(i)})
				}
			}
		}
		rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
		for len(all) > 0 {
			n := min(len(all), 1+rng.IntN(200))
			part := all[:n]
			all = all[n:]
			rows.build(part, sizes)
			arr, cs, err := d.build(src, part, &rows, arrow.BinaryTypes.String)
			if err != nil {
				t.Fatalf("case %d: %v", c, err)
			}
			da := arr.(*array.Dictionary)
			dict := da.Dictionary().(*array.String)
			var dense []int32
			ref := array.NewStringBuilder(mem)
			for k, r := range part {
				w := want[r.b][r.i]
				if w == nil {
					ref.AppendNull()
					if !da.IsNull(k) {
						t.Fatalf("case %d: row %d (batch %d row %d) is %q; want null", c, k, r.b, r.i, dict.Value(da.GetValueIndex(k)))
					}
					continue
				}
				ref.Append(*w)
				if da.IsNull(k) {
					t.Fatalf("case %d: row %d (batch %d row %d) is null; want %q", c, k, r.b, r.i, *w)
				}
				if got := dict.Value(da.GetValueIndex(k)); got != *w {
					t.Fatalf("case %d: row %d (batch %d row %d) is %q; want %q", c, k, r.b, r.i, got, *w)
				}
				dense = append(dense, int32(da.GetValueIndex(k)))
			}
			if fmt.Sprint(dense) != fmt.Sprint(d.dense) {
				t.Fatalf("case %d: dense entries %v; want %v", c, d.dense, dense)
			}
			plain := ref.NewArray()
			wantCS := columnStats(plain, 0, plain.Len())
			if cs != wantCS {
				t.Fatalf("case %d: zone map %+v; want %+v", c, cs, wantCS)
			}
			plain.Release()
			ref.Release()
			arr.Release()
		}
		releaseAll(recs)
	}
}

// randomStringBatch returns a one-column batch of random strings (a few repeated
// values, or distinct ones), plain or dictionary-encoded, with a random share of nulls,
// sliced from a larger array, and each row's value (nil: null).
func randomStringBatch(rng *rand.Rand) (arrow.RecordBatch, []*string) {
	n := 1 + rng.IntN(300)
	pad := rng.IntN(11)  // rows sliced off the front
	tail := rng.IntN(11) // and off the end
	nullShare := []float64{0, 0.3, 0.9, 1}[rng.IntN(4)]
	distinct := rng.IntN(2) == 0
	var vals []*string
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for i := 0; i < pad+n+tail; i++ {
		if rng.Float64() < nullShare {
			b.AppendNull()
			vals = append(vals, nil)
			continue
		}
		v := fmt.Sprintf("v%d", rng.IntN(5))
		if distinct {
			v = fmt.Sprintf("value-%d-%d", i, rng.IntN(1000))
		}
		if rng.IntN(20) == 0 {
			v = ""
		}
		b.Append(v)
		vals = append(vals, &v)
	}
	full := b.NewArray()
	defer full.Release()
	var col arrow.Array = array.NewSlice(full, int64(pad), int64(pad+n))
	if rng.IntN(3) == 0 {
		// Dictionary-encoded: the same values through indices.
		db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
		defer db.Release()
		for _, v := range vals[pad : pad+n] {
			if v == nil {
				db.AppendNull()
			} else if err := db.AppendString(*v); err != nil {
				panic(err)
			}
		}
		col.Release()
		col = db.NewArray()
		if rng.IntN(2) == 0 {
			sl := array.NewSlice(col, 1, int64(col.Len()))
			col.Release()
			col = sl
			vals = vals[1:]
		}
	}
	defer col.Release()
	sc := arrow.NewSchema([]arrow.Field{{Name: "s", Type: col.DataType(), Nullable: true}}, nil)
	return array.NewRecordBatch(sc, []arrow.Array{col}, int64(col.Len())), vals[pad : pad+col.Len()]
}
