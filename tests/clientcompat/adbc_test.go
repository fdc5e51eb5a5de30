package clientcompat

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcflightsql "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-adbc/go/adbc/sqldriver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestADBCGo drives the node with the ADBC Go Flight SQL driver v1.8.0, logged in with
// user and password: GetInfo, GetObjects, GetTableSchema, GetTableTypes, a query, and
// prepared statements with parameters through database/sql.
func TestADBCGo(t *testing.T) {
	n := startNode(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := n.client()
	ingestEvents(n.login(ctx, c, "wanda", "wanda-secret"), t, c, "events", 30)

	opts := map[string]string{adbc.OptionKeyURI: "grpc://" + n.addr, adbc.OptionKeyUsername: "rita", adbc.OptionKeyPassword: "rita-secret"}
	drv := adbcflightsql.NewDriver(memory.DefaultAllocator)
	db, err := drv.NewDatabase(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	cnxn, err := db.Open(ctx)
	if err != nil {
		t.Fatalf("open with user and password: %v", err)
	}
	defer cnxn.Close()

	// GetInfo: the values ADBC reads, with their types.
	rdr, err := cnxn.GetInfo(ctx, []adbc.InfoCode{adbc.InfoVendorName, adbc.InfoVendorVersion, adbc.InfoVendorArrowVersion, adbc.InfoVendorSql, adbc.InfoVendorSubstrait})
	if err != nil {
		t.Fatalf("GetInfo: %v", err)
	}
	info := map[adbc.InfoCode]string{}
	for rdr.Next() {
		rec := rdr.RecordBatch()
		codes := rec.Column(0).(*array.Uint32)
		vals := rec.Column(1).(*array.DenseUnion)
		for i := 0; i < int(rec.NumRows()); i++ {
			child := vals.Field(vals.ChildID(i))
			info[adbc.InfoCode(codes.Value(i))] = child.ValueStr(int(vals.ValueOffset(i)))
		}
	}
	rdr.Release()
	if info[adbc.InfoVendorName] != "sigmaflight" || info[adbc.InfoVendorSql] != "true" || info[adbc.InfoVendorSubstrait] != "false" || info[adbc.InfoVendorArrowVersion] == "" {
		t.Fatalf("GetInfo: %v; want vendor sigmaflight, SQL true, Substrait false, an Arrow version", info)
	}

	// GetObjects to the column level: ADBC checks every metadata stream's schema strictly.
	objs, err := cnxn.GetObjects(ctx, adbc.ObjectDepthAll, nil, nil, nil, nil, nil)
	if err != nil {
		t.Fatalf("GetObjects: %v", err)
	}
	var found []string
	for objs.Next() {
		found = append(found, objectColumns(objs.RecordBatch())...)
	}
	if err := objs.Err(); err != nil {
		t.Fatalf("GetObjects: %v", err)
	}
	objs.Release()
	sort.Strings(found)
	want := "sigmaflight.public.events.event_id,sigmaflight.public.events.host,sigmaflight.public.events.ok,sigmaflight.public.events.score,sigmaflight.public.events.ts"
	if got := strings.Join(filterPrefix(found, "sigmaflight.public.events."), ","); got != want {
		t.Fatalf("GetObjects columns of events:\n got %s\nwant %s", got, want)
	}

	sc, err := cnxn.GetTableSchema(ctx, nil, nil, "events")
	if err != nil {
		t.Fatalf("GetTableSchema: %v", err)
	}
	if f, ok := sc.FieldsByName("ts"); !ok || !arrow.TypeEqual(f[0].Type, eventsSchema.Field(0).Type) {
		t.Fatalf("GetTableSchema: %s; want ts %s", sc, eventsSchema.Field(0).Type)
	}
	types, err := cnxn.GetTableTypes(ctx)
	if err != nil {
		t.Fatalf("GetTableTypes: %v", err)
	}
	types.Release()

	// A plain query through the Go ADBC API.
	stmt, err := cnxn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	if err := stmt.SetSqlQuery("SELECT count(*) FROM events WHERE ok = true"); err != nil {
		t.Fatal(err)
	}
	qr, _, err := stmt.ExecuteQuery(ctx)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	var count int64
	for qr.Next() {
		count += qr.RecordBatch().Column(0).(*array.Int64).Value(0)
	}
	qr.Release()
	stmt.Close()
	if count != 15 {
		t.Fatalf("count of ok events: %d; want 15", count)
	}

	// database/sql through adbc's sqldriver: Prepare, then Query with parameters
	// (db.Query with arguments does not work in v1.8.0: apache/arrow-adbc#3249).
	sdb := sql.OpenDB(mustConnector(t, drv, "uri=grpc://"+n.addr+";username=rita;password=rita-secret"))
	defer sdb.Close()
	ps, err := sdb.PrepareContext(ctx, "SELECT event_id, ts FROM events WHERE host = ? AND event_id < ?")
	if err != nil {
		t.Fatalf("database/sql Prepare: %v", err)
	}
	defer ps.Close()
	query := func(host string, limit int64) (ids []int64, stamps []time.Time) {
		t.Helper()
		rows, err := ps.QueryContext(ctx, host, limit)
		if err != nil {
			t.Fatalf("database/sql Query(%q, %d): %v", host, limit, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var ts time.Time
			if err := rows.Scan(&id, &ts); err != nil {
				t.Fatal(err)
			}
			ids, stamps = append(ids, id), append(stamps, ts)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return ids, stamps
	}
	ids, stamps := query("h2", 12)
	if len(ids) != 4 {
		t.Fatalf("host h2, event_id < 12: %v; want 2, 5, 8, 11", ids)
	}
	for i, id := range ids {
		if id%3 != 2 || id >= 12 || !stamps[i].Equal(baseTime.Add(time.Duration(id)*time.Second)) {
			t.Fatalf("row %d: event_id %d at %s; want host h2 (id%%3 == 2), id < 12, ts = base + id s", i, id, stamps[i])
		}
	}
	// The same prepared statement with other parameters.
	if ids, _ := query("h0", 4); len(ids) != 2 {
		t.Fatalf("host h0, event_id < 4: %v; want 0, 3", ids)
	}
}

func mustConnector(t *testing.T, drv adbc.Driver, dsn string) driver.Connector {
	t.Helper()
	conn, err := sqldriver.Driver{Driver: drv}.OpenConnector(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// objectColumns flattens one GetObjects batch to catalog.schema.table.column strings.
func objectColumns(rec arrow.RecordBatch) []string {
	var out []string
	cats := rec.Column(0).(*array.String)
	schemas := rec.Column(1).(*array.List)
	schemaStruct := schemas.ListValues().(*array.Struct)
	for i := 0; i < int(rec.NumRows()); i++ {
		s0, s1 := schemas.ValueOffsets(i)
		for s := s0; s < s1; s++ {
			schemaName := schemaStruct.Field(0).(*array.String).Value(int(s))
			tables := schemaStruct.Field(1).(*array.List)
			tableStruct := tables.ListValues().(*array.Struct)
			t0, t1 := tables.ValueOffsets(int(s))
			for tb := t0; tb < t1; tb++ {
				tableName := tableStruct.Field(0).(*array.String).Value(int(tb))
				cols := tableStruct.Field(2).(*array.List)
				colStruct := cols.ListValues().(*array.Struct)
				c0, c1 := cols.ValueOffsets(int(tb))
				for c := c0; c < c1; c++ {
					out = append(out, cats.Value(i)+"."+schemaName+"."+tableName+"."+colStruct.Field(0).(*array.String).Value(int(c)))
				}
			}
		}
	}
	return out
}

func filterPrefix(list []string, prefix string) []string {
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}
