package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The backend-neutral form of a whole installation's records, for
// `ticketgate store copy` (bbolt ↔ PostgreSQL): every backend exports its
// records as Records and imports them back, keeping ids, sequence numbers
// and record bodies byte for byte (both backends store the same JSON), so
// links, Message-IDs and ticket numbers survive the move. Blobs move
// separately, through the Blobs interface, hash-checked on both ends.

// RecordKind names a kind of record in the neutral form. Its fields are
// documented per kind.
type RecordKind uint8

// The record kinds.
const (
	RecMeta          RecordKind = iota + 1 // Key: name; Data: value
	RecTicketSeq                           // Key: project; N: last number allocated
	RecTicket                              // Key: project; N: number; Data
	RecMessage                             // N: id; Key: ticket; Data
	RecMsgID                               // Key: project; Key2: canonical Message-ID; Key3: content hash; Ref
	RecEvent                               // N: seq; Key: ticket; Data
	RecToken                               // Key: token; Data
	RecOutbox                              // N: id; M: due (unix nanoseconds); Data
	RecState                               // Key: name; Data
	RecSuppression                         // Key: address; Data
	RecRate                                // Key: limit key; N: window index; M: count; Data: be64(expiry, unix nanoseconds)
	RecBlocked                             // Key: project; Key2: address; Data
	RecOrg                                 // Key: project; Key2: lower-case name; Data
	RecIMAPCursor                          // Key: account; Data
	RecIMAPAttempt                         // Key: account; N: UIDVALIDITY; M: UID; Data
	RecAudit                               // N: seq; Key: canonical Message-ID; M: time (unix nanoseconds); Data
	RecSequence                            // Key: SeqMessages, SeqEvents, SeqOutbox, SeqAudit or SeqHooks; N: last id handed out
	RecDraftSeq                            // Key: project; N: last draft number allocated
	RecDraft                               // Key: project; N: number; Data
	RecDeskSignIn                          // Key: hash; Data
	RecOffer                               // Key: ticket; Data (the due order is derived from it)
	RecRating                              // Key: project; Key2: ticket; Key3: customer; Data
	RecPGPProjectKey                       // Key: project; Data
	RecPGPKey                              // Key: address; Data
	RecHook                                // N: id; M: due (unix nanoseconds); Data
	RecDigestPref                          // Key: agent; Data (issue 21)
	RecDigestMark                          // Key: agent; Data (issue 21)
	RecDraftAccepted                       // Key: project; N: draft number; Key2: the ticket it became (issue 17)
	recEnd
)

// The id sequences a RecSequence names.
const (
	SeqMessages = "messages"
	SeqEvents   = "events"
	SeqOutbox   = "outbox"
	SeqAudit    = "audit"
	SeqHooks    = "hooks"
)

var recordKindNames = [...]string{"", "meta", "ticket numbers", "tickets", "messages", "message-ids", "events", "tokens",
	"outbox", "state", "suppressions", "rate counters", "blocked senders", "organizations", "imap cursors", "imap attempts",
	"audit", "sequences", "draft numbers", "drafts", "desk sign-in links", "offers", "ratings", "pgp project keys",
	"pgp keys", "webhook deliveries", "digest preferences", "digest marks", "accepted drafts"}

func (k RecordKind) String() string {
	if k == 0 || k >= recEnd {
		return fmt.Sprintf("RecordKind(%d)", uint8(k))
	}
	return recordKindNames[k]
}

// RecordKinds lists every kind, in the order exports yield them.
func RecordKinds() []RecordKind {
	out := make([]RecordKind, 0, recEnd-1)
	for k := RecMeta; k < recEnd; k++ {
		out = append(out, k)
	}
	return out
}

// Record is one record in the neutral form.
type Record struct {
	Kind            RecordKind
	Key, Key2, Key3 string
	N, M            int64
	Ref             MessageRef
	Data            []byte
}

