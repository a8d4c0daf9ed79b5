package gitlab

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"

	"github.com/ferry-import/ferry/importer"
	"github.com/ferry-import/ferry/uploads"
)

// uploadIndex is an uploads archive's index: <secret>/<filename> → the
// file stored from it, or why it was refused. An archive has an entry per
// upload of the project (86,000 in the large benchmark, where a map of
// them was most of the import's heap), so the index lives on local disk,
// in two temporary files unlinked at once: the records, appended, and an
// open-addressing table of 16-byte slots (the key's hash, never 0, and
// its record's offset). Memory holds neither; a lookup is a few reads of
// what the page cache keeps. Not safe for concurrent use (the archive's
// lock guards it). Written by hand: an embedded key-value store (bbolt,
// a SQLite file) would do, at the price of a dependency or a database per
// archive for an append-only table that is written once and read by key.
// A source that announces fewer files than it sends grows the table.
type uploadIndex struct {
	seed  maphash.Seed
	slots *os.File
	n     uint64 // slots: a power of two
	count uint64 // keys indexed
	data  *os.File
	w     *bufio.Writer // appends to data
	end   int64         // data's length, written or buffered
}

const (
	slotSize = 16
	// minIndexSlots is the smallest table; a table is grown (doubled)
	// past three quarters full, whatever the source announced.
	minIndexSlots = 1024
)

// Record kinds.
const (
	indexStored   = 0
	indexTooLarge = 1 // a permanent error wrapping uploads.ErrTooLarge
	indexRefused  = 2 // another permanent error
)

// newUploadIndex makes an empty index sized for about expect keys.
func newUploadIndex(expect int64) (*uploadIndex, error) {
	n := uint64(minIndexSlots)
	for n < 2*uint64(min(max(expect, 0), maxArchiveEntries)) {
		n *= 2
	}
	slots, err := indexFile("slots", int64(n*slotSize))
	if err != nil {
		return nil, err
	}
	data, err := indexFile("records", 0)
	if err != nil {
		slots.Close()
		return nil, err
	}
	return &uploadIndex{seed: maphash.MakeSeed(), slots: slots, n: n, data: data, w: bufio.NewWriterSize(data, 32<<10)}, nil
}

// indexFile is an unlinked temporary file of size zero bytes.
func indexFile(what string, size int64) (*os.File, error) {
	f, err := os.CreateTemp("", "ferry-gitlab-uploads-"+what+"-*")
	if err != nil {
		return nil, fmt.Errorf("uploads index: %w", err)
	}
	_ = os.Remove(f.Name()) // gone when closed
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("uploads index: %w", err)
	}
	return f, nil
}

// close releases the index's files.
func (x *uploadIndex) close() {
	_ = x.slots.Close()
	_ = x.data.Close()
}

func (x *uploadIndex) hash(key string) uint64 {
	return max(maphash.String(x.seed, key), 1) // 0 is an empty slot
}

// put indexes key; a key put again takes the new value, as a map would.
func (x *uploadIndex) put(key string, a archived) error {
	if (x.count+1)*4 > x.n*3 {
		if err := x.grow(); err != nil {
			return err
		}
	}
	off := x.end
	if err := x.append(key, a); err != nil {
		return err
	}
	h := x.hash(key)
	for i := h & (x.n - 1); ; i = (i + 1) & (x.n - 1) {
		sh, soff, err := x.slot(i)
		if err != nil {
			return err
		}
		if sh == h {
			// The same hash is all but always the same key (a file the
			// archive holds twice): the later wins.
			k, _, err := x.record(soff)
			if err != nil {
				return err
			}
			if k == key {
				return x.setSlot(i, h, off)
			}
			continue
		}
		if sh == 0 {
			x.count++
			return x.setSlot(i, h, off)
		}
	}
}

// get looks key up.
func (x *uploadIndex) get(key string) (archived, bool, error) {
	if err := x.w.Flush(); err != nil {
		return archived{}, false, fmt.Errorf("uploads index: %w", err)
	}
	h := x.hash(key)
	for i := h & (x.n - 1); ; i = (i + 1) & (x.n - 1) {
		sh, off, err := x.slot(i)
		if err != nil || sh == 0 {
			return archived{}, false, err
		}
		if sh != h {
			continue
		}
		k, a, err := x.record(off)
		if err != nil {
			return archived{}, false, err
		}
		if k == key {
			return a, true, nil
		}
	}
}

