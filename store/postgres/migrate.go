package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ticketgate/ticketgate/fault"
)

// migrations are the schema's versioned steps: migrations[i] takes the
// schema from version i to i+1. They are applied at Open, in one
// transaction, under an advisory lock: one node migrates, the others wait
// and then find the schema current. Never edit a released step; add one.
var migrations = []string{
	// 1: the records of the bbolt layout, one table per bucket. Record
	// bodies are the same JSON as in bbolt, in bytea: a body that does not
	// decode is an error where it is read, as there. Text keys sort as
	// bytes (COLLATE "C"), like bbolt's keys.
	`CREATE TABLE meta (name text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
	CREATE TABLE ticket_seq (project text COLLATE "C" PRIMARY KEY, last bigint NOT NULL);
	CREATE TABLE tickets (project text COLLATE "C" NOT NULL, number bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (project, number));
	CREATE TABLE messages (id bigint PRIMARY KEY, ticket text COLLATE "C" NOT NULL, data bytea NOT NULL);
	CREATE SEQUENCE messages_id_seq;
	CREATE INDEX messages_ticket ON messages (ticket, id);
	CREATE TABLE msgids (project text COLLATE "C" NOT NULL, msgid text COLLATE "C" NOT NULL, hash text COLLATE "C" NOT NULL, ref bytea NOT NULL, PRIMARY KEY (project, msgid, hash));
	CREATE TABLE events (seq bigint PRIMARY KEY, ticket text COLLATE "C" NOT NULL, data bytea NOT NULL);
	CREATE SEQUENCE events_seq;
	CREATE INDEX events_ticket ON events (ticket, seq);
	CREATE TABLE tokens (token text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE outbox (id bigint PRIMARY KEY, due bigint NOT NULL, data bytea NOT NULL);
	CREATE SEQUENCE outbox_id_seq;
	CREATE INDEX outbox_due ON outbox (due, id);
	CREATE TABLE state (name text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE suppress (address text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE rate (key text COLLATE "C" NOT NULL, idx bigint NOT NULL, n bigint NOT NULL, PRIMARY KEY (key, idx));
	CREATE TABLE blocked (project text COLLATE "C" NOT NULL, address text COLLATE "C" NOT NULL, data bytea NOT NULL, PRIMARY KEY (project, address));
	CREATE TABLE orgs (project text COLLATE "C" NOT NULL, lname text COLLATE "C" NOT NULL, data bytea NOT NULL, PRIMARY KEY (project, lname));
	CREATE TABLE imap_cursor (account text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE imap_attempts (account text COLLATE "C" NOT NULL, uidvalidity bigint NOT NULL, uid bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (account, uidvalidity, uid));
	CREATE TABLE blobs (hash text COLLATE "C" PRIMARY KEY, size bigint NOT NULL, created timestamptz NOT NULL DEFAULT now());
	CREATE TABLE blob_chunks (hash text COLLATE "C" NOT NULL REFERENCES blobs ON DELETE CASCADE, n int NOT NULL, data bytea NOT NULL, PRIMARY KEY (hash, n));`,
	// 2: the per-Message-ID audit stream, and its time order for pruning.
	`CREATE TABLE audit (seq bigint PRIMARY KEY, msgid text COLLATE "C" NOT NULL, time bigint NOT NULL, data bytea NOT NULL);
	CREATE SEQUENCE audit_seq;
	CREATE INDEX audit_msgid ON audit (msgid, seq);
	CREATE INDEX audit_time ON audit (time, seq);`,
	// 3: outbox leases: a node sending an item holds it until lease_until,
	// so nodes sharing the database never send one item twice.
	`ALTER TABLE outbox ADD COLUMN lease_owner text, ADD COLUMN lease_until bigint;`,
	// 4 (issue 21): tickets by time — 'w' a ticket's Wake (response-target
	// timers, snooze), 'r' its Resolved (auto-close) — derived by
	// PutTicket from the row it stores. Resolved tickets are indexed here.
	`CREATE TABLE ticket_timers (kind text COLLATE "C" NOT NULL, at bigint NOT NULL, project text COLLATE "C" NOT NULL, number bigint NOT NULL,
		PRIMARY KEY (project, number, kind));
	CREATE INDEX ticket_timers_at ON ticket_timers (kind, at, project, number);
	INSERT INTO ticket_timers SELECT 'r', (extract(epoch FROM (j->>'resolved')::timestamptz) * 1000000000)::bigint, project, number
		FROM (SELECT project, number, convert_from(data, 'UTF8')::jsonb AS j FROM tickets) t
		WHERE j->>'resolved' IS NOT NULL AND j->>'resolved' NOT LIKE '0001-01-01%';
	CREATE TABLE ticket_facts (project text COLLATE "C" NOT NULL, number bigint NOT NULL, changed bigint NOT NULL, data bytea NOT NULL,
		PRIMARY KEY (project, number));
	CREATE INDEX ticket_facts_changed ON ticket_facts (changed);
	INSERT INTO ticket_facts SELECT project, number,
		(extract(epoch FROM GREATEST('1970-01-01T00:00:00Z'::timestamptz,
			(CASE WHEN j->>'updated' IS NULL OR j->>'updated' LIKE '0001-01-01%' THEN j->>'created' ELSE j->>'updated' END)::timestamptz)) * 1000000000)::bigint,
		convert_to(jsonb_strip_nulls(jsonb_build_object('key', j->'key', 'project', j->'project', 'status', j->'status', 'priority', j->'priority',
			'assignee', j->'assignee', 'created', j->'created', 'updated', j->'updated', 'resolved', j->'resolved', 'closed', j->'closed',
			'merged_into', j->'merged_into'))::text, 'UTF8')
		FROM (SELECT project, number, convert_from(data, 'UTF8')::jsonb AS j FROM tickets) t;`,
	// 5 (issue 17): drafts, their own number space per project, and the
	// sender's open draft found by an index.
	`CREATE TABLE draft_seq (project text COLLATE "C" PRIMARY KEY, last bigint NOT NULL);
	CREATE TABLE drafts (project text COLLATE "C" NOT NULL, number bigint NOT NULL, sender text COLLATE "C" NOT NULL, data bytea NOT NULL, PRIMARY KEY (project, number));
	CREATE INDEX drafts_sender ON drafts (project, sender, number);`,
	// 6: the agents' desk (issue 22): sign-in links and sessions, keyed by
	// the hash of the browser's secret.
	`CREATE TABLE desk_signin (hash text COLLATE "C" PRIMARY KEY, expires bigint NOT NULL, data bytea NOT NULL);
	CREATE TABLE desk_sessions (hash text COLLATE "C" PRIMARY KEY, agent text COLLATE "C" NOT NULL, data bytea NOT NULL);
	CREATE INDEX desk_sessions_agent ON desk_sessions (agent);
	CREATE TABLE search_cursor (node text COLLATE "C" PRIMARY KEY, seq bigint NOT NULL);`,
	// 7 (issue 18): offers to agents, with their due order, and customer
	// ratings.
	`CREATE TABLE offers (ticket text COLLATE "C" PRIMARY KEY, due bigint, data bytea NOT NULL);
	CREATE INDEX offers_due ON offers (due, ticket) WHERE due IS NOT NULL;
	CREATE TABLE ratings (project text COLLATE "C" NOT NULL, ticket text COLLATE "C" NOT NULL, customer text COLLATE "C" NOT NULL, updated bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (project, ticket, customer));
	CREATE INDEX ratings_ticket ON ratings (ticket, customer);`,
	// 8 (issue 19): OpenPGP keys, the bbolt buckets pgp_project_keys and
	// pgp_keys.
	`CREATE TABLE pgp_project_keys (project text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE pgp_keys (address text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);`,
	// 9: the webhook delivery queue (issue 18), the outbox's sibling with
	// its leases.
	`CREATE TABLE hooks (id bigint PRIMARY KEY, due bigint NOT NULL, data bytea NOT NULL, lease_owner text, lease_until bigint);
	CREATE SEQUENCE hooks_id_seq;
	CREATE INDEX hooks_due ON hooks (due, id);`,
	// 10 (issue 21): bounce tokens by expiry, so the expired ones are
	// deleted without reading every token (PutToken sets prune_at).
	`ALTER TABLE tokens ADD COLUMN prune_at bigint;
	UPDATE tokens SET prune_at = (extract(epoch FROM (j->>'expires')::timestamptz) * 1000000000)::bigint
		FROM (SELECT token AS tk, convert_from(data, 'UTF8')::jsonb AS j FROM tokens) t
		WHERE tokens.token = t.tk AND j->>'kind' = 'bounce' AND j->>'expires' IS NOT NULL AND j->>'expires' NOT LIKE '0001-01-01%';
	CREATE INDEX tokens_prune ON tokens (prune_at) WHERE prune_at IS NOT NULL;`,
	// 11 (issue 21): the agents' digest choices and marks, the bbolt
	// buckets digest_prefs and digest_marks.
	`CREATE TABLE digest_prefs (agent text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);
	CREATE TABLE digest_marks (agent text COLLATE "C" PRIMARY KEY, data bytea NOT NULL);`,
	// 12 (issue 17): the customers index — every ticket's reporter and
	// participants by address, derived by PutTicket (and here from the
	// tickets' JSON), so open_to: known finds an earlier ticket of a
	// sender without reading every ticket — and the ticket each accepted
	// draft became.
	`CREATE TABLE customers (address text COLLATE "C" NOT NULL, project text COLLATE "C" NOT NULL, number bigint NOT NULL,
		PRIMARY KEY (address, project, number));
	CREATE INDEX customers_ticket ON customers (project, number);
	INSERT INTO customers ` + peopleFromTickets + `;
	CREATE TABLE drafts_accepted (project text COLLATE "C" NOT NULL, number bigint NOT NULL, ticket text COLLATE "C" NOT NULL, PRIMARY KEY (project, number));`,
	// 13 (issue 13): every rate counter gets its expiry (the end of the
	// window after its own, unix nanoseconds), so PruneRates removes the
	// ones no limit reads any more; the counters so far carry no window
	// to derive it from and are dropped (the limits count afresh), as in
	// bbolt's schema 11.
	`DELETE FROM rate;
	ALTER TABLE rate ADD COLUMN expires bigint NOT NULL;
	CREATE INDEX rate_expires ON rate (expires);`,
}

