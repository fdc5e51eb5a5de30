package server

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sysSchema holds the system tables (rules, rulesets, tables, ...), when the planner's
// catalog provides them.
const sysSchema = "sys"

// Table types reported by GetTables and GetTableTypes.
const (
	tableTypeTable  = "TABLE"
	tableTypeSystem = "SYSTEM TABLE"
)

func isKnownSchema(s string) bool {
	return strings.EqualFold(s, publicSchema) || strings.EqualFold(s, sysSchema)
}

// metadataInfo answers GetFlightInfo for a metadata command: the exact reference schema
// and one endpoint whose ticket is the command itself (the router routes it to DoGet*).
func (s *flightSQLService) metadataInfo(sc *arrow.Schema, desc *flight.FlightDescriptor) *flight.FlightInfo {
	return &flight.FlightInfo{
		Schema:           flight.SerializeSchema(sc, s.Alloc),
		FlightDescriptor: desc,
		Endpoint:         []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: desc.Cmd}}},
		TotalRecords:     -1,
		TotalBytes:       -1,
	}
}

// oneBatch streams rows (built by fill) as a single batch of schema sc.
func oneBatch(mem memory.Allocator, sc *arrow.Schema, fill func(b *array.RecordBuilder) error) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	if err := fill(b); err != nil {
		return nil, nil, err
	}
	ch := make(chan flight.StreamChunk, 1)
	ch <- flight.StreamChunk{Data: b.NewRecordBatch()}
	close(ch)
	return sc, ch, nil
}

// appendRow appends one row: nil is NULL, *T is NULL when nil, []string is a list.
func appendRow(b *array.RecordBuilder, vals ...any) {
	for i, v := range vals {
		fb := b.Field(i)
		switch v := v.(type) {
		case nil:
			fb.AppendNull()
		case string:
			fb.(*array.StringBuilder).Append(v)
		case *string:
			if v == nil {
				fb.AppendNull()
			} else {
				fb.(*array.StringBuilder).Append(*v)
			}
		case []byte:
			fb.(*array.BinaryBuilder).Append(v)
		case int32:
			fb.(*array.Int32Builder).Append(v)
		case uint8:
			fb.(*array.Uint8Builder).Append(v)
		case bool:
			fb.(*array.BooleanBuilder).Append(v)
		case []string:
			lb := fb.(*array.ListBuilder)
			lb.Append(true)
			for _, s := range v {
				lb.ValueBuilder().(*array.StringBuilder).Append(s)
			}
		default:
			panic(fmt.Sprintf("BUG: appendRow: unsupported value %T", v))
		}
	}
}

func (s *flightSQLService) GetFlightInfoCatalogs(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.Catalogs, desc), nil
}

func (s *flightSQLService) DoGetCatalogs(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.Catalogs, func(b *array.RecordBuilder) error {
		appendRow(b, catalogName)
		return nil
	})
}

func (s *flightSQLService) GetFlightInfoSchemas(_ context.Context, _ flightsql.GetDBSchemas, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.DBSchemas, desc), nil
}

// catalogMatches reports whether a catalog filter (nil: any; "": objects without catalog,
// of which there are none) selects our catalog.
func catalogMatches(c *string) bool { return c == nil || *c == catalogName }

func (s *flightSQLService) DoGetDBSchemas(_ context.Context, cmd flightsql.GetDBSchemas) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.DBSchemas, func(b *array.RecordBuilder) error {
		if !catalogMatches(cmd.GetCatalog()) {
			return nil
		}
		for _, sc := range []string{publicSchema, sysSchema} {
			if likeMatch(cmd.GetDBSchemaFilterPattern(), sc) {
				appendRow(b, catalogName, sc)
			}
		}
		return nil
	})
}

func (s *flightSQLService) GetFlightInfoTables(_ context.Context, cmd flightsql.GetTables, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	if cmd.GetIncludeSchema() {
		return s.metadataInfo(schema_ref.TablesWithIncludedSchema, desc), nil
	}
	return s.metadataInfo(schema_ref.Tables, desc), nil
}

