package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/ingest"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/templates"
	"github.com/ticketgate/ticketgate/ticket"
)

// commitRig is the write side of a daemon without its listeners: the real
// ingest pipeline, engine and notifier over a bbolt store, the audit
// writer fed by the pipeline's outcomes, and the sender's "delivered"
// bookkeeping (dequeue, the ticket's event, the audit event) without
// composing or sending anything.
type commitRig struct {
	dir      string
	cfg      *config.Config
	st       store.DB
	engine   *ticket.Engine
	pipeline *ingest.Pipeline
	audit    *auditWriter
	seq      int
	// durable opens the store with fsync (BenchmarkCommitPathNewDurable).
	durable bool
}

func newCommitRig(b *testing.B, dir string) *commitRig {
	b.Helper()
	c := config.Default()
	c.DataDir = dir
	c.Web.BaseURL = "http://ticketgate.test"
	// The load tool's bench.yaml lifts the automatic-mail budgets.
	c.Limits.AutoPerProject.Count = 1 << 30
	c.Limits.AutoPerTicket.Count = 1 << 30
	c.Limits.AutoPerRecipient.Count = 1 << 30
	c.Limits.NewTicketsPerSender.Count = 1 << 30
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com", Agents: []string{"alice@example.com"}, Notifications: config.DefaultNotifications()}}
	if err := c.Finalize(); err != nil {
		b.Fatal(err)
	}
	r := &commitRig{dir: dir, cfg: c}
	r.open(b)
	return r
}

func (r *commitRig) open(b *testing.B) {
	b.Helper()
	st, err := store.Open(r.dir, store.Options{NoSync: !r.durable})
	if err != nil {
		b.Fatal(err)
	}
	r.st = st
	log := slog.New(slog.DiscardHandler)
	cfg := func() *config.Config { return r.cfg }
	tmpl := templates.New("")
	n := notify.New(cfg, func() *templates.Set { return tmpl }, time.Now, log)
	r.engine = ticket.NewEngine(st, cfg, n, time.Now, log)
	r.pipeline = ingest.New(st, cfg, r.engine, log)
	r.audit = newAuditWriter(st, time.Now, log, func() { b.Error("audit job dropped") })
	r.pipeline.Observe = r.audit.inbound
}

func (r *commitRig) close(b *testing.B) {
	b.Helper()
	if err := r.st.Close(); err != nil {
		b.Fatal(err)
	}
}

// requests receives n new requests, conc at a time (the group commit
// shares a transaction between those in flight), then writes their audit
// events and records their mail as delivered, as the audit writer and the
// sender would.
func (r *commitRig) requests(b *testing.B, n, conc int) {
	b.Helper()
	const round = 64
	for done := 0; done < n; {
		k := min(round, n-done)
		var wg sync.WaitGroup
		next := make(chan int, k)
		for i := range k {
			next <- r.seq + i
		}
		close(next)
		r.seq += k
		for range min(conc, k) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					raw := fmt.Sprintf("From: Customer %d <new%d@customer.example>\r\nTo: acme@support.example.com\r\nSubject: Printer %d\r\nMessage-ID: <new-%d.%d@customer.example>\r\nDate: Thu, 03 Dec 2026 10:00:00 +0000\r\n\r\nHello, this is request %d.\r\nThe printer on the second floor prints blank pages\r\nsince this morning. Could you have a look?\r\n", i, i, i, i, time.Now().UnixNano(), i)
					env := &mailin.Envelope{Source: "smtp", MailFrom: fmt.Sprintf("new%d@customer.example", i), Rcpts: []string{"acme@support.example.com"}}
					if errs := r.pipeline.Receive(context.Background(), env, strings.NewReader(raw)); len(errs) != 1 || errs[0] != nil {
						b.Errorf("receive: %v", errs)
					}
				}
			}()
		}
		wg.Wait()
		r.flushAudit()
		r.deliver(b)
		r.flushAudit()
		done += k
	}
}

func (r *commitRig) flushAudit() {
	var batch []*auditJob
	for {
		select {
		case j := <-r.audit.jobs:
			batch = append(batch, j)
			continue
		default:
		}
		break
	}
	if len(batch) > 0 {
		r.audit.write(batch)
	}
}

