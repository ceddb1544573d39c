package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Check is the full consistency check behind `ticketgate check-store`:
// bbolt's own page check, then every record of every bucket this code
// knows is decoded, and the indexes are compared with their rows in both
// directions (message ↔ ticket_msgs, outbox ↔ outbox_due, msgids and
// audit_time → their rows), every blob a record names must exist (a file
// or inline), every inline blob's content must still have its hash, and
// the installation ids must agree. It reads one snapshot; its cost grows with
// the store (it is not run at start-up beyond the quick check, see
// install.go). Each finding goes to problem; the error is for a check that
// could not run (or a snapshot too damaged to read on).
func (s *boltDB) Check(ctx context.Context, problem func(Problem)) error {
	return protect(s.dir, func() error {
		return s.db.View(func(btx *bolt.Tx) error {
			c := &checker{ctx: ctx, btx: btx, problem: problem, blobDir: s.blobDir}
			for err := range btx.Check() {
				problem(Problem{Where: "ticketgate.db", What: err.Error()})
			}
			return c.run()
		})
	})
}

type checker struct {
	ctx     context.Context
	btx     *bolt.Tx
	problem func(Problem)
	blobDir string
	n       int
}

func (c *checker) report(bucket []byte, key []byte, format string, args ...any) {
	where := string(bucket)
	if key != nil {
		where += "/" + printableKey(key)
	}
	c.problem(Problem{Where: where, What: fmt.Sprintf(format, args...)})
}

// printableKey shows a key as the layout table writes it: text parts
// separated by "|", a trailing be64 number as a number.
func printableKey(k []byte) string {
	if len(k) == 8 {
		return fmt.Sprint(getU64(k))
	}
	num := ""
	if n := len(k); n > 9 && k[n-9] == 0 {
		num = fmt.Sprintf("|%d", getU64(k[n-8:]))
		k = k[:n-9]
	}
	var out []string
	for _, part := range bytes.Split(k, []byte{0}) {
		if isText(part) {
			out = append(out, string(part))
		} else {
			out = append(out, fmt.Sprintf("%q", part))
		}
	}
	return strings.Join(out, "|") + num
}

func isText(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// each walks a bucket (absent: nothing to check).
func (c *checker) each(bucket []byte, fn func(k, v []byte)) error {
	b := c.btx.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		c.n++
		if c.n%4096 == 0 && c.ctx.Err() != nil {
			return c.ctx.Err()
		}
		fn(k, v)
		return nil
	})
}

// decode reads one JSON record; a failure is reported and false returned.
func (c *checker) decode(bucket, k, v []byte, into any) bool {
	if err := json.Unmarshal(v, into); err != nil {
		c.report(bucket, k, "does not decode: %v", err)
		return false
	}
	return true
}

func (c *checker) has(bucket, key []byte) bool {
	b := c.btx.Bucket(bucket)
	return b != nil && b.Get(key) != nil
}

func (c *checker) blob(bucket, k []byte, h string) {
	if !validHash(h) {
		c.report(bucket, k, "names blob %q, which is not a blob hash", h)
		return
	}
	if c.has(bBlobs, []byte(h)) || c.has(bBlobIndex, []byte(h)) {
		return // inline: its content is checked with its bucket
	}
	if _, err := os.Stat(filepath.Join(c.blobDir, h[:2], h[2:])); errors.Is(err, fs.ErrNotExist) {
		c.report(bucket, k, "names blob %s, which is missing", h)
	}
}