func (s *flightSQLService) DoGetTables(ctx context.Context, cmd flightsql.GetTables) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	sc := schema_ref.Tables
	if cmd.GetIncludeSchema() {
		sc = schema_ref.TablesWithIncludedSchema
	}
	return oneBatch(s.Alloc, sc, func(b *array.RecordBuilder) error {
		if !catalogMatches(cmd.GetCatalog()) {
			return nil
		}
		for _, schema := range []string{publicSchema, sysSchema} {
			if !likeMatch(cmd.GetDBSchemaFilterPattern(), schema) {
				continue
			}
			ttype := tableTypeTable
			if schema == sysSchema {
				ttype = tableTypeSystem
			}
			if types := cmd.GetTableTypes(); len(types) > 0 && !containsFold(types, ttype) {
				continue
			}
			names := append([]string(nil), s.catalog.TableNames(ctx, schema)...)
			sort.Strings(names)
			for _, name := range names {
				if !likeMatch(cmd.GetTableNameFilterPattern(), name) {
					continue
				}
				if !cmd.GetIncludeSchema() {
					appendRow(b, catalogName, schema, name, ttype)
					continue
				}
				t, err := s.catalog.Table(ctx, schema, name)
				if err != nil {
					continue // dropped between listing and lookup
				}
				withMeta := columnMetadataSchema(t.Schema(), schema, name)
				appendRow(b, catalogName, schema, name, ttype, flight.SerializeSchema(withMeta, s.Alloc))
			}
		}
		return nil
	})
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// columnMetadataSchema returns sc with the ARROW:FLIGHT:SQL:* metadata on every field that
// JDBC's getColumns and ADBC's GetObjects turn into column descriptions.
func columnMetadataSchema(sc *arrow.Schema, schema, table string) *arrow.Schema {
	fields := sc.Fields()
	for i, f := range fields {
		info := sqlTypeOf(f.Type)
		mb := flightsql.NewColumnMetadataBuilder().CatalogName(catalogName).SchemaName(schema).TableName(table).
			TypeName(info.name).IsReadOnly(true).IsSearchable(true).IsAutoIncrement(false).
			IsCaseSensitive(info.caseSensitive)
		if info.precision > 0 {
			mb.Precision(info.precision)
		}
		if dec, ok := f.Type.(arrow.DecimalType); ok {
			mb.Precision(dec.GetPrecision()).Scale(dec.GetScale())
		}
		md := mb.Metadata()
		keys, vals := append([]string(nil), f.Metadata.Keys()...), append([]string(nil), f.Metadata.Values()...)
		keys, vals = append(keys, md.Keys()...), append(vals, md.Values()...)
		fields[i].Metadata = arrow.NewMetadata(keys, vals)
	}
	md := sc.Metadata()
	return arrow.NewSchema(fields, &md)
}

// sqlType is how an Arrow type is described to SQL clients.
type sqlType struct {
	name          string
	code          int32 // java.sql.Types / XDBC data type
	precision     int32
	caseSensitive bool
}

// java.sql.Types codes, which XDBC reuses.
const (
	sqlTinyint   = -6
	sqlSmallint  = 5
	sqlInteger   = 4
	sqlBigint    = -5
	sqlReal      = 7
	sqlDouble    = 8
	sqlDecimal   = 3
	sqlBoolean   = 16
	sqlVarchar   = 12
	sqlVarbinary = -3
	sqlDate      = 91
	sqlTimestamp = 93
	sqlOther     = 1111
)