func (x *uploadIndex) slot(i uint64) (h uint64, off int64, err error) {
	var b [slotSize]byte
	if _, err := x.slots.ReadAt(b[:], int64(i*slotSize)); err != nil {
		return 0, 0, fmt.Errorf("uploads index: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:8]), int64(binary.LittleEndian.Uint64(b[8:])), nil
}

func (x *uploadIndex) setSlot(i, h uint64, off int64) error {
	var b [slotSize]byte
	binary.LittleEndian.PutUint64(b[:8], h)
	binary.LittleEndian.PutUint64(b[8:], uint64(off))
	if _, err := x.slots.WriteAt(b[:], int64(i*slotSize)); err != nil {
		return fmt.Errorf("uploads index: %w", err)
	}
	return nil
}

// grow doubles the table, moving every slot by its hash (the records stay
// where they are).
func (x *uploadIndex) grow() error {
	slots, err := indexFile("slots", int64(2*x.n*slotSize))
	if err != nil {
		return err
	}
	old, n := x.slots, x.n
	x.slots, x.n = slots, 2*n
	rd := bufio.NewReaderSize(io.NewSectionReader(old, 0, int64(n*slotSize)), 64<<10)
	var b [slotSize]byte
	for range n {
		if _, err := io.ReadFull(rd, b[:]); err != nil {
			x.slots, x.n = old, n
			slots.Close()
			return fmt.Errorf("uploads index: %w", err)
		}
		h, off := binary.LittleEndian.Uint64(b[:8]), int64(binary.LittleEndian.Uint64(b[8:]))
		if h == 0 {
			continue
		}
		for i := h & (x.n - 1); ; i = (i + 1) & (x.n - 1) {
			sh, _, err := x.slot(i)
			if err != nil {
				x.slots, x.n = old, n
				slots.Close()
				return err
			}
			if sh == 0 {
				if err := x.setSlot(i, h, off); err != nil {
					x.slots, x.n = old, n
					slots.Close()
					return err
				}
				break
			}
		}
	}
	old.Close()
	return nil
}

// append writes a record: the key, the kind, then the stored file's
// digest, size and type, or the refusal's message.
func (x *uploadIndex) append(key string, a archived) error {
	var b []byte
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	if a.err == nil {
		b = append(b, indexStored)
		for _, s := range []string{a.f.SHA256, a.f.ContentType} {
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		}
		b = binary.AppendVarint(b, a.f.Size)
	} else {
		kind := byte(indexRefused)
		if errors.Is(a.err, uploads.ErrTooLarge) {
			kind = indexTooLarge
		}
		msg := a.err.Error()
		var perm *importer.Permanent
		if errors.As(a.err, &perm) {
			msg = perm.Err.Error()
		}
		b = append(b, kind)
		b = binary.AppendUvarint(b, uint64(len(msg)))
		b = append(b, msg...)
	}
	if _, err := x.w.Write(b); err != nil {
		return fmt.Errorf("uploads index: %w", err)
	}
	x.end += int64(len(b))
	return nil
}

// record reads the record at off.
func (x *uploadIndex) record(off int64) (string, archived, error) {
	if err := x.w.Flush(); err != nil {
		return "", archived{}, fmt.Errorf("uploads index: %w", err)
	}
	rd := bufio.NewReaderSize(io.NewSectionReader(x.data, off, x.end-off), 512)
	str := func() (string, error) {
		n, err := binary.ReadUvarint(rd)
		if err != nil {
			return "", err
		}
		if n > uint64(x.end-off) {
			return "", errors.New("damaged record")
		}
		b := make([]byte, n)
		_, err = io.ReadFull(rd, b)
		return string(b), err
	}
	key, err := str()
	var kind byte
	if err == nil {
		kind, err = rd.ReadByte()
	}
	var a archived
	switch {
	case err != nil:
	case kind == indexStored:
		if a.f.SHA256, err = str(); err == nil {
			if a.f.ContentType, err = str(); err == nil {
				a.f.Size, err = binary.ReadVarint(rd)
			}
		}
	default:
		var msg string
		if msg, err = str(); err == nil {
			a.err = &importer.Permanent{Err: &indexedError{msg: msg, tooLarge: kind == indexTooLarge}}
		}
	}
	if err != nil {
		return "", archived{}, fmt.Errorf("uploads index: record at %d: %w", off, err)
	}
	return key, a, nil
}

// indexedError is a refusal read back from the index: its message, and
// uploads.ErrTooLarge beneath when it was one.
type indexedError struct {
	msg      string
	tooLarge bool
}

func (e *indexedError) Error() string { return e.msg }

func (e *indexedError) Unwrap() error {
	if e.tooLarge {
		return uploads.ErrTooLarge
	}
	return nil
}
