package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sigmaflight/sigmaflight/clients"
	"github.com/sigmaflight/sigmaflight/clients/eventfile"
)

// followState is what `ingest --follow` persists per (table, file), written atomically
// (temp file, fsync, rename, fsync of the directory) before and after every batch:
//
//   - Offset: the byte offset just after the last line the server acknowledged.
//   - Pending: a batch that was about to be sent, with its byte range and id. After a
//     restart it is sent again first, with the same range and the same id, so a batch
//     whose acknowledgement was lost (the collector or the server died after storing it)
//     is deduplicated by the server instead of stored twice, and no line is skipped.
//   - Generation and Inode: a file truncated or replaced (rotation) starts again at 0
//     with the next generation, which is part of every batch id, so its new lines never
//     collide with ids of the old content.
type followState struct {
	Path       string        `json:"path"`
	Table      string        `json:"table"`
	Offset     int64         `json:"offset"`
	Generation int64         `json:"generation"`
	Inode      uint64        `json:"inode"`
	Pending    *pendingRange `json:"pending,omitempty"`
}

type pendingRange struct {
	Start int64  `json:"start"`
	End   int64  `json:"end"`
	ID    string `json:"id"`
}

// follower tails one file.
type follower struct {
	path      string
	statePath string
	st        followState
	lastSize  int64
	lastGrow  time.Time
}

// followRun is what every follower of one `ingest --follow` shares.
type followRun struct {
	c      *clients.Client
	f      *ingestFlags
	errOut io.Writer
	// b builds every batch; it is replaced by a builder seeded with the table's current
	// schema when the node refuses a batch (the table may have changed under us).
	b *eventfile.Builder
}

// reseed replaces the builder by one seeded with the table's current schema.
func (r *followRun) reseed(ctx context.Context) {
	r.b = eventfile.NewBuilder(memory.DefaultAllocator, tableSchema(ctx, r.c, r.f.table))
}

// rawColumn holds a followed line that is not a JSON object, so that nothing is dropped.
const rawColumn = "_raw"

