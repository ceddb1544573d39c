package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ticketgate/ticketgate/internal/lowprio"
	"github.com/ticketgate/ticketgate/msgid"
)

// FanoutOptions drive the large-reply case of the core issue: an agent
// answers a ticket with four customers (the reporter and three Cc'd
// participants) with one large attachment, once on an idle daemon and once
// while small new requests arrive at a steady rate.
type FanoutOptions struct {
	SMTP    string
	Address string // the project address
	Agent   string // an agent of the project (the bench config trusts From)
	Bytes   int64  // the attachment's size before base64
	// Rate and Duration: the small new requests of each phase (one
	// phase without the large reply, one with it sent a quarter in).
	Rate     float64
	Duration time.Duration
	Sink     *Sink
	DataDir  string
	PID      int
}

// FanoutResult is what a fanout run measured.
type FanoutResult struct {
	Ticket          string  `json:"ticket"`
	AttachmentBytes int64   `json:"attachment_bytes"`
	MessageBytes    int64   `json:"message_bytes"`
	Customers       int     `json:"customers"`
	IdleTo250Ms     float64 `json:"idle_data_to_250_ms"`
	IdleCopies      int     `json:"idle_copies"`
	IdleCopiesSec   float64 `json:"idle_250_to_last_copy_s"`
	StoreGrowth     int64   `json:"store_growth_bytes"`
	LoadedTo250Ms   float64 `json:"loaded_data_to_250_ms"`
	LoadedCopies    int     `json:"loaded_copies"`
	LoadedCopiesSec float64 `json:"loaded_250_to_last_copy_s"`
	Baseline        *Report `json:"baseline"`
	During          *Report `json:"during"`
}

