package clientcompat

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPythonClients runs python/test_clients.py with pytest against a node with
// authentication: adbc-driver-flightsql (user/password, parameters, fetch_arrow_table,
// adbc_ingest, GetObjects), pandas and polars. The packages come from
// requirements.txt, which .ci/run installs; a missing package fails this test.
func TestPythonClients(t *testing.T) {
	python := "python3"
	if v := os.Getenv("PYTHON"); v != "" {
		python = v
	}
	if _, err := exec.LookPath(python); err != nil {
		t.Fatalf("%s not found: the Python client tests need it (and tests/clientcompat/requirements.txt installed)", python)
	}
	n := startNode(t, true)
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ingestEvents(n.login(ctx, c, "wanda", "wanda-secret"), t, c, "events", 30)

	cmd := exec.CommandContext(ctx, python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", "python/test_clients.py")
	cmd.Env = append(os.Environ(), "SIGMAFLIGHT_URI=grpc://"+n.addr, "SIGMAFLIGHT_TOKEN="+n.mintToken("notebook", "reader", "1h"))
	out, err := cmd.CombinedOutput()
	t.Logf("pytest:\n%s", out)
	if err != nil {
		t.Fatalf("pytest failed (%v); a ModuleNotFoundError means tests/clientcompat/requirements.txt is not installed", err)
	}
	m := regexp.MustCompile(`(\d+) passed`).FindSubmatch(out)
	if m == nil || strings.Contains(string(out), "skipped") {
		t.Fatalf("pytest did not report every test as passed (none may be skipped)")
	}
	if string(m[1]) != "10" {
		t.Fatalf("pytest passed %s tests; want 10 (every test of python/test_clients.py)", m[1])
	}
}
