package store_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// TestConformance runs the storage contract's suite against bbolt. The
// damage and schema hooks write the bbolt file directly, by the layout in
// docs/architecture.md.
func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t testing.TB, dir string) (store.DB, error) {
			return store.Open(dir, store.Options{NoSync: true})
		},
		Corrupt: func(t testing.TB, dir string, what storetest.Damage, args ...string) {
			bucket, key := "", []byte(nil)
			join := func(parts ...string) []byte { return []byte(strings.Join(parts, "\x00")) }
			switch what {
			case storetest.DamageMessage:
				id, err := strconv.ParseUint(args[0], 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				bucket, key = "messages", binary.BigEndian.AppendUint64(nil, id)
			case storetest.DamageSuppression:
				bucket, key = "suppress", []byte(args[0])
			case storetest.DamageBlock:
				bucket, key = "blocked", join(args[0], args[1])
			case storetest.DamageOrganization:
				bucket, key = "orgs", join(args[0], strings.ToLower(args[1]))
			case storetest.DamageTicketCounter:
				bucket, key = "ticket_seq", []byte(args[0])
			case storetest.DamageMessageIDRef:
				bucket, key = "msgids", join(args[0], args[1], args[2])
			case storetest.DamageTimerEntry, storetest.DamageStaleTimer:
				at, err := time.Parse(time.RFC3339Nano, args[1])
				if err != nil {
					t.Fatal(err)
				}
				// kind be64(unix nanos) ticket-key
				k := append(binary.BigEndian.AppendUint64([]byte{'w'}, uint64(at.UnixNano())), args[0]...)
				store.WriteRaw(t, dir, func(tx *bolt.Tx) error {
					b := tx.Bucket([]byte("ticket_timers"))
					if what == storetest.DamageStaleTimer {
						return b.Put(k, nil)
					}
					if b.Get(k) == nil {
						t.Fatalf("no timer entry %q to remove", k)
					}
					return b.Delete(k)
				})
				return
			case storetest.DamageFactsEntry:
				// 'k' ticket-key → be64(changed); 'c' be64(changed) ticket-key → facts
				store.WriteRaw(t, dir, func(tx *bolt.Tx) error {
					b := tx.Bucket([]byte("ticket_facts"))
					changed := b.Get(append([]byte{'k'}, args[0]...))
					if changed == nil {
						t.Fatalf("no facts of %s to remove", args[0])
					}
					if err := b.Delete(append(append([]byte{'c'}, changed...), args[0]...)); err != nil {
						return err
					}
					return b.Delete(append([]byte{'k'}, args[0]...))
				})
				return
			default:
				t.Fatalf("unknown damage %d", what)
			}
			store.WriteRaw(t, dir, func(tx *bolt.Tx) error {
				b := tx.Bucket([]byte(bucket))
				if b.Get(key) == nil {
					t.Fatalf("no record %s/%q to damage", bucket, key)
				}
				return b.Put(key, []byte("\x01{garbage"))
			})
		},
		Age: func(t testing.TB, dir string) {
			// Schema 1: before the audit stream.
			store.WriteRaw(t, dir, func(tx *bolt.Tx) error {
				tx.DeleteBucket([]byte("audit"))
				tx.DeleteBucket([]byte("audit_time"))
				tx.DeleteBucket([]byte("ticket_timers")) // issue 21: schema 5
				tx.DeleteBucket([]byte("ticket_facts"))
				tx.DeleteBucket([]byte("token_prune")) // schema 6
				tx.DeleteBucket([]byte("customers"))   // issue 17: schema 6
				tx.DeleteBucket([]byte("blobs"))       // issue 13: schema 9
				return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, 1))
			})
		},
		Future: func(t testing.TB, dir string) {
			store.WriteRaw(t, dir, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("meta")).Put([]byte("schema"), binary.BigEndian.AppendUint64(nil, store.SchemaVersion+1))
			})
		},
		DamageBlob: func(t testing.TB, dir, hash string) {
			// A file blobs/ab/cdef…, else the inline content: in bucket
			// blob_data under the sequence blob_index names (schema 10),
			// or after the be64 time in bucket blobs (before).
			path := filepath.Join(dir, "blobs", hash[:2], hash[2:])
			if b, err := os.ReadFile(path); err == nil {
				b[0] ^= 0xff
				if err := os.WriteFile(path, b, 0o640); err != nil {
					t.Fatal(err)
				}
				return
			}
			store.WriteRaw(t, dir, func(tx *bolt.Tx) error {
				if at := tx.Bucket([]byte("blob_index")).Get([]byte(hash)); len(at) == 16 {
					d := tx.Bucket([]byte("blob_data"))
					v := append([]byte(nil), d.Get(at[:8])...)
					if len(v) == 0 {
						t.Fatalf("blob %s has no content to damage", hash)
					}
					v[0] ^= 0xff
					return d.Put(at[:8], v)
				}
				b := tx.Bucket([]byte("blobs"))
				v := append([]byte(nil), b.Get([]byte(hash))...)
				if len(v) <= 8 {
					t.Fatalf("no blob %s to damage", hash)
				}
				v[8] ^= 0xff
				return b.Put([]byte(hash), v)
			})
		},
	})
}
