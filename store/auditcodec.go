package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// An audit record's body comes in two forms, told apart by its first
// byte:
//
//	'{'   JSON of AuditEvent (schema 7 and before on bbolt; PostgreSQL
//	      writes it still)
//	0x01  compact: uvarint(unix nanoseconds) · type code · then Project,
//	      Ticket, Source, From, Recipient, Rule, Detail, Related, each as
//	      uvarint(length) · bytes (bbolt since schema 8)
//
// The compact form leaves out what the record's key already holds (the
// Message-ID and the sequence number) and the field names: a new request's
// eight audit records shrank from about 330 to about 90 bytes each, and
// with them the pages every commit rewrites. Both forms read everywhere
// (a store copy moves bodies between backends as they are).
const auditCompact = 0x01

// auditCodes numbers the audit types in the compact form. The numbers are
// stored: append new types, never reorder.
var auditCodes = []AuditType{"", AuditReceived, AuditThreaded, AuditNewTicket, AuditDuplicate, AuditAutomatic, AuditLoop,
	AuditRefused, AuditRejected, AuditQueued, AuditHeld, AuditDelivered, AuditDeferred, AuditGivenUp, AuditBounced}

func auditCode(t AuditType) (byte, error) {
	for i, c := range auditCodes {
		if i > 0 && c == t {
			return byte(i), nil
		}
	}
	return 0, fmt.Errorf("store: unknown audit event type %q", t)
}

// auditFields are the compact form's strings, in their stored order.
func auditFields(e *AuditEvent) [8]*string {
	return [8]*string{&e.Project, &e.Ticket, &e.Source, &e.From, &e.Recipient, &e.Rule, &e.Detail, &e.Related}
}

// encodeAudit returns the compact body of e (without its Message-ID and
// Seq, which the key holds).
func encodeAudit(e *AuditEvent) ([]byte, error) {
	code, err := auditCode(e.Type)
	if err != nil {
		return nil, err
	}
	n := 1 + binary.MaxVarintLen64 + 1
	for _, f := range auditFields(e) {
		n += binary.MaxVarintLen64 + len(*f)
	}
	b := make([]byte, 0, n)
	b = append(b, auditCompact)
	b = binary.AppendUvarint(b, uint64(e.Time.UnixNano()))
	b = append(b, code)
	for _, f := range auditFields(e) {
		b = binary.AppendUvarint(b, uint64(len(*f)))
		b = append(b, *f...)
	}
	return b, nil
}

var errAuditBody = errors.New("truncated or unknown compact audit record")

// DecodeAudit reads an audit record's body in either form. messageID
// (canonical) and seq are the record's key: the compact form does not
// repeat them. A body that does not decode is an error.
func DecodeAudit(body []byte, messageID string, seq uint64) (*AuditEvent, error) {
	var e AuditEvent
	if len(body) > 0 && body[0] == '{' {
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, err
		}
		return &e, nil
	}
	if len(body) < 2 || body[0] != auditCompact {
		return nil, errAuditBody
	}
	b := body[1:]
	ns, k := binary.Uvarint(b)
	if k <= 0 || len(b) < k+1 {
		return nil, errAuditBody
	}
	b = b[k:]
	if int(b[0]) == 0 || int(b[0]) >= len(auditCodes) {
		return nil, fmt.Errorf("store: unknown audit event type code %d", b[0])
	}
	e.Type = auditCodes[b[0]]
	b = b[1:]
	for _, f := range auditFields(&e) {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return nil, errAuditBody
		}
		*f = string(b[k : k+int(l)])
		b = b[k+int(l):]
	}
	if len(b) != 0 {
		return nil, errAuditBody
	}
	e.MessageID, e.Seq, e.Time = messageID, seq, time.Unix(0, int64(ns)).UTC()
	return &e, nil
}
