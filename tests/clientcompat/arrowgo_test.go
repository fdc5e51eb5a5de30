package clientcompat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql/schema_ref"
	pb "github.com/apache/arrow-go/v18/arrow/flight/gen/flight"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestArrowGoMetadata runs every Flight SQL metadata command with arrow-go's client and
// checks that each FlightInfo schema, each streamed schema and the specification's
// reference schema are the same, and what the rows say.
func TestArrowGoMetadata(t *testing.T) {
	n := startNode(t, false)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if got := ingestEvents(ctx, t, c, "events", 10); got != 10 {
		t.Fatalf("ingested %d rows; want 10", got)
	}
	check := func(name string, info *flight.FlightInfo, err error, ref *arrow.Schema) []arrow.RecordBatch {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sc, batches := readAll(ctx, t, c, info)
		if !sc.Equal(ref) {
			t.Fatalf("%s: schema\n%s\nwant the reference schema\n%s", name, sc, ref)
		}
		return batches
	}

	info, err := c.GetCatalogs(ctx)
	b := check("GetCatalogs", info, err, schema_ref.Catalogs)
	if got := strings.Join(column(t, b, "catalog_name"), ","); got != "sigmaflight" {
		t.Fatalf("catalogs: got %q; want sigmaflight", got)
	}

	info, err = c.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{})
	b = check("GetDBSchemas", info, err, schema_ref.DBSchemas)
	if got := strings.Join(column(t, b, "db_schema_name"), ","); got != "public,sys" {
		t.Fatalf("schemas: got %q; want public,sys", got)
	}
	pattern := "pub%"
	info, err = c.GetDBSchemas(ctx, &flightsql.GetDBSchemasOpts{DbSchemaFilterPattern: &pattern})
	b = check("GetDBSchemas(pub%)", info, err, schema_ref.DBSchemas)
	if got := strings.Join(column(t, b, "db_schema_name"), ","); got != "public" {
		t.Fatalf("schemas like pub%%: got %q; want public", got)
	}

	info, err = c.GetTables(ctx, &flightsql.GetTablesOpts{})
	b = check("GetTables", info, err, schema_ref.Tables)
	if got := column(t, b, "table_name"); !contains(got, "events") {
		t.Fatalf("tables: got %q; want events among them", got)
	}

	tablePattern := "even_s"
	info, err = c.GetTables(ctx, &flightsql.GetTablesOpts{IncludeSchema: true, TableNameFilterPattern: &tablePattern, TableTypes: []string{"TABLE"}})
	b = check("GetTables(include_schema)", info, err, schema_ref.TablesWithIncludedSchema)
	if rows(b) != 1 {
		t.Fatalf("tables like even_s: got %d rows; want 1", rows(b))
	}
	raw := b[0].Column(4).(*array.Binary).Value(0)
	ts, err := flight.DeserializeSchema(raw, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("table_schema is not an IPC schema: %v", err)
	}
	for _, want := range eventsSchema.Fields() {
		idx := ts.FieldIndices(want.Name)
		if len(idx) != 1 {
			t.Fatalf("table_schema %s lacks column %q", ts, want.Name)
		}
		f := ts.Field(idx[0])
		if !arrow.TypeEqual(f.Type, want.Type) {
			t.Fatalf("column %q: type %s; want %s", want.Name, f.Type, want.Type)
		}
		md := flightsql.ColumnMetadata{Data: &f.Metadata}
		if tn, _ := md.TableName(); tn != "events" {
			t.Fatalf("column %q: ARROW:FLIGHT:SQL:TABLE_NAME %q; want events", want.Name, tn)
		}
		if sn, _ := md.SchemaName(); sn != "public" {
			t.Fatalf("column %q: ARROW:FLIGHT:SQL:SCHEMA_NAME %q; want public", want.Name, sn)
		}
		if _, ok := md.TypeName(); !ok {
			t.Fatalf("column %q: no ARROW:FLIGHT:SQL:TYPE_NAME in %v", want.Name, f.Metadata)
		}
	}
	tsMeta := ts.Field(ts.FieldIndices("ts")[0]).Metadata
	if tn, _ := (&flightsql.ColumnMetadata{Data: &tsMeta}).TypeName(); tn != "TIMESTAMP" {
		t.Fatalf("ts TYPE_NAME %q; want TIMESTAMP", tn)
	}

	info, err = c.GetTableTypes(ctx)
	b = check("GetTableTypes", info, err, schema_ref.TableTypes)
	if got := strings.Join(column(t, b, "table_type"), ","); got != "SYSTEM TABLE,TABLE" {
		t.Fatalf("table types: got %q; want SYSTEM TABLE,TABLE", got)
	}

	ref := flightsql.TableRef{Table: "events"}
	info, err = c.GetPrimaryKeys(ctx, ref)
	if b = check("GetPrimaryKeys", info, err, schema_ref.PrimaryKeys); rows(b) != 0 {
		t.Fatalf("primary keys: got %d rows; want 0", rows(b))
	}
	info, err = c.GetImportedKeys(ctx, ref)
	if b = check("GetImportedKeys", info, err, schema_ref.ImportedKeys); rows(b) != 0 {
		t.Fatalf("imported keys: got %d rows; want 0", rows(b))
	}
	info, err = c.GetExportedKeys(ctx, ref)
	if b = check("GetExportedKeys", info, err, schema_ref.ExportedKeys); rows(b) != 0 {
		t.Fatalf("exported keys: got %d rows; want 0", rows(b))
	}
	info, err = c.GetCrossReference(ctx, ref, ref)
	if b = check("GetCrossReference", info, err, schema_ref.CrossReference); rows(b) != 0 {
		t.Fatalf("cross reference: got %d rows; want 0", rows(b))
	}

	info, err = c.GetXdbcTypeInfo(ctx, nil)
	b = check("GetXdbcTypeInfo", info, err, schema_ref.XdbcTypeInfo)
	names := column(t, b, "type_name")
	for _, want := range []string{"BIGINT", "VARCHAR", "TIMESTAMP", "DOUBLE", "BOOLEAN"} {
		if !contains(names, want) {
			t.Fatalf("XdbcTypeInfo types %q lack %s", names, want)
		}
	}
	bigint := int32(-5)
	info, err = c.GetXdbcTypeInfo(ctx, &bigint)
	if b = check("GetXdbcTypeInfo(BIGINT)", info, err, schema_ref.XdbcTypeInfo); strings.Join(column(t, b, "type_name"), ",") != "BIGINT" {
		t.Fatalf("XdbcTypeInfo(-5): got %q; want BIGINT", column(t, b, "type_name"))
	}

	// SqlInfo: an unknown id (9999) is skipped, not fatal.
	info, err = c.GetSqlInfo(ctx, []flightsql.SqlInfo{flightsql.SqlInfoFlightSqlServerName, 9999, flightsql.SqlInfoSupportsConvert})
	b = check("GetSqlInfo", info, err, schema_ref.SqlInfo)
	if got := column(t, b, "info_name"); strings.Join(got, ",") != "0,517" {
		t.Fatalf("SqlInfo ids: got %q; want 0,517 (9999 skipped)", got)
	}
}

