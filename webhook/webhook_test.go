package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/webhook"
)

// receiver is a local webhook endpoint (httptest on loopback): it records
// what it was sent and answers what the test says.
type receiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []received
	// answer decides the reply to each request (default 200); returning
	// 0 drops the connection without an answer.
	answer  func(r *http.Request, body []byte) int
	arrived chan received
}

type received struct {
	Header http.Header
	Body   []byte
	Path   string
	Code   int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{arrived: make(chan received, 1024)}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		answer := rc.answer
		rc.mu.Unlock()
		code := http.StatusOK
		if answer != nil {
			code = answer(r, body)
		}
		got := received{Header: r.Header.Clone(), Body: body, Path: r.URL.Path, Code: code}
		rc.mu.Lock()
		rc.got = append(rc.got, got)
		rc.mu.Unlock()
		rc.arrived <- got
		if code == 0 {
			// Down: the connection goes away without an answer.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.WriteHeader(code)
		io.WriteString(w, "secret response body that must never be logged")
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setAnswer(f func(*http.Request, []byte) int) {
	rc.mu.Lock()
	rc.answer = f
	rc.mu.Unlock()
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// queue is a store, a configuration and a running sender.
type queue struct {
	t      *testing.T
	dir    string
	st     store.DB
	cfg    *config.Config
	s      *webhook.Sender
	cancel context.CancelFunc
	done   chan struct{}
	logs   *bytes.Buffer
	logMu  *sync.Mutex

	mu       sync.Mutex
	outcomes chan string
	recorded map[string]int // delivered and dequeued, per event id
	gaveUp   map[string]string
}

func fastRetry() webhook.Retry {
	return webhook.Retry{Initial: time.Millisecond, Max: 5 * time.Millisecond, GiveUpAfter: time.Hour}
}

func newQueue(t *testing.T, hooks ...config.Webhook) *queue {
	c := config.Default()
	c.DataDir = t.TempDir()
	c.Web.BaseURL = "http://ticketgate.test"
	c.Projects = []config.Project{{Key: "ACME", Name: "Acme Support", Address: "acme@support.example.com",
		Agents: []string{"alice@example.com"}, Admins: []string{"boss@example.com"}, Notifications: config.DefaultNotifications(), Webhooks: hooks}}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	if errs := c.Validate(); len(errs) > 0 {
		t.Fatalf("config: %v", errs)
	}
	q := &queue{t: t, dir: t.TempDir(), cfg: c, logs: &bytes.Buffer{}, logMu: &sync.Mutex{}, outcomes: make(chan string, 1<<16),
		recorded: map[string]int{}, gaveUp: map[string]string{}}
	q.open()
	t.Cleanup(func() {
		if q.cancel != nil {
			q.stop()
		}
		q.st.Close()
	})
	return q
}

func (q *queue) open() {
	st, err := store.Open(q.dir, store.Options{NoSync: true})
	if err != nil {
		q.t.Fatal(err)
	}
	q.st = st
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (q *queue) start(workers int, retry webhook.Retry) {
	log := slog.New(slog.NewTextHandler(lockedWriter{q.logMu, q.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := webhook.NewSender(q.st, func() *config.Config { return q.cfg }, webhook.Options{Retry: retry, Workers: workers}, log)
	s.OnDelivered = func(tx store.Tx, it *store.HookItem) error { return nil }
	s.OnGiveUp = func(tx store.Tx, it *store.HookItem, reason string) error {
		q.mu.Lock()
		q.gaveUp[it.EventID] = reason
		q.mu.Unlock()
		return nil
	}
	s.OnAttempt = func(it *store.HookItem, result string, err error) {
		q.mu.Lock()
		if result == webhook.Delivered {
			q.recorded[it.EventID]++
		}
		q.mu.Unlock()
		q.outcomes <- result
	}
	ctx, cancel := context.WithCancel(context.Background())
	q.s, q.cancel, q.done = s, cancel, make(chan struct{})
	go func() { s.Run(ctx); close(q.done) }()
}

func (q *queue) stop() {
	q.cancel()
	<-q.done
	q.cancel = nil
}

// kill: the store goes away under the sender (what was in flight is not
// recorded), then it is opened again.
func (q *queue) kill() {
	q.st.Close()
	q.stop()
	q.open()
}

var seq int

// enqueue queues n deliveries of kind through hook and returns their
// event ids.
func (q *queue) enqueue(n int, hook string, kind store.EventKind) []string {
	q.t.Helper()
	var ids []string
	now := time.Now().UTC()
	err := q.st.Update(context.Background(), func(tx store.Tx) error {
		ids = ids[:0]
		for i := range n {
			it := &store.HookItem{EventID: fmt.Sprintf("evt_%d_%d", seq, i), Project: "ACME", Ticket: fmt.Sprintf("ACME-%d", i+1), Hook: hook,
				Format: q.cfg.Projects[0].Webhooks[0].HookFormat(), Kind: kind, Time: now, Mention: []string{"alice@example.com"},
				Vars: store.HookVars{ProjectName: "Acme Support", Subject: "Printer on fire", Status: "open", OldStatus: "new",
					Reporter: "carol@customer.example", Assignee: "alice@example.com", Actor: "boss@example.com", Link: "https://desk.example.com/t/ACME-1"},
				Created: now, NextAttempt: now}
			if err := tx.EnqueueHook(it); err != nil {
				return err
			}
			ids = append(ids, it.EventID)
		}
		return nil
	})
	if err != nil {
		q.t.Fatal(err)
	}
	seq++
	if q.s != nil {
		q.s.Wake()
	}
	return ids
}

func (q *queue) queued() int {
	var n int
	if err := q.st.View(func(tx store.Tx) (err error) { n, _, err = tx.HookStats(); return err }); err != nil {
		q.t.Fatal(err)
	}
	return n
}

// drain waits, outcome by outcome, until the queue is empty.
func (q *queue) drain(timeout time.Duration) {
	q.t.Helper()
	deadline := time.After(timeout)
	for q.queued() > 0 {
		select {
		case <-q.outcomes:
		case <-deadline:
			q.t.Fatalf("webhook queue not drained after %s: %d left", timeout, q.queued())
		}
	}
}

func (q *queue) check(when string) {
	q.t.Helper()
	err := q.st.View(func(tx store.Tx) error {
		c, err := tx.CheckHooks()
		if err != nil {
			return err
		}
		if !c.OK() {
			return fmt.Errorf("index and rows disagree: %s", c)
		}
		return nil
	})
	if err != nil {
		q.t.Fatalf("%s: %v", when, err)
	}
}

func (q *queue) logText() string {
	q.logMu.Lock()
	defer q.logMu.Unlock()
	return q.logs.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSignatureVerifies: a json delivery carries the documented headers
// and a signature a receiver verifies with the shared secret, by the
// documented recipe (computed here independently of the package), and
// its body is the documented payload.
func TestSignatureVerifies(t *testing.T) {
	rc := newReceiver(t)
	const secret = "s3cret-shared-with-the-receiver"
	q := newQueue(t, config.Webhook{URL: rc.srv.URL + "/hook", Format: "json", SecretFile: writeFile(t, "hook.secret", secret),
		Events: []string{"assigned"}, To: []string{"assignee"}})
	ids := q.enqueue(1, "127.0.0.1:"+port(rc.srv.URL), store.EvAssigned)
	q.start(1, fastRetry())
	got := <-rc.arrived
	q.drain(10 * time.Second)

	sig := got.Header.Get(webhook.HeaderSignature)
	var ts, v1 string
	for part := range strings.SplitSeq(sig, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			v1 = v
		}
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "." + string(got.Body)))
	if want := hex.EncodeToString(m.Sum(nil)); v1 != want {
		t.Fatalf("signature %q, want v1=%s", sig, want)
	}
	sec, _ := strconv.ParseInt(ts, 10, 64)
	if d := time.Since(time.Unix(sec, 0)); d < -time.Minute || d > time.Minute {
		t.Errorf("signature timestamp %s is not the time of sending", time.Unix(sec, 0))
	}
	if err := webhook.Verify(secret, sig, got.Body, time.Now(), webhook.Tolerance); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := webhook.Verify("another secret", sig, got.Body, time.Now(), webhook.Tolerance); err == nil {
		t.Error("Verify accepted another secret")
	}
	if err := webhook.Verify(secret, sig, got.Body, time.Now().Add(webhook.Tolerance+time.Minute), webhook.Tolerance); err == nil {
		t.Error("Verify accepted a replay older than the tolerance")
	}
	if err := webhook.Verify(secret, sig, append(got.Body, ' '), time.Now(), webhook.Tolerance); err == nil {
		t.Error("Verify accepted a changed body")
	}
	if got.Header.Get(webhook.HeaderEventID) != ids[0] || got.Header.Get("Idempotency-Key") != ids[0] || got.Header.Get(webhook.HeaderEvent) != "assigned" {
		t.Errorf("headers %v, want event id %s and event assigned", got.Header, ids[0])
	}
	var p webhook.Payload
	if err := json.Unmarshal(got.Body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != 1 || p.ID != ids[0] || p.Event != "assigned" || p.Ticket == nil || p.Ticket.Key != "ACME-1" ||
		p.Ticket.Assignee != "alice@example.com" || len(p.Mention) != 1 || p.Mention[0] != "alice@example.com" {
		t.Errorf("payload %s", got.Body)
	}
	if strings.Contains(q.logText(), "secret response body") {
		t.Error("a response body was logged")
	}
}

func port(u string) string { return u[strings.LastIndexByte(u, ':')+1:] }

// TestReceiverDownThenBack: an endpoint that drops connections, then
// answers 503, then comes back gets every delivery once it is back, each
// event id accepted exactly once; the retries carry the same body.
func TestReceiverDownThenBack(t *testing.T) {
	rc := newReceiver(t)
	var mu sync.Mutex
	phase := 0 // 0: connections dropped, 1: 503, 2: up
	rc.setAnswer(func(*http.Request, []byte) int {
		mu.Lock()
		defer mu.Unlock()
		return []int{0, http.StatusServiceUnavailable, http.StatusOK}[phase]
	})
	q := newQueue(t, config.Webhook{Name: "ops", URL: rc.srv.URL, Events: []string{"request_created"}})
	ids := q.enqueue(5, "ops", store.EvRequestCreated)
	q.start(2, fastRetry())
	waitOutcomes := func(n int, want string) {
		t.Helper()
		for i := 0; i < n; {
			select {
			case o := <-q.outcomes:
				if o == want {
					i++
				}
			case <-time.After(20 * time.Second):
				t.Fatalf("waiting for %d %s outcomes", n, want)
			}
		}
	}
	waitOutcomes(10, webhook.Deferred)
	mu.Lock()
	phase = 1
	mu.Unlock()
	waitOutcomes(10, webhook.Deferred)
	mu.Lock()
	phase = 2
	mu.Unlock()
	q.drain(30 * time.Second)
	q.check("after draining")

	accepted := map[string]int{}
	bodies := map[string]map[string]bool{}
	for _, r := range rc.requests() {
		id := r.Header.Get(webhook.HeaderEventID)
		if bodies[id] == nil {
			bodies[id] = map[string]bool{}
		}
		bodies[id][string(r.Body)] = true
		if r.Code == http.StatusOK {
			accepted[id]++
		}
	}
	for _, id := range ids {
		if accepted[id] != 1 {
			t.Errorf("%s accepted %d times, want once", id, accepted[id])
		}
		if len(bodies[id]) != 1 {
			t.Errorf("%s was sent with %d different bodies, want the same bytes on every attempt", id, len(bodies[id]))
		}
	}
	if len(q.gaveUp) != 0 {
		t.Errorf("given up: %v", q.gaveUp)
	}
}

// TestSlackShape: a slack hook's body is what a Slack incoming webhook
// takes (JSON with text and blocks of section/context with mrkdwn text);
// the fake checks it the way the documented format says.
func TestSlackShape(t *testing.T) {
	rc := newReceiver(t)
	rc.setAnswer(func(r *http.Request, body []byte) int {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			return http.StatusBadRequest
		}
		var m struct {
			Text   *string `json:"text"`
			Blocks []struct {
				Type string `json:"type"`
				Text *struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"text"`
				Elements []struct {
					Type string `json:"type"`
					Text string `json:"text"`
				} `json:"elements"`
			} `json:"blocks"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		if err := dec.Decode(&m); err != nil || m.Text == nil || *m.Text == "" || len(m.Blocks) == 0 {
			return http.StatusBadRequest // Slack: invalid_payload / no_text
		}
		for _, b := range m.Blocks {
			switch b.Type {
			case "section":
				if b.Text == nil || b.Text.Type != "mrkdwn" || b.Text.Text == "" {
					return http.StatusBadRequest
				}
			case "context":
				if len(b.Elements) == 0 || b.Elements[0].Type != "mrkdwn" {
					return http.StatusBadRequest
				}
			default:
				return http.StatusBadRequest
			}
		}
		return http.StatusOK
	})
	q := newQueue(t, config.Webhook{Name: "chat", URLFile: writeFile(t, "slack.url", rc.srv.URL+"/services/T000/B000/XXXXSECRET"),
		Format: "slack", Events: []string{"assigned"}, To: []string{"assignee"}})
	q.enqueue(1, "chat", store.EvAssigned)
	q.start(1, fastRetry())
	got := <-rc.arrived
	q.drain(10 * time.Second)
	if got.Code != http.StatusOK {
		t.Fatalf("the fake Slack refused %s", got.Body)
	}
	var m struct {
		Text string `json:"text"`
	}
	json.Unmarshal(got.Body, &m)
	if !strings.Contains(m.Text, "<https://desk.example.com/t/ACME-1|ACME-1> assigned to alice@example.com") || !strings.Contains(m.Text, "Printer on fire") {
		t.Errorf("slack text %q", m.Text)
	}
	if !strings.Contains(string(got.Body), "for alice@example.com") {
		t.Errorf("the assignee is not mentioned: %s", got.Body)
	}
	if strings.Contains(q.logText(), "XXXXSECRET") {
		t.Error("the secret URL was logged")
	}
}

// TestNtfyShape: an ntfy hook publishes as ntfy documents it: the POST
// body is the message, Title, Tags, Priority and Click are headers.
func TestNtfyShape(t *testing.T) {
	rc := newReceiver(t)
	rc.setAnswer(func(r *http.Request, body []byte) int {
		prio, err := strconv.Atoi(r.Header.Get("Priority"))
		if r.Method != http.MethodPost || len(body) == 0 || r.URL.Path != "/tg-alerts" || err != nil || prio < 1 || prio > 5 ||
			r.Header.Get("Title") == "" || r.Header.Get("Tags") == "" {
			return http.StatusBadRequest
		}
		return http.StatusOK
	})
	q := newQueue(t, config.Webhook{Name: "phone", URLFile: writeFile(t, "ntfy.url", rc.srv.URL+"/tg-alerts"), Format: "ntfy",
		Events: []string{"status_changed"}, To: []string{"agents"}})
	q.enqueue(1, "phone", store.EvStatusChanged)
	q.start(1, fastRetry())
	got := <-rc.arrived
	q.drain(10 * time.Second)
	if got.Code != http.StatusOK {
		t.Fatalf("the fake ntfy refused the publish: headers %v body %q", got.Header, got.Body)
	}
	title, err := new(mime.WordDecoder).DecodeHeader(got.Header.Get("Title"))
	if err != nil || title != "ACME-1 status new → open" {
		t.Errorf("Title %q (%v)", title, err)
	}
	if got.Header.Get("Click") != "https://desk.example.com/t/ACME-1" {
		t.Errorf("Click %q", got.Header.Get("Click"))
	}
	if !strings.HasPrefix(string(got.Body), "Printer on fire\nfor alice@example.com") {
		t.Errorf("message %q", got.Body)
	}
}

// TestRedirectNotFollowed: an endpoint answering 302 is not followed to
// where it points; the delivery is given up as a permanent failure saying
// why.
func TestRedirectNotFollowed(t *testing.T) {
	target := newReceiver(t)
	rc := newReceiver(t)
	rc.setAnswer(func(*http.Request, []byte) int { return 0 })
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL+"/elsewhere", http.StatusFound)
	}))
	t.Cleanup(redirect.Close)
	q := newQueue(t, config.Webhook{Name: "moved", URL: redirect.URL, Events: []string{"assigned"}})
	ids := q.enqueue(1, "moved", store.EvAssigned)
	q.start(1, fastRetry())
	q.drain(10 * time.Second)
	reason := q.gaveUp[ids[0]]
	if !strings.Contains(reason, "302") || !strings.Contains(reason, "redirects are not followed") || !strings.HasPrefix(reason, "permanent failure") {
		t.Errorf("given up with %q", reason)
	}
	if n := len(target.requests()); n != 0 {
		t.Errorf("the redirect was followed: the target got %d requests", n)
	}
}

// TestSecretURLNeverInErrorsOrLogs: a url_file endpoint that is down:
// the recorded failure and the logs name the hook, never its URL.
func TestSecretURLNeverInErrorsOrLogs(t *testing.T) {
	rc := newReceiver(t)
	rc.setAnswer(func(*http.Request, []byte) int { return 0 })
	q := newQueue(t, config.Webhook{Name: "chat", URLFile: writeFile(t, "slack.url", rc.srv.URL+"/services/T1/B1/TOPSECRETTOKEN"),
		Format: "slack", Events: []string{"assigned"}})
	ids := q.enqueue(1, "chat", store.EvAssigned)
	q.start(1, webhook.Retry{Initial: time.Millisecond, Max: time.Millisecond, GiveUpAfter: time.Nanosecond})
	q.drain(10 * time.Second)
	reason, ok := q.gaveUp[ids[0]]
	if !ok || !strings.Contains(reason, "still failing") {
		t.Fatalf("given up with %q", reason)
	}
	if strings.Contains(reason, "TOPSECRETTOKEN") || strings.Contains(reason, "/services/") {
		t.Errorf("the failure names the secret URL: %q", reason)
	}
	if strings.Contains(q.logText(), "TOPSECRETTOKEN") {
		t.Errorf("the secret URL was logged:\n%s", q.logText())
	}
	if !strings.Contains(q.logText(), "hook=chat") {
		t.Errorf("the logs do not name the hook:\n%s", q.logText())
	}
}

// TestComposeDeterministic: the same row composes to the same bytes in
// every format.
func TestComposeDeterministic(t *testing.T) {
	it := &store.HookItem{ID: 7, EventID: "evt_x", Project: "ACME", Ticket: "ACME-7", Hook: "h", Kind: store.EvRequestCreated,
		Time: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Mention: []string{"a@x", "b@x"},
		Vars: store.HookVars{Subject: strings.Repeat("ü<&>", 200), Status: "new", Reporter: "c@y"}}
	for _, f := range []string{"json", "slack", "ntfy"} {
		a, err := webhook.Compose(it, f, false)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := webhook.Compose(it, f, false)
		if !bytes.Equal(a.Body, b.Body) || fmt.Sprint(a.Header) != fmt.Sprint(b.Header) {
			t.Errorf("%s: two compositions differ", f)
		}
		if len(a.Body) > webhook.MaxBody || len(a.Body) > 8<<10 {
			t.Errorf("%s: body of %d bytes for a long subject", f, len(a.Body))
		}
	}
}

// TestHTTPS: a delivery over TLS to an endpoint whose certificate the
// client trusts; one it does not trust is a temporary failure (the
// certificate may be fixed), not a delivery.
func TestHTTPS(t *testing.T) {
	got := make(chan string, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get(webhook.HeaderEventID)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	srv.StartTLS()
	defer srv.Close()
	h := &config.Webhook{Name: "tls", URL: srv.URL, Events: []string{"assigned"}}
	it := &store.HookItem{EventID: "evt_tls", Project: "ACME", Ticket: "ACME-1", Hook: "tls", Kind: store.EvAssigned, Time: time.Now()}
	trusting := webhook.NewClient(srv.Client().Transport.(*http.Transport).TLSClientConfig)
	if err := webhook.Send(context.Background(), trusting, h, it, false, time.Now()); err != nil {
		t.Fatalf("send over TLS: %v", err)
	}
	if id := <-got; id != "evt_tls" {
		t.Errorf("event id %q", id)
	}
	err := webhook.Send(context.Background(), webhook.NewClient(nil), h, it, false, time.Now())
	if err == nil || !fault.IsTemporary(err) || strings.Contains(err.Error(), srv.URL) {
		t.Errorf("untrusted certificate: %v", err)
	}
}
