package clientcompat

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/flight"
)

// TestGracefulShutdownAndMetrics checks the Prometheus metrics of Flight RPCs and ingest,
// then stops the node with SIGTERM in the middle of an ingest stream: the stream is still
// served to its end, acknowledged, durable after a restart, and the node exits cleanly.
func TestGracefulShutdownAndMetrics(t *testing.T) {
	n := startNode(t, false, "--http-listen", "127.0.0.1:0")
	c := n.client()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ingestEvents(ctx, t, c, "events", 100)
	if _, err := c.Execute(ctx, "SELECT nope FROM events"); statusCode(err) != "InvalidArgument" {
		t.Fatalf("unknown column: %v; want InvalidArgument", err)
	}

	resp, err := http.Get("http://" + n.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`sigmaflight_rpc_total{code="OK",method="DoPut"} 1`,
		`sigmaflight_rpc_total{code="InvalidArgument",method="GetFlightInfo"} 1`,
		`sigmaflight_rpc_errors_total{method="GetFlightInfo"} 1`,
		`sigmaflight_rpc_duration_seconds_count{method="DoPut"} 1`,
		`sigmaflight_ingest_rows_total 100`,
		`sigmaflight_ingest_bytes_total `,
		`sigmaflight_rpc_in_flight `,
	} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, body)
		}
	}

	// An ingest stream in flight when SIGTERM arrives.
	stream, err := c.Client.DoPut(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := flight.NewRecordWriter(stream, ipcSchema(eventsSchema))
	w.SetFlightDescriptor(&flight.FlightDescriptor{Type: flight.DescriptorPATH, Path: []string{"late"}})
	rec := eventsBatch(1000)
	defer rec.Release()
	for i := 0; i < 5; i++ {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 5; i++ {
		if err := w.Write(rec); err != nil {
			t.Fatalf("write after SIGTERM: %v", err)
		}
	}
	w.Close()
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	res, err := stream.Recv()
	if err != nil {
		t.Fatalf("ack of the stream in flight at SIGTERM: %v", err)
	}
	var ack struct{ Rows int64 }
	if err := json.Unmarshal(res.GetAppMetadata(), &ack); err != nil || ack.Rows != 10_000 {
		t.Fatalf("ack %q; want 10000 rows", res.GetAppMetadata())
	}
	select {
	case <-n.exited:
	case <-time.After(30 * time.Second):
		t.Fatal("node did not exit within 30 s of SIGTERM")
	}
	if code := n.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d after SIGTERM; want 0", code)
	}

	n2 := startNodeIn(t, n.dataDir, false)
	c2 := n2.client()
	info, err := c2.Execute(ctx, "SELECT count(*) FROM late")
	if err != nil {
		t.Fatal(err)
	}
	_, b := readAll(ctx, t, c2, info)
	if got := b[0].Column(0).(*array.Int64).Value(0); got != 10_000 {
		t.Fatalf("rows of the stream after restart: %d; want 10000", got)
	}
}