// TestSqlInfoTypes checks that every SqlInfo key the JDBC driver and ADBC read is present
// with the union member (type code) they cast it to: a missing key is a JDBC
// NullPointerException, a wrong member a ClassCastException (FLIGHTSQL.md 2.4).
func TestSqlInfoTypes(t *testing.T) {
	n := startNode(t, false)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const (
		str, boolean, int64v, int32v, strList, convMap = 0, 1, 2, 3, 4, 5
	)
	want := map[flightsql.SqlInfo]int8{
		flightsql.SqlInfoFlightSqlServerName: str, flightsql.SqlInfoFlightSqlServerVersion: str,
		flightsql.SqlInfoFlightSqlServerArrowVersion: str, flightsql.SqlInfoFlightSqlServerReadOnly: boolean,
		flightsql.SqlInfoFlightSqlServerSql: boolean, flightsql.SqlInfoFlightSqlServerSubstrait: boolean,
		flightsql.SqlInfoFlightSqlServerSubstraitMinVersion: str, flightsql.SqlInfoFlightSqlServerSubstraitMaxVersion: str,
		flightsql.SqlInfoFlightSqlServerTransaction: int32v, flightsql.SqlInfoFlightSqlServerCancel: boolean,
		flightsql.SqlInfoFlightSqlServerBulkIngestion: boolean,
		flightsql.SqlInfoIdentifierQuoteChar:          str, flightsql.SqlInfoSearchStringEscape: str,
		flightsql.SqlInfoExtraNameChars: str, flightsql.SqlInfoSchemaTerm: str, flightsql.SqlInfoProcedureTerm: str,
		flightsql.SqlInfoCatalogTerm:            str,
		flightsql.SqlInfoSupportsColumnAliasing: boolean, flightsql.SqlInfoNullPlusNullIsNull: boolean,
		flightsql.SqlInfoSupportsTableCorrelationNames: boolean, flightsql.SqlInfoSupportsDifferentTableCorrelationNames: boolean,
		flightsql.SqlInfoSupportsExpressionsInOrderBy: boolean, flightsql.SqlInfoSupportsOrderByUnrelated: boolean,
		flightsql.SqlInfoSupportsLikeEscapeClause: boolean, flightsql.SqlInfoSupportsNonNullableColumns: boolean,
		flightsql.SqlInfoSupportsIntegrityEnhancementFacility: boolean, flightsql.SqlInfoCatalogAtStart: boolean,
		flightsql.SqlInfoSelectForUpdateSupported: boolean, flightsql.SqlInfoStoredProceduresSupported: boolean,
		flightsql.SqlInfoCorrelatedSubqueriesSupported: boolean, flightsql.SqlInfoMaxRowSizeIncludesBlobs: boolean,
		flightsql.SqlInfoTransactionsSupported: boolean, flightsql.SqlInfoDataDefinitionCausesTransactionCommit: boolean,
		flightsql.SqlInfoDataDefinitionsInTransactionsIgnored: boolean, flightsql.SqlInfoBatchUpdatesSupported: boolean,
		flightsql.SqlInfoSavePointsSupported: boolean, flightsql.SqlInfoNamedParametersSupported: boolean,
		flightsql.SqlInfoLocatorsUpdateCopy: boolean, flightsql.SqlInfoStoredFunctionsUsingCallSyntaxSupported: boolean,
		flightsql.SqlInfoMaxBinaryLiteralLen: int64v, flightsql.SqlInfoMaxCharLiteralLen: int64v,
		flightsql.SqlInfoMaxColumnNameLen: int64v, flightsql.SqlInfoMaxColumnsInGroupBy: int64v,
		flightsql.SqlInfoMaxColumnsInIndex: int64v, flightsql.SqlInfoMaxColumnsInOrderBy: int64v,
		flightsql.SqlInfoMaxColumnsInSelect: int64v, flightsql.SqlInfoMaxColumnsInTable: int64v,
		flightsql.SqlInfoMaxConnections: int64v, flightsql.SqlInfoMaxCursorNameLen: int64v,
		flightsql.SqlInfoMaxIndexLen: int64v, flightsql.SqlInfoDBSchemaNameLen: int64v,
		flightsql.SqlInfoMaxProcedureNameLen: int64v, flightsql.SqlInfoMaxCatalogNameLen: int64v,
		flightsql.SqlInfoMaxRowSize: int64v, flightsql.SqlInfoMaxStatementLen: int64v,
		flightsql.SqlInfoMaxStatements: int64v, flightsql.SqlInfoMaxTableNameLen: int64v,
		flightsql.SqlInfoMaxTablesInSelect: int64v, flightsql.SqlInfoMaxUsernameLen: int64v,
		flightsql.SqlInfoDefaultTransactionIsolation: int64v,
		flightsql.SqlInfoSupportedGroupBy:            int32v, flightsql.SqlInfoSupportedGrammar: int32v,
		flightsql.SqlInfoANSI92SupportedLevel: int32v, flightsql.SqlInfoOuterJoinsSupportLevel: int32v,
		flightsql.SqlInfoSchemasSupportedActions: int32v, flightsql.SqlInfoCatalogsSupportedActions: int32v,
		flightsql.SqlInfoSupportedPositionedCommands: int32v, flightsql.SqlInfoSupportedResultSetTypes: int32v,
		flightsql.SqlInfoSupportedSubqueries: int32v, flightsql.SqlInfoSupportedUnions: int32v,
		flightsql.SqlInfoSupportedTransactionsIsolationlevels: int32v,
		flightsql.SqlInfoKeywords:                             strList, flightsql.SqlInfoNumericFunctions: strList,
		flightsql.SqlInfoStringFunctions: strList, flightsql.SqlInfoSystemFunctions: strList,
		flightsql.SqlInfoDateTimeFunctions: strList,
		flightsql.SqlInfoSupportsConvert:   convMap,
	}
	// No ids at all, as JDBC asks: everything.
	info, err := c.GetSqlInfo(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, batches := readAll(ctx, t, c, info)
	got := map[flightsql.SqlInfo]int8{}
	for _, b := range batches {
		ids := b.Column(0).(*array.Uint32)
		vals := b.Column(1).(*array.DenseUnion)
		for i := 0; i < int(b.NumRows()); i++ {
			got[flightsql.SqlInfo(ids.Value(i))] = int8(vals.TypeCode(i))
		}
	}
	for id, code := range want {
		g, ok := got[id]
		if !ok {
			t.Errorf("SqlInfo %s (%d) missing", id, id)
			continue
		}
		if g != code {
			t.Errorf("SqlInfo %s (%d): union type code %d; want %d", id, id, g, code)
		}
	}
}

// TestArrowGoIngestAndQuery covers bulk ingest in every table-definition mode, a plain
// Flight DoPut with a path descriptor, a query with strict schema equality, and prepared
// statements with single- and multi-row parameters.
func TestArrowGoIngestAndQuery(t *testing.T) {
	n := startNode(t, false)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	ingestMode := func(table string, notExist flightsql.TableDefinitionOptionsTableNotExistOption, exists flightsql.TableDefinitionOptionsTableExistsOption, count int) (int64, error) {
		rec := eventsBatch(count)
		defer rec.Release()
		rdr, _ := array.NewRecordReader(eventsSchema, []arrow.RecordBatch{rec})
		defer rdr.Release()
		return c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: table,
			TableDefinitionOptions: &flightsql.TableDefinitionOptions{IfNotExist: notExist, IfExists: exists}})
	}
	const (
		create = flightsql.TableDefinitionOptionsTableNotExistOptionCreate
		fail   = flightsql.TableDefinitionOptionsTableNotExistOptionFail
		exFail = flightsql.TableDefinitionOptionsTableExistsOptionFail
		appnd  = flightsql.TableDefinitionOptionsTableExistsOptionAppend
		replc  = flightsql.TableDefinitionOptionsTableExistsOptionReplace
	)
	count := func(table string) int64 {
		t.Helper()
		info, err := c.Execute(ctx, "SELECT count(*) FROM "+table)
		if err != nil {
			t.Fatalf("count %s: %v", table, err)
		}
		_, b := readAll(ctx, t, c, info)
		return b[0].Column(0).(*array.Int64).Value(0)
	}
	if _, err := ingestMode("modes", fail, appnd, 5); err == nil {
		t.Fatal("ingest with if_not_exist=FAIL into a missing table succeeded")
	}
	if n, err := ingestMode("modes", create, exFail, 5); err != nil || n != 5 {
		t.Fatalf("create: %d, %v; want 5 rows", n, err)
	}
	if _, err := ingestMode("modes", create, exFail, 5); err == nil {
		t.Fatal("create with if_exists=FAIL on an existing table succeeded")
	}
	if n, err := ingestMode("modes", fail, appnd, 7); err != nil || n != 7 {
		t.Fatalf("append: %d, %v; want 7", n, err)
	}
	if got := count("modes"); got != 12 {
		t.Fatalf("after create+append: %d rows; want 12", got)
	}
	if n, err := ingestMode("modes", create, replc, 3); err != nil || n != 3 {
		t.Fatalf("replace: %d, %v; want 3", n, err)
	}
	if got := count("modes"); got != 3 {
		t.Fatalf("after replace: %d rows; want 3", got)
	}

	// A retried ingest with the same sigmaflight.batch_id stores its rows once.
	for i := 0; i < 2; i++ {
		rec := eventsBatch(6)
		rdr, _ := array.NewRecordReader(eventsSchema, []arrow.RecordBatch{rec})
		got, err := c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: "retried", Options: map[string]string{"sigmaflight.batch_id": "collector-7/42"},
			TableDefinitionOptions: &flightsql.TableDefinitionOptions{IfNotExist: create, IfExists: appnd}})
		rdr.Release()
		rec.Release()
		if err != nil || got != 6 {
			t.Fatalf("ingest #%d with a batch id: %d, %v; want 6 rows acknowledged", i+1, got, err)
		}
	}
	if got := count("retried"); got != 6 {
		t.Fatalf("after a retried ingest with one batch id: %d rows; want 6", got)
	}

	// Plain Flight DoPut with a path descriptor, as a pyarrow.flight collector sends it.
	stream, err := c.Client.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipcSchema(eventsSchema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"plain"}})
	rec := eventsBatch(42)
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	rec.Release()
	w.Close()
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatalf("plain DoPut: %v", err)
	}
	var ack struct {
		Table string `json:"table"`
		Rows  int64  `json:"rows"`
	}
	if err := json.Unmarshal(res.GetAppMetadata(), &ack); err != nil || ack.Rows != 42 || ack.Table != "plain" {
		t.Fatalf("plain DoPut ack %q (%v); want {table: plain, rows: 42}", res.GetAppMetadata(), err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("plain DoPut: after the ack got %v; want EOF", err)
	}
	if got := count("plain"); got != 42 {
		t.Fatalf("plain table: %d rows; want 42", got)
	}

	// A query: FlightInfo schema equals the stream schema (readAll checks), values right.
	info, err := c.Execute(ctx, "SELECT host, event_id, ts FROM plain WHERE event_id < 3")
	if err != nil {
		t.Fatal(err)
	}
	_, b := readAll(ctx, t, c, info)
	ids, stamps := column(t, b, "event_id"), column(t, b, "ts")
	byID := map[string]string{}
	for i := range ids {
		byID[ids[i]] = stamps[i]
	}
	if len(byID) != 3 || byID["1"] != "2024-03-01T12:00:01Z" {
		t.Fatalf("event_id -> ts: got %v; want 0, 1, 2 with event 1 at 2024-03-01 12:00:01Z", byID)
	}

	// Prepared statement: nullable parameter schema, is_update false, dataset schema.
	ps, err := c.Prepare(ctx, "SELECT event_id FROM plain WHERE host = ? AND event_id < ?")
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close(ctx)
	if isUpdate, ok := ps.IsUpdate(); !ok || isUpdate {
		t.Fatalf("is_update: %v (set %v); want false, set", isUpdate, ok)
	}
	if ps.DatasetSchema() == nil || ps.DatasetSchema().NumFields() != 1 {
		t.Fatalf("dataset schema %v; want one column", ps.DatasetSchema())
	}
	psc := ps.ParameterSchema()
	if psc.NumFields() != 2 {
		t.Fatalf("parameter schema %s; want 2 fields", psc)
	}
	for _, f := range psc.Fields() {
		if !f.Nullable {
			t.Fatalf("parameter %q is not nullable (JDBC cannot bind NULL to it)", f.Name)
		}
	}
	params := func(hosts []string, limits []int64) arrow.RecordBatch {
		sc := arrow.NewSchema([]arrow.Field{{Name: "0", Type: arrow.BinaryTypes.String}, {Name: "1", Type: arrow.PrimitiveTypes.Int64}}, nil)
		bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
		defer bld.Release()
		bld.Field(0).(*array.StringBuilder).AppendValues(hosts, nil)
		bld.Field(1).(*array.Int64Builder).AppendValues(limits, nil)
		return bld.NewRecordBatch()
	}
	p1 := params([]string{"h1"}, []int64{10})
	ps.SetParameters(p1)
	info, err = ps.Execute(ctx)
	if err != nil {
		t.Fatalf("execute with parameters: %v", err)
	}
	_, b = readAll(ctx, t, c, info)
	if got := strings.Join(column(t, b, "event_id"), ","); got != "1,4,7" {
		t.Fatalf("host=h1, event_id<10: got %s; want 1,4,7", got)
	}
	// Two parameter rows: the results of each row, in row order.
	p2 := params([]string{"h0", "h2"}, []int64{4, 6})
	ps.SetParameters(p2)
	info, err = ps.Execute(ctx)
	if err != nil {
		t.Fatalf("execute with two parameter rows: %v", err)
	}
	_, b = readAll(ctx, t, c, info)
	if got := strings.Join(column(t, b, "event_id"), ","); got != "0,3,2,5" {
		t.Fatalf("rows (h0,<4),(h2,<6): got %s; want 0,3,2,5", got)
	}
}

