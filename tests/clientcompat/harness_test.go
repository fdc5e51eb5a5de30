// Package clientcompat drives the real sigmaflight binary with the real clients users
// have: the ADBC Go driver (and database/sql through it), arrow-go's Flight SQL client,
// Python (adbc-driver-flightsql, pyarrow, pandas, polars) and Java (the Flight SQL JDBC
// driver). Every cell of docs/clients.md names a test of this package.
package clientcompat

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/tests/nodeproc"
)

// binary is the sigmaflight binary built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	bin, cleanup, err := nodeproc.Build("../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = bin
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// Users of the test users file, one per role. The passwords are hashed with bcrypt by the
// test (not by the code under test) into the file the node reads.
var testUsers = []struct{ name, password, role string }{
	{"alice", "alice-secret", "admin"},
	{"wanda", "wanda-secret", "writer"},
	{"rita", "rita-secret", "reader"},
}

// node is a sigmaflight process started by a test.
type node struct {
	*nodeproc.Proc
	t       *testing.T
	cmd     *exec.Cmd
	dataDir string
	addr    string
	http    string
	exited  chan struct{}
}

// startNode starts `sigmaflight serve` on a free loopback port. With auth, it writes a
// users file with testUsers and passes --users.
func startNode(t *testing.T, auth bool, extraArgs ...string) *node {
	t.Helper()
	return startNodeIn(t, filepath.Join(t.TempDir(), "data"), auth, extraArgs...)
}

// startNodeIn is startNode over an existing (or new) data directory.
func startNodeIn(t *testing.T, dataDir string, auth bool, extraArgs ...string) *node {
	t.Helper()
	args := []string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--http-listen", "", "--log-format", "json"}
	if auth {
		var sb strings.Builder
		sb.WriteString("users:\n")
		for _, u := range testUsers {
			h, err := bcrypt.GenerateFromPassword([]byte(u.password), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&sb, "  - name: %s\n    password_hash: %q\n    role: %s\n", u.name, h, u.role)
		}
		file := filepath.Join(t.TempDir(), "users.yaml")
		if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--users", file)
	}
	args = append(args, extraArgs...)
	p, err := nodeproc.Start(binary, args, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	n := &node{Proc: p, t: t, cmd: p.Cmd, dataDir: dataDir, addr: p.Addr, http: p.HTTPAddr, exited: p.Exited}
	t.Cleanup(func() {
		n.kill()
		if t.Failed() {
			t.Logf("sigmaflight logs:\n%s", n.Logs())
		}
	})
	return n
}

func (n *node) kill() { n.Kill() }

// alive fails the test if the process exited.
func (n *node) alive() {
	n.t.Helper()
	select {
	case <-n.exited:
		n.t.Fatalf("sigmaflight exited:\n%s", n.Logs())
	default:
	}
}

// client returns arrow-go's Flight SQL client, without credentials.
func (n *node) client() *flightsql.Client {
	n.t.Helper()
	c, err := flightsql.NewClient(n.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20), grpc.MaxCallSendMsgSize(64<<20)))
	if err != nil {
		n.t.Fatal(err)
	}
	n.t.Cleanup(func() { c.Close() })
	return c
}

// login performs the Basic handshake for user and returns a context carrying the token.
func (n *node) login(ctx context.Context, c *flightsql.Client, user, password string) context.Context {
	n.t.Helper()
	ctx, err := c.Client.AuthenticateBasicToken(ctx, user, password)
	if err != nil {
		n.t.Fatalf("handshake as %s: %v", user, err)
	}
	return ctx
}

// bearer returns ctx with an authorization header.
func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// basicHeader returns a Basic authorization value, padded or not.
func basicHeader(user, pass string, padded bool) string {
	enc := base64.RawStdEncoding
	if padded {
		enc = base64.StdEncoding
	}
	return "Basic " + enc.EncodeToString([]byte(user+":"+pass))
}