// SchemaVersion is the schema version this code reads and writes: the
// number of migrations (TestMigrationsMatchVersion keeps them in step).
const SchemaVersion = 13

// migrationLock is the advisory lock key every node takes to migrate
// ("tgmigr" in ASCII).
const migrationLock int64 = 0x74676d696772

// migrate brings the schema to SchemaVersion under the advisory lock and
// makes sure the installation id exists; it returns that id. A schema
// newer than this code is refused and nothing is written.
func migrate(ctx context.Context, conn *pgx.Conn, newID func() string) (string, error) {
	tx, err := conn.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return "", fault.Temporary(fmt.Errorf("store/postgres: migrate: %w", err))
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", migrationLock); err != nil {
		return "", fault.Temporary(fmt.Errorf("store/postgres: migration lock: %w", err))
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL)"); err != nil {
		return "", fault.Temporary(fmt.Errorf("store/postgres: migrate: %w", err))
	}
	var v int
	err = tx.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&v)
	switch {
	case err == pgx.ErrNoRows:
		if _, err := tx.Exec(ctx, "INSERT INTO schema_version VALUES (0)"); err != nil {
			return "", fault.Temporary(fmt.Errorf("store/postgres: migrate: %w", err))
		}
	case err != nil:
		return "", fault.Temporary(fmt.Errorf("store/postgres: read schema version: %w", err))
	}
	if v > SchemaVersion {
		return "", fault.Permanentf("store/postgres: schema version %d is newer than this binary's %d: refusing to touch it", v, SchemaVersion)
	}
	for ; v < SchemaVersion; v++ {
		if _, err := tx.Exec(ctx, migrations[v]); err != nil {
			return "", fault.Permanent(fmt.Errorf("store/postgres: migration to schema %d: %w", v+1, err))
		}
	}
	if _, err := tx.Exec(ctx, "UPDATE schema_version SET version = $1", SchemaVersion); err != nil {
		return "", fault.Temporary(fmt.Errorf("store/postgres: migrate: %w", err))
	}
	var id []byte
	err = tx.QueryRow(ctx, "SELECT value FROM meta WHERE name = 'installation'").Scan(&id)
	if err == pgx.ErrNoRows {
		id = []byte(newID())
		_, err = tx.Exec(ctx, "INSERT INTO meta VALUES ('installation', $1)", id)
	}
	if err != nil {
		return "", fault.Temporary(fmt.Errorf("store/postgres: installation id: %w", err))
	}
	if err := tx.Commit(ctx); err != nil {
		return "", fault.Temporary(fmt.Errorf("store/postgres: migrate: %w", err))
	}
	return string(id), nil
}

// currentSchema checks, writing nothing, that the schema is the one this
// code reads, and returns the installation id.
func currentSchema(ctx context.Context, conn *pgx.Conn) (string, error) {
	var v int
	if err := conn.QueryRow(ctx, "SELECT version FROM schema_version").Scan(&v); err != nil {
		return "", fault.Permanentf("store/postgres: no ticketgate schema in this database (or it cannot be read): %v", err)
	}
	if v != SchemaVersion {
		return "", fault.Permanentf("store/postgres: schema version %d, this binary reads %d: start the daemon once to migrate, or use the matching binary", v, SchemaVersion)
	}
	var id []byte
	if err := conn.QueryRow(ctx, "SELECT value FROM meta WHERE name = 'installation'").Scan(&id); err != nil {
		return "", fault.Permanentf("store/postgres: no installation id: %v", err)
	}
	return string(id), nil
}
