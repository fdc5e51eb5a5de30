package storage

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// envInt64 and envDuration read the operator overrides of the sealing defaults (see
// withDefaults); an unset or malformed variable yields 0 (no override).
func envInt64(name string) int64 {
	v, err := strconv.ParseInt(os.Getenv(name), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

func envDuration(name string) time.Duration {
	v, err := time.ParseDuration(os.Getenv(name))
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// withDefaults fills the zero fields of o. The sealing thresholds fall back first to the
// environment variables SIGMAFLIGHT_STORAGE_SEAL_ROWS and SIGMAFLIGHT_STORAGE_SEAL_AGE (a
// Go duration), so that an operator or an end-to-end test can make the real binary seal
// early without a server flag.
func (o TableOptions) withDefaults() TableOptions {
	if o.SealRows <= 0 {
		o.SealRows = envInt64("SIGMAFLIGHT_STORAGE_SEAL_ROWS")
	}
	if o.SealAge <= 0 {
		o.SealAge = envDuration("SIGMAFLIGHT_STORAGE_SEAL_AGE")
	}
	if len(o.TimeFields) == 0 {
		o.TimeFields = DefaultTimeFields
	}
	if len(o.PartitionKeys) == 0 {
		o.PartitionKeys = DefaultPartitionKeys
	}
	if o.Shards <= 0 {
		o.Shards = defaultShards
	}
	if o.Window <= 0 {
		o.Window = defaultWindow
	}
	if o.SealRows <= 0 {
		o.SealRows = defaultSealRows
	}
	if o.SealAge <= 0 {
		o.SealAge = defaultSealAge
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = defaultRowGroupRows
	}
	if o.CompactRows <= 0 {
		o.CompactRows = defaultCompactRows
	}
	return o
}

// merge returns o with its zero fields taken from d.
func (o TableOptions) merge(d TableOptions) TableOptions {
	if len(o.TimeFields) == 0 {
		o.TimeFields = d.TimeFields
	}
	if len(o.PartitionKeys) == 0 {
		o.PartitionKeys = d.PartitionKeys
	}
	if o.Shards == 0 {
		o.Shards = d.Shards
	}
	if o.Window == 0 {
		o.Window = d.Window
	}
	if o.SealRows == 0 {
		o.SealRows = d.SealRows
	}
	if o.SealAge == 0 {
		o.SealAge = d.SealAge
	}
	if o.RowGroupRows == 0 {
		o.RowGroupRows = d.RowGroupRows
	}
	if o.CompactRows == 0 {
		o.CompactRows = d.CompactRows
	}
	if o.RetentionAge == 0 {
		o.RetentionAge = d.RetentionAge
	}
	if o.RetentionBytes == 0 {
		o.RetentionBytes = d.RetentionBytes
	}
	return o
}

// Seal writes the head as it is now into segments (see DESIGN.md, "Sealing") and drops
// it from memory and from the WAL. Writes go on meanwhile, into a new WAL generation;
// scans see the same rows before and after. It does nothing for an empty head.
func (t *Table) Seal(ctx context.Context) error { return t.seal(ctx, false) }

// seal seals the whole head, or with bounded only its oldest whole WAL generations up
// to about SealRows rows (what background maintenance does, one step at a time).
func (t *Table) seal(ctx context.Context, bounded bool) error {
	t.maint.Lock()
	defer t.maint.Unlock()
	j, err := t.startSeal(ctx, bounded, nil)
	if err != nil || j == nil {
		return err
	}
	return j.finish(ctx)
}

// sealJob is a seal whose segments are being written (startSeal: steps 1 and 2) and
// whose manifest change and swap are to come (finish: steps 3 and 4). Background
// maintenance runs two at a time, overlapped (maintain): the next seal's segments are
// started once every segment of the one before has a worker, so that its workers take
// the cores the one before leaves idle while its last segment, its fsyncs, its manifest
// change and its swap finish. A job's rows are the head batches of WAL generations
// below newGen from those of the job before it (prev) on; the swap removes them from the
// front of the head, which is where they are once the job before swapped. The jobs of
// one table run under t.maint, and each finishes after the one before it.
type sealJob struct {
	t      *Table
	n      int   // head batches it seals
	rows   int64 // their rows
	newGen uint64
	epoch  uint64
	heads  []headMeta
	recs   []arrow.RecordBatch
	nulls  nullArrays
	pace   *pacer
	build  *segmentBuild
}

// startSeal chooses the rows of a seal and starts writing their segments: the head
// batches after prev's (nil: from the first), of whole WAL generations, about SealRows
// rows with bounded. It returns nil when there is nothing to seal. t.maint is held.
func (t *Table) startSeal(ctx context.Context, bounded bool, prev *sealJob) (*sealJob, error) {
	var (
		s, k   int
		newGen uint64
		epoch  uint64
	)
	floor := uint64(0)
	if prev != nil {
		floor = prev.newGen
	}
	// 1. On the commit goroutine: choose the prefix to seal, whole WAL generations, so
	// that generations below newGen hold exactly the first k head batches (those below
	// floor, the first s, being prev's). Older generations (the commit goroutine starts a
	// new one every SealRows rows) are taken oldest first until they hold SealRows rows;
	// if the head is all in the current generation, the WAL is rotated and the whole
	// head sealed.
	err := t.runOp(ctx, func() error {
		if err := t.stickyErr(); err != nil {
			return err
		}
		t.mu.Lock()
		epoch = t.epoch
		cur := t.wal.gen
		for s < len(t.heads) && t.heads[s].gen < floor {
			s++
		}
		if prev != nil && (s != prev.n || epoch != prev.epoch) {
			t.mu.Unlock()
			return nil // the head changed under prev (a Replace): prev gives up, and so does this seal
		}
		k = s
		var rows int64
		for k < len(t.heads) && t.heads[k].gen < cur && (!bounded || rows < t.opts.SealRows) {
			g := t.heads[k].gen
			for k < len(t.heads) && t.heads[k].gen == g {
				rows += t.batches[k].NumRows()
				k++
			}
			newGen = g + 1
		}
		if k < len(t.batches) && (k == s || !bounded) {
			k, newGen = len(t.batches), 0 // the current generation too: rotate
		}
		t.mu.Unlock()
		if k == s || newGen != 0 {
			return nil
		}
		newGen = cur + 1
		nw, err := createWAL(t.fs, filepath.Join(t.dir, walName(newGen)), newGen)
		if err != nil {
			return fmt.Errorf("seal table %q: rotate WAL: %w", t.name, err)
		}
		old := t.wal
		t.wal = nw
		if err := old.close(); err != nil {
			slog.Warn("storage: closing rotated WAL", "path", old.path, "err", err)
		}
		t.mu.Lock()
		t.stats.WALBytes = 0
		t.mu.Unlock()
		return nil
	})
	if err != nil || k == s {
		return nil, err
	}

	// 2. Off the commit goroutine: start encoding the prefix as segments.
	t.mu.Lock()
	if t.epoch != epoch {
		t.mu.Unlock()
		return nil, nil // replaced meanwhile: the prefix is gone
	}
	j := &sealJob{t: t, n: k - s, newGen: newGen, epoch: epoch, nulls: nullArrays{}}
	schema := t.schema
	prefix := slices.Clone(t.batches[s:k])
	for _, b := range prefix {
		b.Retain()
		j.rows += b.NumRows()
	}
	j.heads = slices.Clone(t.heads[s:k])
	t.mu.Unlock()
	j.recs = make([]arrow.RecordBatch, 0, len(prefix))
	for i, b := range prefix {
		r, err := project(t.name, schema, b, j.nulls, false)
		b.Release()
		if err != nil {
			releaseAll(prefix[i+1:])
			j.release()
			return nil, err
		}
		j.recs = append(j.recs, r)
	}
	j.pace = t.sealPacer()
	j.build = startSegmentBuild(ctx, t.fs, t.dir, schema, j.recs, t.opts, t.reserveSegmentIDs, true, j.pace)
	return j, nil
}

// release frees what the job holds of the head (after its build ended).
func (j *sealJob) release() {
	releaseAll(j.recs)
	j.recs = nil
	j.nulls.release()
}

// abort ends a job whose manifest change must not happen (the seal before it failed):
// it stops its build and removes what it wrote.
func (j *sealJob) abort() {
	j.build.cancel()
	metas, _ := j.build.wait()
	j.t.notePacer(j.pace)
	j.release()
	removeSegmentFiles(j.t.dir, metas)
}

// finish waits for the job's segments, then makes them durable in the manifest and
// swaps them for its head batches (steps 3 and 4). The job before it (if any) has
// finished.
func (j *sealJob) finish(ctx context.Context) error {
	t := j.t
	metas, err := j.build.wait()
	t.notePacer(j.pace)
	j.release()
	if err != nil {
		return fmt.Errorf("seal table %q: %w", t.name, err)
	}
	heads, newGen, epoch, k := j.heads, j.newGen, j.epoch, j.n

	// 3. Off the commit goroutine: the manifest change (manifest_log.go), encoded as a
	// log record, or when the log is full as a new checkpoint written and fsynced under
	// a name of its own, so that commits do not wait for it (encoding and fsyncing a
	// manifest that lists every segment's zone maps took tens of milliseconds on the
	// commit goroutine, once per seal: the tail of the ack latency). Retention and
	// quarantine wait for t.maint, which this seal holds; a compaction may swap its
	// merge in meanwhile (it does not take t.maint), and then the change is made again
	// from the new manifest; a Replace bumps the epoch (checked below). A crash before
	// the rename leaves the tmp file, which Open removes.
	tmp := filepath.Join(t.dir, manifestFileName+".seal"+tmpSuffix)
	var ids []batchIDEntry
	for _, h := range heads {
		if h.id != "" {
			ids = append(ids, batchIDEntry{ID: h.id, Rows: h.callRows})
		}
	}
	if len(ids) > maxBatchIDs {
		ids = ids[len(ids)-maxBatchIDs:]
	}
	for attempt := 0; ; attempt++ {
		t.mu.Lock()
		base := t.man
		d := &manifestDelta{Seq: base.Seq + 1, WALStart: newGen, NextSegment: base.NextSegment, Add: metas, BatchIDs: ids}
		if len(metas) > 0 {
			d.NextSegment = max(d.NextSegment, segID(metas[len(metas)-1].File)+1)
		}
		sb, err := encodeSchema(t.schema)
		t.mu.Unlock()
		if err != nil {
			removeSegmentFiles(t.dir, metas)
			return err
		}
		if !bytes.Equal(sb, base.Schema) {
			d.Schema = sb
		}
		man, err := applyDelta(base, d)
		var rec []byte
		if err == nil {
			rec, err = manifestRecord(d)
		}
		if err != nil {
			removeSegmentFiles(t.dir, metas)
			return fmt.Errorf("seal table %q: encode manifest: %w", t.name, err)
		}
		t.mu.Lock()
		checkpoint := !t.mlog.fits(len(rec))
		t.mu.Unlock()
		var size int
		if checkpoint {
			data, err := t.segJSON.marshalManifest(man)
			if err != nil {
				removeSegmentFiles(t.dir, metas)
				return fmt.Errorf("seal table %q: encode manifest: %w", t.name, err)
			}
			if err := writeTempSync(t.fs, tmp, data); err != nil {
				removeSegmentFiles(t.dir, metas)
				return fmt.Errorf("seal table %q: %w", t.name, err)
			}
			size = len(data)
		}

		// 4. On the commit goroutine: append the record (or rename the checkpoint into
		// place), then swap the head and segment lists.
		stale, applied, ran := false, false, false
		err = t.runOp(ctx, func() error {
			ran = true
			t.mu.Lock()
			if t.epoch != epoch {
				t.mu.Unlock()
				os.Remove(tmp)
				removeSegmentFiles(t.dir, metas)
				return nil
			}
			if k > len(t.heads) || t.heads[k-1].gen >= newGen || (k < len(t.heads) && t.heads[k].gen < newGen) {
				t.mu.Unlock()
				os.Remove(tmp)
				removeSegmentFiles(t.dir, metas)
				return fmt.Errorf("BUG: seal table %q: the first %d head batches are not those of the WAL generations below %d", t.name, k, newGen)
			}
			if t.man != base || (!checkpoint && !t.mlog.fits(len(rec))) {
				// A compaction changed the manifest (and the log) meanwhile: make the
				// change again.
				t.mu.Unlock()
				os.Remove(tmp)
				stale = true
				return nil
			}
			if t.err != nil {
				// A failed manifest write: no manifest change until reopen.
				err := t.err
				t.mu.Unlock()
				os.Remove(tmp)
				removeSegmentFiles(t.dir, metas)
				return err
			}
			t.mu.Unlock()
			var err error
			if checkpoint {
				if err = renameSync(t.fs, tmp, filepath.Join(t.dir, manifestFileName)); err == nil {
					t.checkpointWritten(size)
				}
			} else {
				err = t.appendManifestRecord(rec)
			}
			if err != nil {
				err = fmt.Errorf("seal table %q: %w", t.name, err)
				if errors.Is(err, errAfterRename) {
					// The manifest naming metas may be the durable one: keep the
					// segments and the WAL, and stop until a reopen sorts it out.
					return t.setFailed(err)
				}
				removeSegmentFiles(t.dir, metas)
				return err
			}
			t.mu.Lock()
			t.man = man
			for _, m := range metas {
				t.segments = append(t.segments, t.newSegment(m))
			}
			old := t.batches[:k]
			t.batches = slices.Clone(t.batches[k:])
			t.heads = slices.Clone(t.heads[k:])
			var sealed int64
			for _, b := range old {
				sealed += b.NumRows()
			}
			t.rows -= sealed
			t.stats.Seals++
			close(t.drained)
			t.drained = make(chan struct{})
			t.mu.Unlock()
			releaseAll(old)
			applied = true
			return nil
		})
		if applied {
			// Off the commit goroutine: unlinking a generation of tens of megabytes and
			// fsyncing the directory took tens of milliseconds behind segment writes,
			// during which no commit could be acknowledged. The manifest no longer
			// needs them; a crash before they go leaves files Open removes.
			t.removeWALsBefore(newGen)
		}
		if err != nil && !ran {
			// The table closed (or ctx ended) first: nothing names the new files.
			os.Remove(tmp)
			removeSegmentFiles(t.dir, metas)
		}
		if !stale || err != nil {
			return err
		}
		t.mu.Lock()
		t.stats.SealRemade++
		t.mu.Unlock()
		if attempt >= maxSealManifestAttempts {
			os.Remove(tmp)
			removeSegmentFiles(t.dir, metas)
			return fmt.Errorf("seal table %q: the manifest changed under the seal %d times in a row", t.name, attempt+1)
		}
	}
}

// maxSealManifestAttempts bounds how often a seal makes its manifest again because a
// compaction swapped a merge in meanwhile (merges take seconds; this is a safeguard).
const maxSealManifestAttempts = 16

// reserveSegmentIDs reserves n consecutive segment ids (file names) for a seal or a
// merge and returns the first: past the manifest's NextSegment and every id reserved
// before (t.segIDs), so that a seal and a compaction running at the same time never
// name two files alike. (Bumping the manifest's NextSegment in place lost reservations:
// a manifest change made from a copy taken before put the old value back.) The
// manifest change listing the files records NextSegment past them; an id reserved by a
// job that gives up is not used again until a restart (its file, if any, is an orphan
// Open deletes).
func (t *Table) reserveSegmentIDs(n int) uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	id := max(t.segIDs, t.man.NextSegment)
	t.segIDs = id + uint64(n)
	return id
}

// segID is the id in a segment file name (0 if it is not one).
func segID(name string) uint64 {
	id, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
	return id
}

// newSegment returns the listed segment m of t, holding the table's reference.
func (t *Table) newSegment(m SegmentMeta) *segment {
	s := &segment{meta: m, path: filepath.Join(t.dir, m.File), owner: t.segOwner}
	s.refs.Store(1)
	return s
}

func removeSegmentFiles(dir string, metas []SegmentMeta) {
	for _, m := range metas {
		os.Remove(filepath.Join(dir, m.File))
	}
}

// replaceSegments swaps the segments named in drop for add in one manifest change, on
// the commit goroutine; it gives up (removing add's files) if the table was replaced
// since epoch or a segment of drop is no longer live.
func (t *Table) replaceSegments(ctx context.Context, epoch uint64, drop map[string]bool, add []SegmentMeta, nextID uint64) (bool, error) {
	applied := false
	err := t.runOp(ctx, func() error {
		t.mu.Lock()
		live := 0
		for _, s := range t.segments {
			if drop[s.meta.File] {
				live++
			}
		}
		if t.epoch != epoch || live != len(drop) {
			t.mu.Unlock()
			removeSegmentFiles(t.dir, add)
			return nil
		}
		if t.err != nil {
			// A failed manifest write: no manifest change until reopen.
			err := t.err
			t.mu.Unlock()
			removeSegmentFiles(t.dir, add)
			return err
		}
		base := t.man
		d := &manifestDelta{Seq: base.Seq + 1, WALStart: base.WALStart, NextSegment: max(base.NextSegment, nextID), Add: add}
		for _, m := range base.Segments { // in manifest order: the record is the same for the same change
			if drop[m.File] {
				d.Drop = append(d.Drop, m.File)
			}
		}
		t.mu.Unlock()
		man, err := applyDelta(base, d)
		if err == nil {
			err = t.commitManifest(man, d)
		}
		if err != nil {
			if errors.Is(err, errAfterRename) {
				// Either manifest may be the durable one: keep the files both name
				// (drop's and add's), and stop until a reopen sorts it out.
				return t.setFailed(err)
			}
			removeSegmentFiles(t.dir, add)
			return err
		}
		t.mu.Lock()
		t.man = man
		var gone []*segment
		keep := make([]*segment, 0, len(t.segments))
		for _, s := range t.segments {
			if drop[s.meta.File] {
				gone = append(gone, s)
			} else {
				keep = append(keep, s)
			}
		}
		for _, m := range add {
			keep = append(keep, t.newSegment(m))
		}
		t.segments = keep
		t.mu.Unlock()
		for _, s := range gone {
			s.dead.Store(true)
			s.release() // the file goes when the last scan using it finishes
		}
		applied = true
		return nil
	})
	return applied, err
}

// Compact merges segments within each (window, shard): segments of the same size class
// (a factor of compactFanIn), compactFanIn to compactMaxInputs at a time, holding at most
// opts.CompactRows rows together, become one segment. Scans running meanwhile keep reading
// the old segments; new scans see the merged one; both see the same rows.
//
// A group whose merged segment would be too large (ErrSegmentTooLarge: a string or binary
// column past 2 GiB) stays as it is; Compact goes on with the other groups and returns
// that error once, naming the table and the group. It remembers the failure in memory
// (compactState): later calls merge at most half as many of those segments at a time, or
// none below compactFanIn, instead of reading and failing on the same group at every
// maintenance pass. A reopened store forgets it and fails once more.
func (t *Table) Compact(ctx context.Context) error { return t.compact(ctx, nil) }

// compact is Compact; when mayWait is set it is asked before each merge, with the
// number of segments the merges not done yet would take, and compaction stops (the rest
// waits for a later pass) once it says so.
func (t *Table) compact(ctx context.Context, mayWait func(pending int) bool) error {
	t.compactMu.Lock()
	defer t.compactMu.Unlock()
	st := t.compactState()
	t.mu.Lock()
	st.forgetGone(t.segments)
	epoch, schema := t.epoch, t.schema
	type key struct {
		w  int64
		sh int
	}
	groups := map[key][]*segment{}
	var order []key
	for _, s := range t.segments {
		k := key{s.meta.Window, s.meta.Shard}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], s)
	}
	var jobs [][]*segment
	for _, k := range order {
		// Tiered: merge only segments of the same size class, compactFanIn or more at a
		// time, so that a row is rewritten O(log n) times, not at every round.
		byClass := map[int][]*segment{}
		var classes []int
		for _, s := range groups[k] {
			c := sizeClass(s.meta.Rows)
			if _, ok := byClass[c]; !ok {
				classes = append(classes, c)
			}
			byClass[c] = append(byClass[c], s)
		}
		slices.Sort(classes)
		for _, c := range classes {
			var job []*segment
			var rows int64
			limit := compactMaxInputs
			for _, s := range byClass[c] {
				// A segment of a group that was too large to merge caps the job
				// holding it (see compactState); one capped at 0 is left alone.
				lim := limit
				if m, ok := st.maxInputs[s.meta.File]; ok {
					lim = min(lim, m)
				}
				if len(job) < lim && rows+s.meta.Rows <= t.opts.CompactRows {
					job = append(job, s)
					rows += s.meta.Rows
					limit = lim
				}
			}
			if len(job) >= compactFanIn {
				for _, s := range job {
					s.acquire()
				}
				jobs = append(jobs, job)
			}
		}
	}
	t.mu.Unlock()
	defer func() {
		for _, j := range jobs {
			for _, s := range j {
				s.release()
			}
		}
	}()
	var tooLarge []error
	pending := 0
	for _, job := range jobs {
		pending += len(job)
	}
	for _, job := range jobs {
		if mayWait != nil && mayWait(pending) {
			break
		}
		pending -= len(job)
		st.attempts++
		err := t.compactOne(ctx, epoch, schema, job)
		if errors.Is(err, ErrSegmentTooLarge) {
			// Nothing is lost (the inputs stay listed); remember the group so that the
			// next passes do not read and fail on it again, and merge the others.
			tooLarge = append(tooLarge, fmt.Errorf("compact table %q: %w", t.name, st.tooLarge(job, err)))
			continue
		}
		if err != nil {
			// Still report the groups found too large: they are skipped from now on.
			return errors.Join(append(tooLarge, fmt.Errorf("compact table %q: %w", t.name, err))...)
		}
	}
	return errors.Join(tooLarge...)
}

