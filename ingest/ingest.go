// Package ingest is the inbound pipeline every source shares (SMTP, LMTP,
// the local deliver socket, IMAP): it spools the raw message into a
// content-addressed blob (fsynced), parses it once, classifies it with the
// policy stage, and applies it once per addressed project through the ticket
// engine, whose single transaction stores the message, the ticket change
// and every notification it causes.
package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/decide"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/internal/bufpool"
	"github.com/ticketgate/ticketgate/internal/lowprio"
	"github.com/ticketgate/ticketgate/mailin"
	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/pgp"
	"github.com/ticketgate/ticketgate/policy"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/ticket"
)

// Pipeline implements mailin.Receiver.
type Pipeline struct {
	// bufs lends the buffers messages are spooled through; readers the
	// parser's (*bufio.Reader).
	bufs    bufpool.Pool
	readers sync.Pool
	store   store.DB
	cfg     func() *config.Config
	engine  *ticket.Engine
	log     *slog.Logger
	now     func() time.Time
	// Queued is called after a commit that queued outbound mail (wakes
	// the sender); may be nil.
	Queued func()
	// Observe is called once per project copy with its outcome (metrics,
	// audit); may be nil.
	Observe func(o Outcome)
	// PGP, when set, decrypts and checks OpenPGP mail before it is parsed
	// and learns the keys it offers after it was stored (issue 19).
	PGP *pgp.Inbound
}

// Outcome describes what happened to one project's copy of a message.
type Outcome struct {
	Source    string
	From      string // the From address, else the envelope sender
	Project   string
	MessageID string
	Result    *ticket.Result
	// Verdict is what the policy stage made of the copy. Auto (why it is
	// automatic, a block aside) and Loop are reasons for people (logs,
	// audit).
	Verdict decide.Verdict
	Auto    string
	Loop    string
	Err     error
	Elapsed time.Duration
}

// New returns a pipeline.
func New(s store.DB, cfg func() *config.Config, e *ticket.Engine, log *slog.Logger) *Pipeline {
	return &Pipeline{store: s, cfg: cfg, engine: e, log: log, now: time.Now}
}

var errNoMailbox = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such mailbox here"}

// CheckRecipient accepts only project addresses (plain, +tag, internal,
// bounce and reply-token forms): we never relay.
func (p *Pipeline) CheckRecipient(_ context.Context, rcpt string) error {
	if proj, kind, _ := p.cfg().Route(rcpt); proj == nil || kind == config.AddrNone {
		p.log.Info("refused recipient", "rcpt", rcpt)
		return errNoMailbox
	}
	return nil
}

// received is one message read and checked once, before its copies are
// handled per addressed project.
type received struct {
	env    *mailin.Envelope
	start  time.Time
	msg    *message.Message
	attach []store.Attachment
	hash   string
	size   int64
	cfg    *config.Config
	proof  policy.Proof
	bounce *policy.Bounce
	// refusal is the limit the message broke (nil when none).
	refusal *smtp.SMTPError
	// signals are what the policy checks found, the same for every
	// project's copy (the automatic check and a block depend on the
	// project).
	signals decide.Signals
	// pgp is what the OpenPGP step made of the message (nil without it).
	pgp *pgp.Opened
}

// Receive implements mailin.Receiver: the message is spooled, parsed and
// checked once (read), then each addressed project's copy is handled
// (handle); a message addressed to one project twice (plain and +tag) is
// one copy, answered for each recipient.
func (p *Pipeline) Receive(ctx context.Context, env *mailin.Envelope, r io.Reader) []error {
	errs := make([]error, len(env.Rcpts))
	rc, err := p.read(env, r)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
		return errs
	}
	done := map[string]error{}
	for i, rcpt := range env.Rcpts {
		proj, kind, tag := rc.cfg.Route(rcpt)
		if proj == nil {
			errs[i] = errNoMailbox
			continue
		}
		if err, ok := done[proj.Key]; ok {
			errs[i] = err
			continue
		}
		done[proj.Key] = p.handle(ctx, rc, proj, kind, tag)
		errs[i] = done[proj.Key]
	}
	return errs
}

