package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// Options drive one load run against a running daemon.
type Options struct {
	SMTP string // host:port of the daemon's SMTP listener
	LMTP string // optional host:port of its LMTP listener: half the connections use it
	// Conns is the number of concurrent connections.
	Conns int
	// N messages, or for Duration (whichever ends first; 0 = unlimited).
	N        int
	Duration time.Duration
	// Rate in messages per second over all connections; 0 = as fast as
	// the daemon answers.
	Rate    float64
	Mix     *Mix
	Corpus  *Corpus
	Address string // the project's address
	Agent   string // an agent of the project (agent replies)
	Sink    *Sink  // receives the daemon's outbound mail; may be nil
	// Wait is how long the run waits after sending for outbound mail
	// while none arrives.
	Wait time.Duration
	// Settle: after the load, how long the daemon and its children must
	// have been quiet before the CPU per request until quiet is taken
	// (0: not taken). Longer than the daemon's search pacing, which puts
	// a catch-up off until a second after a burst, or 5 s after the last.
	Settle   time.Duration
	PID      int    // daemon process to sample (0 = none)
	DataDir  string // daemon's data_dir for store bytes (optional)
	RunID    string // makes Message-IDs unique across runs; random if empty
	Progress func(string)
}

// Report is what a run measured. Durations are milliseconds.
type Report struct {
	Started        time.Time      `json:"started"`
	Conns          int            `json:"connections"`
	TargetRate     float64        `json:"target_rate,omitempty"`
	Mix            string         `json:"mix"`
	CorpusBodies   int            `json:"corpus_bodies"`
	Sent           int            `json:"sent"`
	Accepted       int            `json:"accepted"`
	TempFailed     int            `json:"temp_failed"`
	PermFailed     int            `json:"perm_failed"`
	ConnErrors     int            `json:"conn_errors"`
	SentByKind     map[string]int `json:"sent_by_kind"`
	ElapsedSec     float64        `json:"elapsed_s"`
	AcceptedPerSec float64        `json:"accepted_per_s"`
	DataTo250      Percentiles    `json:"data_to_250_ms"`
	AutoExpected   int            `json:"auto_replies_expected"`
	AutoMatched    int            `json:"auto_replies_matched"`
	ArrivalToAuto  Percentiles    `json:"arrival_to_auto_reply_ms"`
	Outbound       int            `json:"outbound"`
	OutboundPerSec float64        `json:"outbound_per_s"`
	RSSAnonStartMB float64        `json:"rss_anon_start_mb,omitempty"`
	RSSAnonMaxMB   float64        `json:"rss_anon_max_mb,omitempty"`
	RSSAnonEndMB   float64        `json:"rss_anon_end_mb,omitempty"`
	CPUPercent     float64        `json:"daemon_cpu_percent,omitempty"`
	// CPUPerRequestMs is the CPU of the daemon and its search worker
	// from the start until both went quiet after the load, per accepted
	// message: what the index did after the load counts too.
	CPUPerRequestMs   float64  `json:"daemon_cpu_ms_per_request,omitempty"`
	MajorFaults       int64    `json:"daemon_major_faults"`
	StoreBytesStart   int64    `json:"store_bytes_start,omitempty"`
	StoreBytesEnd     int64    `json:"store_bytes_end,omitempty"`
	NewTickets        int      `json:"new_tickets"`
	BytesPerNewTicket float64  `json:"store_bytes_per_new_ticket,omitempty"`
	Errors            []string `json:"errors,omitempty"`
}

// Percentiles of a latency sample, in milliseconds.
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	return Percentiles{N: len(d), P50: at(0.50), P95: at(0.95), P99: at(0.99), Max: at(1)}
}

// tracker matches outbound mail to the requests that caused it.
type tracker struct {
	pool *pool

	mu       sync.Mutex
	inflight map[string]*pending // inbound Message-ID → new request in flight
	autoLat  []time.Duration
	matched  int
}

type pending struct {
	ref     *ticketRef
	arrival time.Time // end of DATA sent
}

// sent registers a request at its end of DATA, before the server's
// answer: a fast auto-reply can reach the sink before the client has read
// the 250.
func (t *tracker) sent(ref *ticketRef, arrival time.Time) {
	t.mu.Lock()
	t.inflight[ref.msgID] = &pending{ref: ref, arrival: arrival}
	t.mu.Unlock()
}

// forget drops a request the daemon did not accept.
func (t *tracker) forget(ref *ticketRef) {
	t.mu.Lock()
	delete(t.inflight, ref.msgID)
	t.mu.Unlock()
}