// TestArrowGoSessionSchema sets the session's schema with arrow-go's client and its cookie
// middleware (as JDBC always has): unqualified names of queries and prepared statements
// resolve in it, a prepared statement keeps it after the session changes, and a catalog
// other than sigmaflight is an INVALID_VALUE error in the result, not a failed call.
func TestArrowGoSessionSchema(t *testing.T) {
	n := startNode(t, false)
	c, err := flightsql.NewClient(n.addr, nil, []flight.ClientMiddleware{flight.NewClientCookieMiddleware()},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ingestEvents(ctx, t, c, "events", 10)
	first := func(info *flight.FlightInfo, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		_, b := readAll(ctx, t, c, info)
		if len(b) == 0 || b[0].NumRows() == 0 {
			t.Fatal("no rows")
		}
		return b[0].Column(0).ValueStr(0)
	}
	setOpts := func(m map[string]any) map[string]*pb.SetSessionOptionsResult_Error {
		t.Helper()
		opts, err := flight.NewSessionOptionValues(m)
		if err != nil {
			t.Fatal(err)
		}
		res, err := c.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: opts})
		if err != nil {
			t.Fatalf("SetSessionOptions(%v): %v; it must never fail", m, err)
		}
		return res.GetErrors()
	}
	if errs := setOpts(map[string]any{"catalog": "other"}); errs["catalog"].GetValue() != pb.SetSessionOptionsResult_INVALID_VALUE {
		t.Fatalf("catalog=other: errors %v; want INVALID_VALUE for catalog", errs)
	}
	if errs := setOpts(map[string]any{"catalog": "sigmaflight", "schema": "sys"}); len(errs) != 0 {
		t.Fatalf("catalog=sigmaflight, schema=sys: errors %v; want none", errs)
	}
	if v := first(c.Execute(ctx, "SELECT count(*) FROM tables WHERE table_name = 'events'")); v != "1" {
		t.Fatalf("sys.tables as 'tables' in schema sys: %s; want 1", v)
	}
	if v := first(c.Execute(ctx, "SELECT count(*) FROM public.events")); v != "10" {
		t.Fatalf("public.events in schema sys: %s; want 10", v)
	}
	if _, err := c.Execute(ctx, "SELECT count(*) FROM events"); statusCode(err) != "NotFound" || !strings.Contains(err.Error(), "default schema") {
		t.Fatalf("events in schema sys: %v; want NotFound naming the default schema", err)
	}
	ps, err := c.Prepare(ctx, "SELECT count(*) FROM tables WHERE table_name = 'events'")
	if err != nil {
		t.Fatalf("prepare in schema sys: %v", err)
	}
	defer ps.Close(ctx)
	if errs := setOpts(map[string]any{"schema": "public"}); len(errs) != 0 {
		t.Fatalf("schema=public: errors %v", errs)
	}
	if v := first(ps.Execute(ctx)); v != "1" {
		t.Fatalf("prepared in schema sys, executed after switching to public: %s; want 1", v)
	}
	if v := first(c.Execute(ctx, "SELECT count(*) FROM events")); v != "10" {
		t.Fatalf("events in schema public: %s; want 10", v)
	}
}

