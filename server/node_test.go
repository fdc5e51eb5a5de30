package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// testUsers are the users of the users file mustStartNode writes, one per role.
var testUsers = []struct{ name, password, role string }{
	{"alice", "alice-secret", "admin"},
	{"wanda", "wanda-secret", "writer"},
	{"rita", "rita-secret", "reader"},
}

// testNode is a Node started in-process on a free loopback port, with a client.
type testNode struct {
	t    *testing.T
	node *Node
	c    *flightsql.Client
}

// mustStartNode starts a node over a fresh data directory; with auth it writes a users
// file of testUsers (bcrypt cost 4, the minimum, to keep tests fast). mod, when not nil,
// adjusts the configuration before the start.
func mustStartNode(t *testing.T, auth bool, mod func(*Config)) *testNode {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.FlightAddr = "127.0.0.1:0"
	cfg.HTTPAddr = ""
	if auth {
		cfg.UsersFile = writeUsersFile(t, bcrypt.MinCost)
	}
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	n, err := Start(context.Background(), cfg, log)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	c, err := flightsql.NewClient(n.Addr(), nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		if err := n.Close(); err != nil {
			t.Errorf("close node: %v", err)
		}
	})
	return &testNode{t: t, node: n, c: c}
}

// writeUsersFile writes testUsers with bcrypt hashes of the given cost and returns its path.
func writeUsersFile(t *testing.T, cost int) string {
	t.Helper()
	var sb strings.Builder
	sb.WriteString("users:\n")
	for _, u := range testUsers {
		h, err := bcrypt.GenerateFromPassword([]byte(u.password), cost)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "  - name: %s\n    password_hash: %q\n    role: %s\n", u.name, h, u.role)
	}
	file := filepath.Join(t.TempDir(), "users.yaml")
	if err := os.WriteFile(file, []byte(sb.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// login performs the Basic handshake and returns a context carrying the token.
func (n *testNode) login(ctx context.Context, user, password string) context.Context {
	n.t.Helper()
	ctx, err := n.c.Client.AuthenticateBasicToken(ctx, user, password)
	if err != nil {
		n.t.Fatalf("handshake as %s: %v", user, err)
	}
	return ctx
}

// testSchema is the table the tests ingest.
var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "host", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "n", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
}, nil)

// testBatch builds rows events: host "h<i%3>", n i.
func testBatch(rows int) arrow.RecordBatch {
	b := array.NewRecordBuilder(memory.DefaultAllocator, testSchema)
	defer b.Release()
	for i := 0; i < rows; i++ {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("h%d", i%3))
		b.Field(1).(*array.Int64Builder).Append(int64(i))
	}
	return b.NewRecordBatch()
}

// ingest writes rows events into table with bulk ingest, mode if_exists.
func (n *testNode) ingest(ctx context.Context, table string, rows int, ifExists flightsql.TableDefinitionOptionsTableExistsOption) (int64, error) {
	rec := testBatch(rows)
	defer rec.Release()
	rdr, err := array.NewRecordReader(testSchema, []arrow.RecordBatch{rec})
	if err != nil {
		n.t.Fatal(err)
	}
	defer rdr.Release()
	return n.c.ExecuteIngest(ctx, rdr, &flightsql.ExecuteIngestOpts{Table: table, TableDefinitionOptions: &flightsql.TableDefinitionOptions{
		IfNotExist: flightsql.TableDefinitionOptionsTableNotExistOptionCreate, IfExists: ifExists}})
}

// mustIngest is ingest (append) that fails the test on error.
func (n *testNode) mustIngest(ctx context.Context, table string, rows int) {
	n.t.Helper()
	if _, err := n.ingest(ctx, table, rows, flightsql.TableDefinitionOptionsTableExistsOptionAppend); err != nil {
		n.t.Fatalf("ingest into %s: %v", table, err)
	}
}

// drain reads a ticket to the end and returns the rows and the stream's error.
func (n *testNode) drain(ctx context.Context, tkt *flight.Ticket) (int64, error) {
	rdr, err := n.c.DoGet(ctx, tkt)
	if err != nil {
		return 0, err
	}
	defer rdr.Release()
	var rows int64
	for rdr.Next() {
		rows += rdr.RecordBatch().NumRows()
	}
	return rows, rdr.Err()
}

// count returns SELECT count(*) FROM table, or -1 when the query fails.
func (n *testNode) count(ctx context.Context, table string) int64 {
	n.t.Helper()
	info, err := n.c.Execute(ctx, "SELECT count(*) FROM "+table)
	if err != nil {
		return -1
	}
	rdr, err := n.c.DoGet(ctx, info.Endpoint[0].Ticket)
	if err != nil {
		return -1
	}
	defer rdr.Release()
	if !rdr.Next() {
		return -1
	}
	return rdr.RecordBatch().Column(0).(*array.Int64).Value(0)
}

// bearer returns ctx with an authorization header.
func bearer(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// wantCode fails unless err has gRPC code want (and, when msg is not empty, contains msg).
func wantCode(t *testing.T, what string, err error, want codes.Code, msg string) {
	t.Helper()
	if status.Code(err) != want || (msg != "" && !strings.Contains(fmt.Sprint(err), msg)) {
		t.Fatalf("%s: got %v; want %s containing %q", what, err, want, msg)
	}
}

// testCtx is a context with a deadline generous for a busy machine.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// b64 is standard base64 with padding.
func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
