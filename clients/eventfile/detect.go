package eventfile

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// sniffBytes is how much of an input is peeked to detect its format: enough for the tar
// header magic at offset 257 and for a first CSV line.
const sniffBytes = 4096

// kind is what the first bytes of an input say it is.
type kind int

const (
	kindUnknown kind = iota
	kindEmpty
	kindZip
	kindGzip
	kindTar
	kindParquet
	kindArrowFile
	kindArrowStream
	kindPcap
	kindUTF16LE
	kindUTF16BE
	kindJSON
	kindCSV
)

// sniff detects the kind of an input from its name and first bytes.
func sniff(name string, head []byte) kind {
	switch {
	case len(head) == 0:
		return kindEmpty
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return kindZip
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return kindGzip
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return kindTar
	case bytes.HasPrefix(head, []byte("PAR1")):
		return kindParquet
	case bytes.HasPrefix(head, []byte("ARROW1")):
		return kindArrowFile
	case bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}):
		return kindArrowStream
	case bytes.HasPrefix(head, []byte{0xd4, 0xc3, 0xb2, 0xa1}), bytes.HasPrefix(head, []byte{0xa1, 0xb2, 0xc3, 0xd4}),
		bytes.HasPrefix(head, []byte{0x4d, 0x3c, 0xb2, 0xa1}), bytes.HasPrefix(head, []byte{0xa1, 0xb2, 0x3c, 0x4d}),
		bytes.HasPrefix(head, []byte{0x0a, 0x0d, 0x0d, 0x0a}):
		return kindPcap
	case bytes.HasPrefix(head, []byte{0xff, 0xfe}):
		return kindUTF16LE
	case bytes.HasPrefix(head, []byte{0xfe, 0xff}):
		return kindUTF16BE
	case len(head) >= 4 && head[0] != 0 && head[1] == 0 && head[2] != 0 && head[3] == 0:
		return kindUTF16LE // no BOM, but ASCII text in UTF-16LE
	}
	text := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(text, " \t\r\n")
	if len(trimmed) == 0 {
		return kindEmpty
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return kindUnknown
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		return kindJSON
	}
	ext := strings.ToLower(path.Ext(name))
	line, _, _ := bytes.Cut(trimmed, []byte("\n"))
	// CSV by extension; content alone decides only for inputs without one (standard
	// input), since YAML, logs and READMEs have commas too.
	if ext == ".csv" || ext == ".tsv" || (ext == "" && bytes.ContainsAny(line, ",\t")) {
		return kindCSV
	}
	return kindUnknown
}

// stream reads one input: it unwraps archives and compression, and decodes event formats.
// ra is random access to the same input when it is a plain file (nil otherwise).
func (r *reader) stream(src Source, name string, br *bufio.Reader, ra *sizedReaderAt) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	head, err := br.Peek(sniffBytes)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return fmt.Errorf("read %s: %w", src, err)
	}
	k := sniff(name, head)
	if r.opts.Format != "" {
		switch k {
		case kindZip, kindGzip, kindTar, kindUTF16LE, kindUTF16BE, kindEmpty:
		default:
			k = forcedKind(r.opts.Format)
		}
	}
	switch k {
	case kindEmpty:
		return nil
	case kindZip:
		ra, err := randomAccess(br, ra)
		if err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		return r.zip(src, ra)
	case kindGzip:
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read %s: gzip: %w", src, err)
		}
		defer zr.Close()
		inner := strings.TrimSuffix(strings.TrimSuffix(name, ".gz"), ".tgz")
		return r.stream(src, inner, bufio.NewReaderSize(zr, 1<<16), nil)
	case kindTar:
		return r.tar(src, br)
	case kindParquet:
		ra, err := randomAccess(br, ra)
		if err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		return r.parquet(src, ra)
	case kindArrowFile:
		ra, err := randomAccess(br, ra)
		if err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		return r.arrowFile(src, ra)
	case kindArrowStream:
		return r.arrowStream(src, br)
	case kindUTF16LE, kindUTF16BE:
		order := unicode.LittleEndian
		if k == kindUTF16BE {
			order = unicode.BigEndian
		}
		dec := unicode.UTF16(order, unicode.ExpectBOM).NewDecoder()
		if !bytes.HasPrefix(head, []byte{0xff, 0xfe}) && !bytes.HasPrefix(head, []byte{0xfe, 0xff}) {
			dec = unicode.UTF16(order, unicode.IgnoreBOM).NewDecoder()
		}
		return r.stream(src, name, bufio.NewReaderSize(transform.NewReader(br, dec), 1<<16), nil)
	case kindPcap:
		r.opts.Warn(src, "skipped: a packet capture, not an event file")
		return nil
	case kindJSON:
		return r.json(src, br, r.opts.Format == FormatEvtxJSON)
	case kindCSV:
		return r.csv(src, name, br)
	default:
		r.opts.Warn(src, "skipped: not a recognised event format (JSON lines, evtx-dump JSON, CSV, Parquet, Arrow IPC, zip, tar, gzip)")
		return nil
	}
}

func forcedKind(format string) kind {
	switch format {
	case FormatJSONL, FormatEvtxJSON:
		return kindJSON
	case FormatCSV:
		return kindCSV
	case FormatParquet:
		return kindParquet
	case FormatArrow:
		return kindArrowStream
	}
	return kindUnknown
}

// randomAccess returns ra, or the rest of br in memory when the input is not a plain file
// (a zip member, standard input, a decompressed stream).
func randomAccess(br *bufio.Reader, ra *sizedReaderAt) (*sizedReaderAt, error) {
	if ra != nil {
		return ra, nil
	}
	data, err := io.ReadAll(br)
	if err != nil {
		return nil, err
	}
	return &sizedReaderAt{bytes.NewReader(data), int64(len(data))}, nil
}

func (r *reader) zip(src Source, ra *sizedReaderAt) error {
	zr, err := zip.NewReader(ra, ra.size)
	if err != nil {
		return fmt.Errorf("read %s: zip: %w", src, err)
	}
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		msrc := Source{Path: src.Path, Member: joinMember(src.Member, f.Name)}
		if strings.HasPrefix(f.Name, "__MACOSX/") || strings.HasPrefix(path.Base(f.Name), "._") {
			r.opts.Warn(msrc, "skipped: macOS metadata, not an event file")
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("read %s: %w", msrc, err)
		}
		err = r.stream(msrc, path.Base(f.Name), bufio.NewReaderSize(rc, 1<<16), nil)
		rc.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

func (r *reader) tar(src Source, br *bufio.Reader) error {
	tr := tar.NewReader(br)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			r.opts.Warn(src, "truncated archive: kept the members read before the cut")
			return nil
		}
		if err != nil {
			return fmt.Errorf("read %s: tar: %w", src, err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		msrc := Source{Path: src.Path, Member: joinMember(src.Member, h.Name)}
		if strings.Contains(h.Name, "__MACOSX/") || strings.HasPrefix(path.Base(h.Name), "._") {
			r.opts.Warn(msrc, "skipped: macOS metadata, not an event file")
			continue
		}
		if err := r.stream(msrc, path.Base(h.Name), bufio.NewReaderSize(tr, 1<<16), nil); err != nil {
			return err
		}
	}
}

func joinMember(outer, inner string) string {
	if outer == "" {
		return inner
	}
	return outer + "!" + inner
}