// compactState is what Compact remembers about one table between calls, in memory only;
// it is touched only under the table's compactMu.
type compactState struct {
	// maxInputs caps, for each segment file of a group whose merge failed with
	// ErrSegmentTooLarge, the number of inputs a merge holding it may have: half the
	// failed group, or 0 (never merged) below compactFanIn. Without it every maintenance
	// pass (once a second) picked the same group again, read all of it, failed again and
	// logged the error, forever. Entries of segments no longer listed are dropped.
	maxInputs map[string]int
	// attempts counts the merges Compact started (compactOne calls), for tests.
	attempts int64
}

// compactState returns t's compaction state (t.compaction, under t.compactMu).
func (t *Table) compactState() *compactState {
	if t.compaction.maxInputs == nil {
		t.compaction.maxInputs = map[string]int{}
	}
	return &t.compaction
}

// forgetGone drops the caps of segments not in live (merged, deleted by retention or
// replaced since), so the state stays as small as the failed groups still listed.
func (st *compactState) forgetGone(live []*segment) {
	if len(st.maxInputs) == 0 {
		return
	}
	listed := make(map[string]bool, len(live))
	for _, s := range live {
		listed[s.meta.File] = true
	}
	maps.DeleteFunc(st.maxInputs, func(file string, _ int) bool { return !listed[file] })
}

