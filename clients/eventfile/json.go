package eventfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/sigmaflight/sigmaflight/sigmaql"
)

// json reads JSON lines, concatenated JSON objects (evtx-dump output) or one JSON array of
// objects. Objects shaped like evtx-dump events (a top-level "Event" object holding
// "System" or "EventData") are normalised with sigmaql.NormalizeEvtxEvent, as is every
// object when evtx is forced; other nested objects are flattened to dotted names.
func (r *reader) json(src Source, br *bufio.Reader, evtx bool) error {
	lt := &lineTracker{r: br}
	dec := json.NewDecoder(lt)
	dec.UseNumber()
	inArray := false
	if c, err := firstNonSpace(br); err == nil && c == '[' {
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("read %s: line 1: %w", src, err)
		}
		inArray = true
	}
	prev := dec.InputOffset()
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
		}
		if inArray && !dec.More() {
			break
		}
		var v any
		err := dec.Decode(&v)
		if err == io.EOF {
			break
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			// A truncated recording (a cut-off download, a damaged gzip): keep every
			// complete event before the cut and say so.
			r.opts.Warn(src, fmt.Sprintf("truncated at line %d: kept the %d complete events before it", lt.lineAt(dec.InputOffset()), n))
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: line %d: invalid JSON: %w", src, lt.lineAt(errOffset(err, dec.InputOffset())), err)
		}
		end := dec.InputOffset()
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("read %s: line %d: want a JSON object, got %s", src, lt.lineAt(end), jsonKind(v))
		}
		lt.lineAt(end) // prunes the newline index
		r.b.Add(FlattenEvent(obj, evtx), int(end-prev))
		prev = end
		if r.b.Len() >= r.opts.BatchRows || r.b.Bytes() >= r.opts.BatchBytes {
			if err := r.emit(src); err != nil {
				return err
			}
		}
	}
	return r.emit(src)
}

// FlattenEvent turns one decoded JSON object into a flat event: evtx-dump events (or
// every object when evtx is true) through sigmaql.NormalizeEvtxEvent, nested objects as
// dotted names.
func FlattenEvent(obj map[string]any, evtx bool) map[string]any {
	if evtx || isEvtx(obj) {
		obj = sigmaql.NormalizeEvtxEvent(obj)
	}
	flat := make(map[string]any, len(obj))
	flatten("", obj, flat)
	return flat
}

// DecodeJSONEvent decodes one JSON object (a line of a JSON-lines file) into a flat event.
func DecodeJSONEvent(line []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want a JSON object, got %s", jsonKind(v))
	}
	return FlattenEvent(obj, false), nil
}

func isEvtx(obj map[string]any) bool {
	ev, ok := obj["Event"].(map[string]any)
	if !ok {
		return false
	}
	_, sys := ev["System"]
	_, data := ev["EventData"]
	return sys || data
}

func flatten(prefix string, obj map[string]any, out map[string]any) {
	for k, v := range obj {
		name := k
		if prefix != "" {
			name = prefix + "." + k
		}
		if nested, ok := v.(map[string]any); ok {
			flatten(name, nested, out)
			continue
		}
		out[name] = v
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

func errOffset(err error, fallback int64) int64 {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Offset
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Offset
	}
	return fallback
}

func firstNonSpace(br *bufio.Reader) (byte, error) {
	for n := 1; ; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return 0, err
		}
		switch c := b[n-1]; c {
		case ' ', '\t', '\r', '\n':
		case 0xef, 0xbb, 0xbf: // UTF-8 byte order mark
		default:
			return c, nil
		}
	}
}

// lineTracker counts lines of the bytes a JSON decoder reads so that errors can name the
// line of a byte offset. lineAt must be called with non-decreasing offsets.
type lineTracker struct {
	r    io.Reader
	off  int64
	nl   []int64 // offsets of newlines at or after the last lineAt offset
	base int     // newlines before them
}

func (t *lineTracker) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	for i := 0; i < n; {
		j := bytes.IndexByte(p[i:n], '\n')
		if j < 0 {
			break
		}
		t.nl = append(t.nl, t.off+int64(i+j))
		i += j + 1
	}
	t.off += int64(n)
	return n, err
}

// lineAt returns the 1-based line of byte offset off.
func (t *lineTracker) lineAt(off int64) int {
	i := 0
	for i < len(t.nl) && t.nl[i] < off {
		i++
	}
	t.base += i
	t.nl = t.nl[i:]
	return t.base + 1
}
