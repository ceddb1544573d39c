package store

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// maxTxCursors bounds the cursors a transaction keeps for point reads:
// a new request reads from about a dozen buckets.
const maxTxCursors = 16

// lookup is bucket.Get(key) through a cursor the transaction keeps for
// that bucket. bbolt's Get makes a new cursor whose position stack starts
// empty and grows by append on every read (two or three allocations per
// Get); a kept cursor's stack is reused, so a point read allocates
// nothing. Seek repositions the cursor from the bucket's root, so writes
// in between do not matter. The answer is Get's: the value of exactly key,
// nil when absent or when key names a nested bucket. As with Get, the
// value is valid for the transaction's life only.
func (tx *boltTx) lookup(b *bolt.Bucket, key []byte) []byte {
	c := tx.cursor(b)
	k, v := c.Seek(key)
	if k == nil || !bytes.Equal(k, key) {
		return nil
	}
	return v
}

// cursor returns the transaction's cursor for b, making it on first use.
// A read-only transaction hands out a new *bolt.Bucket per Bucket call, so
// there the cache rarely hits; it is bounded, the oldest cursor making
// room. A caller that walks b with it must not call lookup on b until
// it is done (the cursor would move).
func (tx *boltTx) cursor(b *bolt.Bucket) *bolt.Cursor {
	for _, c := range tx.cursors {
		if c.Bucket() == b {
			return c
		}
	}
	c := b.Cursor()
	if tx.cursors == nil {
		tx.cursors = make([]*bolt.Cursor, 0, maxTxCursors)
	}
	if len(tx.cursors) < maxTxCursors {
		tx.cursors = append(tx.cursors, c)
	} else {
		copy(tx.cursors, tx.cursors[1:])
		tx.cursors[len(tx.cursors)-1] = c
	}
	return c
}

// read is lookup in the bucket named name (tx.bucket).
func (tx *boltTx) read(name, key []byte) []byte {
	return tx.lookup(tx.bucket(name), key)
}

// openedBucket is a bucket a read-only transaction has opened.
type openedBucket struct {
	name []byte
	b    *bolt.Bucket
}

// bucket is tx.btx.Bucket(name), kept for the transaction. A writable
// bbolt transaction keeps the buckets it opened itself; a read-only one
// seeks the root and allocates a new *bolt.Bucket on every call (a
// request's lookups in its read snapshots opened about ten), and its
// cursors (lookup) could not be reused across calls either.
func (tx *boltTx) bucket(name []byte) *bolt.Bucket {
	if tx.btx.Writable() {
		return tx.btx.Bucket(name)
	}
	for _, o := range tx.opened {
		if bytes.Equal(o.name, name) {
			return o.b
		}
	}
	b := tx.btx.Bucket(name)
	if b != nil {
		tx.opened = append(tx.opened, openedBucket{name: name, b: b})
	}
	return b
}