// deliver records every queued mail as delivered in one transaction (a
// group commit of the sender's workers' outcomes).
func (r *commitRig) deliver(b *testing.B) {
	var items []*store.OutboxItem
	if err := r.st.View(func(tx store.Tx) error {
		var err error
		items, _, err = tx.DueOutbox(time.Now().Add(time.Hour), 10000)
		return err
	}); err != nil {
		b.Fatal(err)
	}
	var done []*store.OutboxItem
	err := r.st.Update(context.Background(), func(tx store.Tx) error {
		done = done[:0]
		for _, it := range items {
			d, err := tx.Dequeue(it.ID)
			if err != nil {
				return err
			}
			if err := r.engine.Delivered(tx, d); err != nil {
				return err
			}
			done = append(done, d)
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, d := range done {
		r.audit.attempt(d, "delivered", nil)
	}
}

// bucketUse is one bbolt bucket's keys and bytes in use.
type bucketUse struct {
	keys  int
	bytes int
	alloc int // pages the bucket holds, in bytes
}

// storeUse reads the database's size up to its high-water mark (bbolt
// grows the file itself in steps of 16 MiB, too coarse to tell a request's
// bytes) and every bucket's use (the store must be closed: bbolt locks
// the file).
func storeUse(b *testing.B, dir string) (int64, map[string]bucketUse) {
	b.Helper()
	db, err := bolt.Open(filepath.Join(dir, "ticketgate.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	use := map[string]bucketUse{}
	var size int64
	err = db.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			s := bk.Stats()
			use[string(name)] = bucketUse{keys: s.KeyN, bytes: s.LeafInuse + s.BranchInuse, alloc: s.LeafAlloc + s.BranchAlloc}
			return nil
		})
	})
	if err != nil {
		b.Fatal(err)
	}
	return size, use
}

// BenchmarkCommitPathNew is the write side of one new request under the
// load tool's new-request mix, on a store of 1,000 tickets: the pipeline
// (spool, parse, classify, the engine's prepare and commit with the
// auto-reply and the agents' notice queued), the audit writer's
// transaction, and the sender's bookkeeping of the two deliveries. With
// 16 requests in flight the group commit batches them as in the daemon
// (how depends on the scheduler); with 1 every request commits alone, the
// same way every run, so its store commit loop can be counted on its own
// (valgrind --toggle-collect='*boltDB).runBatch'). Besides time and allocations it reports what the store
// keeps per request: bytes in use in the buckets, keys, and the growth of
// the database (its high-water mark: pages in use, free pages and bbolt's
// own); -test.v lists the buckets.
//
//	go test -run '^$' -bench BenchmarkCommitPathNew -benchmem ./daemon
//
// Instructions per request (independent of the machine's load): run it
// under valgrind --tool=callgrind at two -test.benchtime counts and divide
// the difference.
func BenchmarkCommitPathNew(b *testing.B) {
	if os.Getenv(store.RunTwiceEnv) != "" {
		b.Skip("measure without " + store.RunTwiceEnv)
	}
	for _, inflight := range []int{16, 1} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { benchCommitPath(b, inflight, false) })
	}
}

// benchCommitPath measures requests after 1,000 written without fsync;
// durable makes the measured ones fsync, as the daemon's store does.
func benchCommitPath(b *testing.B, inflight int, durable bool) {
	dir := b.TempDir()
	r := newCommitRig(b, dir)
	r.requests(b, 1000, inflight)
	r.close(b)
	size0, use0 := storeUse(b, dir)
	r.durable = durable
	r.open(b)
	b.ReportAllocs()
	b.ResetTimer()
	r.requests(b, b.N, inflight)
	b.StopTimer()
	r.close(b)
	size1, use1 := storeUse(b, dir)
	var names []string
	for name := range use1 {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		return use1[names[i]].bytes-use0[names[i]].bytes > use1[names[j]].bytes-use0[names[j]].bytes
	})
	inuse, keys := 0, 0
	n := float64(b.N)
	for _, name := range names {
		dk, db, da := use1[name].keys-use0[name].keys, use1[name].bytes-use0[name].bytes, use1[name].alloc-use0[name].alloc
		inuse += db
		keys += dk
		if dk != 0 || db != 0 {
			b.Logf("%-14s %+8.2f keys/req %+9.1f B/req in use %+9.1f B/req in pages", name, float64(dk)/n, float64(db)/n, float64(da)/n)
		}
	}
	b.ReportMetric(float64(inuse)/n, "inuse-B/req")
	b.ReportMetric(float64(keys)/n, "keys/req")
	b.ReportMetric(float64(size1-size0)/n, "db-B/req")
}
