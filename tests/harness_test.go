// Package tests holds the end-to-end suites: they build the real sigmaflight binary, start
// it on free loopback ports, and drive it with real clients.
package tests

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-adbc/go/adbc"
	adbcflightsql "github.com/apache/arrow-adbc/go/adbc/driver/flightsql"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/sigmaflight/sigmaflight/clients"
	"github.com/sigmaflight/sigmaflight/tests/nodeproc"
)

// otrfDir holds the OTRF attack recordings, read in place (never copied).
const otrfDir = "../../shared/data/otrf"

// binary is the path of the sigmaflight binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	bin, cleanup, err := nodeproc.Build("..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// node is a sigmaflight process started by a test.
type node struct {
	*nodeproc.Proc
	t        *testing.T
	cmd      *exec.Cmd
	dataDir  string
	addr     string
	httpAddr string
	exited   chan struct{}
}

// startNode starts `sigmaflight serve` on free loopback ports over dataDir and waits until
// it reports its addresses. The process is killed when the test ends.
func startNode(t *testing.T, dataDir string, extraArgs ...string) *node {
	t.Helper()
	args := append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0",
		"--http-listen", "127.0.0.1:0", "--log-format", "json"}, extraArgs...)
	p, err := nodeproc.Start(binary, args, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{Proc: p, t: t, cmd: p.Cmd, dataDir: dataDir, addr: p.Addr, httpAddr: p.HTTPAddr, exited: p.Exited}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("sigmaflight logs (%s):\n%s", dataDir, n.Logs())
		}
	})
	return n
}

// kill sends SIGKILL and waits for the process to be gone.
func (n *node) kill() { n.Kill() }

// stop sends SIGTERM and waits for a clean exit.
func (n *node) stop() {
	n.t.Helper()
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		n.t.Fatalf("sigmaflight did not exit within 30s of SIGTERM")
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		n.t.Fatalf("sigmaflight exited with code %d:\n%s", code, n.Logs())
	}
}

// flightSQLClient returns arrow-go's Flight SQL client connected to n.
func (n *node) flightSQLClient() *flightsql.Client {
	n.t.Helper()
	c, err := flightsql.NewClient(n.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { c.Close() })
	return c
}

// adbcConn opens a connection with the real ADBC Flight SQL driver.
func (n *node) adbcConn(ctx context.Context) adbc.Connection {
	n.t.Helper()
	drv := adbcflightsql.NewDriver(memory.DefaultAllocator)
	db, err := drv.NewDatabase(map[string]string{adbc.OptionKeyURI: "grpc://" + n.addr})
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { db.Close() })
	cnxn, err := db.Open(ctx)
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { cnxn.Close() })
	return cnxn
}

// queryADBC runs sql through ADBC and returns all rows as one table of columns.
func queryADBC(ctx context.Context, t *testing.T, cnxn adbc.Connection, sql string) arrow.Table {
	t.Helper()
	stmt, err := cnxn.NewStatement()
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	if err := stmt.SetSqlQuery(sql); err != nil {
		t.Fatal(err)
	}
	rdr, _, err := stmt.ExecuteQuery(ctx)
	if err != nil {
		t.Fatalf("query %q: %v", sql, err)
	}
	defer rdr.Release()
	var recs []arrow.RecordBatch
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		recs = append(recs, rec)
	}
	if err := rdr.Err(); err != nil {
		t.Fatalf("query %q: read: %v", sql, err)
	}
	tbl := array.NewTableFromRecords(rdr.Schema(), recs)
	for _, r := range recs {
		r.Release()
	}
	t.Cleanup(tbl.Release)
	return tbl
}

// readRecording decodes the single JSON-lines file inside an OTRF zip.
func readRecording(t *testing.T, name string) *clients.JSONLines {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 {
		t.Fatalf("%s: want one file in the zip, got %d", name, len(zr.File))
	}
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ev, err := clients.ReadJSONLines(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// countLines counts the non-empty lines of the file inside an OTRF zip, independently of
// the JSON reader under test.
func countLines(t *testing.T, name string) int64 {
	t.Helper()
	zr, err := zip.OpenReader(filepath.Join(otrfDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, l := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

// ingest pushes batches into table with Flight SQL bulk ingest (create or append).
func ingest(ctx context.Context, t *testing.T, c *flightsql.Client, table string, rdr array.RecordReader) int64 {
	t.Helper()
	n, err := c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{
		TableDefinitionOptions: &flightsql.TableDefinitionOptions{
			IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
			IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend,
		},
		Table: table,
	})
	if err != nil {
		t.Fatalf("ingest into %s: %v", table, err) // the node logs are printed by the cleanup of a failed test
	}
	return n
}

// scalarInt64 returns the single Int64 value of a one-row, one-column result.
func scalarInt64(t *testing.T, tbl arrow.Table) int64 {
	t.Helper()
	if tbl.NumRows() != 1 || tbl.NumCols() != 1 {
		t.Fatalf("got %d rows x %d columns; want 1 x 1", tbl.NumRows(), tbl.NumCols())
	}
	col := tbl.Column(0).Data().Chunk(0)
	v, ok := col.(*array.Int64)
	if !ok {
		t.Fatalf("got column type %s; want int64", col.DataType())
	}
	return v.Value(0)
}

// stringColumn returns all values of column i as strings (nulls as "").
func stringColumn(t *testing.T, tbl arrow.Table, i int) []string {
	t.Helper()
	var out []string
	for _, chunk := range tbl.Column(i).Data().Chunks() {
		s, ok := chunk.(*array.String)
		if !ok {
			t.Fatalf("column %d has type %s; want utf8", i, chunk.DataType())
		}
		for j := 0; j < s.Len(); j++ {
			out = append(out, s.Value(j))
		}
	}
	return out
}
