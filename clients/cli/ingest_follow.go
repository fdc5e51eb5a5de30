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
	b := eventfile.NewBuilder(memory.DefaultAllocator, tableSchema(ctx, c, f.table))
	fmt.Fprintf(errOut, "following %d file(s) into %s; state in %s\n", len(fols), f.table, f.stateDir)
	for {
		for _, fol := range fols {
			if err := fol.pump(ctx, c, f, b, errOut); err != nil {
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
func (fol *follower) pump(ctx context.Context, c *clients.Client, f *ingestFlags, b *eventfile.Builder, errOut io.Writer) error {
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
			if err := fol.send(ctx, c, f, b, fh, p.Start, p.End, p.ID, errOut); err != nil {
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
		if err := fol.send(ctx, c, f, b, fh, fol.st.Offset, end, id, errOut); err != nil {
			return err
		}
	}
	return nil
}

// send reads the lines in [start, end), ingests them with id (retrying until the server
// takes them or ctx ends), then records end as the acknowledged offset.
func (fol *follower) send(ctx context.Context, c *clients.Client, f *ingestFlags, b *eventfile.Builder, fh *os.File, start, end int64, id string, errOut io.Writer) error {
	data := make([]byte, end-start)
	if _, err := fh.ReadAt(data, start); err != nil {
		return fmt.Errorf("read %s at %d: %w", fol.path, start, err)
	}
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
			fmt.Fprintf(errOut, "warning: %s: line at offset %d+%d: %v; kept as %s\n", fol.path, start, line, err, rawColumn)
			ev = map[string]any{rawColumn: string(raw)}
		}
		b.Add(ev, len(raw))
	}
	rec := b.Flush()
	if rec != nil {
		defer rec.Release()
		n, err := sendWithRetry(ctx, c, f.table, rec, id, 0, errOut)
		if err != nil {
			return fmt.Errorf("%s: bytes %d..%d: %w", fol.path, start, end, err)
		}
		fmt.Fprintf(errOut, "%s: sent %d events (offset %d)\n", fol.path, n, end)
	}
	fol.st.Offset, fol.st.Pending = end, nil
	return fol.save()
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