// read spools, parses and checks a message; its error is the answer to
// every recipient.
func (p *Pipeline) read(env *mailin.Envelope, r io.Reader) (*received, error) {
	rc := &received{env: env, start: time.Now()}
	var err error
	var longest int
	var raw []byte
	rc.hash, rc.size, raw, longest, err = p.spool(r)
	if err != nil {
		if errors.Is(err, smtp.ErrDataTooLarge) {
			p.log.Info("refused oversized message", "source", env.Source, "from", env.MailFrom)
			return nil, smtp.ErrDataTooLarge
		}
		p.log.Error("could not spool message", "source", env.Source, "err", err)
		return nil, fault.Temporary(err)
	}
	parsed := rc.hash
	if p.PGP != nil {
		// Encrypted mail is parsed from its decrypted copy; the raw blob
		// (the content hash) stays the encrypted original.
		if rc.pgp, err = p.PGP.Open(env.Rcpts, rc.hash, p.cfg().Inbound.MaxMessageBytes); err != nil {
			p.log.Error("could not read the message's OpenPGP parts", "blob", rc.hash, "err", err)
			return nil, err
		}
		if rc.pgp.Plain != "" {
			parsed, raw = rc.pgp.Plain, nil
		}
	}
	parse := func() (err error) {
		rc.msg, rc.attach, err = p.parse(parsed, raw, p.cfg().Inbound.MaxTextBytes)
		return err
	}
	if rc.size > store.LargeBlobMin {
		// A large message (spool): decoding its attachments into their
		// blobs keeps a CPU busy too.
		err = lowprio.Run(parse)
	} else {
		err = parse()
	}
	if err != nil {
		p.log.Error("could not parse stored message", "blob", rc.hash, "err", err)
		return nil, fault.Temporary(err)
	}
	cfg, msg := p.cfg(), rc.msg
	rc.cfg = cfg
	if rc.pgp != nil {
		notePGP(msg, rc.pgp)
	}
	// Authentication-Results claiming our MTA's id count only when our MTA
	// added them (RFC 8601 §5): forged copies go before anything reads them.
	var removed int
	msg.Header, removed = policy.StripForgedAuthResults(msg.Header, cfg.TrustedAuthservIDs, env.Trusted)
	if removed > 0 {
		p.log.Warn("removed forged Authentication-Results headers", "msgid", msg.MessageID, "count", removed)
		msg.Problems = append(msg.Problems, fmt.Sprintf("%d forged Authentication-Results header(s) removed", removed))
	}
	rc.proof = policy.Authenticated(msg, cfg.TrustedAuthservIDs, msg.From)
	rc.bounce = policy.ParseBounce(msg)
	rc.refusal = refuse(cfg, msg)
	if max := cfg.Inbound.MaxLineLength; rc.refusal == nil && max > 0 && longest > max {
		// Kept and shown to the agents like any refusal; the sender is
		// refused for good (the same bytes will never fit).
		rc.refusal = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4},
			Message: fmt.Sprintf("Message has a line of %d bytes, more than the %d this server accepts", longest, max)}
	}
	if env.Oversize > 0 {
		rc.refusal = refuseOversize(env.Oversize, cfg.Inbound.MaxMessageBytes)
	}
	rc.signals = decide.Signals{
		Loop:      policy.OwnLoop(msg, ownMail{cfg: cfg, store: p.store}),
		Spam:      policy.SpamFlagged(msg),
		DMARCFail: rc.proof.DMARCFail,
		Quiet:     env.Quiet,
	}
	if rc.refusal != nil {
		rc.signals.Refusal = rc.refusal.Message
	}
	return rc, nil
}

