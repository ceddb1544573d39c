package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/ticketgate/ticketgate/message"
)

// Message kinds of the mix.
const (
	kindNew     = "new"     // a new request from a new sender
	kindReply   = "reply"   // a customer reply threaded by In-Reply-To (their own request)
	kindSubject = "subject" // a customer reply threaded by the [ACME-N] subject token
	kindToken   = "token"   // a customer reply to our auto-reply (reply token in the Message-ID)
	kindAgent   = "agent"   // an agent's answer by mail (reply token)
	kindAuto    = "auto"    // an out-of-office answer (Auto-Submitted)
	kindBounce  = "bounce"  // a DSN to the +bounce- envelope sender of our mail
)

var allKinds = []string{kindNew, kindReply, kindSubject, kindToken, kindAgent, kindAuto, kindBounce}

// defaultMix is a support address's day: mostly new requests and customer
// replies, some agents answering by mail, auto-replies and bounces.
const defaultMix = "new=55,reply=12,subject=5,token=10,agent=6,auto=7,bounce=5"

// Mix is a weighted choice of kinds.
type Mix struct {
	kinds   []string
	weights []int
	total   int
}

// ParseMix reads "new=55,reply=12,…"; kinds left out get weight 0.
func ParseMix(s string) (*Mix, error) {
	m := &Mix{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		w, err := strconv.Atoi(v)
		if !ok || err != nil || w < 0 {
			return nil, fmt.Errorf("--mix: %q is not kind=weight", part)
		}
		known := false
		for _, a := range allKinds {
			known = known || a == k
		}
		if !known {
			return nil, fmt.Errorf("--mix: unknown kind %q (known: %s)", k, strings.Join(allKinds, ", "))
		}
		m.kinds = append(m.kinds, k)
		m.weights = append(m.weights, w)
		m.total += w
	}
	if m.total == 0 {
		return nil, fmt.Errorf("--mix: all weights are 0")
	}
	return m, nil
}

func (m *Mix) pick(r *rand.Rand) string {
	n := r.IntN(m.total)
	for i, w := range m.weights {
		if n < w {
			return m.kinds[i]
		}
		n -= w
	}
	return m.kinds[len(m.kinds)-1]
}

// Corpus holds MIME bodies (the Content-* headers and the body) taken from
// real messages, to be sent under synthetic envelope headers.
type Corpus struct {
	bodies [][]byte
}

// LoadCorpus reads up to limit .eml files under dir (sorted, every n-th so the
// sample spans all sources) no larger than maxBytes, and keeps their MIME
// part. Reports (DSNs, also nested ones), automatic mail and files that
// don't parse are skipped: bounces and auto-replies are built by the mix,
// not sampled, so every sampled "new" request earns an auto-reply.
func LoadCorpus(dir string, limit int, maxBytes int64) (*Corpus, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".eml") {
			if info, err := d.Info(); err == nil && info.Size() <= maxBytes {
				files = append(files, path)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	sort.Strings(files)
	c := &Corpus{}
	step := max(1, len(files)/limit)
	for i := 0; i < len(files) && len(c.bodies) < limit; i += step {
		if b := mimePart(files[i]); b != nil {
			c.bodies = append(c.bodies, b)
		}
	}
	if len(c.bodies) == 0 {
		return nil, fmt.Errorf("corpus: no usable .eml under %s", dir)
	}
	return c, nil
}

// Len is the number of bodies.
func (c *Corpus) Len() int { return len(c.bodies) }

func mimePart(path string) []byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	h, err := message.ReadHeader(bytes.NewReader(raw))
	if err != nil {
		return nil
	}
	ct := h.Get("Content-Type")
	lct := strings.ToLower(ct)
	if strings.Contains(lct, "multipart/report") || h.Get("Auto-Submitted") != "" {
		return nil
	}
	if bytes.Contains(bytes.ToLower(raw), []byte("delivery-status")) || bytes.Contains(bytes.ToLower(raw), []byte("disposition-notification")) {
		// A report inside another part still reads as a bounce.
		return nil
	}
	var b bytes.Buffer
	b.WriteString("MIME-Version: 1.0\r\n")
	if ct != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ct)
	}
	if cte := h.Get("Content-Transfer-Encoding"); cte != "" {
		fmt.Fprintf(&b, "Content-Transfer-Encoding: %s\r\n", cte)
	}
	b.WriteString("\r\n")
	body, err := readAllCRLF(bytes.NewReader(raw[message.HeaderLength(raw):]))
	if err != nil {
		return nil
	}
	b.Write(body)
	return b.Bytes()
}