func sqlTypeOf(t arrow.DataType) sqlType {
	switch t.ID() {
	case arrow.INT8:
		return sqlType{"TINYINT", sqlTinyint, 3, false}
	case arrow.INT16:
		return sqlType{"SMALLINT", sqlSmallint, 5, false}
	case arrow.INT32:
		return sqlType{"INTEGER", sqlInteger, 10, false}
	case arrow.INT64:
		return sqlType{"BIGINT", sqlBigint, 19, false}
	case arrow.FLOAT32:
		return sqlType{"REAL", sqlReal, 7, false}
	case arrow.FLOAT64:
		return sqlType{"DOUBLE", sqlDouble, 15, false}
	case arrow.DECIMAL128, arrow.DECIMAL256:
		return sqlType{"DECIMAL", sqlDecimal, 38, false}
	case arrow.BOOL:
		return sqlType{"BOOLEAN", sqlBoolean, 1, false}
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return sqlType{"VARCHAR", sqlVarchar, 0, true}
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW, arrow.FIXED_SIZE_BINARY:
		return sqlType{"VARBINARY", sqlVarbinary, 0, false}
	case arrow.DATE32, arrow.DATE64:
		return sqlType{"DATE", sqlDate, 10, false}
	case arrow.TIMESTAMP:
		return sqlType{"TIMESTAMP", sqlTimestamp, 26, false}
	}
	return sqlType{strings.ToUpper(t.Name()), sqlOther, 0, false}
}

func (s *flightSQLService) GetFlightInfoTableTypes(_ context.Context, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.TableTypes, desc), nil
}

func (s *flightSQLService) DoGetTableTypes(context.Context) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.TableTypes, func(b *array.RecordBuilder) error {
		appendRow(b, tableTypeSystem)
		appendRow(b, tableTypeTable)
		return nil
	})
}

// Tables have no keys: the key commands answer with the exact schema and no rows, which
// DBeaver and other browsers call when opening a table.

func (s *flightSQLService) GetFlightInfoPrimaryKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.PrimaryKeys, desc), nil
}

func (s *flightSQLService) DoGetPrimaryKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.PrimaryKeys, func(*array.RecordBuilder) error { return nil })
}

func (s *flightSQLService) GetFlightInfoImportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.ImportedKeys, desc), nil
}

func (s *flightSQLService) DoGetImportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.ImportedKeys, func(*array.RecordBuilder) error { return nil })
}

func (s *flightSQLService) GetFlightInfoExportedKeys(_ context.Context, _ flightsql.TableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.ExportedKeys, desc), nil
}

func (s *flightSQLService) DoGetExportedKeys(context.Context, flightsql.TableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.ExportedKeys, func(*array.RecordBuilder) error { return nil })
}

func (s *flightSQLService) GetFlightInfoCrossReference(_ context.Context, _ flightsql.CrossTableRef, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.CrossReference, desc), nil
}

func (s *flightSQLService) DoGetCrossReference(context.Context, flightsql.CrossTableRef) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.CrossReference, func(*array.RecordBuilder) error { return nil })
}

func (s *flightSQLService) GetFlightInfoXdbcTypeInfo(_ context.Context, _ flightsql.GetXdbcTypeInfo, desc *flight.FlightDescriptor) (*flight.FlightInfo, error) {
	return s.metadataInfo(schema_ref.XdbcTypeInfo, desc), nil
}