// mintToken runs `sigmaflight token` against the node's data directory.
func (n *node) mintToken(user, role, ttl string) string {
	n.t.Helper()
	out, err := exec.Command(binary, "token", "--data-dir", n.dataDir, "--user", user, "--role", role, "--ttl", ttl).Output()
	if err != nil {
		n.t.Fatalf("sigmaflight token: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// eventsSchema is the table the suites ingest: strings, integers, a float, a boolean and a
// UTC microsecond timestamp, the types every client must read back.
var eventsSchema = arrow.NewSchema([]arrow.Field{
	{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "host", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "event_id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

// baseTime is the timestamp of the first test event: 2024-03-01T12:00:00Z.
var baseTime = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

// eventsBatch builds n events: host "h<i%3>", event_id i, score i/2, ok i even,
// ts baseTime + i seconds.
func eventsBatch(n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, eventsSchema)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(baseTime.Add(time.Duration(i) * time.Second).UnixMicro()))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("h%d", i%3))
		b.Field(2).(*array.Int64Builder).Append(int64(i))
		b.Field(3).(*array.Float64Builder).Append(float64(i) / 2)
		b.Field(4).(*array.BooleanBuilder).Append(i%2 == 0)
	}
	return b.NewRecordBatch()
}

// ingestEvents writes n events into table with Flight SQL bulk ingest and returns the count.
func ingestEvents(ctx context.Context, t *testing.T, c *flightsql.Client, table string, n int) int64 {
	t.Helper()
	rec := eventsBatch(n)
	defer rec.Release()
	rdr, err := array.NewRecordReader(eventsSchema, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Release()
	got, err := c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{
		TableDefinitionOptions: &flightsql.TableDefinitionOptions{
			IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate,
			IfExists:   flightsql.TableDefinitionOptionsTableExistsOptionAppend,
		},
		Table: table,
	})
	if err != nil {
		t.Fatalf("ingest into %s: %v", table, err)
	}
	return got
}

// readAll reads every endpoint of info and returns the stream schema and the batches,
// failing unless each stream's schema equals info's schema exactly (metadata included).
func readAll(ctx context.Context, t *testing.T, c *flightsql.Client, info *flight.FlightInfo) (*arrow.Schema, []arrow.RecordBatch) {
	t.Helper()
	want, err := flight.DeserializeSchema(info.Schema, memory.DefaultAllocator)
	if err != nil {
		t.Fatalf("FlightInfo schema: %v", err)
	}
	var out []arrow.RecordBatch
	for i, ep := range info.Endpoint {
		rdr, err := c.DoGet(ctx, ep.Ticket)
		if err != nil {
			t.Fatalf("DoGet endpoint %d: %v", i, err)
		}
		if !rdr.Schema().Equal(want) || !rdr.Schema().Metadata().Equal(want.Metadata()) {
			t.Fatalf("endpoint %d streams schema\n%s\nbut FlightInfo says\n%s", i, rdr.Schema(), want)
		}
		for rdr.Next() {
			rec := rdr.RecordBatch()
			if !rec.Schema().Equal(want) {
				t.Fatalf("endpoint %d: batch schema %s differs from %s", i, rec.Schema(), want)
			}
			rec.Retain()
			out = append(out, rec)
		}
		if err := rdr.Err(); err != nil {
			t.Fatalf("DoGet endpoint %d: %v", i, err)
		}
		rdr.Release()
	}
	t.Cleanup(func() {
		for _, r := range out {
			r.Release()
		}
	})
	return want, out
}

// rows counts the rows of batches.
func rows(batches []arrow.RecordBatch) int64 {
	var n int64
	for _, b := range batches {
		n += b.NumRows()
	}
	return n
}

// column returns the values of column name across batches, formatted with %v.
func column(t *testing.T, batches []arrow.RecordBatch, name string) []string {
	t.Helper()
	var out []string
	for _, b := range batches {
		idx := b.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %q in %s", name, b.Schema())
		}
		col := b.Column(idx[0])
		for i := 0; i < col.Len(); i++ {
			if col.IsNull(i) {
				out = append(out, "NULL")
			} else {
				out = append(out, col.ValueStr(i))
			}
		}
	}
	return out
}

// ipcSchema is the writer option for a stream of schema sc.
func ipcSchema(sc *arrow.Schema) ipc.Option { return ipc.WithSchema(sc) }

// statusCode returns the gRPC code name of err ("OK" for nil).
func statusCode(err error) string { return status.Code(err).String() }