// handle stores one project's copy and returns the answer for its
// recipients.
func (p *Pipeline) handle(ctx context.Context, rc *received, proj *config.Project, kind config.AddressKind, tag string) error {
	m := toMail(proj, rc.env, rc.msg, rc.attach, rc.hash, rc.size)
	if kind == config.AddrReplyToken {
		m.RcptTag = tag
	}
	if kind == config.AddrProject {
		m.Subaddress = tag // may select a request type (issue 17)
	}
	m.SupportKey = rc.msg.Header.Get("X-Support-Key")
	m.ToInternal = kind == config.AddrInternal
	// A fallback identity (no usable From) proves nothing, whatever
	// trust_from says: trust_from trusts From, and there was none.
	m.SenderProven = (rc.cfg.TrustFrom || rc.proof.Proven()) && m.FromFallback == ""
	if rc.pgp != nil {
		// Only a decrypted mail makes the ticket an encrypted one: one
		// that could not be decrypted holds nothing secret, and its note
		// must reach the agents.
		m.Encrypted, m.Signature = rc.pgp.Plain != "", rc.pgp.Signature
		// The keys checked were those of From.
		m.KeySigned = rc.pgp.Signature == store.SignatureVerified
	}
	fw, err := p.attachedForward(proj, m, rc.cfg.Inbound.MaxTextBytes)
	if err != nil {
		p.log.Error("could not read a forwarded message", "msgid", rc.msg.MessageID, "project", proj.Key, "err", err)
		return fault.Temporary(err)
	}
	m.Forward = fw
	open, err := p.verdict(rc, proj, m)
	if err != nil {
		return err
	}
	v := m.Verdict
	sender := m.From
	if sender == "" {
		sender = m.MailFrom
	}
	if open.Person() {
		provenFrom := ""
		if m.SenderProven {
			provenFrom = rc.msg.From
		}
		envSender := rc.env.MailFrom
		if envSender == "" && !rc.env.NullSender {
			// No envelope at all (`deliver` without -f): the header
			// From is all there is to count by.
			envSender = sender
		}
		keys := floodKeys(proj.Key, envSender, provenFrom)
		flood := rc.cfg.Limits.NewTicketsPerSender
		m.AllowNew = func(tx store.Tx) error { return allowNewTicket(tx, keys, flood, p.now()) }
	}
	res, err := p.apply(ctx, rc, proj, m, kind, tag)
	if err == nil && rc.refusal != nil {
		err = p.refused(ctx, rc, res, v, sender)
	}
	if err == nil && p.PGP != nil && proj.PGP != nil && res != nil && !res.Duplicate && v.Person() {
		p.afterPGP(ctx, rc, proj, m, res, sender)
	}
	p.logOutcome(rc.env, proj, rc.msg, res, v, open.Auto, err, time.Since(rc.start))
	if res != nil && res.Queued > 0 && p.Queued != nil {
		p.Queued()
	}
	return err
}

// verdict sets m's verdict (decide.Decide) from the message's signals,
// the project's automatic-mail rules and a block on the sender. It also
// returns the verdict as if the sender were not blocked: a block silences
// the mail, but the flood limit and the outcome reported (metrics, audit)
// go by what the mail is.
func (p *Pipeline) verdict(rc *received, proj *config.Project, m *ticket.Mail) (open decide.Verdict, err error) {
	b, err := p.blocked(proj.Key, m.From, m.MailFrom)
	if err != nil {
		// A block that cannot be read may be this sender's: no mail
		// passes unchecked (the sender retries).
		p.log.Error("could not read the blocked senders", "msgid", rc.msg.MessageID, "project", proj.Key, "err", err)
		return decide.Verdict{}, fault.Temporary(err)
	}
	sig := rc.signals
	sig.Automatic = policy.Automatic(rc.msg, policy.Envelope{MailFrom: rc.env.MailFrom, Source: rc.env.Source}, policy.Options{IntakeLists: proj.IntakeLists})
	open = decide.Decide(sig)
	if b != nil {
		sig.BlockedSender, sig.Blocked = true, b.Reason
	}
	m.Verdict = decide.Decide(sig)
	return open, nil
}

