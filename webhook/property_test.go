package webhook_test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/webhook"
)

// TestHookQueueProperty drives the webhook queue as TestQueueProperty
// drives the outbox: random deliveries, an endpoint that drops
// connections or answers 503 for a while, a hook that refuses for good,
// clean restarts and kills (the store goes away under the sender). After
// every step the due index matches the rows; at the end every delivery
// of the healthy hook was accepted exactly once per event id — except that
// a kill may resend what the endpoint accepted just before it (same event
// id, which the receiver drops) — the refused hook's were given up, and
// nothing is left behind.
func TestHookQueueProperty(t *testing.T) {
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	var mu sync.Mutex
	failing, mode := 0, 0 // the next failing requests to ops drop (mode 0) or get 503 (mode 1)
	rc := newReceiver(t)
	rc.setAnswer(func(r *http.Request, _ []byte) int {
		if r.URL.Path == "/dead" {
			return http.StatusGone
		}
		mu.Lock()
		defer mu.Unlock()
		if failing > 0 {
			failing--
			return []int{0, http.StatusServiceUnavailable}[mode]
		}
		return http.StatusOK
	})
	q := newQueue(t,
		config.Webhook{Name: "ops", URL: rc.srv.URL + "/ops", Events: []string{"request_created"}},
		config.Webhook{Name: "dead", URL: rc.srv.URL + "/dead", Events: []string{"request_created"}})
	accepted := func() map[string]int {
		out := map[string]int{}
		for _, r := range rc.requests() {
			if r.Code == http.StatusOK {
				out[r.Header.Get(webhook.HeaderEventID)]++
			}
		}
		return out
	}
	allowed := map[string]int{}
	q.start(3, fastRetry())
	var good, dead []string
	for step := range 50 {
		var what string
		switch op := rng.IntN(10); {
		case op < 4:
			n := 1 + rng.IntN(8)
			if rng.IntN(6) == 0 {
				dead = append(dead, q.enqueue(n, "dead", store.EvRequestCreated)...)
				what = fmt.Sprintf("queue %d for the refusing hook", n)
			} else {
				good = append(good, q.enqueue(n, "ops", store.EvRequestCreated)...)
				what = fmt.Sprintf("queue %d", n)
			}
		case op == 4:
			mu.Lock()
			failing, mode = 1+rng.IntN(10), rng.IntN(2)
			mu.Unlock()
			what = "endpoint down for a while"
		case op == 5:
			q.stop()
			q.start(3, fastRetry())
			what = "restart"
		case op == 6:
			q.kill()
			got := accepted()
			q.mu.Lock()
			for id, n := range got {
				if n > q.recorded[id]+allowed[id] {
					allowed[id] = n - q.recorded[id]
				}
			}
			q.mu.Unlock()
			q.start(3, fastRetry())
			what = "kill"
		default:
			for range 1 + rng.IntN(8) {
				select {
				case <-q.outcomes:
				case <-time.After(300 * time.Millisecond):
				}
			}
			what = "wait"
		}
		q.check(fmt.Sprintf("step %d (%s)", step, what))
	}
	mu.Lock()
	failing = 0
	mu.Unlock()
	q.s.Wake()
	q.drain(time.Minute)
	q.stop()
	q.check("after draining")
	got := accepted()
	for _, id := range good {
		if got[id] < 1 || got[id] > 1+allowed[id] {
			t.Errorf("%s accepted %d times (kills allow %d extra)", id, got[id], allowed[id])
		}
	}
	for _, id := range dead {
		if _, ok := q.gaveUp[id]; !ok {
			t.Errorf("refused %s was not given up", id)
		}
	}
	extra := 0
	for _, n := range allowed {
		extra += n
	}
	t.Logf("%d deliveries accepted, %d given up, %d resent after kills", len(good), len(dead), extra)
}