// tooLarge records that merging job failed with err (ErrSegmentTooLarge): the next
// merges holding any of its segments take at most half as many inputs, none if that is
// below compactFanIn. It returns err wrapped with the group and what happens next.
func (st *compactState) tooLarge(job []*segment, err error) error {
	n := len(job) / 2
	if n < compactFanIn {
		n = 0
	}
	var rows int64
	for _, s := range job {
		rows += s.meta.Rows
		if m, ok := st.maxInputs[s.meta.File]; !ok || n < m {
			st.maxInputs[s.meta.File] = n
		}
	}
	next := fmt.Sprintf("next time at most %d of them are merged together", n)
	if n == 0 {
		next = "they are not merged again until the store is reopened"
	}
	return fmt.Errorf("merge of %d segments (window %s, shard %d, %d rows) left undone, %s: %w",
		len(job), time.UnixMicro(job[0].meta.Window).UTC().Format(time.RFC3339), job[0].meta.Shard, rows, next, err)
}

// sizeClass is the compaction tier of a segment of rows rows: 0 below 4,096 rows, then
// one class per factor of compactFanIn.
func sizeClass(rows int64) int {
	c := 0
	for r := rows / 4096; r > 0; r /= compactFanIn {
		c++
	}
	return c
}

// compactOne merges segs (one window and shard) into one segment.
func (t *Table) compactOne(ctx context.Context, epoch uint64, schema *arrow.Schema, segs []*segment) error {
	drop := map[string]bool{}
	for _, s := range segs {
		drop[s.meta.File] = true
	}
	// Segments of full row groups are stitched (their pages copied as they are); the
	// rest are read, re-sorted and written again.
	id := t.reserveSegmentIDs(1)
	scratch := scratchPool.Get().(*segScratch)
	meta, stitched, err := stitchSegments(ctx, t.fs, t.dir, segName(id), schema, segs, scratch)
	scratchPool.Put(scratch)
	var bad *stitchInputError
	if errors.As(err, &bad) && errors.Is(err, errSegmentCorrupt) {
		t.suspectSegment(bad.seg) // checked in full and quarantined if damaged
	}
	if err != nil {
		return err
	}
	if stitched {
		if err := syncDir(t.fs, t.dir); err != nil {
			removeSegmentFiles(t.dir, []SegmentMeta{meta})
			return err
		}
		applied, err := t.replaceSegments(ctx, epoch, drop, []SegmentMeta{meta}, id+1)
		if err == nil && applied {
			t.mu.Lock()
			t.stats.Compactions++
			t.stats.Stitched++
			t.mu.Unlock()
		}
		return err
	}
	var recs []arrow.RecordBatch
	defer func() { releaseAll(recs) }()
	nulls := nullArrays{}
	defer nulls.release()
	for _, s := range segs {
		// String columns stored with dictionaries are read as such and written back
		// through their dictionaries (segment_dict.go): each distinct value is hashed
		// once per batch, not once per row, and no row's value is copied.
		r, err := openSegmentReader(ctx, s, nil, nil, dictStored)
		if err != nil {
			return err
		}
		for {
			b, err := r.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				r.close()
				return fmt.Errorf("read segment %s: %w", s.path, err)
			}
			p, err := project(t.name, schema, b, nulls, true) // dictionaries kept
			b.Release()
			if err != nil {
				r.close()
				return err
			}
			recs = append(recs, p)
		}
		r.close()
	}
	opts := t.opts
	opts.Shards = 1 // all rows are of one shard already; keep the segment's shard number
	pace := t.compactPacer()
	var nextID uint64
	reserve := func(n int) uint64 {
		nextID = t.reserveSegmentIDs(n)
		return nextID
	}
	metas, err := buildSegments(ctx, t.fs, t.dir, schema, recs, opts, reserve, false, pace)
	t.notePacer(pace)
	if err != nil {
		return err
	}
	for i := range metas {
		metas[i].Shard = segs[0].meta.Shard
	}
	applied, err := t.replaceSegments(ctx, epoch, drop, metas, nextID+uint64(len(metas)))
	if err == nil && applied {
		t.mu.Lock()
		t.stats.Compactions++
		t.mu.Unlock()
	}
	return err
}

