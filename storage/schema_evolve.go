package storage

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Schema evolution.
//
// A table's schema is the union of its batches' schemas in arrival order: a batch with a
// new column appends it (nullable), a batch lacking a column reads as nulls there. Every
// table column is nullable.
//
// Before anything else each batch is normalized, independently of any table:
//
//	utf8, large_utf8, utf8_view, dictionary<any int, any of those>  -> utf8
//	binary, large_binary, binary_view, dictionary<any int, those>   -> binary
//
// so that the WAL and the head hold one string and one binary representation. Then the
// column types meet on this lattice (join = the least type both convert to losslessly):
//
//	null  -> any type                        (an all-null column takes the other's type)
//	int8  -> int16 -> int32 -> int64         (signed: the wider wins)
//	uint8 -> uint16 -> uint32 -> uint64      (unsigned: the wider wins)
//	uintN with intM -> the smallest signed type wider than N and at least M
//	                   (uint8 -> int16, uint16 -> int32, uint32 -> int64; uint64 conflicts)
//	float32 -> float64
//	any other pair   -> equal types only (arrow.TypeEqual), else ErrSchemaConflict
//
// Integers never meet floats (int64 -> float64 loses precision), strings never meet
// numbers, timestamps must agree on unit and zone. The table column takes the join, so a
// table with int32 receiving int64 widens to int64; batches keep their stored types and
// are converted to the table's current types when scanned.

// SchemaConflictError is the error for a column whose batch type cannot meet the table's.
// It wraps ErrSchemaConflict.
type SchemaConflictError struct {
	Table     string
	Column    string
	TableType arrow.DataType
	BatchType arrow.DataType
}

func (e *SchemaConflictError) Error() string {
	return fmt.Sprintf("table %q: column %q has type %s, batch has type %s", e.Table, e.Column, e.TableType, e.BatchType)
}

// Unwrap makes errors.Is(err, ErrSchemaConflict) hold.
func (e *SchemaConflictError) Unwrap() error { return ErrSchemaConflict }

// normalizeType returns the type dt is stored as.
func normalizeType(dt arrow.DataType) arrow.DataType {
	switch dt.ID() {
	case arrow.LARGE_STRING, arrow.STRING_VIEW:
		return arrow.BinaryTypes.String
	case arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return arrow.BinaryTypes.Binary
	case arrow.DICTIONARY:
		switch v := normalizeType(dt.(*arrow.DictionaryType).ValueType); v.ID() {
		case arrow.STRING, arrow.BINARY:
			return v
		}
	}
	return dt
}

