package gitlabndjson

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Writer streams records as gzipped NDJSON, one JSON object per line. It
// holds one record at a time, never a whole relation.
type Writer struct {
	gz    *gzip.Writer
	buf   *bufio.Writer
	enc   *json.Encoder
	count int
}

// NewWriter writes gzipped NDJSON to w; Close finishes the gzip stream
// (and does not close w).
func NewWriter(w io.Writer) *Writer {
	gz := gzip.NewWriter(w)
	buf := bufio.NewWriterSize(gz, 64<<10)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	return &Writer{gz: gz, buf: buf, enc: enc}
}

// Write appends one record as one line.
func (w *Writer) Write(record any) error {
	// json.Encoder ends every value with a newline and escapes newlines
	// inside strings, so a record is always exactly one line.
	if err := w.enc.Encode(record); err != nil {
		return fmt.Errorf("ndjson record %d: %w", w.count+1, err)
	}
	w.count++
	return nil
}

// Count is the number of records written.
func (w *Writer) Count() int { return w.count }

// Close flushes and finishes the gzip stream.
func (w *Writer) Close() error {
	if err := w.buf.Flush(); err != nil {
		return fmt.Errorf("ndjson flush: %w", err)
	}
	if err := w.gz.Close(); err != nil {
		return fmt.Errorf("ndjson gzip: %w", err)
	}
	return nil
}

// MaxLine bounds one NDJSON line (one top-level record with everything
// nested in it), as a defence against unbounded input.
const MaxLine = 256 << 20

// ErrLineTooLong is returned by Each for a line longer than MaxLine.
var ErrLineTooLong = errors.New("ndjson line too long")

// Reader pulls records one line at a time from NDJSON, gzipped or not
// (it looks at the first bytes): what a page-by-page importer needs,
// holding one line at a time.
type Reader struct {
	br    *bufio.Reader
	gz    *gzip.Reader
	index int // 0-based index of the next line
	done  bool
}

// NewReader reads NDJSON from r; Close releases the gzip stream (not r).
func NewReader(r io.Reader) (*Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	rd := &Reader{br: br}
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		gz, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("ndjson gzip: %w", err)
		}
		rd.gz, rd.br = gz, bufio.NewReaderSize(gz, 64<<10)
	}
	return rd, nil
}

// Next returns the next non-blank line's raw JSON and its 0-based line
// index, as GitLab's NdjsonReader yields [hash, index], or io.EOF after
// the last. A line that is not one JSON object is an error naming it.
func (rd *Reader) Next() (json.RawMessage, int, error) {
	for !rd.done {
		index := rd.index
		line, err := readLine(rd.br)
		rd.index++
		if err == io.EOF {
			rd.done = true
		} else if err != nil {
			return nil, index, fmt.Errorf("ndjson line %d: %w", index+1, err)
		}
		if line = bytes.TrimSpace(line); len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return nil, index, fmt.Errorf("ndjson line %d: not a JSON object", index+1)
		}
		return json.RawMessage(line), index, nil
	}
	return nil, rd.index, io.EOF
}

// Close releases the gzip stream.
func (rd *Reader) Close() error {
	if rd.gz != nil {
		return rd.gz.Close()
	}
	return nil
}

// Each reads NDJSON from r, gzipped or not, and calls fn with each
// non-blank line's raw JSON and its 0-based line index. A line that is not
// one JSON object is an error naming its line; fn's error stops the read
// and is returned as is.
func Each(r io.Reader, fn func(raw json.RawMessage, index int) error) error {
	rd, err := NewReader(r)
	if err != nil {
		return err
	}
	defer rd.Close()
	for {
		raw, index, err := rd.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(raw, index); err != nil {
			return err
		}
	}
}

// readLine reads up to and excluding the next newline, at most MaxLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line)+len(chunk) > MaxLine {
			return nil, ErrLineTooLong
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}

// EachRecord decodes every line of r into a T and calls fn with it.
func EachRecord[T any](r io.Reader, fn func(rec T, index int) error) error {
	return Each(r, func(raw json.RawMessage, index int) error {
		var rec T
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("ndjson line %d: %w", index+1, err)
		}
		return fn(rec, index)
	})
}
