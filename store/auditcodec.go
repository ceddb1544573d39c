package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// An audit record's body comes in three forms, told apart by its first
// byte:
//
//	'{'   JSON of AuditEvent (schema 7 and before on bbolt; PostgreSQL
//	      writes it still)
//	0x01  compact: uvarint(unix nanoseconds) · type code · then Project,
//	      Ticket, Source, From, Recipient, Rule, Detail, Related, each as
//	      uvarint(length) · bytes (bbolt since schema 8)
//	0x02  a group: uvarint(unix nanoseconds) · uvarint(n) · n × (type
//	      code · the eight fields): events of one Message-ID written one
//	      after the other at one time in one transaction (an inbound
//	      mail's received, new_ticket and queued events), sequence numbers
//	      key, key+1 … (bbolt since schema 8)
//
// The compact forms leave out what the record's key already holds (the
// Message-ID and the sequence number) and the field names: a new request's
// audit records shrank from about 330 to about 90 bytes per event, and
// with them the pages every commit rewrites; a group saves the keys (and
// time index entries) of all but its first event. Every form reads
// everywhere (a store copy moves bodies between backends as they are).
const (
	auditCompact = 0x01
	auditGroup   = 0x02
)

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
	return encodeAuditRecord([]*AuditEvent{e})
}

// encodeAuditRecord returns the body of one record: the compact form of
// one event, or the group of several (of one Message-ID and one time,
// with consecutive sequence numbers).
func encodeAuditRecord(evs []*AuditEvent) ([]byte, error) {
	if len(evs) == 0 {
		return nil, errors.New("store: an audit record of no events")
	}
	n := 1 + 2*binary.MaxVarintLen64
	for _, e := range evs {
		n++
		for _, f := range auditFields(e) {
			n += binary.MaxVarintLen64 + len(*f)
		}
	}
	b := make([]byte, 0, n)
	if len(evs) == 1 {
		b = append(b, auditCompact)
	} else {
		b = append(b, auditGroup)
	}
	b = binary.AppendUvarint(b, uint64(evs[0].Time.UnixNano()))
	if len(evs) > 1 {
		b = binary.AppendUvarint(b, uint64(len(evs)))
	}
	for _, e := range evs {
		if !e.Time.Equal(evs[0].Time) {
			return nil, errors.New("store: an audit group of several times")
		}
		code, err := auditCode(e.Type)
		if err != nil {
			return nil, err
		}
		b = append(b, code)
		for _, f := range auditFields(e) {
			b = binary.AppendUvarint(b, uint64(len(*f)))
			b = append(b, *f...)
		}
	}
	return b, nil
}

var errAuditBody = errors.New("truncated or unknown compact audit record")

// DecodeAudit reads an audit record's body in any form: one event, or
// for a group several. messageID (canonical) and seq are the record's
// key: the compact forms do not repeat them (a group's events are seq,
// seq+1 …). A body that does not decode is an error.
func DecodeAudit(body []byte, messageID string, seq uint64) ([]*AuditEvent, error) {
	if len(body) > 0 && body[0] == '{' {
		var e AuditEvent
		if err := json.Unmarshal(body, &e); err != nil {
			return nil, err
		}
		return []*AuditEvent{&e}, nil
	}
	if len(body) < 2 || (body[0] != auditCompact && body[0] != auditGroup) {
		return nil, errAuditBody
	}
	b := body[1:]
	ns, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errAuditBody
	}
	b = b[k:]
	n := uint64(1)
	if body[0] == auditGroup {
		if n, k = binary.Uvarint(b); k <= 0 || n < 2 || n > uint64(len(b)) {
			return nil, errAuditBody
		}
		b = b[k:]
	}
	out := make([]*AuditEvent, 0, n)
	for i := range n {
		if len(b) == 0 {
			return nil, errAuditBody
		}
		if int(b[0]) == 0 || int(b[0]) >= len(auditCodes) {
			return nil, fmt.Errorf("store: unknown audit event type code %d", b[0])
		}
		e := &AuditEvent{Type: auditCodes[b[0]], MessageID: messageID, Seq: seq + i, Time: time.Unix(0, int64(ns)).UTC()}
		b = b[1:]
		for _, f := range auditFields(e) {
			l, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < l {
				return nil, errAuditBody
			}
			*f = string(b[k : k+int(l)])
			b = b[k+int(l):]
		}
		out = append(out, e)
	}
	if len(b) != 0 {
		return nil, errAuditBody
	}
	return out, nil
}