// normalizeBatch checks rec (column names unique) and returns it with its columns in
// their stored types and no schema metadata. The result is owned by the caller; rec is
// not released.
func normalizeBatch(table string, idx int, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	schema := rec.Schema()
	fields := schema.Fields()
	seen := make(map[string]struct{}, len(fields))
	changed := schema.HasMetadata()
	for _, f := range fields {
		if _, dup := seen[f.Name]; dup {
			return nil, fmt.Errorf("table %q: batch %d has column %q more than once; column names must be unique in a batch: %w",
				table, idx, f.Name, ErrInvalidBatch)
		}
		seen[f.Name] = struct{}{}
		if !arrow.TypeEqual(normalizeType(f.Type), f.Type) {
			changed = true
		}
	}
	// Fast path: already in stored form.
	if !changed {
		rec.Retain()
		return rec, nil
	}
	// Slow path: convert the columns that need it.
	cols := make([]arrow.Array, len(fields))
	nfields := make([]arrow.Field, len(fields))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range fields {
		nt := normalizeType(f.Type)
		nfields[i] = arrow.Field{Name: f.Name, Type: nt, Nullable: f.Nullable, Metadata: f.Metadata}
		c, err := convertArray(rec.Column(i), nt)
		if err != nil {
			return nil, fmt.Errorf("table %q: batch %d: convert column %q from %s to %s: %w",
				table, idx, f.Name, f.Type, nt, ErrInvalidBatch)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(arrow.NewSchema(nfields, nil), cols, rec.NumRows()), nil
}

// intInfo describes an integer type for the lattice.
func intInfo(id arrow.Type) (signed bool, bits int, ok bool) {
	switch id {
	case arrow.INT8:
		return true, 8, true
	case arrow.INT16:
		return true, 16, true
	case arrow.INT32:
		return true, 32, true
	case arrow.INT64:
		return true, 64, true
	case arrow.UINT8:
		return false, 8, true
	case arrow.UINT16:
		return false, 16, true
	case arrow.UINT32:
		return false, 32, true
	case arrow.UINT64:
		return false, 64, true
	}
	return false, 0, false
}

func intType(signed bool, bits int) arrow.DataType {
	switch {
	case signed && bits == 8:
		return arrow.PrimitiveTypes.Int8
	case signed && bits == 16:
		return arrow.PrimitiveTypes.Int16
	case signed && bits == 32:
		return arrow.PrimitiveTypes.Int32
	case signed:
		return arrow.PrimitiveTypes.Int64
	case bits == 8:
		return arrow.PrimitiveTypes.Uint8
	case bits == 16:
		return arrow.PrimitiveTypes.Uint16
	case bits == 32:
		return arrow.PrimitiveTypes.Uint32
	default:
		return arrow.PrimitiveTypes.Uint64
	}
}

// joinTypes returns the least type both stored types convert to without loss, or false.
func joinTypes(a, b arrow.DataType) (arrow.DataType, bool) {
	if arrow.TypeEqual(a, b) {
		return a, true
	}
	if a.ID() == arrow.NULL {
		return b, true
	}
	if b.ID() == arrow.NULL {
		return a, true
	}
	as, ab, aok := intInfo(a.ID())
	bs, bb, bok := intInfo(b.ID())
	if aok && bok {
		if as == bs {
			return intType(as, max(ab, bb)), true
		}
		s, u := ab, bb
		if !as {
			s, u = bb, ab
		}
		need := max(s, 2*u)
		if need > 64 {
			return nil, false
		}
		return intType(true, need), true
	}
	if (a.ID() == arrow.FLOAT32 || a.ID() == arrow.FLOAT64) && (b.ID() == arrow.FLOAT32 || b.ID() == arrow.FLOAT64) {
		return arrow.PrimitiveTypes.Float64, true
	}
	return nil, false
}

// evolveSchema returns the table schema after a batch with stored schema bs arrives at a
// table with schema base (nil for a new or replaced table). orig is the batch's schema as
// the caller sent it, for error messages. It returns base itself when nothing changes.
func evolveSchema(table string, base, bs, orig *arrow.Schema) (*arrow.Schema, error) {
	var fields []arrow.Field // copy of base's fields, made on the first change
	get := func(i int) arrow.Field {
		if fields != nil {
			return fields[i]
		}
		return base.Field(i)
	}
	mutate := func() {
		if fields == nil {
			if base != nil {
				fields = append(fields, base.Fields()...)
			} else {
				fields = []arrow.Field{}
			}
		}
	}
	// Column names are unique in a batch (normalizeBatch checked), so a name not in base
	// is new exactly once.
	for _, f := range bs.Fields() {
		pos := -1
		if base != nil {
			if ix := base.FieldIndices(f.Name); len(ix) > 0 {
				pos = ix[0]
			}
		}
		if pos < 0 {
			mutate()
			fields = append(fields, arrow.Field{Name: f.Name, Type: f.Type, Nullable: true, Metadata: f.Metadata})
			continue
		}
		cur := get(pos)
		jt, ok := joinTypes(cur.Type, f.Type)
		if !ok {
			bt := f.Type // the ts column is computed by the store, not sent
			if ix := orig.FieldIndices(f.Name); len(ix) > 0 {
				bt = orig.Field(ix[0]).Type
			}
			return nil, &SchemaConflictError{Table: table, Column: f.Name, TableType: cur.Type, BatchType: bt}
		}
		if !arrow.TypeEqual(jt, cur.Type) {
			mutate()
			fields[pos].Type = jt
		}
	}
	if fields == nil {
		return base, nil
	}
	return arrow.NewSchema(fields, nil), nil
}
