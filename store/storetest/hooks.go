package storetest

import (
	"errors"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// The webhook delivery queue's part of the contract (issue 18): the same
// order, re-read-by-id and leasing rules as the outbox.

// hookOrder: queueOrder (queue.go) for the webhook deliveries.
func (s *suite) hookOrder(t *testing.T) {
	db, _ := s.fresh(t)
	queueOrder(t, db, hookKind)
}

// hookLeases (stores that implement store.HookLeaser): queueLeases
// (queue.go) for the webhook deliveries.
func (s *suite) hookLeases(t *testing.T) { queueLeases(t, s, hookKind) }

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
