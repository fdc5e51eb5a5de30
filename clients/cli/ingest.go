package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/sigmaflight/sigmaflight/clients"
	"github.com/sigmaflight/sigmaflight/clients/eventfile"
)

type ingestFlags struct {
	conn       connFlags
	table      string
	format     string
	batchRows  int
	batchBytes int
	retries    int
	progress   string
	follow     bool
	stateDir   string
	poll       time.Duration
	flushAfter time.Duration
	// skipRejected makes --follow record a batch the node refuses for good in the rejects
	// file and go on, instead of stopping.
	skipRejected bool
}

// IngestCommand returns the `ingest` command.
func IngestCommand() *cobra.Command {
	var f ingestFlags
	cmd := &cobra.Command{
		Use:   "ingest [--server URI] --table NAME FILE|DIR|-...",
		Short: "Send event files to a node (JSON lines, evtx-dump JSON, CSV, Parquet, Arrow; zip/gzip/tar)",
		Long: `Read event files and append them to a table with Flight SQL bulk ingest.

Inputs are files, directories (walked recursively) or '-' for standard input. Formats are
detected from the content: JSON lines, evtx-dump JSON (nested, concatenated objects,
normalised to Sigma field names), CSV/TSV with a header, Parquet, Arrow IPC file or
stream; zip, tar and gzip are read transparently. Members that are not events (packet
captures in OTRF zips, macOS metadata) are skipped with a warning.

Nested JSON objects become dotted column names. Column types are inferred from the first
batch and from the table's existing schema, and never change afterwards: a value that does
not fit its column's type without loss goes to the text column <name>__text.

Events are sent in batches of --batch-rows rows or --batch-bytes input bytes. Every batch
carries an idempotency id derived from the table, the file (path, size, modification
time) and the range of events it holds (first and last event number), and is retried on
transient errors: a batch whose acknowledgement was lost is stored once. Running the same
command again, with the same --batch-rows and --batch-bytes, on unchanged files is
therefore a no-op for the batches the server still remembers; with other batch sizes the
ranges differ and the events are stored again.

With --follow, the files (JSON lines) are tailed like a collector: lines appended later
are sent as they come, and the position is kept in --state-dir, so a restarted
'ingest --follow' resumes where it stopped, and a server restart only delays delivery:
no event is lost or stored twice. A batch the node refuses for good (say a column of
another type than the table's, or a number in the time column "ts") is first rebuilt with
the table's current schema and sent once more; if it is refused again, the follower stops
with an error naming the file, the byte range and the state file. Run it again with
--skip-rejected to copy such a batch's lines to <state>.rejected-G-START-END.jsonl beside
the state file, record it in <state>.rejected.jsonl and go on.`,
		Example: `  sigmaflight ingest --table events ../shared/data/otrf/psh_lsass_memory_dump_comsvcs.zip
  sigmaflight ingest --table sysmon ./evtx-dump-output/
  zcat events.jsonl.gz | sigmaflight ingest --table events -
  sigmaflight ingest --table events --batch-rows 50000 export.parquet
  sigmaflight ingest --table events --follow --state-dir /var/lib/sigmaflight-collector /var/log/sysmon.jsonl
  sigmaflight ingest --table events --follow --skip-rejected --state-dir /var/lib/sigmaflight-collector /var/log/sysmon.jsonl`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f.table == "" {
				return errors.New("--table is required: the table to append to (created if missing)")
			}
			if f.batchRows <= 0 || f.batchBytes <= 0 {
				return fmt.Errorf("--batch-rows (%d) and --batch-bytes (%d) must be positive", f.batchRows, f.batchBytes)
			}
			ctx := cmd.Context()
			c, err := f.conn.connect(ctx)
			if err != nil {
				return err
			}
			defer c.Close()
			if f.follow {
				if f.stateDir == "" {
					f.stateDir = defaultStateDir()
				}
				return runFollow(ctx, c, &f, args, cmd.ErrOrStderr())
			}
			return runIngest(ctx, c, &f, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f.conn.bind(cmd)
	fs := cmd.Flags()
	fs.StringVarP(&f.table, "table", "t", "", "table to append to (created if missing)")
	fs.StringVar(&f.format, "format", "", "force the input format: jsonl, evtx-json, csv, parquet or arrow (default: detect)")
	fs.IntVar(&f.batchRows, "batch-rows", 8192, "maximum rows per batch")
	fs.IntVar(&f.batchBytes, "batch-bytes", 8<<20, "maximum input bytes per batch")
	fs.IntVar(&f.retries, "retries", 5, "attempts per batch on transient errors (unavailable, deadline, aborted); --follow retries forever")
	fs.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (when stderr is a terminal), always or never")
	fs.BoolVar(&f.follow, "follow", false, "tail the files (JSON lines) and send appended lines, resuming after a restart")
	fs.StringVar(&f.stateDir, "state-dir", "", "with --follow: where the read positions are kept (default $XDG_STATE_HOME/sigmaflight/follow or ~/.local/state/sigmaflight/follow)")
	fs.DurationVar(&f.poll, "poll", 500*time.Millisecond, "with --follow: how often to look for new lines")
	fs.DurationVar(&f.flushAfter, "flush-after", time.Second, "with --follow: send a partial batch once no new line came for this long")
	fs.BoolVar(&f.skipRejected, "skip-rejected", false, "with --follow: when the node refuses a batch for good (invalid batch, type conflict), copy its lines to a file beside the state file, record it in <state>.rejected.jsonl and go on, instead of stopping")
	return cmd
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "sigmaflight", "follow")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "sigmaflight", "follow")
	}
	return ".sigmaflight-follow"
}

