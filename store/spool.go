package store

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"

	"github.com/ticketgate/ticketgate/fault"
)

// Spool is a new blob on its way in: a temporary file written while its
// SHA-256 and size are counted. Every backend's BlobWriter starts with one
// (bbolt renames the file to its hash, PostgreSQL copies it into chunk
// rows), so a blob is never whole in memory and its name is known when the
// last byte is written.
type Spool struct {
	f *os.File
	h hash.Hash
	n int64
}

// NewSpool creates the temporary file in dir.
func NewSpool(dir string) (*Spool, error) {
	f, err := os.CreateTemp(dir, "blob-*")
	if err != nil {
		return nil, fault.Temporary(fmt.Errorf("store: spool blob: %w", err))
	}
	return &Spool{f: f, h: sha256.New()}, nil
}

// Write appends p to the file and the hash. A failed write is temporary
// (a full disk).
func (s *Spool) Write(p []byte) (int, error) {
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

// File is the temporary file (its name, to rename or reread it).
func (s *Spool) File() *os.File { return s.f }

// Discard closes and removes the temporary file.
func (s *Spool) Discard() {
	s.f.Close()
	os.Remove(s.f.Name())
}