// readAllCRLF reads r and turns bare LF line ends into CRLF (SMTP DATA).
func readAllCRLF(r interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var out bytes.Buffer
	sc := bufio.NewReader(r)
	for {
		line, err := sc.ReadBytes('\n')
		if len(line) > 0 {
			line = bytes.TrimRight(line, "\r\n")
			out.Write(line)
			out.WriteString("\r\n")
		}
		if err != nil {
			break
		}
	}
	return out.Bytes(), nil
}

// ticketRef is what the tool knows of a request it opened.
type ticketRef struct {
	sender    string // the reporter
	msgID     string // the request's Message-ID
	subject   string
	ticket    string // ACME-42, from the auto-reply's subject
	replyID   string // the auto-reply's Message-ID (tg.<token>@…)
	bounceTo  string // the auto-reply's envelope sender (+bounce-)
	autoReply bool   // the auto-reply arrived
}

// pool holds the requests replies can go to: every accepted new request,
// and those whose auto-reply arrived (for token, subject, agent, auto and
// bounce kinds).
type pool struct {
	mu       sync.Mutex
	accepted []*ticketRef
	answered []*ticketRef
}

func (p *pool) addAccepted(t *ticketRef) {
	p.mu.Lock()
	p.accepted = append(p.accepted, t)
	p.mu.Unlock()
}

func (p *pool) addAnswered(t *ticketRef) {
	p.mu.Lock()
	p.answered = append(p.answered, t)
	p.mu.Unlock()
}

func (p *pool) pickAccepted(r *rand.Rand) *ticketRef {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.accepted) == 0 {
		return nil
	}
	return p.accepted[r.IntN(len(p.accepted))]
}

// pickAnswered returns a copy: the answered fields are final.
func (p *pool) pickAnswered(r *rand.Rand) *ticketRef {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.answered) == 0 {
		return nil
	}
	t := *p.answered[r.IntN(len(p.answered))]
	return &t
}

var ticketKeyRE = regexp.MustCompile(`\[([A-Z][A-Z0-9]{1,9}-[0-9]+)\]`)

// outMsg is one message to send: envelope, bytes, and what it is.
type outMsg struct {
	kind     string
	mailFrom string
	rcpt     string
	msgID    string
	raw      []byte
	ref      *ticketRef // the new request's reference (kindNew)
}

// builder makes messages of each kind.
type builder struct {
	run     string // unique per run, keeps Message-IDs and content unique
	address string // the project's address
	agent   string
	corpus  *Corpus
	pool    *pool
}

const dateHeader = "Date: Mon, 02 Nov 2026 10:00:00 +0000\r\n"

func (b *builder) body(r *rand.Rand, seq uint64, kind string) []byte {
	if b.corpus != nil && (kind == kindNew || kind == kindReply || kind == kindToken || kind == kindSubject) && r.IntN(2) == 0 {
		return b.corpus.bodies[r.IntN(len(b.corpus.bodies))]
	}
	var s strings.Builder
	s.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	fmt.Fprintf(&s, "Hello,\r\n\r\nmessage %s-%d (%s).\r\n", b.run, seq, kind)
	lines := 3 + r.IntN(15)
	for range lines {
		s.WriteString(sentences[r.IntN(len(sentences))])
		s.WriteString("\r\n")
	}
	s.WriteString("\r\nRegards\r\n")
	return []byte(s.String())
}

var sentences = []string{
	"The printer on the second floor prints blank pages since yesterday.",
	"I cannot log in to the portal: it says my password expired.",
	"Our invoice for last month shows the wrong VAT number.",
	"Could you please send me the manual for the X200 model?",
	"The export to CSV stops at 65536 rows, is that a known limit?",
	"Seit dem Update startet die Anwendung nicht mehr, bitte um Hilfe.",
	"La connexion VPN se coupe toutes les dix minutes.",
	"We would like to add three more users to our subscription.",
	"Attached you find the error log from this morning.",
	"Thanks for the quick answer, that solved it for the most part.",
}