// Fanout runs the case; see FanoutOptions.
func Fanout(ctx context.Context, o FanoutOptions) (*FanoutResult, error) {
	if o.Sink == nil {
		return nil, errors.New("fanout: needs the sink (the daemon's relay)")
	}
	res := &FanoutResult{AttachmentBytes: o.Bytes}
	run := strings.ToLower(strconvBase36(uint64(time.Now().UnixNano())))
	customers := []string{"c1-" + run + "@customer.example", "c2-" + run + "@customer.example", "c3-" + run + "@other.example", "c4-" + run + "@third.example"}

	// The ticket: the reporter writes with three others in Cc.
	var mu sync.Mutex
	var key string
	got := make(chan struct{}, 1)
	reqID := "fanout-" + run + "@customer.example"
	o.Sink.setWatch(func(m *Outbound) {
		if m.InReplyTo != msgid.Canonical(reqID) {
			return
		}
		if k := ticketKeyRE.FindStringSubmatch(m.Subject); k != nil {
			mu.Lock()
			if key == "" {
				key = k[1]
				got <- struct{}{}
			}
			mu.Unlock()
		}
	})
	head := fmt.Sprintf("From: Customer One <%s>\r\nTo: %s\r\nCc: %s, %s, %s\r\nSubject: Fanout %s\r\nMessage-ID: <%s>\r\n%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease send us the log files.\r\n",
		customers[0], o.Address, customers[1], customers[2], customers[3], run, reqID, dateHeader)
	if _, err := sendPrepared(o.SMTP, customers[0], o.Address, head, nil); err != nil {
		return nil, fmt.Errorf("fanout: the request: %w", err)
	}
	select {
	case <-got:
	case <-time.After(time.Minute):
		return nil, errors.New("fanout: no auto-reply for the request within a minute")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res.Ticket = key
	res.Customers = len(customers)

	// The reply's body is made once, before anything is timed: its base64
	// costs the tool CPU that a remote agent's client would not take from
	// the daemon.
	var bb bytes.Buffer
	if _, err := io.Copy(&bb, attachmentMail("Here are the log files.", "logs.bin", o.Bytes)); err != nil {
		return nil, err
	}
	body := bb.Bytes()

	// bigReply sends the agent's answer and waits for its copies.
	reply := 0
	bigReply := func() (s sent, copies int, lastSec float64, err error) {
		reply++
		subject := fmt.Sprintf("Re: [%s] Fanout %s (%d)", key, run, reply)
		var cmu sync.Mutex
		var last time.Time
		n := 0
		all := make(chan struct{}, 1)
		o.Sink.setWatch(func(m *Outbound) {
			// The copies are the only large mails; each goes to one
			// of the ticket's customers.
			if m.Bytes < o.Bytes {
				return
			}
			cmu.Lock()
			for _, r := range m.Rcpts {
				if slices.Contains(customers, strings.ToLower(r)) {
					n++
				}
			}
			last = m.Done
			if n >= len(customers) {
				select {
				case all <- struct{}{}:
				default:
				}
			}
			cmu.Unlock()
		})
		defer o.Sink.setWatch(nil)
		head := fmt.Sprintf("From: Agent <%s>\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <fanout-%s-%d@agent.example>\r\n%sMIME-Version: 1.0\r\n", o.Agent, o.Address, subject, run, reply, dateHeader)
		t, err := sendPrepared(o.SMTP, o.Agent, o.Address, head, body)
		if err != nil {
			return sent{}, 0, 0, fmt.Errorf("fanout: the reply: %w", err)
		}
		done := time.Now()
		select {
		case <-all:
		case <-time.After(2 * time.Minute):
		case <-ctx.Done():
			return sent{}, 0, 0, ctx.Err()
		}
		cmu.Lock()
		defer cmu.Unlock()
		return t, n, last.Sub(done).Seconds(), nil
	}

	// Alone: its 250, its copies and what it adds to the store.
	before := storeBytes(o.DataDir)
	t, n, sec, err := bigReply()
	if err != nil {
		return nil, err
	}
	res.MessageBytes = t.bytes
	res.IdleTo250Ms, res.IdleCopies, res.IdleCopiesSec = ms(t.to250), n, sec
	if o.DataDir != "" {
		res.StoreGrowth = storeBytes(o.DataDir) - before
	}

	small := Options{SMTP: o.SMTP, Conns: 8, Rate: o.Rate, Duration: o.Duration, Address: o.Address, Agent: o.Agent, Sink: o.Sink, PID: o.PID, Wait: 10 * time.Second}
	small.Mix, _ = ParseMix("new=100")
	if res.Baseline, err = Run(ctx, small); err != nil {
		return nil, err
	}
	type big struct {
		t   sent
		n   int
		sec float64
		err error
	}
	bc := make(chan big, 1)
	go func() {
		select {
		case <-time.After(o.Duration / 4):
		case <-ctx.Done():
			bc <- big{err: ctx.Err()}
			return
		}
		t, n, sec, err := bigReply()
		bc <- big{t, n, sec, err}
	}()
	if res.During, err = Run(ctx, small); err != nil {
		return nil, err
	}
	b := <-bc
	if b.err != nil {
		return nil, b.err
	}
	res.LoadedTo250Ms, res.LoadedCopies, res.LoadedCopiesSec = ms(b.t.to250), b.n, b.sec
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// sent is what sendPrepared measured: end of DATA → 250, and the message's size.
type sent struct {
	to250 time.Duration
	bytes int64
}

// sendPrepared sends head and body, a message whose lines are CRLF-ended
// and none of which starts with a dot, and times end of DATA → 250. It
// writes the DATA itself instead of through go-smtp's client, whose dot
// writer handles each byte: the tool stands in for a client on another
// machine, so it should take as little CPU from the daemon as it can.
// Past largeMail bytes it writes at lower priority, as the sink reads.
func sendPrepared(addr, from, rcpt, head string, body []byte) (sent, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return sent{}, err
	}
	defer conn.Close()
	tp := textproto.NewConn(conn)
	if _, _, err := tp.ReadResponse(220); err != nil {
		return sent{}, err
	}
	if err := dialogue(tp, smtpStep{"EHLO fanout.bench", 250}, smtpStep{"MAIL FROM:<" + from + ">", 250}, smtpStep{"RCPT TO:<" + rcpt + ">", 250}, smtpStep{"DATA", 354}); err != nil {
		return sent{}, err
	}
	msg := io.MultiReader(strings.NewReader(head), bytes.NewReader(body), strings.NewReader(".\r\n"))
	if _, err := lowprio.CopyPast(largeMail, conn, msg, io.Copy); err != nil {
		return sent{}, err
	}
	t0 := time.Now()
	if _, _, err := tp.ReadResponse(250); err != nil {
		return sent{}, err
	}
	d := time.Since(t0)
	tp.Cmd("QUIT")
	return sent{d, int64(len(head) + len(body))}, nil
}

// smtpStep is one command of a hand-written SMTP dialogue and the reply
// code it expects.
type smtpStep struct {
	cmd  string
	code int
}

// dialogue sends each command and reads its reply before the next (the
// relays the tool talks to do not pipeline).
func dialogue(tp *textproto.Conn, steps ...smtpStep) error {
	for _, s := range steps {
		if err := tp.PrintfLine("%s", s.cmd); err != nil {
			return err
		}
		if _, _, err := tp.ReadResponse(s.code); err != nil {
			return fmt.Errorf("%s: %w", s.cmd, err)
		}
	}
	return nil
}