// outbound is the sink's handler: the first mail to a request's sender
// that answers its Message-ID is its auto-reply.
func (t *tracker) outbound(o *Outbound) {
	if o.InReplyTo == "" {
		return
	}
	t.mu.Lock()
	p, ok := t.inflight[o.InReplyTo]
	if !ok || !slices.ContainsFunc(o.Rcpts, func(r string) bool { return strings.EqualFold(r, p.ref.sender) }) {
		t.mu.Unlock()
		return
	}
	delete(t.inflight, o.InReplyTo)
	t.autoLat = append(t.autoLat, o.At.Sub(p.arrival))
	t.matched++
	t.mu.Unlock()
	ref := *p.ref
	if m := ticketKeyRE.FindStringSubmatch(o.Subject); m != nil {
		ref.ticket = m[1]
	}
	ref.replyID, ref.bounceTo, ref.autoReply = o.MessageID, o.MailFrom, true
	if ref.ticket != "" && ref.replyID != "" && ref.bounceTo != "" {
		t.pool.addAnswered(&ref)
	}
}

// Run sends the load and reports.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.Conns <= 0 {
		o.Conns = 32
	}
	if o.N <= 0 && o.Duration <= 0 {
		return nil, errors.New("bench: give -n or --duration")
	}
	if o.Mix == nil {
		o.Mix, _ = ParseMix(defaultMix)
	}
	if o.RunID == "" {
		o.RunID = strings.ToLower(strconvBase36(rand.Uint64()))[:6]
	}
	if o.Wait == 0 {
		o.Wait = 15 * time.Second
	}
	pl := &pool{}
	tr := &tracker{pool: pl, inflight: map[string]*pending{}}
	if o.Sink != nil {
		o.Sink.reset()
		o.Sink.setHandler(tr.outbound)
		defer o.Sink.setHandler(nil)
	}
	b := &builder{run: o.RunID, address: o.Address, agent: o.Agent, corpus: o.Corpus, pool: pl}
	rep := &Report{Started: time.Now().UTC(), Conns: o.Conns, TargetRate: o.Rate, Mix: mixString(o.Mix), SentByKind: map[string]int{}}
	if o.Corpus != nil {
		rep.CorpusBodies = o.Corpus.Len()
	}
	var sampler *procSampler
	if o.PID > 0 {
		sampler = startSampler(o.PID, 200*time.Millisecond)
	}
	if o.DataDir != "" {
		rep.StoreBytesStart = storeBytes(o.DataDir)
	}

	var (
		seq      atomic.Uint64
		mu       sync.Mutex
		lat      []time.Duration
		errs     []string
		wg       sync.WaitGroup
		start    = time.Now()
		deadline time.Time
	)
	if o.Duration > 0 {
		deadline = start.Add(o.Duration)
	}
	next := func() (uint64, bool) {
		n := seq.Add(1)
		if o.N > 0 && n > uint64(o.N) {
			return 0, false
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return 0, false
		}
		if o.Rate > 0 {
			// Open loop: message n is due at start + (n-1)/rate,
			// whatever the answers before it took.
			due := start.Add(time.Duration(float64(n-1) / o.Rate * float64(time.Second)))
			if d := time.Until(due); d > 0 {
				select {
				case <-time.After(d):
				case <-ctx.Done():
					return 0, false
				}
			}
		}
		return n, ctx.Err() == nil
	}
	addErr := func(s string) {
		mu.Lock()
		if len(errs) < 20 {
			errs = append(errs, s)
		}
		mu.Unlock()
	}
	for w := range o.Conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w)+1, uint64(start.UnixNano())))
			lmtp := o.LMTP != "" && w%2 == 1
			var c *smtp.Client
			defer func() {
				if c != nil {
					c.Quit()
				}
			}()
			var mine []time.Duration
			counts := map[string]int{}
			var accepted, temp, perm, connErr int
			for {
				n, ok := next()
				if !ok {
					break
				}
				if c == nil {
					var err error
					if c, err = dial(o, lmtp, w); err != nil {
						connErr++
						addErr(err.Error())
						time.Sleep(100 * time.Millisecond)
						continue
					}
				}
				m := b.build(r, n, o.Mix.pick(r))
				counts[m.kind]++
				var endOfData func(time.Time)
				if m.ref != nil {
					endOfData = func(t0 time.Time) { tr.sent(m.ref, t0) }
				}
				d, err := send(c, m, lmtp, endOfData)
				if err != nil && m.ref != nil {
					tr.forget(m.ref)
				}
				var se *smtp.SMTPError
				switch {
				case err == nil:
					accepted++
					mine = append(mine, d)
					if m.ref != nil {
						pl.addAccepted(m.ref)
					}
				case errors.As(err, &se) && se.Code >= 400 && se.Code < 500:
					temp++
					addErr(fmt.Sprintf("%s: %v", m.kind, err))
					c.Reset()
				case errors.As(err, &se):
					perm++
					addErr(fmt.Sprintf("%s: %v", m.kind, err))
					c.Reset()
				default:
					connErr++
					addErr(fmt.Sprintf("%s: %v", m.kind, err))
					c.Close()
					c = nil
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			rep.Accepted += accepted
			rep.TempFailed += temp
			rep.PermFailed += perm
			rep.ConnErrors += connErr
			for k, v := range counts {
				rep.SentByKind[k] += v
				rep.Sent += v
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if sampler != nil {
		sampler.mark()
	}
	rep.ElapsedSec = elapsed.Seconds()
	rep.AcceptedPerSec = float64(rep.Accepted) / elapsed.Seconds()
	rep.DataTo250 = percentiles(lat)
	rep.Errors = errs

	// Wait for the outbound mail still on its way: until every
	// auto-reply is in and the rest (agent notices, answers) has stopped
	// for a second, or nothing at all arrived for Wait.
	tr.mu.Lock()
	rep.AutoExpected = tr.matched + len(tr.inflight)
	tr.mu.Unlock()
	rep.NewTickets = rep.AutoExpected
	if o.Sink != nil {
		lastCount, lastChange := -1, time.Now()
		for time.Since(lastChange) < o.Wait && ctx.Err() == nil {
			tr.mu.Lock()
			left := len(tr.inflight)
			tr.mu.Unlock()
			n, _, _ := o.Sink.stats()
			if n != lastCount {
				lastCount, lastChange = n, time.Now()
			}
			if left == 0 && time.Since(lastChange) > time.Second {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		tr.mu.Lock()
		rep.AutoMatched = tr.matched
		rep.ArrivalToAuto = percentiles(tr.autoLat)
		for id := range tr.inflight {
			if len(rep.Errors) >= 25 {
				break
			}
			rep.Errors = append(rep.Errors, "no auto-reply to <"+id+">")
		}
		tr.mu.Unlock()
		n, first, last := o.Sink.stats()
		rep.Outbound = n
		if n > 1 && last.After(first) {
			rep.OutboundPerSec = float64(n-1) / last.Sub(first).Seconds()
		}
	}
	if sampler != nil {
		if o.Settle > 0 {
			sampler.settle(o.Settle, 2*time.Minute)
		}
		st := sampler.stop()
		if rep.Accepted > 0 {
			rep.CPUPerRequestMs = float64(st.settled) / float64(time.Millisecond) / float64(rep.Accepted)
		}
		rep.RSSAnonStartMB, rep.RSSAnonMaxMB, rep.RSSAnonEndMB = st.startMB, st.maxMB, st.endMB
		if st.wall > 0 {
			rep.CPUPercent = 100 * st.cpu.Seconds() / st.wall.Seconds()
		}
		rep.MajorFaults = st.majFaults
	}
	if o.DataDir != "" {
		rep.StoreBytesEnd = storeBytes(o.DataDir)
		if rep.NewTickets > 0 {
			rep.BytesPerNewTicket = float64(rep.StoreBytesEnd-rep.StoreBytesStart) / float64(rep.NewTickets)
		}
	}
	return rep, nil
}

// dial connects connection w: to the LMTP listener when lmtp, else to one
// of the SMTP addresses (a comma-separated list spreads the connections
// over several nodes, round robin).
func dial(o Options, lmtp bool, w int) (*smtp.Client, error) {
	if lmtp {
		conn, err := net.DialTimeout("tcp", o.LMTP, 10*time.Second)
		if err != nil {
			return nil, fmt.Errorf("lmtp dial: %w", err)
		}
		c := smtp.NewClientLMTP(conn)
		if err := c.Hello("bench.example"); err != nil {
			c.Close()
			return nil, fmt.Errorf("lmtp LHLO: %w", err)
		}
		return c, nil
	}
	addrs := strings.Split(o.SMTP, ",")
	c, err := smtp.Dial(strings.TrimSpace(addrs[w%len(addrs)]))
	if err != nil {
		return nil, fmt.Errorf("smtp dial: %w", err)
	}
	if err := c.Hello("bench.example"); err != nil {
		c.Close()
		return nil, fmt.Errorf("smtp EHLO: %w", err)
	}
	return c, nil
}

// send runs one transaction and returns the time from the end of DATA (the
// final ".") to the server's answer. endOfData, if set, is called with the
// time the end of DATA goes out, before the answer is read.
func send(c *smtp.Client, m *outMsg, lmtp bool, endOfData func(time.Time)) (time.Duration, error) {
	if err := c.Mail(m.mailFrom, nil); err != nil {
		return 0, err
	}
	if err := c.Rcpt(m.rcpt, nil); err != nil {
		return 0, err
	}
	wc, err := c.Data()
	if err != nil {
		return 0, err
	}
	if _, err := bytes.NewReader(m.raw).WriteTo(wc); err != nil {
		return 0, err
	}
	t0 := time.Now()
	if endOfData != nil {
		endOfData(t0)
	}
	if lmtp {
		// An LMTPDataError unwraps to the recipient's *SMTPError.
		_, err = wc.CloseWithLMTPResponse()
	} else {
		err = wc.Close()
	}
	return time.Since(t0), err
}

func mixString(m *Mix) string {
	parts := make([]string, len(m.kinds))
	for i, k := range m.kinds {
		parts[i] = fmt.Sprintf("%s=%d", k, m.weights[i])
	}
	return strings.Join(parts, ",")
}

func strconvBase36(v uint64) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var b []byte
	for v > 0 {
		b = append(b, digits[v%36])
		v /= 36
	}
	for len(b) < 8 {
		b = append(b, '0')
	}
	return string(b)
}