// build makes one message of kind; kinds that need an earlier request
// fall back to a new request until one exists.
func (b *builder) build(r *rand.Rand, seq uint64, kind string) *outMsg {
	var t *ticketRef
	switch kind {
	case kindReply:
		if t = b.pool.pickAccepted(r); t == nil {
			kind = kindNew
		}
	case kindSubject, kindToken, kindAgent, kindAuto, kindBounce:
		if t = b.pool.pickAnswered(r); t == nil {
			kind = kindNew
		}
	}
	id := fmt.Sprintf("%s.%d@bench.example", b.run, seq)
	m := &outMsg{kind: kind, rcpt: b.address, msgID: id}
	var h strings.Builder
	switch kind {
	case kindNew:
		// Many distinct senders on many domains: per-sender limits and
		// flood protection see a crowd, not one client.
		sender := fmt.Sprintf("c%s-%d@customer-%d.example", b.run, seq, seq%977)
		subj := fmt.Sprintf("Bench request %s-%d", b.run, seq)
		m.mailFrom = sender
		m.ref = &ticketRef{sender: sender, msgID: id, subject: subj}
		fmt.Fprintf(&h, "From: Customer %d <%s>\r\nTo: %s\r\nSubject: %s\r\n", seq, sender, b.address, subj)
	case kindReply:
		m.mailFrom = t.sender
		fmt.Fprintf(&h, "From: <%s>\r\nTo: %s\r\nSubject: Re: %s\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\n", t.sender, b.address, t.subject, t.msgID, t.msgID)
	case kindSubject:
		m.mailFrom = t.sender
		fmt.Fprintf(&h, "From: <%s>\r\nTo: %s\r\nSubject: Re: [%s] %s (again)\r\n", t.sender, b.address, t.ticket, t.subject)
	case kindToken:
		m.mailFrom = t.sender
		fmt.Fprintf(&h, "From: <%s>\r\nTo: %s\r\nSubject: Re: [%s] %s\r\nIn-Reply-To: <%s>\r\nReferences: <%s> <%s>\r\n", t.sender, b.address, t.ticket, t.subject, t.replyID, t.msgID, t.replyID)
	case kindAgent:
		m.mailFrom = b.agent
		fmt.Fprintf(&h, "From: Agent <%s>\r\nTo: %s\r\nSubject: Re: [%s] %s\r\nIn-Reply-To: <%s>\r\nReferences: <%s>\r\n", b.agent, b.address, t.ticket, t.subject, t.replyID, t.replyID)
	case kindAuto:
		m.mailFrom = t.sender
		fmt.Fprintf(&h, "From: <%s>\r\nTo: %s\r\nSubject: Automatic reply: [%s] %s\r\nIn-Reply-To: <%s>\r\nAuto-Submitted: auto-replied\r\nX-Auto-Response-Suppress: All\r\n", t.sender, b.address, t.ticket, t.subject, t.replyID)
	case kindBounce:
		m.mailFrom = ""
		m.rcpt = t.bounceTo
		boundary := "dsn-" + strconv.FormatUint(seq, 36)
		fmt.Fprintf(&h, "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>\r\nTo: %s\r\nSubject: Undelivered Mail Returned to Sender\r\nAuto-Submitted: auto-replied\r\n", t.bounceTo)
		fmt.Fprintf(&h, "Message-ID: <%s>\r\n%s", id, dateHeader)
		fmt.Fprintf(&h, "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=%q\r\n\r\n", boundary)
		fmt.Fprintf(&h, "--%s\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could not be delivered (bench %s-%d).\r\n", boundary, b.run, seq)
		fmt.Fprintf(&h, "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.customer.example\r\n\r\nFinal-Recipient: rfc822; %s\r\nOriginal-Recipient: rfc822; %s\r\nAction: delayed\r\nStatus: 4.4.7\r\nDiagnostic-Code: smtp; 451 4.4.7 try again later\r\n\r\n", boundary, t.sender, t.sender)
		fmt.Fprintf(&h, "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <%s>\r\nTo: %s\r\nSubject: [%s] %s\r\n\r\n--%s--\r\n", boundary, t.replyID, t.sender, t.ticket, t.subject, boundary)
		m.raw = []byte(h.String())
		return m
	}
	fmt.Fprintf(&h, "Message-ID: <%s>\r\n%s", id, dateHeader)
	m.raw = append([]byte(h.String()), b.body(r, seq, kind)...)
	return m
}
