package ingest

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// floodError is the SMTP answer to a sender over its new-ticket limit: 451
// makes the sending server back off and retry later.
func floodError(r config.Rate) error {
	return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1},
		Message: fmt.Sprintf("Too many new requests from this sender (limit %s), try again later", r)}
}

// floodKeys are the counters one new ticket counts against: its envelope
// sender, and its From when that is proven (DMARC or aligned DKIM). A
// forged From alone changes nothing (the envelope sender still counts),
// and a proven sender whose envelope address changes with every message
// (VERP, SRS) is still counted once. The client address is no key: for
// relayed mail it is our own MTA's.
func floodKeys(project, mailFrom, provenFrom string) []string {
	var keys []string
	if a := strings.ToLower(strings.TrimSpace(mailFrom)); a != "" {
		keys = append(keys, store.RateKey(a, "new-ticket", project, "envelope"))
	}
	if a := strings.ToLower(strings.TrimSpace(provenFrom)); a != "" {
		keys = append(keys, store.RateKey(a, "new-ticket", project, "from"))
	}
	return keys
}

// allowNewTicket checks and counts one new ticket against every key, in
// the transaction that opens it: the counters live in the store, so a
// restart does not reset them, and a ticket that is not opened after all
// (the transaction fails or is retried) is not counted.
func allowNewTicket(tx store.Tx, keys []string, r config.Rate, now time.Time) error {
	for _, k := range keys {
		n, err := tx.RateCount(k, r.Per, now)
		if err != nil {
			return err
		}
		if n >= float64(r.Count) {
			return floodError(r)
		}
	}
	for _, k := range keys {
		if err := tx.RateAdd(k, r.Per, now); err != nil {
			return err
		}
	}
	return nil
}