// tableSchema returns the table's current schema to seed type inference, or nil when the
// table does not exist yet (or cannot be described).
func tableSchema(ctx context.Context, c *clients.Client, table string) *arrow.Schema {
	s, err := c.Schema(ctx, "SELECT * FROM "+quoteIdent(table))
	if err != nil || s == nil {
		return nil
	}
	return s
}

func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func runIngest(ctx context.Context, c *clients.Client, f *ingestFlags, paths []string, out, errOut io.Writer) error {
	total := inputBytes(paths)
	var bar *progressbar.ProgressBar
	if showProgress(f.progress, errOut) {
		bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(errOut),
			progressbar.OptionSetDescription("ingest "+f.table),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	var (
		rows, batches, warnings int64
		ids                     = newBatchIDs(f.table)
		start                   = time.Now()
	)
	opts := eventfile.Options{
		BatchRows:  f.batchRows,
		BatchBytes: f.batchBytes,
		Format:     f.format,
		Schema:     tableSchema(ctx, c, f.table),
		Warn: func(src eventfile.Source, msg string) {
			atomic.AddInt64(&warnings, 1)
			if bar != nil {
				_ = bar.Clear()
			}
			fmt.Fprintf(errOut, "warning: %s: %s\n", src, msg)
		},
	}
	if bar != nil {
		opts.OnRead = func(n int) { _ = bar.Add(n) }
	}
	err := eventfile.Read(ctx, paths, opts, func(src eventfile.Source, rec arrow.RecordBatch) error {
		first := ids.rows[src]
		id := ids.next(src, rec.NumRows())
		n, err := sendWithRetry(ctx, c, f.table, rec, id, f.retries, errOut)
		if err != nil {
			return fmt.Errorf("%s: events %d..%d of this input (batch id %s): %w", src, first+1, first+rec.NumRows(), id, err)
		}
		rows += n
		batches++
		return nil
	})
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	el := time.Since(start)
	unit := "batches"
	if batches == 1 {
		unit = "batch"
	}
	fmt.Fprintf(out, "ingested %d events in %d %s into %s in %s (%.0f events/s)", rows, batches, unit, f.table, el.Round(time.Millisecond), float64(rows)/max(el.Seconds(), 1e-9))
	if warnings > 0 {
		fmt.Fprintf(out, "; %d inputs skipped (see warnings)", warnings)
	}
	fmt.Fprintln(out)
	if rows == 0 && warnings > 0 {
		return errors.New("no events found: every input was skipped")
	}
	return nil
}

// batchIDs derives idempotency ids: one per (table, input identity, range of events).
// The identity is the absolute path, size and modification time of the file (and the
// archive member), and the range is the numbers of the batch's first and last event in
// that input, so the same run over the same files yields the same ids, a retry of a
// batch whose acknowledgement was lost is recognised by the server, and two batches
// with different contents never share an id, whatever --batch-rows and --batch-bytes
// were (an id from the batch's ordinal made a re-run with larger batches skip events:
// its batch 1 had the id of the first run's batch 1, a different range).
type batchIDs struct {
	table string
	ident map[string]string
	rows  map[eventfile.Source]int64 // events of each input sent so far
}

func newBatchIDs(table string) *batchIDs {
	return &batchIDs{table: table, ident: map[string]string{}, rows: map[eventfile.Source]int64{}}
}

// next returns the id of src's next batch, of n events.
func (b *batchIDs) next(src eventfile.Source, n int64) string {
	ident, ok := b.ident[src.Path]
	if !ok {
		ident = src.Path
		if src.Path == "-" {
			// Standard input has no identity: ids are unique per run, so retries within
			// the run are deduplicated but a second run is not.
			ident = "stdin:" + strconv.FormatInt(time.Now().UnixNano(), 10)
		} else if abs, err := filepath.Abs(src.Path); err == nil {
			if st, err := os.Stat(abs); err == nil {
				ident = fmt.Sprintf("%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano())
			}
		}
		b.ident[src.Path] = ident
	}
	first := b.rows[src]
	b.rows[src] = first + n
	return batchID(b.table, "rows\x00"+ident+"\x00"+src.Member, first, first+n)
}

// batchID hashes its parts into a 32-hex-digit id.
func batchID(table, input string, a, b int64) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d", table, input, a, b)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// sendWithRetry ingests one batch with its id, retrying transient failures with
// exponential backoff; attempts <= 0 retries until ctx ends.
func sendWithRetry(ctx context.Context, c *clients.Client, table string, rec arrow.RecordBatch, id string, attempts int, errOut io.Writer) (int64, error) {
	backoff := 200 * time.Millisecond
	for i := 1; ; i++ {
		n, err := c.IngestBatch(ctx, table, rec, clients.IngestOptions{BatchID: id})
		if err == nil {
			return n, nil
		}
		if !transient(err) || (attempts > 0 && i >= attempts) || ctx.Err() != nil {
			return 0, err
		}
		fmt.Fprintf(errOut, "warning: batch %s: %v; retrying in %s\n", id, shortErr(err), backoff)
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// transient reports whether a failed ingest may succeed when sent again unchanged:
// Unavailable, DeadlineExceeded, Aborted, and ResourceExhausted only for storage's
// backpressure ("table head is full"). Other ResourceExhausted errors (a message over
// the gRPC size limit, a memory limit) fail the same way every time.
func transient(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := status.FromError(e); ok && s != nil && s.Code() != codes.OK {
			switch s.Code() {
			case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
				return true
			case codes.ResourceExhausted:
				return strings.Contains(s.Message(), headFullMessage)
			}
			return false
		}
	}
	return false
}

// rejected reports whether the node refused a batch because of its content, so that
// sending the same batch again fails the same way: InvalidArgument (schema conflict,
// invalid batch), OutOfRange, and ResourceExhausted other than backpressure (a batch
// over a size or memory limit). Refusals that are not about the batch (Unauthenticated,
// PermissionDenied, Internal, ...) are not: skipping batches would not help them.
func rejected(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if s, ok := status.FromError(e); ok && s != nil && s.Code() != codes.OK {
			switch s.Code() {
			case codes.InvalidArgument, codes.OutOfRange:
				return true
			case codes.ResourceExhausted:
				return !strings.Contains(s.Message(), headFullMessage)
			}
			return false
		}
	}
	return false
}

// headFullMessage is the text of storage.ErrHeadFull, the one ResourceExhausted a node
// returns for a write that succeeds later (sealing catches up). Matched as text: the
// client does not import storage.
const headFullMessage = "table head is full"

func shortErr(err error) string {
	if s, ok := status.FromError(errors.Unwrap(err)); ok && s != nil {
		return s.Code().String() + ": " + s.Message()
	}
	return err.Error()
}

func showProgress(mode string, w io.Writer) bool {
	switch mode {
	case "always":
		return true
	case "never":
		return false
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// inputBytes sums the sizes of the files under paths (for the progress bar); standard
// input counts as unknown (-1).
func inputBytes(paths []string) int64 {
	var total int64
	for _, p := range paths {
		if p == "-" {
			return -1
		}
		_ = filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				if info, err := d.Info(); err == nil {
					total += info.Size()
				}
			}
			return nil
		})
	}
	return total
}