// EnforceRetention deletes whole windows of segments: those that ended more than
// RetentionAge before now, then the oldest while the segments take more than
// RetentionBytes. The head (rows not sealed yet) is never deleted. It returns the number
// of windows deleted.
func (t *Table) EnforceRetention(ctx context.Context, now time.Time) (int, error) {
	if t.opts.RetentionAge <= 0 && t.opts.RetentionBytes <= 0 {
		return 0, nil
	}
	t.maint.Lock()
	defer t.maint.Unlock()
	t.mu.Lock()
	epoch := t.epoch
	winBytes := map[int64]int64{}
	var total int64
	for _, s := range t.segments {
		winBytes[s.meta.Window] += s.meta.Bytes
		total += s.meta.Bytes
	}
	t.mu.Unlock()
	wins := make([]int64, 0, len(winBytes))
	for w := range winBytes {
		wins = append(wins, w)
	}
	slices.Sort(wins)
	winLen := t.opts.Window.Microseconds()
	del := map[int64]bool{}
	if t.opts.RetentionAge > 0 {
		cut := now.Add(-t.opts.RetentionAge).UnixMicro()
		for _, w := range wins {
			if w+winLen <= cut {
				del[w] = true
				total -= winBytes[w]
			}
		}
	}
	if t.opts.RetentionBytes > 0 {
		for _, w := range wins {
			if total <= t.opts.RetentionBytes {
				break
			}
			if !del[w] {
				del[w] = true
				total -= winBytes[w]
			}
		}
	}
	if len(del) == 0 {
		return 0, nil
	}
	drop := map[string]bool{}
	t.mu.Lock()
	for _, s := range t.segments {
		if del[s.meta.Window] {
			drop[s.meta.File] = true
		}
	}
	t.mu.Unlock()
	applied, err := t.replaceSegments(ctx, epoch, drop, nil, 0)
	if err != nil {
		return 0, fmt.Errorf("retention on table %q: %w", t.name, err)
	}
	if !applied {
		return 0, nil
	}
	t.mu.Lock()
	t.stats.WindowsDeleted += int64(len(del))
	t.mu.Unlock()
	return len(del), nil
}