func runFollow(ctx context.Context, c *clients.Client, f *ingestFlags, paths []string, errOut io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := os.MkdirAll(f.stateDir, 0o755); err != nil {
		return fmt.Errorf("state dir: %w", err)
	}
	var fols []*follower
	for _, p := range paths {
		if p == "-" {
			return errors.New("--follow needs files: standard input has no position to resume from")
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		fol, err := loadFollower(f.stateDir, f.table, abs)
		if err != nil {
			return err
		}
		fols = append(fols, fol)
	}
	run := &followRun{c: c, f: f, errOut: errOut}
	run.reseed(ctx)
	fmt.Fprintf(errOut, "following %d file(s) into %s; state in %s\n", len(fols), f.table, f.stateDir)
	for {
		for _, fol := range fols {
			if err := fol.pump(ctx, run); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(f.poll):
		}
	}
}

func loadFollower(dir, table, abs string) (*follower, error) {
	sum := sha256.Sum256([]byte(table + "\x00" + abs))
	fol := &follower{path: abs, statePath: filepath.Join(dir, hex.EncodeToString(sum[:8])+".json")}
	data, err := os.ReadFile(fol.statePath)
	switch {
	case errors.Is(err, os.ErrNotExist):
		fol.st = followState{Path: abs, Table: table}
	case err != nil:
		return nil, fmt.Errorf("read follow state: %w", err)
	default:
		if err := json.Unmarshal(data, &fol.st); err != nil {
			return nil, fmt.Errorf("follow state %s is corrupt (delete it to start %s from the beginning): %w", fol.statePath, abs, err)
		}
	}
	return fol, nil
}

func (fol *follower) save() error {
	data, err := json.Marshal(fol.st)
	if err != nil {
		return err
	}
	tmp := fol.statePath + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("write follow state: %w", err)
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return fmt.Errorf("write follow state: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("sync follow state: %w", err)
	}
	if err := fh.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, fol.statePath); err != nil {
		return fmt.Errorf("write follow state: %w", err)
	}
	if d, err := os.Open(filepath.Dir(fol.statePath)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// pump sends what is ready in one file: first a pending batch from before a restart,
// then complete new lines, in batches of up to --batch-rows / --batch-bytes; a partial
// batch is sent once the file stopped growing for --flush-after.
func (fol *follower) pump(ctx context.Context, run *followRun) error {
	f, errOut := run.f, run.errOut
	fh, err := os.Open(fol.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // not created yet (or rotated away): keep polling
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return err
	}
	if p := fol.st.Pending; p != nil {
		if info.Size() >= p.End && (fol.st.Inode == 0 || fol.st.Inode == inodeOf(info)) {
			if err := fol.send(ctx, run, fh, p.Start, p.End, p.ID); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(errOut, "warning: %s: the pending batch's lines are gone (file truncated or replaced); they were sent once, possibly unacknowledged\n", fol.path)
			fol.st.Pending = nil
		}
	}
	if ino := inodeOf(info); (fol.st.Inode != 0 && ino != fol.st.Inode) || info.Size() < fol.st.Offset {
		fmt.Fprintf(errOut, "warning: %s was truncated or replaced: reading it again from the start\n", fol.path)
		fol.st.Offset, fol.st.Inode = 0, ino
		fol.st.Generation++
		if err := fol.save(); err != nil {
			return err
		}
	}
	if fol.st.Inode == 0 {
		fol.st.Inode = inodeOf(info)
	}
	now := time.Now()
	if info.Size() != fol.lastSize {
		fol.lastSize, fol.lastGrow = info.Size(), now
	}
	for fol.st.Offset < info.Size() {
		end, lines, err := completeLines(fh, fol.st.Offset, info.Size(), f.batchRows, f.batchBytes)
		if err != nil {
			return err
		}
		if lines == 0 {
			return nil // a partial line: wait for its newline
		}
		full := lines >= f.batchRows || end-fol.st.Offset >= int64(f.batchBytes)
		if !full && now.Sub(fol.lastGrow) < f.flushAfter {
			return nil
		}
		id := batchID(f.table, fmt.Sprintf("follow\x00%s\x00%d", fol.path, fol.st.Generation), fol.st.Offset, end)
		fol.st.Pending = &pendingRange{Start: fol.st.Offset, End: end, ID: id}
		if err := fol.save(); err != nil {
			return err
		}
		if err := fol.send(ctx, run, fh, fol.st.Offset, end, id); err != nil {
			return err
		}
	}
	return nil
}

// send reads the lines in [start, end), ingests them with id (retrying until the server
// takes them or ctx ends), then records end as the acknowledged offset. A batch the node
// refuses for its content is rebuilt with the table's current schema and sent once more;
// refused again, it stops the follower or, with --skip-rejected, is set aside (reject).
func (fol *follower) send(ctx context.Context, run *followRun, fh *os.File, start, end int64, id string) error {
	data := make([]byte, end-start)
	if _, err := fh.ReadAt(data, start); err != nil {
		return fmt.Errorf("read %s at %d: %w", fol.path, start, err)
	}
	n, err := fol.sendLines(ctx, run, data, start, id, true)
	if err != nil && rejected(err) && ctx.Err() == nil {
		fmt.Fprintf(run.errOut, "warning: %s: bytes %d..%d refused (%s); sending them again with the table's current schema\n", fol.path, start, end, shortErr(err))
		run.reseed(ctx)
		n, err = fol.sendLines(ctx, run, data, start, id, false)
	}
	switch {
	case err == nil:
		if n >= 0 {
			fmt.Fprintf(run.errOut, "%s: sent %d events (offset %d)\n", fol.path, n, end)
		}
	case ctx.Err() != nil || !rejected(err):
		return fmt.Errorf("%s: bytes %d..%d (pending in %s): %w", fol.path, start, end, fol.statePath, err)
	case !run.f.skipRejected:
		return fmt.Errorf("%s: bytes %d..%d: the node refuses this batch: %w\n"+
			"The range stays pending in %s and would be refused again on every restart. "+
			"Fix the cause (for a type conflict, the table's column type against the file's values), "+
			"or run again with --skip-rejected to copy these lines to %s and go on",
			fol.path, start, end, err, fol.statePath, fol.rejectPath(start, end))
	default:
		if rerr := fol.reject(start, end, id, data, err); rerr != nil {
			return rerr
		}
		fmt.Fprintf(run.errOut, "warning: %s: bytes %d..%d refused by the node (%s); lines copied to %s and recorded in %s\n",
			fol.path, start, end, shortErr(err), fol.rejectPath(start, end), fol.rejectLog())
		// The builder may have fixed the refused types; start the next batch afresh.
		run.reseed(ctx)
	}
	fol.st.Offset, fol.st.Pending = end, nil
	return fol.save()
}

// sendLines builds one batch of the JSON lines in data (starting at byte start of the
// file) and ingests it with id; n is -1 when there was nothing to send.
func (fol *follower) sendLines(ctx context.Context, run *followRun, data []byte, start int64, id string, warn bool) (int64, error) {
	line := 0
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		raw := bytes.TrimSpace(data[:i])
		data = data[min(i+1, len(data)):]
		line++
		if len(raw) == 0 {
			continue
		}
		ev, err := eventfile.DecodeJSONEvent(raw)
		if err != nil {
			if warn {
				fmt.Fprintf(run.errOut, "warning: %s: line at offset %d+%d: %v; kept as %s\n", fol.path, start, line, err, rawColumn)
			}
			ev = map[string]any{rawColumn: string(raw)}
		}
		run.b.Add(ev, len(raw))
	}
	rec := run.b.Flush()
	if rec == nil {
		return -1, nil
	}
	defer rec.Release()
	return sendWithRetry(ctx, run.c, run.f.table, rec, id, 0, run.errOut)
}

// rejectLog is the file, beside the state file, that lists the batches set aside by
// --skip-rejected: one JSON object per line (rejectRecord).
func (fol *follower) rejectLog() string {
	return strings.TrimSuffix(fol.statePath, ".json") + ".rejected.jsonl"
}

// rejectPath is the file that keeps the lines of the refused range [start, end) of the
// current generation, byte for byte, so they can be sent again (plain `ingest`) once
// the cause is fixed.
func (fol *follower) rejectPath(start, end int64) string {
	return fmt.Sprintf("%s.rejected-%d-%d-%d.jsonl", strings.TrimSuffix(fol.statePath, ".json"), fol.st.Generation, start, end)
}

// rejectRecord is one line of the rejects log.
type rejectRecord struct {
	Time       time.Time `json:"time"`
	Table      string    `json:"table"`
	Path       string    `json:"path"`
	Generation int64     `json:"generation"`
	Start      int64     `json:"start"`
	End        int64     `json:"end"`
	BatchID    string    `json:"batch_id"`
	Lines      string    `json:"lines"`
	Error      string    `json:"error"`
}

// reject sets the refused range aside: its lines to rejectPath and a record to
// rejectLog, both fsynced before the caller moves the offset past the range, so a crash
// in between sends the range again (and records it again) rather than losing it.
func (fol *follower) reject(start, end int64, id string, data []byte, cause error) error {
	lines := fol.rejectPath(start, end)
	if err := writeSynced(lines, data, os.O_CREATE|os.O_WRONLY|os.O_TRUNC); err != nil {
		return fmt.Errorf("set aside %s bytes %d..%d: %w", fol.path, start, end, err)
	}
	rec, err := json.Marshal(rejectRecord{Time: time.Now().UTC(), Table: fol.st.Table, Path: fol.path, Generation: fol.st.Generation,
		Start: start, End: end, BatchID: id, Lines: lines, Error: cause.Error()})
	if err != nil {
		return err
	}
	if err := writeSynced(fol.rejectLog(), append(rec, '\n'), os.O_CREATE|os.O_WRONLY|os.O_APPEND); err != nil {
		return fmt.Errorf("record rejected %s bytes %d..%d: %w", fol.path, start, end, err)
	}
	return nil
}

// writeSynced writes data to path opened with flag and fsyncs it.
func writeSynced(path string, data []byte, flag int) error {
	fh, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// completeLines scans from off for up to maxRows complete lines (ending in '\n') and about
// maxBytes bytes, and returns the offset after the last one and how many there are.
func completeLines(fh *os.File, off, size int64, maxRows, maxBytes int) (int64, int, error) {
	buf := make([]byte, 64<<10)
	end, lines := off, 0
	for pos := off; pos < size && lines < maxRows && end-off < int64(maxBytes); {
		n, err := fh.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
		if n == 0 && err != nil {
			if err == io.EOF {
				break
			}
			return 0, 0, err
		}
		chunk := buf[:n]
		for i := 0; i < len(chunk); {
			j := bytes.IndexByte(chunk[i:], '\n')
			if j < 0 {
				break
			}
			i += j + 1
			end = pos + int64(i)
			lines++
			if lines >= maxRows || end-off >= int64(maxBytes) {
				return end, lines, nil
			}
		}
		pos += int64(n)
	}
	return end, lines, nil
}