// Digest is a hash of everything the record holds: two stores hold the
// same records when the digests of their exports agree.
func (r *Record) Digest() [32]byte {
	h := sha256.New()
	var b [8]byte
	field := func(p []byte) {
		binary.BigEndian.PutUint64(b[:], uint64(len(p)))
		h.Write(b[:])
		h.Write(p)
	}
	num := func(n int64) {
		binary.BigEndian.PutUint64(b[:], uint64(n))
		h.Write(b[:])
	}
	h.Write([]byte{byte(r.Kind)})
	field([]byte(r.Key))
	field([]byte(r.Key2))
	field([]byte(r.Key3))
	num(r.N)
	num(r.M)
	field([]byte(r.Ref.Ticket))
	num(int64(r.Ref.Message))
	if r.Ref.Outbound {
		h.Write([]byte{1})
	} else {
		h.Write([]byte{0})
	}
	field(r.Data)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// InternalMeta reports whether a meta name belongs to the backend itself
// (its schema version, its installation id): such values are neither
// exported nor imported — the target keeps its own.
func InternalMeta(name string) bool {
	return name == "schema" || name == metaInstallation || name == "installation"
}

// Copier is implemented by every backend: it reads and writes a whole
// installation's records in the neutral form. Only `ticketgate store
// copy` uses it, with the daemons stopped.
type Copier interface {
	// ExportRecords calls fn with every record of one consistent
	// snapshot, kind by kind in the order of RecordKinds, until fn
	// returns an error. Backend-internal meta (InternalMeta) is left out.
	ExportRecords(fn func(*Record) error) error
	// ImportRecords writes recs in one transaction, keeping their ids,
	// sequences and bodies. The store must not hold those records yet
	// (only meta is overwritten); a sequence is never moved backwards.
	ImportRecords(ctx context.Context, recs []*Record) error
}

var _ Copier = (*boltDB)(nil)

// ExportRecords walks every bucket in one read transaction.
func (s *boltDB) ExportRecords(fn func(*Record) error) error {
	return s.db.View(func(btx *bolt.Tx) error {
		each := func(name []byte, f func(k, v []byte) error) error {
			b := btx.Bucket(name)
			if b == nil {
				return nil
			}
			return b.ForEach(f)
		}
		split := func(bucket, k []byte, n int) ([][]byte, error) {
			parts := bytes.SplitN(k, []byte{0}, n)
			if len(parts) != n {
				return nil, fmt.Errorf("store: export %s: malformed key %q", bucket, k)
			}
			return parts, nil
		}
		u64 := func(bucket, k, v []byte) (int64, error) {
			if len(v) != 8 {
				return 0, fmt.Errorf("store: export %s/%q: %d bytes, want 8", bucket, k, len(v))
			}
			return int64(binary.BigEndian.Uint64(v)), nil
		}
		cp := func(b []byte) []byte { return append([]byte(nil), b...) }
		steps := []func() error{
			func() error {
				return each(bMeta, func(k, v []byte) error {
					if InternalMeta(string(k)) {
						return nil
					}
					return fn(&Record{Kind: RecMeta, Key: string(k), Data: cp(v)})
				})
			},
			func() error {
				return each(bTicketSeq, func(k, v []byte) error {
					n, err := u64(bTicketSeq, k, v)
					if err != nil {
						return err
					}
					return fn(&Record{Kind: RecTicketSeq, Key: string(k), N: n})
				})
			},
			func() error {
				return each(bTickets, func(k, v []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export tickets: malformed key %q", k)
					}
					return fn(&Record{Kind: RecTicket, Key: string(k[:len(k)-9]), N: int64(getU64(k[len(k)-8:])), Data: cp(v)})
				})
			},
			func() error {
				// The ticket of each message from the ticket_msgs index
				// (what TicketMessages reads).
				ticketOf := map[uint64]string{}
				err := each(bTicketMsgs, func(k, _ []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export ticket_msgs: malformed key %q", k)
					}
					ticketOf[getU64(k[len(k)-8:])] = string(k[:len(k)-9])
					return nil
				})
				if err != nil {
					return err
				}
				return each(bMessages, func(k, v []byte) error {
					id, err := u64(bMessages, k, k)
					if err != nil {
						return err
					}
					t, ok := ticketOf[uint64(id)]
					if !ok {
						return fmt.Errorf("store: export messages/%d: in no ticket's list (check-store)", id)
					}
					return fn(&Record{Kind: RecMessage, N: id, Key: t, Data: cp(v)})
				})
			},
			func() error {
				return each(bMsgIDs, func(k, v []byte) error {
					parts, err := split(bMsgIDs, k, 3)
					if err != nil {
						return err
					}
					ref, err := decodeRef(k, v)
					if err != nil {
						return err
					}
					return fn(&Record{Kind: RecMsgID, Key: string(parts[0]), Key2: string(parts[1]), Key3: string(parts[2]), Ref: ref})
				})
			},
			func() error {
				return each(bEvents, func(k, v []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export events: malformed key %q", k)
					}
					return fn(&Record{Kind: RecEvent, Key: string(k[:len(k)-9]), N: int64(getU64(k[len(k)-8:])), Data: cp(v)})
				})
			},
			func() error {
				return each(bTokens, func(k, v []byte) error { return fn(&Record{Kind: RecToken, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				due := map[uint64]int64{}
				err := each(bOutboxDue, func(k, _ []byte) error {
					if len(k) != 16 {
						return fmt.Errorf("store: export outbox_due: malformed key %x", k)
					}
					due[getU64(k[8:])] = int64(getU64(k[:8]))
					return nil
				})
				if err != nil {
					return err
				}
				return each(bOutbox, func(k, v []byte) error {
					id, err := u64(bOutbox, k, k)
					if err != nil {
						return err
					}
					d, ok := due[uint64(id)]
					if !ok {
						return fmt.Errorf("store: export outbox/%d: not in the due order (check-store; the daemon repairs it at start)", id)
					}
					return fn(&Record{Kind: RecOutbox, N: id, M: d, Data: cp(v)})
				})
			},
			func() error {
				return each(bState, func(k, v []byte) error { return fn(&Record{Kind: RecState, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bSuppress, func(k, v []byte) error { return fn(&Record{Kind: RecSuppression, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bRate, func(k, v []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export rate: malformed key %q", k)
					}
					n, exp, err := rateCounter(k, v)
					if err != nil {
						return fmt.Errorf("store: export %w", err)
					}
					return fn(&Record{Kind: RecRate, Key: string(k[:len(k)-9]), N: int64(getU64(k[len(k)-8:])), M: int64(n), Data: putU64(uint64(exp))})
				})
			},
			func() error {
				return each(bBlocked, func(k, v []byte) error {
					parts, err := split(bBlocked, k, 2)
					if err != nil {
						return err
					}
					return fn(&Record{Kind: RecBlocked, Key: string(parts[0]), Key2: string(parts[1]), Data: cp(v)})
				})
			},
			func() error {
				return each(bOrgs, func(k, v []byte) error {
					parts, err := split(bOrgs, k, 2)
					if err != nil {
						return err
					}
					return fn(&Record{Kind: RecOrg, Key: string(parts[0]), Key2: string(parts[1]), Data: cp(v)})
				})
			},
			func() error {
				return each(bIMAPCursor, func(k, v []byte) error { return fn(&Record{Kind: RecIMAPCursor, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bIMAPAttempts, func(k, v []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export imap_attempts: malformed key %q", k)
					}
					tail := k[len(k)-8:]
					return fn(&Record{Kind: RecIMAPAttempt, Key: string(k[:len(k)-9]),
						N: int64(binary.BigEndian.Uint32(tail[:4])), M: int64(binary.BigEndian.Uint32(tail[4:])), Data: cp(v)})
				})
			},
			func() error {
				times := map[string]int64{}
				err := each(bAuditTime, func(k, v []byte) error {
					if len(k) != 16 {
						return fmt.Errorf("store: export audit_time: malformed key %x", k)
					}
					times[string(v)] = int64(getU64(k[:8]))
					return nil
				})
				if err != nil {
					return err
				}
				return each(bAudit, func(k, v []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export audit: malformed key %q", k)
					}
					t, ok := times[string(k)]
					if !ok {
						return fmt.Errorf("store: export audit/%q: not in the time order", k)
					}
					return fn(&Record{Kind: RecAudit, Key: string(k[:len(k)-9]), N: int64(getU64(k[len(k)-8:])), M: t, Data: cp(v)})
				})
			},
			func() error {
				for _, s := range []struct {
					name   string
					bucket []byte
				}{{SeqMessages, bMessages}, {SeqEvents, bEvents}, {SeqOutbox, bOutbox}, {SeqAudit, bAudit}, {SeqHooks, bHooks}} {
					if b := btx.Bucket(s.bucket); b != nil && b.Sequence() > 0 {
						if err := fn(&Record{Kind: RecSequence, Key: s.name, N: int64(b.Sequence())}); err != nil {
							return err
						}
					}
				}
				return nil
			},
			func() error {
				return each(bDraftSeq, func(k, v []byte) error {
					n, err := u64(bDraftSeq, k, v)
					if err != nil {
						return err
					}
					return fn(&Record{Kind: RecDraftSeq, Key: string(k), N: n})
				})
			},
			func() error {
				return each(bDrafts, func(k, v []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export drafts: malformed key %q", k)
					}
					return fn(&Record{Kind: RecDraft, Key: string(k[:len(k)-9]), N: int64(getU64(k[len(k)-8:])), Data: cp(v)})
				})
			},
			func() error {
				return each(bDeskSignIn, func(k, v []byte) error { return fn(&Record{Kind: RecDeskSignIn, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bOffers, func(k, v []byte) error { return fn(&Record{Kind: RecOffer, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bRatings, func(k, v []byte) error {
					parts, err := split(bRatings, k, 3)
					if err != nil {
						return err
					}
					return fn(&Record{Kind: RecRating, Key: string(parts[0]), Key2: string(parts[1]), Key3: string(parts[2]), Data: cp(v)})
				})
			},
			func() error {
				return each(bPGPProjectKeys, func(k, v []byte) error { return fn(&Record{Kind: RecPGPProjectKey, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bPGPKeys, func(k, v []byte) error { return fn(&Record{Kind: RecPGPKey, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				due := map[uint64]int64{}
				err := each(bHooksDue, func(k, _ []byte) error {
					if len(k) != 16 {
						return fmt.Errorf("store: export hooks_due: malformed key %x", k)
					}
					due[getU64(k[8:])] = int64(getU64(k[:8]))
					return nil
				})
				if err != nil {
					return err
				}
				return each(bHooks, func(k, v []byte) error {
					id, err := u64(bHooks, k, k)
					if err != nil {
						return err
					}
					d, ok := due[uint64(id)]
					if !ok {
						return fmt.Errorf("store: export hooks/%d: not in the due order (check-store)", id)
					}
					return fn(&Record{Kind: RecHook, N: id, M: d, Data: cp(v)})
				})
			},
			func() error {
				return each(bDigestPrefs, func(k, v []byte) error { return fn(&Record{Kind: RecDigestPref, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bDigestMarks, func(k, v []byte) error { return fn(&Record{Kind: RecDigestMark, Key: string(k), Data: cp(v)}) })
			},
			func() error {
				return each(bDraftsAccepted, func(k, v []byte) error {
					if len(k) < 9 || k[len(k)-9] != 0 {
						return fmt.Errorf("store: export accepted drafts: malformed key %q", k)
					}
					return fn(&Record{Kind: RecDraftAccepted, Key: string(k[:len(k)-9]), N: int64(getU64(k[len(k)-8:])), Key2: string(v)})
				})
			},
		}
		for _, step := range steps {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

// ImportRecords writes recs in one bbolt transaction, with the indexes
// bbolt keeps beside them (ticket_msgs, outbox_due, audit_time).
func (s *boltDB) ImportRecords(ctx context.Context, recs []*Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(btx *bolt.Tx) error {
		bucket := func(name []byte) (*bolt.Bucket, error) {
			b, err := btx.CreateBucketIfNotExists(name)
			if err != nil {
				return nil, fmt.Errorf("store: import: bucket %s: %w", name, err)
			}
			return b, nil
		}
		put := func(name, k, v []byte) error {
			b, err := bucket(name)
			if err != nil {
				return err
			}
			return b.Put(k, v)
		}
		fresh := func(name, k, v []byte) error {
			b, err := bucket(name)
			if err != nil {
				return err
			}
			if b.Get(k) != nil {
				return fmt.Errorf("store: import: %s/%q is already there: the target store must be empty", name, k)
			}
			return b.Put(k, v)
		}
		u64 := func(n int64) []byte { return putU64(uint64(n)) }
		for _, r := range recs {
			var err error
			switch r.Kind {
			case RecMeta:
				if InternalMeta(r.Key) {
					continue
				}
				err = put(bMeta, []byte(r.Key), r.Data)
			case RecTicketSeq:
				err = fresh(bTicketSeq, []byte(r.Key), u64(r.N))
			case RecTicket:
				if err = fresh(bTickets, ticketDBKey(r.Key, uint64(r.N)), r.Data); err == nil {
					err = indexImported(btx, r)
				}
			case RecMessage:
				if err = fresh(bMessages, u64(r.N), r.Data); err == nil {
					err = put(bTicketMsgs, join([]byte(r.Key), u64(r.N)), nil)
				}
			case RecMsgID:
				err = fresh(bMsgIDs, join([]byte(r.Key), []byte(r.Key2), []byte(r.Key3)), encodeRef(r.Ref))
			case RecEvent:
				// The search feed beside it, as AddEvent writes it.
				if err = fresh(bEvents, join([]byte(r.Key), u64(r.N)), r.Data); err == nil {
					err = put(bEventLog, u64(r.N), []byte(r.Key))
				}
			case RecToken:
				// With its token_prune entry, as PutToken writes it.
				if err = fresh(bTokens, []byte(r.Key), r.Data); err == nil {
					var t Token
					if err = json.Unmarshal(r.Data, &t); err == nil {
						err = (&boltTx{btx: btx}).indexToken(nil, &t)
					}
				}
			case RecOutbox:
				if err = fresh(bOutbox, u64(r.N), r.Data); err == nil {
					err = put(bOutboxDue, append(u64(r.M), u64(r.N)...), nil)
				}
			case RecState:
				err = fresh(bState, []byte(r.Key), r.Data)
			case RecSuppression:
				err = fresh(bSuppress, []byte(r.Key), r.Data)
			case RecRate:
				if len(r.Data) != 8 {
					err = fmt.Errorf("store: import rate/%q: expiry of %d bytes, want 8", r.Key, len(r.Data))
					break
				}
				err = fresh(bRate, append(append([]byte(r.Key), 0), u64(r.N)...), appendRateValue(nil, uint64(r.M), int64(getU64(r.Data))))
			case RecBlocked:
				err = fresh(bBlocked, join([]byte(r.Key), []byte(r.Key2)), r.Data)
			case RecOrg:
				err = fresh(bOrgs, join([]byte(r.Key), []byte(r.Key2)), r.Data)
			case RecIMAPCursor:
				err = fresh(bIMAPCursor, []byte(r.Key), r.Data)
			case RecIMAPAttempt:
				err = fresh(bIMAPAttempts, imapAttemptKey(r.Key, uint32(r.N), uint32(r.M)), r.Data)
			case RecAudit:
				k := append(auditPrefix(r.Key), u64(r.N)...)
				if err = fresh(bAudit, k, r.Data); err == nil {
					err = put(bAuditTime, append(u64(r.M), u64(r.N)...), k)
				}
			case RecSequence:
				name := map[string][]byte{SeqMessages: bMessages, SeqEvents: bEvents, SeqOutbox: bOutbox, SeqAudit: bAudit, SeqHooks: bHooks}[r.Key]
				if name == nil {
					return fmt.Errorf("store: import: unknown sequence %q", r.Key)
				}
				var b *bolt.Bucket
				if b, err = bucket(name); err == nil && uint64(r.N) > b.Sequence() {
					err = b.SetSequence(uint64(r.N))
				}
			case RecDraftSeq:
				err = fresh(bDraftSeq, []byte(r.Key), u64(r.N))
			case RecDraft:
				err = fresh(bDrafts, draftDBKey(r.Key, uint64(r.N)), r.Data)
			case RecDraftAccepted:
				err = fresh(bDraftsAccepted, draftDBKey(r.Key, uint64(r.N)), []byte(r.Key2))
			case RecDeskSignIn:
				err = fresh(bDeskSignIn, []byte(r.Key), r.Data)
			case RecOffer:
				// The due order beside it, as PutOffer derives it.
				var o Offer
				if err = json.Unmarshal(r.Data, &o); err != nil {
					return fmt.Errorf("decode offer %s: %w", r.Key, err)
				}
				if err = fresh(bOffers, []byte(r.Key), r.Data); err == nil && !o.Due.IsZero() {
					err = put(bOfferDue, offerDueKey(o.Due, r.Key), nil)
				}
			case RecRating:
				err = fresh(bRatings, ratingKey(r.Key, r.Key2, r.Key3), r.Data)
			case RecPGPProjectKey:
				err = fresh(bPGPProjectKeys, []byte(r.Key), r.Data)
			case RecPGPKey:
				err = fresh(bPGPKeys, []byte(r.Key), r.Data)
			case RecDigestPref:
				err = fresh(bDigestPrefs, []byte(r.Key), r.Data)
			case RecDigestMark:
				err = fresh(bDigestMarks, []byte(r.Key), r.Data)
			case RecHook:
				if err = fresh(bHooks, u64(r.N), r.Data); err == nil {
					err = put(bHooksDue, append(u64(r.M), u64(r.N)...), nil)
				}
			default:
				return fmt.Errorf("store: import: unknown record kind %d", r.Kind)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: import: %w", err)
	}
	return nil
}

// indexImported writes the indexes bbolt derives from a ticket (its
// timers, report facts and customers), as PutTicket does.
func indexImported(btx *bolt.Tx, r *Record) error {
	var t Ticket
	if err := json.Unmarshal(r.Data, &t); err != nil {
		return fmt.Errorf("decode ticket %s-%d: %w", r.Key, r.N, err)
	}
	tx := &boltTx{btx: btx}
	if err := tx.indexTimers(nil, &t); err != nil {
		return err
	}
	if err := tx.indexPeople(&t); err != nil {
		return err
	}
	return tx.indexFacts(&t)
}