// maintain runs one round of maintenance on t: seal if the head is full or old, compact,
// enforce retention.
func (t *Table) maintain(ctx context.Context, now time.Time) {
	t.mu.Lock()
	due := t.rows >= t.opts.SealRows || (len(t.heads) > 0 && now.Sub(t.heads[0].at) >= t.opts.SealAge)
	closed := t.closed || t.err != nil
	t.mu.Unlock()
	if closed {
		return
	}
	// Each seal takes about SealRows rows (whole WAL generations); seal again while the
	// head still holds that many, so that a head that grew under load drains step by
	// step. Two seals overlap (sealJob): the next one starts writing its segments once
	// every segment of the one before has a worker, and then the one before finishes.
	if due {
		t.sealRound(ctx)
	}
	// Compaction only makes reads cheaper; sealing bounds memory and the WAL. So it
	// runs while sealing is caught up, and stops between merges once a seal is due
	// again: under a burst the merges wait (the segments stay readable and nothing is
	// lost) instead of holding the maintenance lock while the head grows to the
	// backpressure limit; past compactDebtSegments they run anyway.
	t.compactInBackground(ctx)
	if _, err := t.EnforceRetention(ctx, now); err != nil && !quietMaintErr(err) {
		slog.Error("storage: retention failed", "table", t.name, "err", err)
	}
}

