// Package webhook pushes ticket events to HTTP endpoints (issue 18): it
// composes a queued delivery's request from its row at send time — the
// signed JSON of docs/webhooks.md, a Slack incoming-webhook message or an
// ntfy publish — and sends the webhook queue with a small worker pool of
// its own, so a slow endpoint never holds up mail.
package webhook

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// Version is the JSON payload's version (its "version" field). Fields may
// be added within a version; a field's meaning changes only with a new
// version.
const Version = 1

// Headers of the json format.
const (
	// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret,
	// t + "." + body)>".
	HeaderSignature = "Ticketgate-Signature"
	// HeaderEventID is the event id, the idempotency key (also
	// Idempotency-Key).
	HeaderEventID = "Ticketgate-Event-Id"
	// HeaderEvent is the event's name.
	HeaderEvent = "Ticketgate-Event"
)

// Tolerance is how old a signature's timestamp a receiver should accept
// (docs/webhooks.md): older requests are refused as replays.
const Tolerance = 5 * time.Minute

// Bounds of what a request carries.
const (
	// maxSubject is the most runes of a subject a push carries.
	maxSubject = 300
	// maxMentions is the most addresses a push names.
	maxMentions = 50
	// MaxBody bounds a composed body; composition fails beyond it (it
	// cannot happen with the bounds above, and must not if it could).
	MaxBody = 64 << 10
)

// Payload is the json format's body (docs/webhook.schema.json).
type Payload struct {
	Version int    `json:"version"`
	ID      string `json:"id"`
	Event   string `json:"event"`
	Time    string `json:"time"`
	// Test marks `ticketgate webhooks test`.
	Test    bool           `json:"test,omitempty"`
	Project PayloadProject `json:"project"`
	Ticket  *PayloadTicket `json:"ticket,omitempty"`
	Actor   string         `json:"actor,omitempty"`
	// Mention lists who the push is for.
	Mention []string `json:"mention"`
	// Assignment: pushed to the new assignee because the hook's "to"
	// names the assignee.
	Assignment bool `json:"assignment,omitempty"`
}

// PayloadProject names the project.
type PayloadProject struct {
	Key  string `json:"key"`
	Name string `json:"name,omitempty"`
}

// PayloadTicket is the ticket as it was when the event happened.
type PayloadTicket struct {
	Key       string `json:"key"`
	Subject   string `json:"subject"`
	Status    string `json:"status"`
	OldStatus string `json:"old_status,omitempty"`
	Priority  string `json:"priority,omitempty"`
	Reporter  string `json:"reporter,omitempty"`
	Assignee  string `json:"assignee,omitempty"`
	URL       string `json:"url,omitempty"`
}

// Request is a composed delivery: what is POSTed, and its headers but the
// signature (which carries the time of the attempt).
type Request struct {
	Body   []byte
	Header http.Header
}

// eventName is what a delivery's event is called in its body.
func eventName(it *store.HookItem, test bool) string {
	if test {
		return "test"
	}
	return it.Kind.String()
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func mentions(it *store.HookItem) []string {
	m := it.Mention
	if len(m) > maxMentions {
		m = m[:maxMentions]
	}
	if m == nil {
		m = []string{}
	}
	return m
}

// NewPayload is the json body's value for a queued delivery.
func NewPayload(it *store.HookItem, test bool) *Payload {
	p := &Payload{Version: Version, ID: it.EventID, Event: eventName(it, test), Time: it.Time.UTC().Format(time.RFC3339Nano), Test: test,
		Project: PayloadProject{Key: it.Project, Name: it.Vars.ProjectName}, Actor: it.Vars.Actor, Mention: mentions(it), Assignment: it.Assignment}
	if it.Ticket != "" {
		v := it.Vars
		p.Ticket = &PayloadTicket{Key: it.Ticket, Subject: clip(v.Subject, maxSubject), Status: v.Status, OldStatus: v.OldStatus,
			Priority: v.Priority, Reporter: v.Reporter, Assignee: v.Assignee, URL: v.Link}
	}
	return p
}

// Compose builds the request of a delivery in format, from the row alone:
// the same row gives the same bytes.
func Compose(it *store.HookItem, format string, test bool) (*Request, error) {
	h := http.Header{}
	h.Set("User-Agent", "ticketgate-webhook/"+strconv.Itoa(Version))
	var body []byte
	switch format {
	case config.HookJSON:
		b, err := marshal(NewPayload(it, test))
		if err != nil {
			return nil, fmt.Errorf("webhook: encode payload: %w", err)
		}
		body = b
		h.Set("Content-Type", "application/json")
		h.Set(HeaderEventID, it.EventID)
		h.Set("Idempotency-Key", it.EventID)
		h.Set(HeaderEvent, eventName(it, test))
	case config.HookSlack:
		b, err := marshal(slackMessage(it, test))
		if err != nil {
			return nil, fmt.Errorf("webhook: encode slack message: %w", err)
		}
		body = b
		h.Set("Content-Type", "application/json")
	case config.HookNtfy:
		title, text, tags, prio := ntfyMessage(it, test)
		body = []byte(text)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("Title", title)
		h.Set("Tags", tags)
		h.Set("Priority", prio)
		if it.Vars.Link != "" {
			h.Set("Click", it.Vars.Link)
		}
	default:
		return nil, fmt.Errorf("webhook: unknown format %q", format)
	}
	if len(body) > MaxBody {
		return nil, fmt.Errorf("webhook: body of %d bytes exceeds %d", len(body), MaxBody)
	}
	return &Request{Body: body, Header: h}, nil
}

// marshal encodes v as compact JSON without HTML escaping (a body is no
// HTML page; "<" stays "<"), deterministically.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Sign returns the signature header's value for body at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header for body as a receiver does: the MAC
// matches (constant time) and the timestamp is within tolerance of now.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("webhook: malformed signature header")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: signature timestamp %s outside the tolerance of %s", time.Unix(sec, 0).UTC(), tolerance)
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("webhook: signature does not match")
}

