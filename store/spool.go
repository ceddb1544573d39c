package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"

	"github.com/ticketgate/ticketgate/fault"
)

// InlineBlobMax is the largest blob, in bytes, that the bbolt backend
// keeps inside ticketgate.db (bucket "blobs") instead of as a file, and
// the most a Spool holds in memory before it moves to a temporary file.
//
// Why 32 KiB: a typical new request (a text mail with headers, 1–8 KB)
// fits many times over, so the common case costs no file, no rename and
// no fsync of its own: it rides the commit's one fsync. A value this size
// is still a handful of bbolt pages (bbolt stores larger values in
// overflow pages written once, never split), so a batch of 256 of them
// adds at most 8 MiB to one commit, and the spool's memory per message in
// flight stays a small constant. Attachments (photos, PDFs) are mostly
// above it and stay files, so the database file grows by text, not by
// binaries.
const InlineBlobMax = 32 << 10

// LargeBlobMin is the size above which a blob placed with CommitPending
// pays its own fsync in the caller's goroutine (as Commit does) instead
// of joining the group of blobs the next commit waits for: a batch of
// small requests never waits for the flush of a large file (a 14 MB
// attachment held every small request of its batch for a 34 MB fsync).
const LargeBlobMin = 1 << 20

// Spool is a new blob on its way in, with its SHA-256 and size counted as
// it is written. The first InlineBlobMax bytes stay in memory; only a
// blob that grows past that moves to a temporary file (in the folder
// given to NewSpool), so a small blob costs no file at all and a large
// one is never whole in memory. Every backend's BlobWriter starts with
// one (bbolt keeps a small one inside the database or renames the file to
// its hash; PostgreSQL copies it into chunk rows).
type Spool struct {
	dir string
	buf []byte   // the content while it fits in memory
	f   *os.File // the temporary file once it did not; nil before
	h   hash.Hash
	n   int64
}

// NewSpool starts a blob whose temporary file, if it needs one, is
// created in dir.
func NewSpool(dir string) *Spool {
	return &Spool{dir: dir, h: sha256.New()}
}

// Write appends p to the content and the hash. A failed write is
// temporary (a full disk).
func (s *Spool) Write(p []byte) (int, error) {
	if s.f == nil && s.n+int64(len(p)) <= InlineBlobMax {
		s.buf = append(s.buf, p...)
		s.h.Write(p)
		s.n += int64(len(p))
		return len(p), nil
	}
	if s.f == nil {
		f, err := os.CreateTemp(s.dir, "blob-*")
		if err != nil {
			return 0, fault.Temporary(fmt.Errorf("store: spool blob: %w", err))
		}
		s.f = f
		if _, err := f.Write(s.buf); err != nil {
			return 0, fault.Temporary(fmt.Errorf("store: spool blob: %w", err))
		}
		s.buf = nil
	}
	n, err := s.f.Write(p)
	s.h.Write(p[:n])
	s.n += int64(n)
	if err != nil {
		return n, fault.Temporary(fmt.Errorf("store: spool blob: %w", err))
	}
	return n, nil
}

// Size is the number of bytes written so far.
func (s *Spool) Size() int64 { return s.n }

// Sum is the hex SHA-256 of what was written: the blob's name.
func (s *Spool) Sum() string { return hex.EncodeToString(s.h.Sum(nil)) }

// InMemory reports whether the whole content is in memory (at most
// InlineBlobMax bytes, no file).
func (s *Spool) InMemory() bool { return s.f == nil }

// Bytes is the content while it is in memory, nil once it moved to a
// file. The slice is the spool's own: it must not be changed.
func (s *Spool) Bytes() []byte {
	if s.f != nil {
		return nil
	}
	if s.buf == nil {
		return []byte{}
	}
	return s.buf
}

// File is the temporary file (its name, to rename or reread it), nil
// while the content is in memory.
func (s *Spool) File() *os.File { return s.f }

// Reader reads the content from its start, from memory or the file.
func (s *Spool) Reader() (io.Reader, error) {
	if s.f == nil {
		return bytes.NewReader(s.buf), nil
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, fault.Temporary(fmt.Errorf("store: spool blob: %w", err))
	}
	return s.f, nil
}

// Discard drops the content: the memory, or the temporary file (closed
// and removed).
func (s *Spool) Discard() {
	s.buf = nil
	if s.f != nil {
		s.f.Close()
		os.Remove(s.f.Name())
	}
}