// sealRound runs up to maxSealsPerRound bounded seals, overlapped two at a time, while
// the head holds SealRows rows besides those of the seal in progress. It holds t.maint
// for the whole round (a Seal, Verify or retention waits for up to maxSealsPerRound
// seals, not one): the overlapped seals must not interleave with another manifest
// change decided from an older view.
func (t *Table) sealRound(ctx context.Context) {
	t.maint.Lock()
	defer t.maint.Unlock()
	var prev *sealJob
	for i := 0; i < maxSealsPerRound; i++ {
		var j *sealJob
		var err error
		if prev != nil {
			<-prev.build.dispatched
		}
		if prev == nil || !prev.build.failed() { // no next seal behind a failed one
			j, err = t.startSeal(ctx, true, prev)
		}
		if prev != nil {
			if perr := prev.finish(ctx); perr != nil {
				if j != nil {
					j.abort() // its manifest change would drop prev's WAL generations
				}
				if err != nil && !quietMaintErr(err) {
					slog.Error("storage: sealing failed; the rows stay in the WAL and the head", "table", t.name, "err", err)
				}
				j, err = nil, perr
			}
		}
		prev = j
		if err != nil {
			if !quietMaintErr(err) {
				slog.Error("storage: sealing failed; the rows stay in the WAL and the head", "table", t.name, "err", err)
			}
			return
		}
		if j == nil {
			return
		}
		t.mu.Lock()
		due := t.rows-j.rows >= t.opts.SealRows && !t.closed && t.err == nil
		t.mu.Unlock()
		if !due {
			break
		}
	}
	if err := prev.finish(ctx); err != nil && !quietMaintErr(err) {
		slog.Error("storage: sealing failed; the rows stay in the WAL and the head", "table", t.name, "err", err)
	}
}

