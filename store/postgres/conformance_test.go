package postgres_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/internal/pgtest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/store/postgres"
	"github.com/ticketgate/ticketgate/store/storetest"
)

// cluster is one PostgreSQL per test, with one database per store folder
// the suite asks for.
type cluster struct {
	srv *pgtest.Server
}

func newCluster(t *testing.T) *cluster { return &cluster{srv: pgtest.Start(t)} }

// dbName names the database of a store folder.
func dbName(dir string) string {
	h := sha256.Sum256([]byte(dir))
	return "tg_" + hex.EncodeToString(h[:8])
}

func (c *cluster) open(t testing.TB, dir string) (store.DB, error) {
	dsn := c.srv.Database(t, dbName(dir))
	return postgres.Open(context.Background(), dsn, dir, postgres.Options{MaxConns: 40})
}

// TestConformance runs the storage contract's suite against PostgreSQL.
// Damage writes garbage into a record's body (a negative value into a
// counter); Age turns the schema back to version 1 (before the audit
// stream, outbox leases, drafts, offers and ratings, the desk), Future marks it as newer than this code.
func TestConformance(t *testing.T) {
	c := newCluster(t)
	storetest.Run(t, storetest.Backend{
		Open: c.open,
		Corrupt: func(t testing.TB, dir string, what storetest.Damage, args ...string) {
			var sql string
			switch what {
			case storetest.DamageMessage:
				sql = "UPDATE messages SET data = '\\x017b67617262616765' WHERE id = $1::bigint"
			case storetest.DamageSuppression:
				sql = "UPDATE suppress SET data = '\\x017b67617262616765' WHERE address = $1"
			case storetest.DamageBlock:
				sql = "UPDATE blocked SET data = '\\x017b67617262616765' WHERE project = $1 AND address = $2"
			case storetest.DamageOrganization:
				args[1] = strings.ToLower(args[1])
				sql = "UPDATE orgs SET data = '\\x017b67617262616765' WHERE project = $1 AND lname = $2"
			case storetest.DamageTicketCounter:
				sql = "UPDATE ticket_seq SET last = -1 WHERE project = $1"
			case storetest.DamageMessageIDRef:
				sql = "UPDATE msgids SET ref = '\\x017b67617262616765' WHERE project = $1 AND msgid = $2 AND hash = $3"
			case storetest.DamageTimerEntry, storetest.DamageStaleTimer, storetest.DamageFactsEntry:
				p, n, ok := store.SplitTicketKey(args[0])
				if !ok {
					t.Fatalf("not a ticket key: %q", args[0])
				}
				var at int64
				if len(args) > 1 {
					tm, err := time.Parse(time.RFC3339Nano, args[1])
					if err != nil {
						t.Fatal(err)
					}
					at = tm.UnixNano()
				}
				switch what {
				case storetest.DamageTimerEntry:
					c.srv.Exec(t, dbName(dir), "DELETE FROM ticket_timers WHERE kind = 'w' AND at = $1 AND project = $2 AND number = $3", at, p, int64(n))
				case storetest.DamageStaleTimer:
					c.srv.Exec(t, dbName(dir), "INSERT INTO ticket_timers VALUES ('w', $1, $2, $3)", at, p, int64(n))
				default:
					c.srv.Exec(t, dbName(dir), "DELETE FROM ticket_facts WHERE project = $1 AND number = $2", p, int64(n))
				}
				return
			default:
				t.Fatalf("unknown damage %d", what)
			}
			anyArgs := make([]any, len(args))
			for i, a := range args {
				anyArgs[i] = a
			}
			c.srv.Exec(t, dbName(dir), sql, anyArgs...)
		},
		Age: func(t testing.TB, dir string) {
			c.srv.Exec(t, dbName(dir), `DROP TABLE audit; DROP SEQUENCE audit_seq;
				DROP TABLE hooks; DROP SEQUENCE hooks_id_seq;
				ALTER TABLE tokens DROP COLUMN prune_at;
				ALTER TABLE outbox DROP COLUMN lease_owner, DROP COLUMN lease_until;
				DROP TABLE ticket_timers; DROP TABLE ticket_facts; DROP TABLE desk_signin; DROP TABLE desk_sessions; DROP TABLE search_cursor;
				DROP TABLE drafts; DROP TABLE draft_seq;
				DROP TABLE offers; DROP TABLE ratings;
				DROP TABLE pgp_project_keys, pgp_keys;
				DROP TABLE digest_prefs, digest_marks;
				DROP TABLE customers, drafts_accepted;
				ALTER TABLE rate DROP COLUMN expires;
				UPDATE schema_version SET version = 1`)
		},
		Future: func(t testing.TB, dir string) {
			c.srv.Exec(t, dbName(dir), fmt.Sprintf("UPDATE schema_version SET version = %d", postgres.SchemaVersion+1))
		},
		DamageBlob: func(t testing.TB, dir, hash string) {
			c.srv.Exec(t, dbName(dir), "UPDATE blob_chunks SET data = set_byte(data, 0, 255 - get_byte(data, 0)) WHERE hash = $1 AND n = 0", hash)
		},
	})
}
