package zkstore

import (
	"bytes"
	"compress/flate"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The first byte of every key znode says how the value is stored.
const (
	kindRaw     byte = 0 // the rest is the value
	kindFlate   byte = 1 // the rest is the flate-compressed value
	kindPointer byte = 2 // the rest is a pointer to chunks (see pointer)
)

// pointer locates a value stored as chunks under blobs/.
type pointer struct {
	Blob       string   // unique id: chunks are <blob>-0 … <blob>-(Chunks-1)
	Chunks     int      // number of chunks
	Size       int      // bytes of the stored stream (all chunks)
	Compressed bool     // the stream is flate-compressed
	Sum        [32]byte // sha256 of the stream
}

func (p pointer) marshal() []byte {
	b := []byte{kindPointer}
	flags := byte(0)
	if p.Compressed {
		flags = 1
	}
	b = append(b, flags)
	id, _ := hex.DecodeString(p.Blob)
	b = append(b, byte(len(id)))
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(p.Chunks))
	b = binary.AppendUvarint(b, uint64(p.Size))
	return append(b, p.Sum[:]...)
}

var errBadPointer = errors.New("zkstore: corrupt chunk pointer")

func unmarshalPointer(b []byte) (pointer, error) {
	var p pointer
	if len(b) < 3 || b[0] != kindPointer {
		return p, errBadPointer
	}
	p.Compressed = b[1]&1 != 0
	n := int(b[2])
	b = b[3:]
	if len(b) < n {
		return p, errBadPointer
	}
	p.Blob = hex.EncodeToString(b[:n])
	b = b[n:]
	chunks, k := binary.Uvarint(b)
	if k <= 0 {
		return p, errBadPointer
	}
	b = b[k:]
	size, k := binary.Uvarint(b)
	if k <= 0 || len(b[k:]) != 32 {
		return p, errBadPointer
	}
	copy(p.Sum[:], b[k:])
	p.Chunks, p.Size = int(chunks), int(size)
	return p, nil
}

// newBlobID returns a fresh random chunk-group id.
func newBlobID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// encoded is a value prepared for storage: either inline (Inline set) or
// split into chunks (Pointer and Chunks set).
type encoded struct {
	Inline  []byte
	Pointer []byte
	ptr     pointer
	Chunks  [][]byte
}

// data is what the key's znode holds.
func (e *encoded) data() []byte {
	if e.Pointer != nil {
		return e.Pointer
	}
	return e.Inline
}

// codec encodes values with the configured thresholds.
type codec struct {
	compressAbove int // compress values at least this long
	chunkSize     int // maximum inline payload and chunk size
}

// stream returns the bytes to store for value: compressed when it is long
// enough and compression pays off.
func (c codec) stream(value []byte) (data []byte, compressed bool) {
	if len(value) < c.compressAbove {
		return value, false
	}
	var buf bytes.Buffer
	buf.Grow(len(value) / 2)
	w, _ := writers.Get().(*flate.Writer)
	if w == nil {
		w, _ = flate.NewWriter(&buf, flate.BestSpeed)
	} else {
		w.Reset(&buf)
	}
	w.Write(value)
	w.Close()
	writers.Put(w)
	if buf.Len() >= len(value) {
		return value, false
	}
	return buf.Bytes(), true
}

// encode prepares value; it is chunked when forceChunks is set or when the
// stream exceeds chunkSize.
func (c codec) encode(value []byte, forceChunks bool) *encoded {
	data, compressed := c.stream(value)
	if !forceChunks && len(data) <= c.chunkSize {
		kind := kindRaw
		if compressed {
			kind = kindFlate
		}
		inline := make([]byte, 0, len(data)+1)
		return &encoded{Inline: append(append(inline, kind), data...)}
	}
	p := pointer{Blob: newBlobID(), Size: len(data), Compressed: compressed, Sum: sha256.Sum256(data)}
	e := &encoded{}
	for off := 0; off < len(data) || off == 0; off += c.chunkSize {
		end := min(off+c.chunkSize, len(data))
		e.Chunks = append(e.Chunks, data[off:end])
		if end == len(data) {
			break
		}
	}
	p.Chunks = len(e.Chunks)
	e.ptr, e.Pointer = p, p.marshal()
	return e
}

// decodeInline returns the value of an inline znode.
func decodeInline(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, errors.New("zkstore: empty znode (not written by zkstore)")
	}
	switch b[0] {
	case kindRaw:
		return bytes.Clone(b[1:]), nil
	case kindFlate:
		return inflate(b[1:])
	}
	return nil, fmt.Errorf("zkstore: unknown value kind %d", b[0])
}

// Flate writers and readers carry large windows: reuse them.
var (
	writers sync.Pool // *flate.Writer
	readers sync.Pool // io.ReadCloser implementing flate.Resetter
)

func inflate(b []byte) ([]byte, error) {
	r, _ := readers.Get().(io.ReadCloser)
	if r == nil {
		r = flate.NewReader(bytes.NewReader(b))
	} else {
		r.(flate.Resetter).Reset(bytes.NewReader(b), nil)
	}
	var out bytes.Buffer
	out.Grow(len(b) * 3)
	_, err := out.ReadFrom(r)
	readers.Put(r)
	if err != nil {
		return nil, fmt.Errorf("zkstore: decompress: %w", err)
	}
	return out.Bytes(), nil
}

// assemble checks and decodes the chunks of p.
func assemble(p pointer, chunks [][]byte) ([]byte, error) {
	data := bytes.Join(chunks, nil)
	if len(data) != p.Size || sha256.Sum256(data) != p.Sum {
		return nil, fmt.Errorf("zkstore: blob %s: size or checksum mismatch", p.Blob)
	}
	if p.Compressed {
		return inflate(data)
	}
	return data, nil
}