// compactInBackground starts a compaction pass on its own goroutine unless one is
// running: a merge takes seconds (reading, re-sorting and writing up to CompactRows
// rows), and run in line it held up every seal due meanwhile; under a burst the head
// then reached the backpressure limit and writers waited for seconds
// (BenchmarkAckLatency: p99 of 15 s at 250k events/s behind a 13 s merge).
func (t *Table) compactInBackground(ctx context.Context) {
	if !t.compacting.CompareAndSwap(false, true) {
		return
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		t.compacting.Store(false)
		return
	}
	t.background.Add(1) // under mu: close sets closed before it waits
	ctx, cancel := context.WithCancel(ctx)
	t.cancelBackground = cancel // close cancels a merge in progress (a Drop need not wait it out)
	t.mu.Unlock()
	go func() {
		defer t.background.Done()
		defer t.compacting.Store(false)
		defer cancel()
		if err := t.compact(ctx, t.compactionMayWait); err != nil && !quietMaintErr(err) {
			slog.Error("storage: compaction failed", "table", t.name, "err", err)
		}
	}()
}

// waitCompaction waits for a background compaction pass to end (tests).
func (t *Table) waitCompaction() {
	t.compactMu.Lock()
	t.compactMu.Unlock()
	for t.compacting.Load() {
		time.Sleep(time.Millisecond)
	}
}

// compactionMayWait reports whether background compaction should leave the maintenance
// lock to sealing: the head holds SealRows rows (a seal has work) and fewer than
// compactDebtSegments segments wait in due merges (pending; segments already merged as
// far as they go do not count). Past that debt compaction runs even under pressure, and
// backpressure slows ingest to what sealing and compaction sustain together, so that a
// node never ingesting below its sealing rate does not pile up segments forever.
func (t *Table) compactionMayWait(pending int) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.rows >= t.opts.SealRows && pending < compactDebtSegments
}