// apply stores the copy: a delivery report about a copy of ours on that
// copy's ticket, anything else through the engine.
func (p *Pipeline) apply(ctx context.Context, rc *received, proj *config.Project, m *ticket.Mail, kind config.AddressKind, tag string) (*ticket.Result, error) {
	if rc.bounce != nil && m.Verdict.Loop == "" {
		bounceTag := ""
		if kind == config.AddrBounce {
			bounceTag = tag
		}
		res, handled, err := p.bounce(ctx, rc.cfg, proj, m, rc.bounce, bounceTag)
		if handled && err == nil && p.Queued != nil {
			p.Queued() // the agents' notice may be queued
		}
		if handled || err != nil {
			return res, err
		}
	}
	return p.engine.Ingest(ctx, m)
}

// refused answers a stored copy that broke a limit: in the SMTP/LMTP
// reply (and by `deliver`'s exit status), or, from IMAP, where no reply
// code reaches anyone, by mail to a human sender (rate limited like any
// auto-reply). The error is the answer. A retry of the same bytes is
// refused again: the refusal follows from the content, and a 250 for a
// duplicate would tell the sender it was accepted after all.
func (p *Pipeline) refused(ctx context.Context, rc *received, res *ticket.Result, v decide.Verdict, sender string) error {
	if answersSender(rc.env.Source) {
		return rc.refusal
	}
	if v.Human() && sender != "" && !res.Duplicate && res.Ticket != "" {
		if err := p.engine.MessageRefused(ctx, res, sender, rc.refusal.Message); err != nil {
			p.log.Error("could not queue the refusal notice", "ticket", res.Ticket, "err", err)
		} else if p.Queued != nil {
			p.Queued()
		}
	}
	return nil
}

func (p *Pipeline) logOutcome(env *mailin.Envelope, proj *config.Project, msg *message.Message, res *ticket.Result, v decide.Verdict, auto string, err error, elapsed time.Duration) {
	loop := v.Loop
	if p.Observe != nil {
		from := msg.From
		if from == "" {
			from = env.MailFrom
		}
		p.Observe(Outcome{Source: env.Source, From: from, Project: proj.Key, MessageID: msg.MessageID, Result: res, Verdict: v, Auto: auto, Loop: loop, Err: err, Elapsed: elapsed})
	}
	log := p.log.With("msgid", msg.MessageID, "project", proj.Key, "source", env.Source, "from", msg.From)
	if err != nil && res != nil && (res.Ticket != "" || res.Draft != "") {
		log.Warn("message stored for the agents but refused to the sender", "ticket", res.Ticket, "draft", res.Draft, "err", err)
		return
	}
	if err != nil {
		log.Error("message not stored", "err", err, "temporary", fault.IsTemporary(err))
		return
	}
	log = log.With("ticket", res.Ticket)
	switch {
	case res.Duplicate:
		log.Info("duplicate message, already stored", "draft", res.Draft)
	case res.Draft != "":
		// Issue 17: kept until its sender is entitled.
		log.Info("received: kept as a draft", "draft", res.Draft, "queued", res.Queued, "auto", auto)
	case res.Created:
		log.Info("received", "threaded_by", res.ThreadedBy, "created", true, "queued", res.Queued, "auto", auto, "loop", loop, "problems", len(msg.Problems))
	default:
		log.Info("received", "threaded_by", res.ThreadedBy, "queued", res.Queued, "auto", auto, "loop", loop, "problems", len(msg.Problems))
	}
	if loop != "" {
		log.Warn("our own mail came back; recorded, nothing sent", "reason", loop)
	} else if auto != "" {
		log.Info("automatic mail; no auto-reply or customer notification", "reason", auto)
	}
}

