package eventfile

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// csv reads a CSV (or, by extension or a tab in the header, TSV) file with a header row.
// Cells are Text: typed by their content only when the text round-trips (see Builder);
// empty cells are null.
func (r *reader) csv(src Source, name string, br *bufio.Reader) error {
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	head, _ := br.Peek(sniffBytes)
	first, _, _ := strings.Cut(string(head), "\n")
	if strings.EqualFold(path.Ext(name), ".tsv") || (strings.Contains(first, "\t") && !strings.Contains(first, ",")) {
		cr.Comma = '\t'
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: line 1: invalid CSV header: %w", src, csvErr(err))
	}
	names := make([]string, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if h == "" {
			h = fmt.Sprintf("column%d", i+1)
		}
		names[i] = h
	}
	for n := 0; ; n++ {
		if n%1024 == 0 {
			if err := r.ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", src, csvErr(err))
		}
		line, _ := cr.FieldPos(0)
		if len(rec) > len(names) {
			return fmt.Errorf("read %s: line %d: %d fields, but the header has %d", src, line, len(rec), len(names))
		}
		ev := make(map[string]any, len(rec))
		size := 0
		for i, cell := range rec {
			size += len(cell) + 1
			if cell == "" {
				continue
			}
			ev[names[i]] = Text(cell)
		}
		r.b.Add(ev, size)
		if r.b.Len() >= r.opts.BatchRows || r.b.Bytes() >= r.opts.BatchBytes {
			if err := r.emit(src); err != nil {
				return err
			}
		}
	}
	return r.emit(src)
}

// csvErr renders a csv.ParseError as "line N, column M: reason".
func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d, column %d: %w", pe.Line, pe.Column, pe.Err)
	}
	return err
}
