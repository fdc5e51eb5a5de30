package tests

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/clients"
)

// tokenLeeway is how long past its expiry the node still accepts a token (server/auth.go
// verifies with a 30 s leeway for clock skew); a test that needs a refused token waits
// the TTL plus this.
const tokenLeeway = 30 * time.Second

// mustUsersFile writes a users file with one user of role, password hashed by
// `sigmaflight token hash-password`, and returns its path.
func mustUsersFile(t *testing.T, name, password, role string) string {
	t.Helper()
	cmd := exec.Command(binary, "token", "hash-password")
	cmd.Stdin = strings.NewReader(password + "\n")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("token hash-password: %v", err)
	}
	path := filepath.Join(t.TempDir(), "users.yaml")
	doc := "users:\n  - name: " + name + "\n    password_hash: \"" + strings.TrimSpace(string(out)) + "\"\n    role: " + role + "\n"
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCLIClientLogsInAgainAfterTokenExpiry runs clients that logged in with a user name
// and password across the expiry of the token the node gave them (--token-ttl 1s, plus
// the node's leeway): `ingest --follow` keeps ingesting, and a library client's queries,
// schema look-ups, actions and ingests, several at once, keep working. Without the
// client logging in again, every call after the expiry failed with Unauthenticated and
// the follower exited.
func TestCLIClientLogsInAgainAfterTokenExpiry(t *testing.T) {
	users := mustUsersFile(t, "collector", "s3cret-passphrase", "admin")
	n := startNode(t, t.TempDir(), "--users", users, "--token-ttl", "1s")
	server := "grpc://" + n.addr
	auth := []string{"--username", "collector", "--password", "s3cret-passphrase"}

	// One library client per kind of call, each logged in now, so that each meets its
	// own expired token after the wait below.
	ctx := context.Background()
	connect := func() *clients.Client {
		t.Helper()
		c, err := clients.Connect(ctx, server, clients.Options{Username: "collector", Password: "s3cret-passphrase", WaitReady: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	cIngest, cQuery, cSchema, cAction := connect(), connect(), connect(), connect()
	start := time.Now()
	libIngest := func(c *clients.Client, i int64) {
		t.Helper()
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{{Name: "seq", Type: arrow.PrimitiveTypes.Int64}}, nil))
		defer b.Release()
		b.Field(0).(*array.Int64Builder).Append(i)
		rec := b.NewRecordBatch()
		defer rec.Release()
		if _, err := c.IngestBatch(ctx, "lib", rec, clients.IngestOptions{}); err != nil {
			t.Fatalf("ingest %s after login: %v", time.Since(start), err)
		}
	}
	libIngest(cIngest, 0)

	dir := t.TempDir()
	logFile := filepath.Join(dir, "sysmon.jsonl")
	appendEvents(t, logFile, 0, 50)
	f := startCLI(t, append([]string{"ingest", "--server", server, "--table", "follow", "--follow",
		"--state-dir", filepath.Join(dir, "state"), "--poll", "20ms", "--flush-after", "50ms"}, append(auth, logFile)...)...)
	waitExactlyOnce(t, server, "follow", 50, f, auth...)

	// Append while the token expires and the leeway runs out.
	total := 50
	for until := time.Now().Add(time.Second + tokenLeeway + 3*time.Second); time.Now().Before(until); {
		appendEvents(t, logFile, total, total+20)
		total += 20
		select {
		case <-f.done:
			t.Fatalf("the follower exited after %s:\n%s", time.Since(start), f.stderr.String())
		case <-time.After(500 * time.Millisecond):
		}
	}
	waitExactlyOnce(t, server, "follow", total, f, auth...)
	select {
	case <-f.done:
		t.Fatalf("the follower exited:\n%s", f.stderr.String())
	default:
	}

	// The library clients' tokens expired long ago. A wave of concurrent queries on one
	// client logs in again once and sends each call again.
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rdr, err := cQuery.Query(ctx, "SELECT count(*) FROM lib")
			if err != nil {
				errs <- err
				return
			}
			for rdr.Next() {
			}
			if err := rdr.Err(); err != nil {
				errs <- err
			}
			rdr.Release()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("query after the token expired: %v", err)
	}
	if _, err := cSchema.Schema(ctx, "SELECT * FROM lib"); err != nil {
		t.Fatalf("schema after the token expired: %v", err)
	}
	if _, err := cAction.Action(ctx, clients.ActionListRulesets, nil); err != nil {
		t.Fatalf("ListRulesets after the token expired: %v", err)
	}
	libIngest(cIngest, 1)

	// A wrong password still fails, with the Unauthenticated of the login.
	if _, err := clients.Connect(ctx, server, clients.Options{Username: "collector", Password: "wrong"}); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("connect with a wrong password: got %v; want Unauthenticated", err)
	}
}