// spool writes the raw message into a blob. The blob's hash is the content
// hash used for duplicate detection. It is placed without its own fsync:
// the store makes it durable before the commit of the next Update, and
// every path that accepts a message stores it with an Update after this
// (engine.Ingest, the bounce handler), so it is still durable before 250.
// A small message (store.InlineBlobMax) stays in memory on its way in;
// raw is then its content, which parse reads instead of opening the blob
// again (nil for a message spooled to a file).
func (p *Pipeline) spool(r io.Reader) (hash string, size int64, raw []byte, longestLine int, err error) {
	w, err := p.store.NewBlob()
	if err != nil {
		return "", 0, nil, 0, err
	}
	lm := &lineMeter{r: r}
	// Past store.LargeBlobMin, where its blob pays its own fsync, a
	// message is large: the rest of it is read, hashed and written at a
	// lower CPU priority (package lowprio), and so is its parse (read).
	// Hashing, metering and decoding tens of megabytes keeps a CPU busy
	// for a quarter of a second, which on a small machine would otherwise
	// come out of the small requests' latency.
	if _, err := lowprio.CopyPast(store.LargeBlobMin, w, lm, p.bufs.Copy); err != nil {
		w.Abort()
		return "", 0, nil, 0, fmt.Errorf("ingest: spool: %w", err)
	}
	if m, ok := w.(inMemory); ok {
		raw = m.Bytes()
	}
	hash, err = w.CommitPending()
	return hash, w.Size(), raw, lm.longest, err
}

// inMemory is a BlobWriter that can hand out its content while it is in
// memory (store.Spool's Bytes: nil once it moved to a file).
type inMemory interface{ Bytes() []byte }

// lineMeter measures the longest line (without its line end) of what is
// read through it.
type lineMeter struct {
	r       io.Reader
	cur     int
	longest int
}

func (m *lineMeter) Read(b []byte) (int, error) {
	n, err := m.r.Read(b)
	m.meter(b[:n])
	return n, err
}

// meter counts p a line at a time: a line's length is its bytes but CR
// and LF, found with bytes.IndexByte and bytes.Count (vectorised) rather
// than a byte at a time (a 4 KB message crossed the loop 4,000 times).
func (m *lineMeter) meter(p []byte) {
	for len(p) > 0 {
		line, rest, nl := bytes.Cut(p, lf)
		m.cur += len(line) - bytes.Count(line, cr)
		m.longest = max(m.longest, m.cur)
		if !nl {
			return
		}
		m.cur, p = 0, rest
	}
}

var cr, lf = []byte{'\r'}, []byte{'\n'}

// parse reads the spooled message from raw, its content when it was
// spooled in memory (and so hashed from these very bytes), else from its
// blob: attachments stream into their own blobs and at most maxText bytes
// of text are kept, so memory per message does not grow with its size.
func (p *Pipeline) parse(hash string, raw []byte, maxText int) (*message.Message, []store.Attachment, error) {
	var f io.Reader
	if raw != nil {
		f = bytes.NewReader(raw)
	} else {
		b, err := p.store.OpenBlob(hash)
		if err != nil {
			return nil, nil, err
		}
		defer b.Close()
		f = b
	}
	var attach []store.Attachment
	br, _ := p.readers.Get().(*bufio.Reader)
	if br == nil {
		br = bufio.NewReaderSize(nil, 32<<10)
	}
	defer func() {
		br.Reset(nil) // hold on to no file
		p.readers.Put(br)
	}()
	msg, err := message.Parse(f, message.ParseOptions{
		Reader:       br,
		MaxTextBytes: maxText,
		Attachments: func(a *message.Attachment, r io.Reader) (string, error) {
			// Durable with the message's Update, like the raw blob.
			h, _, err := p.store.PutBlobPending(r)
			return h, err
		},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("ingest: parse: %w", err)
	}
	for _, a := range msg.Attachments {
		attach = append(attach, store.Attachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, Blob: a.Ref, ContentID: a.ContentID, Inline: a.Inline})
	}
	return msg, attach, nil
}