// summary says what happened in one line for people: "ACME-7 assigned to
// alice@example.com".
func summary(it *store.HookItem, test bool) string {
	if test {
		return fmt.Sprintf("ticketgate test push for %s", it.Project)
	}
	v := it.Vars
	switch it.Kind {
	case store.EvRequestCreated:
		return fmt.Sprintf("%s new request from %s", it.Ticket, orSomeone(v.Reporter))
	case store.EvAssigned:
		return fmt.Sprintf("%s assigned to %s", it.Ticket, orSomeone(v.Assignee))
	case store.EvStatusChanged, store.EvRequestResolved, store.EvRequestReopened:
		if v.OldStatus == "" {
			return fmt.Sprintf("%s created in status %s", it.Ticket, v.Status)
		}
		return fmt.Sprintf("%s status %s → %s", it.Ticket, v.OldStatus, v.Status)
	}
	return fmt.Sprintf("%s %s", it.Ticket, strings.ReplaceAll(it.Kind.String(), "_", " "))
}

func orSomeone(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}

// slackEscaper escapes what Slack's mrkdwn treats as markup (&, <, >).
// A Replacer is safe for concurrent use and never changes after it is
// built: building one per message cost more than the rest of the body.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

// slackMsg is a Slack incoming webhook body: text (the notification's
// fallback, and all that Mattermost and Rocket.Chat need) and blocks.
type slackMsg struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

func slackMessage(it *store.HookItem, test bool) *slackMsg {
	line := slackEscape(summary(it, test))
	if it.Vars.Link != "" {
		line = "<" + slackEscape(it.Vars.Link) + "|" + slackEscape(it.Ticket) + "> " + strings.TrimPrefix(line, slackEscape(it.Ticket)+" ")
	}
	text := line
	if s := clip(it.Vars.Subject, maxSubject); s != "" {
		text += "\n" + slackEscape(s)
	}
	msg := &slackMsg{Text: text, Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: text}}}}
	var ctx []string
	if m := mentions(it); len(m) > 0 {
		ctx = append(ctx, "for "+slackEscape(strings.Join(m, ", ")))
	}
	if it.Vars.Actor != "" {
		ctx = append(ctx, "by "+slackEscape(it.Vars.Actor))
	}
	if len(ctx) > 0 {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: strings.Join(ctx, " · ")}}})
	}
	return msg
}

// ntfyMessage is an ntfy publish: title, message, tags and priority
// (https://docs.ntfy.sh/publish/). An assignment is high priority.
func ntfyMessage(it *store.HookItem, test bool) (title, text, tags, priority string) {
	title = summary(it, test)
	text = clip(it.Vars.Subject, maxSubject)
	if m := mentions(it); len(m) > 0 {
		text += "\nfor " + strings.Join(m, ", ")
	}
	if it.Vars.Actor != "" {
		text += "\nby " + it.Vars.Actor
	}
	text = strings.TrimPrefix(text, "\n")
	if text == "" {
		text = title
	}
	tags, priority = "ticket", "3"
	if test {
		tags = "test_tube"
	}
	if it.Kind == store.EvAssigned && !test {
		tags, priority = "ticket,bust_in_silhouette", "4"
	}
	// Header values are one line; ntfy decodes RFC 2047 words.
	return mime.BEncoding.Encode("UTF-8", headerSafe(title)), text, tags, priority
}

func headerSafe(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			r = ' '
		}
		b.WriteRune(r)
	}
	return b.String()
}