func (c *checker) run() error {
	for _, name := range allBuckets {
		if c.btx.Bucket(name) == nil {
			c.report(name, nil, "bucket missing")
		}
	}
	if meta := c.btx.Bucket(bMeta); meta != nil {
		if v := meta.Get([]byte("schema")); len(v) != 8 {
			c.report(bMeta, []byte("schema"), "schema version of %d bytes", len(v))
		}
		id := string(meta.Get([]byte(metaInstallation)))
		fileID, _, err := blobFolderState(c.blobDir)
		switch {
		case err != nil:
			c.report(bMeta, []byte(metaInstallation), "cannot read the blob folder's id: %v", err)
		case id == "" && fileID != "":
			c.report(bMeta, []byte(metaInstallation), "none, but %s says %s: the database is not the one these mail files belong to", InstallationFile, fileID)
		case id != "" && fileID != "" && fileID != id:
			c.report(bMeta, []byte(metaInstallation), "%s, but %s says %s", id, InstallationFile, fileID)
		}
	}
	seq := map[string]uint64{}
	steps := []func() error{
		func() error {
			// Issue 13: every inline blob is named by a hash, carries
			// its time, and its content still has that hash (what
			// OpenBlob would refuse as ErrBlobDamaged).
			return c.each(bBlobs, func(k, v []byte) {
				switch {
				case !validHash(string(k)):
					c.report(bBlobs, k, "is not named by a blob hash")
				case len(v) < inlineHeader:
					c.report(bBlobs, k, "record of %d bytes has no time", len(v))
				case sha256.Sum256(v[inlineHeader:]) != hashBytes(string(k)):
					c.report(bBlobs, k, "damaged: its %d bytes do not have its hash; restore it from a backup", len(v)-inlineHeader)
				}
			})
		},
		func() error {
			// Since schema 10: every index entry names content that
			// has its hash, and all content has an index entry.
			data := c.btx.Bucket(bBlobData)
			// Sequences are dense from 1 to the bucket's: one byte
			// each, not a map entry (a million blobs, 1 MB).
			var named []bool
			if data != nil {
				named = make([]bool, data.Sequence()+1)
			}
			err := c.each(bBlobIndex, func(k, v []byte) {
				switch {
				case !validHash(string(k)):
					c.report(bBlobIndex, k, "is not named by a blob hash")
				case len(v) != blobIndexLen:
					c.report(bBlobIndex, k, "record of %d bytes, not %d", len(v), blobIndexLen)
				default:
					seq := getU64(v[:8])
					if seq < uint64(len(named)) {
						named[seq] = true
					}
					var content []byte
					if data != nil {
						content = data.Get(v[:8])
					}
					switch {
					case content == nil:
						c.report(bBlobIndex, k, "names content %d, which is missing; restore it from a backup", seq)
					case sha256.Sum256(content) != hashBytes(string(k)):
						c.report(bBlobIndex, k, "damaged: its %d bytes do not have its hash; restore it from a backup", len(content))
					}
				}
			})
			if err != nil {
				return err
			}
			return c.each(bBlobData, func(k, v []byte) {
				if n := getU64(k); len(k) != 8 || n >= uint64(len(named)) || !named[n] {
					c.report(bBlobData, k, "content of %d bytes that no blob_index entry names", len(v))
				}
			})
		},
		func() error {
			return c.each(bTicketSeq, func(k, v []byte) {
				n, err := counter(bTicketSeq, k, v)
				if err != nil {
					c.report(bTicketSeq, k, "%v", err)
				}
				seq[string(k)] = n
			})
		},
		func() error {
			return c.each(bTickets, func(k, v []byte) {
				var t Ticket
				if !c.decode(bTickets, k, v, &t) {
					return
				}
				if !bytes.Equal(k, ticketDBKey(t.Project, t.Number)) || t.Key != TicketKey(t.Project, t.Number) {
					c.report(bTickets, k, "holds ticket %s (project %q, number %d)", t.Key, t.Project, t.Number)
				}
				if t.Number > seq[t.Project] {
					c.report(bTickets, k, "number %d is above the project's counter %d (numbers would be reused)", t.Number, seq[t.Project])
				}
				if !c.has(bTicketFacts, append([]byte{'k'}, t.Key...)) {
					c.report(bTickets, k, "has no report facts (ticket_facts)")
				}
				for _, tk := range timerKeys(&t) {
					if !c.has(bTicketTimers, tk) {
						c.report(bTickets, k, "has no entry in the timer index (%c) (its timers or auto-close would never run)", tk[0])
					}
				}
			})
		},
		func() error {
			return c.each(bTicketFacts, func(k, v []byte) {
				switch {
				case len(k) > 9 && k[0] == 'c':
					var f TicketFacts
					if err := f.UnmarshalBinary(v); err != nil {
						c.report(bTicketFacts, k, "%v", err)
						return
					}
					if string(k[9:]) != f.Key || !bytes.Equal(c.btx.Bucket(bTicketFacts).Get(append([]byte{'k'}, f.Key...)), k[1:9]) {
						c.report(bTicketFacts, k, "is a stale entry of ticket %s", f.Key)
					}
				case len(k) > 1 && k[0] == 'k':
					p, n, ok := SplitTicketKey(string(k[1:]))
					if len(v) != 8 || !ok || c.btx.Bucket(bTickets).Get(ticketDBKey(p, n)) == nil || !c.has(bTicketFacts, append(append([]byte{'c'}, v...), k[1:]...)) {
						c.report(bTicketFacts, k, "names no ticket or no facts")
					}
				default:
					c.report(bTicketFacts, k, "malformed key")
				}
			})
		},
		func() error {
			return c.each(bTicketTimers, func(k, _ []byte) {
				if len(k) < 10 || k[0] != timerWake && k[0] != timerResolved {
					c.report(bTicketTimers, k, "malformed key")
					return
				}
				p, n, ok := SplitTicketKey(string(k[9:]))
				v := c.btx.Bucket(bTickets).Get(ticketDBKey(p, n))
				if !ok || v == nil {
					c.report(bTicketTimers, k, "names ticket %s, which does not exist", k[9:])
					return
				}
				var t Ticket
				if json.Unmarshal(v, &t) == nil && !slices.ContainsFunc(timerKeys(&t), func(tk []byte) bool { return bytes.Equal(tk, k) }) {
					c.report(bTicketTimers, k, "is a stale entry of ticket %s", t.Key)
				}
			})
		},
		func() error {
			return c.each(bMessages, func(k, v []byte) {
				var m Message
				if !c.decode(bMessages, k, v, &m) {
					return
				}
				if len(k) != 8 || getU64(k) != m.ID {
					c.report(bMessages, k, "holds message %d", m.ID)
				}
				if !c.has(bTicketMsgs, join([]byte(m.Ticket), putU64(m.ID))) {
					c.report(bMessages, k, "is not listed on its ticket %s (ticket_msgs)", m.Ticket)
				}
				if p, n, ok := SplitTicketKey(m.Ticket); !ok || !c.has(bTickets, ticketDBKey(p, n)) {
					c.report(bMessages, k, "belongs to ticket %q, which does not exist", m.Ticket)
				}
				if m.Raw != "" {
					c.blob(bMessages, k, m.Raw)
				}
				for _, a := range m.Attach {
					if a.Blob != "" {
						c.blob(bMessages, k, a.Blob)
					}
				}
			})
		},
		func() error {
			return c.each(bTicketMsgs, func(k, _ []byte) {
				i := bytes.IndexByte(k, 0)
				if i < 0 || len(k) != i+9 {
					c.report(bTicketMsgs, k, "malformed key")
					return
				}
				var m Message
				v := c.btx.Bucket(bMessages).Get(k[i+1:])
				if v == nil {
					c.report(bTicketMsgs, k, "lists message %d, which does not exist", getU64(k[i+1:]))
					return
				}
				if json.Unmarshal(v, &m) == nil && m.Ticket != string(k[:i]) {
					c.report(bTicketMsgs, k, "lists message %d on %s, but the message says %s", m.ID, k[:i], m.Ticket)
				}
			})
		},
		func() error {
			return c.each(bMsgIDs, func(k, v []byte) {
				r, err := decodeRef(k, v)
				if err != nil {
					c.report(bMsgIDs, k, "%v", err)
					return
				}
				if r.Message != 0 && !c.has(bMessages, putU64(r.Message)) {
					c.report(bMsgIDs, k, "points to message %d, which does not exist", r.Message)
				}
			})
		},
		func() error {
			return c.each(bEvents, func(k, v []byte) {
				var e Event
				if c.decode(bEvents, k, v, &e) && !bytes.HasPrefix(k, append([]byte(e.Ticket), 0)) {
					c.report(bEvents, k, "is an event of %s", e.Ticket)
				}
			})
		},
		func() error {
			return c.each(bTokens, func(k, v []byte) {
				var t Token
				if !c.decode(bTokens, k, v, &t) {
					return
				}
				if t.Token != string(k) {
					c.report(bTokens, k, "holds token %q", t.Token)
				}
				if pk := pruneKey(&t); pk != nil && !c.has(bTokenPrune, pk) {
					c.report(bTokens, k, "is a bounce token without its token_prune entry (it would never be deleted)")
				}
			})
		},
		func() error {
			return c.each(bTokenPrune, func(k, _ []byte) {
				var t Token
				v := c.btx.Bucket(bTokens).Get(k[min(len(k), 8):])
				if len(k) < 9 || v == nil || json.Unmarshal(v, &t) != nil || !bytes.Equal(pruneKey(&t), k) {
					c.report(bTokenPrune, k, "%v", errPruneEntry)
				}
			})
		},
		func() error {
			return c.each(bOutbox, func(k, v []byte) {
				var it OutboxItem
				if !c.decode(bOutbox, k, v, &it) {
					return
				}
				if len(k) != 8 || getU64(k) != it.ID {
					c.report(bOutbox, k, "holds item %d", it.ID)
				}
				if !c.has(bOutboxDue, dueKey(it.NextAttempt, it.ID)) {
					c.report(bOutbox, k, "has no entry in the due index at %s (it would never be sent)", it.NextAttempt)
				}
			})
		},
		func() error {
			return c.each(bOutboxDue, func(k, _ []byte) {
				if len(k) != 16 {
					c.report(bOutboxDue, k, "malformed key")
					return
				}
				v := c.btx.Bucket(bOutbox).Get(k[8:])
				if v == nil {
					c.report(bOutboxDue, k, "names outbox item %d, which does not exist", getU64(k[8:]))
					return
				}
				var it OutboxItem
				if json.Unmarshal(v, &it) == nil && !bytes.Equal(k, dueKey(it.NextAttempt, it.ID)) {
					c.report(bOutboxDue, k, "is a stale entry of item %d (due %s)", it.ID, it.NextAttempt)
				}
			})
		},
		func() error {
			return c.each(bState, func(k, v []byte) {
				if !json.Valid(v) {
					c.report(bState, k, "does not decode: not JSON")
				}
			})
		},
		func() error {
			return c.each(bSuppress, func(k, v []byte) { c.decode(bSuppress, k, v, &Suppression{}) })
		},
		func() error {
			return c.each(bBlocked, func(k, v []byte) { c.decode(bBlocked, k, v, &Block{}) })
		},
		func() error {
			return c.each(bOrgs, func(k, v []byte) { c.decode(bOrgs, k, v, &Organization{}) })
		},
		func() error {
			// Issue 17: drafts decode and name blobs that exist.
			return c.each(bDrafts, func(k, v []byte) {
				var d Draft
				if c.decode(bDrafts, k, v, &d) {
					d.forEachBlob(func(h string) { c.blob(bDrafts, k, h) })
				}
			})
		},
		// Issue 17: the customers index against the tickets, both ways.
		c.checkPeople,
		func() error {
			// Issue 17: an accepted draft names the ticket it became, which
			// exists, and is no open draft any more.
			return c.each(bDraftsAccepted, func(k, v []byte) {
				p, n, ok := SplitTicketKey(string(v))
				switch {
				case len(k) < 9 || k[len(k)-9] != 0:
					c.report(bDraftsAccepted, k, "malformed key")
				case !ok:
					c.report(bDraftsAccepted, k, "%q is no ticket key", v)
				case !c.has(bTickets, ticketDBKey(p, n)):
					c.report(bDraftsAccepted, k, "names ticket %s, which does not exist", v)
				case c.has(bDrafts, k):
					c.report(bDraftsAccepted, k, "is accepted and still an open draft")
				}
			})
		},
		func() error {
			return c.each(bDeskSignIn, func(k, v []byte) { c.decode(bDeskSignIn, k, v, &SignIn{}) })
		},
		func() error {
			return c.each(bDeskSessions, func(k, v []byte) { c.decode(bDeskSessions, k, v, &Session{}) })
		},
		func() error {
			return c.each(bRate, func(k, v []byte) {
				if _, _, err := rateCounter(k, v); err != nil {
					c.report(bRate, k, "%v", err)
				}
			})
		},
		func() error {
			return c.each(bAudit, func(k, v []byte) {
				if len(k) < 10 || k[len(k)-9] != 0 {
					c.report(bAudit, k, "is not Message-ID \\0 be64(seq)")
					return
				}
				if _, err := DecodeAudit(v, string(k[:len(k)-9]), getU64(k[len(k)-8:])); err != nil {
					c.report(bAudit, k, "does not decode: %v", err)
				}
			})
		},
		func() error {
			return c.each(bAuditTime, func(k, v []byte) {
				if !c.has(bAudit, v) {
					c.report(bAuditTime, k, "names audit event %q, which does not exist", v)
				}
			})
		},
		func() error {
			return c.each(bIMAPCursor, func(k, v []byte) { c.decode(bIMAPCursor, k, v, &IMAPCursor{}) })
		},
		func() error {
			return c.each(bIMAPAttempts, func(k, v []byte) { c.decode(bIMAPAttempts, k, v, &IMAPAttempt{}) })
		},
		c.checkOffers,
		func() error {
			return c.each(bRatings, func(k, v []byte) { c.decode(bRatings, k, v, &Rating{}) })
		},
		func() error {
			return c.each(bPGPProjectKeys, func(k, v []byte) { c.decode(bPGPProjectKeys, k, v, &PGPProjectKey{}) })
		},
		func() error {
			return c.each(bPGPKeys, func(k, v []byte) { c.decode(bPGPKeys, k, v, &PGPKey{}) })
		},
		func() error {
			return c.each(bDigestPrefs, func(k, v []byte) { c.decode(bDigestPrefs, k, v, &DigestPref{}) })
		},
		func() error {
			return c.each(bDigestMarks, func(k, v []byte) { c.decode(bDigestMarks, k, v, &DigestMark{}) })
		},
		// The webhook queue (issue 18): rows decode, index agrees.
		func() error {
			hc, err := (&boltTx{btx: c.btx}).CheckHooks()
			if err != nil {
				c.report(bHooks, nil, "%v", err)
			} else if !hc.OK() {
				c.report(bHooks, nil, "%s", hc)
			}
			return nil
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}