func addrs(list []message.Address) []string {
	out := make([]string, 0, len(list))
	for _, a := range list {
		if a.Address != "" {
			out = append(out, strings.ToLower(a.Address))
		}
	}
	return out
}

func toMail(proj *config.Project, env *mailin.Envelope, msg *message.Message, attach []store.Attachment, hash string, size int64) *ticket.Mail {
	names := map[string]string{}
	for _, a := range append(append([]message.Address(nil), msg.To...), msg.Cc...) {
		if a.Name != "" {
			names[strings.ToLower(a.Address)] = a.Name
		}
	}
	from, fromName, fallback := authorAddress(env, msg)
	return &ticket.Mail{
		Project: proj.Key, Source: env.Source, MailFrom: strings.ToLower(env.MailFrom),
		From: from, FromName: fromName, FromNameAddress: msg.FromNameAddress, FromFallback: fallback,
		To: addrs(msg.To), Cc: addrs(msg.Cc), CcNames: names,
		Subject: msg.Subject, MessageID: msg.MessageID, InReplyTo: msg.InReplyTo, References: msg.References,
		Date: msg.Date, Text: msg.Text, HTML: msg.HTML, TextCut: msg.TextCut, Attach: attach,
		Raw: hash, RawSize: size, Problems: msg.Problems, ReplyTo: addrs(msg.ReplyTo),
	}
}

// authorAddress is the mail's From, or for a mail without a usable From
// (none, `"x" <>`) the address decide.FallbackFrom takes from Reply-To,
// Sender or the envelope, with the name that header gave and where it
// came from.
func authorAddress(env *mailin.Envelope, msg *message.Message) (from, name, fallback string) {
	if decide.UsableFrom(msg.From) {
		return strings.ToLower(msg.From), msg.FromName, ""
	}
	sender := message.ParseAddressList(msg.Get("Sender"))
	senderAddr := ""
	if len(sender) > 0 {
		senderAddr = sender[0].Address
	}
	from, fallback = decide.FallbackFrom(addrs(msg.ReplyTo), senderAddr, env.MailFrom)
	switch fallback {
	case decide.FromReplyTo:
		for _, a := range msg.ReplyTo {
			if strings.EqualFold(a.Address, from) {
				name = a.Name
				break
			}
		}
	case decide.FromSender:
		name = sender[0].Name
	case "":
		// Nothing usable anywhere: as before, From as it was.
		return strings.ToLower(msg.From), msg.FromName, ""
	}
	return from, name, fallback
}

// ownMail answers the policy stage's questions about our own mail.
type ownMail struct {
	cfg   *config.Config
	store store.DB
}

func (o ownMail) IsOwnAddress(addr string) bool { return o.cfg.IsOwnAddress(addr) }

// MintedMessageID is true for a Message-ID of the form we mint whose token
// we issued.
func (o ownMail) MintedMessageID(id string) bool {
	tok, ok := ticket.TokenFromMessageID(id)
	if !ok {
		return false
	}
	found := false
	o.store.View(func(tx store.Tx) error {
		_, err := tx.Token(tok)
		found = err == nil
		return nil
	})
	return found
}

// answersSender reports whether a source has a reply code that reaches the
// sender (SMTP and LMTP do; `deliver` turns it into its exit status, which
// makes the MTA bounce); IMAP has none.
func answersSender(source string) bool {
	return source != "imap"
}

// blocked returns the block on a message's sender (From, else the envelope
// sender) in project, or nil.
func (p *Pipeline) blocked(project string, addrs ...string) (*store.Block, error) {
	var b *store.Block
	err := p.store.View(func(tx store.Tx) error {
		for _, a := range addrs {
			if a != "" {
				var err error
				if b, err = tx.Blocked(project, strings.ToLower(a)); b != nil || err != nil {
					return err
				}
			}
		}
		return nil
	})
	return b, err
}