// maintenanceLoop is the store's background maintenance goroutine.
func (s *Store) maintenanceLoop(interval time.Duration) {
	defer close(s.maintDone)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-s.maintStop:
			return
		case <-tick.C:
		case <-s.maintKick:
		}
		for _, t := range s.Tables() {
			select {
			case <-s.maintStop:
				return
			default:
			}
			t.maintain(s.maintCtx, s.now())
		}
	}
}

// quietMaintErr reports errors that only mean the store is closing.
func quietMaintErr(err error) bool {
	return errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled)
}

// Verify reads every live segment in full and checks its CRC32C (and footer and row
// counts). A segment that fails is dropped from the manifest, moved to quarantine/ and
// logged with its path, like at Open; scans already reading it keep their open file, a
// scan that has not opened it yet fails naming its path. It returns the quarantined
// segments as "path: reason".
func (t *Table) Verify(ctx context.Context) ([]string, error) {
	t.maint.Lock()
	defer t.maint.Unlock()
	t.mu.Lock()
	epoch := t.epoch
	segs := slices.Clone(t.segments)
	for _, s := range segs {
		s.acquire()
	}
	t.mu.Unlock()
	defer func() {
		for _, s := range segs {
			s.release()
		}
	}()
	return t.quarantineCorrupt(ctx, epoch, segs)
}

// quarantineCorrupt checks segs in full (footer, row counts, CRC32C) and quarantines
// those that fail, as Verify documents; t.maint must be held and segs acquired.
func (t *Table) quarantineCorrupt(ctx context.Context, epoch uint64, segs []*segment) ([]string, error) {
	drop := map[string]bool{}
	var bad []string
	var checkErr error // the first segment that could not be checked
	for _, s := range segs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := verifySegment(t.fs, t.dir, s.meta, true); err != nil {
			if !errors.Is(err, errSegmentCorrupt) {
				// Not evidence of damage (EMFILE, EACCES, EIO...): keep it listed.
				slog.Warn("storage: could not check a segment; kept", "table", t.name, "path", s.path, "err", err)
				checkErr = cmp.Or(checkErr, fmt.Errorf("verify segment %s: %w", s.path, err))
				continue
			}
			drop[s.meta.File] = true
			bad = append(bad, fmt.Sprintf("%s: %v", s.path, err))
		}
	}
	if len(drop) == 0 {
		return nil, checkErr
	}
	qdir := filepath.Join(t.dir, quarantineDirName)
	if err := mkdirSync(t.fs, qdir); err != nil {
		return nil, err
	}
	applied, err := t.replaceSegments(ctx, epoch, drop, nil, 0)
	if err != nil || !applied {
		return nil, err
	}
	for _, s := range segs {
		if drop[s.meta.File] {
			// Not deleted when the last scan finishes: moved aside now.
			s.dead.Store(false)
			if err := t.fs.Rename(s.path, filepath.Join(qdir, s.meta.File)); err != nil {
				slog.Error("storage: moving a corrupt segment to quarantine", "path", s.path, "err", err)
			}
			slog.Error("storage: corrupt segment quarantined; its rows are not visible", "table", t.name,
				"path", s.path, "moved_to", qdir, "rows", s.meta.Rows)
		}
	}
	if err := syncDir(t.fs, t.dir); err != nil {
		return bad, err
	}
	return bad, checkErr
}

// suspectSegment is called when a scan failed to open or read seg: it checks the segment
// in the background (once per segment) and quarantines it if it is corrupt, so that the
// next scans read the rest of the table and the failure is logged with the path, instead
// of every scan failing on it until an operator runs a scrub or restarts. A segment that
// checks fine (the failure was something else, such as a file descriptor limit) stays.
func (t *Table) suspectSegment(seg *segment) {
	if seg.dead.Load() || !seg.suspect.CompareAndSwap(false, true) {
		return
	}
	t.mu.Lock()
	closed := t.closed
	if !closed {
		t.checks.Add(1)
	}
	t.mu.Unlock()
	if closed {
		return
	}
	seg.acquire()
	go func() {
		defer t.checks.Done()
		defer seg.release()
		t.maint.Lock()
		defer t.maint.Unlock()
		t.mu.Lock()
		epoch, listed := t.epoch, slices.Contains(t.segments, seg)
		t.mu.Unlock()
		if !listed {
			return // compacted, deleted or replaced meanwhile
		}
		bad, err := t.quarantineCorrupt(context.Background(), epoch, []*segment{seg})
		if err != nil && !quietMaintErr(err) {
			slog.Error("storage: checking a segment a scan failed on", "table", t.name, "path", seg.path, "err", err)
		}
		if len(bad) == 0 {
			seg.suspect.Store(false) // intact: a later failure checks again
		}
	}()
}