// xdbcTypes are the types queries can return (the client-safe output types) and the
// column types of tables, one row each, ordered by data type as ODBC requires.
var xdbcTypes = []struct {
	t                  sqlType
	size               int32
	prefix, suffix     *string
	createParams       []string
	fixedPrecScale     bool
	minScale, maxScale *int32
	radix              *int32
	datetimeSub        *int32
}{
	{t: sqlTypeOf(arrow.PrimitiveTypes.Int8), size: 3, radix: ptr(int32(10))},
	{t: sqlTypeOf(arrow.PrimitiveTypes.Int64), size: 19, radix: ptr(int32(10))},
	{t: sqlTypeOf(arrow.BinaryTypes.Binary), size: 1 << 30, prefix: ptr("X'"), suffix: ptr("'")},
	{t: sqlTypeOf(&arrow.Decimal128Type{Precision: 38}), size: 38, createParams: []string{"precision", "scale"}, fixedPrecScale: true, minScale: ptr(int32(0)), maxScale: ptr(int32(38)), radix: ptr(int32(10))},
	{t: sqlTypeOf(arrow.PrimitiveTypes.Int32), size: 10, radix: ptr(int32(10))},
	{t: sqlTypeOf(arrow.PrimitiveTypes.Int16), size: 5, radix: ptr(int32(10))},
	{t: sqlTypeOf(arrow.PrimitiveTypes.Float32), size: 7, radix: ptr(int32(2))},
	{t: sqlTypeOf(arrow.PrimitiveTypes.Float64), size: 15, radix: ptr(int32(2))},
	{t: sqlTypeOf(arrow.BinaryTypes.String), size: 1 << 30, prefix: ptr("'"), suffix: ptr("'"), createParams: []string{"length"}},
	{t: sqlTypeOf(arrow.FixedWidthTypes.Boolean), size: 1},
	{t: sqlTypeOf(arrow.FixedWidthTypes.Date32), size: 10, prefix: ptr("DATE '"), suffix: ptr("'"), datetimeSub: ptr(int32(1))},
	{t: sqlTypeOf(arrow.FixedWidthTypes.Timestamp_us), size: 26, prefix: ptr("TIMESTAMP '"), suffix: ptr("'"), minScale: ptr(int32(6)), maxScale: ptr(int32(6)), datetimeSub: ptr(int32(3))},
}

func ptr[T any](v T) *T { return &v }

func (s *flightSQLService) DoGetXdbcTypeInfo(_ context.Context, cmd flightsql.GetXdbcTypeInfo) (*arrow.Schema, <-chan flight.StreamChunk, error) {
	return oneBatch(s.Alloc, schema_ref.XdbcTypeInfo, func(b *array.RecordBuilder) error {
		rows := append(xdbcTypes[:0:0], xdbcTypes...)
		sort.SliceStable(rows, func(i, j int) bool { return rows[i].t.code < rows[j].t.code })
		for _, r := range rows {
			if dt := cmd.GetDataType(); dt != nil && *dt != r.t.code {
				continue
			}
			var createParams any
			if r.createParams != nil {
				createParams = r.createParams
			}
			sqlDataType, sub := r.t.code, any(nil)
			if r.datetimeSub != nil {
				sqlDataType, sub = 9, *r.datetimeSub // SQL_DATETIME with its subcode
			}
			unsigned := any(false)
			if r.t.code == sqlVarchar || r.t.code == sqlBoolean || r.t.code == sqlVarbinary || r.datetimeSub != nil {
				unsigned = nil
			}
			appendRow(b, r.t.name, r.t.code, r.size, r.prefix, r.suffix, createParams,
				int32(1) /* nullable */, r.t.caseSensitive, int32(3) /* searchable */, unsigned,
				r.fixedPrecScale, false, r.t.name, optInt32(r.minScale), optInt32(r.maxScale),
				sqlDataType, sub, optInt32(r.radix), nil)
		}
		return nil
	})
}

func optInt32(p *int32) any {
	if p == nil {
		return nil
	}
	return *p
}

// likeMatch matches s against a SQL LIKE pattern (% any run, _ one character, \ escapes);
// a nil pattern matches everything.
func likeMatch(pattern *string, s string) bool {
	if pattern == nil {
		return true
	}
	return like([]rune(*pattern), []rune(s))
}

func like(p, s []rune) bool {
	for len(p) > 0 {
		switch p[0] {
		case '%':
			for len(p) > 0 && p[0] == '%' {
				p = p[1:]
			}
			if len(p) == 0 {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if like(p, s[i:]) {
					return true
				}
			}
			return false
		case '_':
			if len(s) == 0 {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			c := p[0]
			if c == '\\' && len(p) > 1 {
				c, p = p[1], p[1:]
			}
			if len(s) == 0 || s[0] != c {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return len(s) == 0
}

// errUnknownCatalog explains the only catalog.
func errUnknownCatalog(c string) error {
	return status.Errorf(codes.NotFound, "unknown catalog %q (the only catalog is %q)", c, catalogName)
}