// TestArrowGoSessionsCancelAndRulesets covers session options, CancelFlightInfo and the
// sigmaflight.* ruleset actions with arrow-go's client.
func TestArrowGoSessionsCancelAndRulesets(t *testing.T) {
	n := startNode(t, false)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ingestEvents(ctx, t, c, "events", 10)

	opts, _ := flight.NewSessionOptionValues(map[string]any{"schema": "sys", "catalog": "sigmaflight", "bogus": "x"})
	set, err := c.SetSessionOptions(ctx, &flight.SetSessionOptionsRequest{SessionOptions: opts})
	if err != nil {
		t.Fatalf("SetSessionOptions: %v", err)
	}
	if len(set.GetErrors()) != 1 || set.GetErrors()["bogus"] == nil {
		t.Fatalf("SetSessionOptions errors %v; want exactly one, for 'bogus'", set.GetErrors())
	}
	got, err := c.GetSessionOptions(ctx, &flight.GetSessionOptionsRequest{})
	if err != nil {
		t.Fatalf("GetSessionOptions: %v", err)
	}
	if v := got.GetSessionOptions()["schema"].GetStringValue(); v != "sys" {
		t.Fatalf("session schema %q; want sys", v)
	}
	for i := 0; i < 2; i++ { // closing twice never fails
		if res, err := c.CloseSession(ctx, &flight.CloseSessionRequest{}); err != nil || res.GetStatus() != flight.CloseSessionResultClosed {
			t.Fatalf("CloseSession #%d: %v, %v", i+1, res, err)
		}
	}
	got, _ = c.GetSessionOptions(ctx, &flight.GetSessionOptionsRequest{})
	if v := got.GetSessionOptions()["schema"].GetStringValue(); v != "public" {
		t.Fatalf("after CloseSession the schema is %q; want the default public", v)
	}

	// CancelFlightInfo: the cancelled FlightInfo's ticket is refused afterwards.
	info, err := c.Execute(ctx, "SELECT * FROM events")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: info})
	if err != nil || res.GetStatus() != flight.CancelStatusCancelled {
		t.Fatalf("CancelFlightInfo: %v, %v; want CANCELLED", res, err)
	}
	rdr, err := c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err == nil {
		for rdr.Next() {
		}
		err = rdr.Err()
		rdr.Release()
	}
	if code := statusCode(err); code != "Canceled" {
		t.Fatalf("DoGet of a cancelled ticket: %v; want Canceled", err)
	}

	// Cancelling one execution of a prepared statement leaves the statement usable.
	ps, err := c.Prepare(ctx, "SELECT host FROM events")
	if err != nil {
		t.Fatal(err)
	}
	first, err := ps.Execute(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: first}); err != nil || res.GetStatus() != flight.CancelStatusCancelled {
		t.Fatalf("CancelFlightInfo of a prepared execution: %v, %v", res, err)
	}
	second, err := ps.Execute(ctx)
	if err != nil {
		t.Fatalf("prepared statement after a cancelled execution: %v", err)
	}
	if _, b := readAll(ctx, t, c, second); rows(b) != 10 {
		t.Fatalf("prepared statement after a cancelled execution: %d rows; want 10", rows(b))
	}
	_ = ps.Close(ctx)

	// A query cancelled while it runs ends with Canceled on the client, not OK with
	// truncated results. The query cannot finish: 1,024 copies of 5,000 rows (a CTE
	// doubled ten times), each row compared with 2,000 others for a condition no pair
	// meets, under a LIMIT that never fills (1e10 pairs, within the join's per-batch
	// bound and the memory limit). The stream's schema arrives with the early empty
	// batch the server sends while the query produces nothing, so when NewRecordReader
	// returns the query is running, and the cancel cannot race its end.
	for i := 0; i < 5; i++ { // batches of 1,000 rows: the join's left side streams them
		ingestEvents(ctx, t, c, "many", 1000)
	}
	endless := "WITH l0 AS (SELECT event_id AS n FROM many)"
	for i := 1; i <= 10; i++ {
		endless += fmt.Sprintf(", l%d AS (SELECT n FROM l%d UNION ALL SELECT n FROM l%d)", i, i-1, i-1)
	}
	endless += " SELECT a.n FROM l10 a, (SELECT event_id AS m FROM many LIMIT 2000) b WHERE a.n * b.m = -1 LIMIT 1"
	long, err := c.Execute(ctx, endless)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := c.Client.DoGet(ctx, long.Endpoint[0].Ticket)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := flight.NewRecordReader(raw)
	if err != nil {
		t.Fatalf("early schema of the running query: %v", err)
	}
	if res, err := c.CancelFlightInfo(ctx, &flight.CancelFlightInfoRequest{Info: long}); err != nil || res.GetStatus() != flight.CancelStatusCancelled {
		t.Fatalf("CancelFlightInfo of a running query: %v, %v", res, err)
	}
	var streamed int64
	for stream.Next() {
		streamed += stream.RecordBatch().NumRows()
	}
	err = stream.Err()
	stream.Release()
	if streamed != 0 || statusCode(err) != "Canceled" || !strings.Contains(fmt.Sprint(err), "CancelFlightInfo") {
		t.Fatalf("stream of a query cancelled while running: %d rows, %v; want Canceled by CancelFlightInfo", streamed, err)
	}

	// Ruleset actions: load (one good rule, one bad), list, get, then query it.
	good := "title: Host h1 seen\nid: 11111111-2222-3333-4444-555555555555\nstatus: test\nlevel: high\ntags: [attack.t1000]\nlogsource: {product: test}\ndetection:\n  sel:\n    host: h1\n  condition: sel\n"
	bad := "title: Broken\nlogsource: {product: test}\ndetection:\n  condition: nothing\n"
	body, _ := json.Marshal(map[string]any{"name": "mine", "rules": []map[string]string{{"path": "good.yml", "yaml": good}, {"path": "bad.yml", "yaml": bad}}})
	var loaded struct {
		Name     string `json:"name"`
		Rules    int    `json:"rules"`
		Loaded   int    `json:"loaded"`
		Rejected []struct {
			Path   string `json:"path"`
			Line   int    `json:"line"`
			Reason string `json:"reason"`
		} `json:"rejected"`
	}
	doAction(ctx, t, c, "sigmaflight.LoadRuleset", body, &loaded)
	if loaded.Name != "mine" || loaded.Loaded != 1 || len(loaded.Rejected) != 1 || loaded.Rejected[0].Path != "bad.yml" || loaded.Rejected[0].Line == 0 || loaded.Rules != 2 {
		t.Fatalf("LoadRuleset result %+v; want mine: 2 rules, 1 loaded, bad.yml rejected with a line", loaded)
	}
	var list []struct {
		Name  string `json:"name"`
		Rules int    `json:"rules"`
	}
	doAction(ctx, t, c, "sigmaflight.ListRulesets", nil, &list)
	names := map[string]int{}
	for _, r := range list {
		names[r.Name] = r.Rules
	}
	if names["mine"] != 1 || names["examples"] == 0 {
		t.Fatalf("ListRulesets %v; want mine with 1 rule and examples", list)
	}
	var rs struct {
		Name  string `json:"name"`
		Rules []struct {
			ID, Title, Level, Status, File, YAML string
			Tags                                 []string
		} `json:"rules"`
	}
	doAction(ctx, t, c, "sigmaflight.GetRuleset", []byte(`{"name":"mine"}`), &rs)
	if len(rs.Rules) != 1 || rs.Rules[0].Title != "Host h1 seen" || rs.Rules[0].Level != "high" || rs.Rules[0].YAML != good ||
		rs.Rules[0].File != "good.yml" || strings.Join(rs.Rules[0].Tags, ",") != "attack.t1000" {
		t.Fatalf("GetRuleset %+v; want the good rule with its YAML", rs)
	}
	info, err = c.Execute(ctx, "SELECT count(*) FROM detect('mine', 'events')")
	if err != nil {
		t.Fatalf("detect with the loaded ruleset: %v", err)
	}
	_, b := readAll(ctx, t, c, info)
	if got := b[0].Column(0).(*array.Int64).Value(0); got != 3 {
		t.Fatalf("detect('mine') over 10 events: %d; want 3 (hosts h1 at 1, 4, 7)", got)
	}
}

// doAction runs a sigmaflight.* action and decodes its one JSON result into out.
func doAction(ctx context.Context, t *testing.T, c *flightsql.Client, typ string, body []byte, out any) {
	t.Helper()
	stream, err := c.Client.DoAction(ctx, &flight.Action{Type: typ, Body: body})
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatalf("%s: %v", typ, err)
	}
	if err := json.Unmarshal(res.GetBody(), out); err != nil {
		t.Fatalf("%s: result %q: %v", typ, res.GetBody(), err)
	}
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("%s: more than one result (%v)", typ, err)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
