package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// Floor is the least a durable, auto-replying mail gateway does for one
// new request: take it over SMTP (go-smtp, as the daemon does), make it
// durable (appended to one log file, one fsync per group of messages),
// answer 250, then send an auto-reply to the sender and a notice to each
// agent over persistent SMTP connections. No parsing beyond the
// Message-ID, no threading, no store, no templates. Its throughput
// against smtpload's do-nothing receiver, measured in the same run as
// the daemon's, tells how much of the target ratio is left for the
// domain on that machine (BENCHMARKS.md).
type Floor struct {
	// Relay is the host:port outbound mail goes to; Agents get a notice
	// each; Workers is the number of relay connections.
	Relay   string
	From    string
	Agents  []string
	Workers int

	log  *os.File
	reqs chan *floorReq
	out  chan *floorReq
	quit chan struct{}
	srv  *smtp.Server
	ln   net.Listener
	wg   sync.WaitGroup
	mu   sync.Mutex
	err  error // the first failure of a relay connection
}

type floorReq struct {
	from, id string
	raw      []byte
	done     chan error
}

// StartFloor listens on addr and appends to dir/floor.log.
func StartFloor(addr, dir string, f *Floor) error {
	lf, err := os.OpenFile(filepath.Join(dir, "floor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		lf.Close()
		return err
	}
	f.log, f.ln = lf, ln
	f.reqs, f.out, f.quit = make(chan *floorReq, 1024), make(chan *floorReq, 1<<16), make(chan struct{})
	f.srv = smtp.NewServer(floorBackend{f})
	f.srv.Domain = "floor.bench"
	f.wg.Add(1 + f.Workers)
	go func() { defer f.wg.Done(); f.commit() }()
	for range f.Workers {
		go func() { defer f.wg.Done(); f.send() }()
	}
	go f.srv.Serve(ln)
	return nil
}

// Addr is where the floor listens.
func (f *Floor) Addr() string { return f.ln.Addr().String() }

// Close stops taking mail (sessions get 5 s to end), sends what was
// taken and returns the first relay failure.
func (f *Floor) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f.srv.Shutdown(ctx) != nil {
		f.srv.Close()
	}
	close(f.quit)
	f.wg.Wait()
	f.log.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// errFloorClosed answers mail that arrives while the floor stops.
var errFloorClosed = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "stopping"}

// commit appends each group of waiting messages and syncs it once.
func (f *Floor) commit() {
	w := bufio.NewWriterSize(f.log, 1<<20)
	var n [8]byte
	for {
		var batch []*floorReq
		select {
		case r := <-f.reqs:
			batch = append(batch, r)
		case <-f.quit:
			return
		}
	more:
		for {
			select {
			case r := <-f.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		for _, r := range batch {
			binary.BigEndian.PutUint64(n[:], uint64(len(r.raw)))
			w.Write(n[:])
			w.Write(r.raw)
		}
		err := w.Flush()
		if err == nil {
			err = f.log.Sync()
		}
		for _, r := range batch {
			r.done <- err
		}
	}
}

var floorMsgID = regexp.MustCompile(`(?im)^Message-ID:[ \t]*(<[^>\r\n]+>)`)

// send keeps one relay connection and sends the auto-reply and the
// agents' notices of each request on it, one transaction after the other
// (smtpload's receiver does not pipeline).
func (f *Floor) send() {
	var tp *textproto.Conn
	for {
		var r *floorReq
		select {
		case r = <-f.out:
		case <-f.quit:
			select {
			case r = <-f.out: // what was taken before the stop is sent
			default:
			}
		}
		if r == nil {
			break
		}
		if tp == nil {
			var err error
			if tp, err = floorDial(f.Relay); err != nil {
				f.fail(err)
				continue
			}
		}
		for _, to := range append([]string{r.from}, f.Agents...) {
			if err := floorSendOne(tp, f.From, to, r.id); err != nil {
				f.fail(err)
				tp.Close()
				tp = nil
				break
			}
		}
	}
	if tp != nil {
		tp.PrintfLine("QUIT")
		tp.Close()
	}
}

func (f *Floor) fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func floorDial(addr string) (*textproto.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	tp := textproto.NewConn(c)
	if _, _, err := tp.ReadResponse(220); err != nil {
		tp.Close()
		return nil, err
	}
	if err := dialogue(tp, smtpStep{"EHLO floor.bench", 250}); err != nil {
		tp.Close()
		return nil, err
	}
	return tp, nil
}

func floorSendOne(tp *textproto.Conn, from, to, inReplyTo string) error {
	if err := dialogue(tp, smtpStep{"MAIL FROM:<" + from + ">", 250}, smtpStep{"RCPT TO:<" + to + ">", 250}, smtpStep{"DATA", 354}); err != nil {
		return err
	}
	dw := tp.DotWriter()
	fmt.Fprintf(dw, "From: <%s>\r\nTo: <%s>\r\nSubject: [ACME-1] We have your request\r\nMessage-ID: <%d.floor@floor.bench>\r\n", from, to, time.Now().UnixNano())
	if inReplyTo != "" {
		fmt.Fprintf(dw, "In-Reply-To: %s\r\nReferences: %s\r\n", inReplyTo, inReplyTo)
	}
	io.WriteString(dw, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"+
		"Hello,\r\n\r\nwe have your request and answer it soon. Follow it here:\r\nhttp://127.0.0.1:8089/t/ACME-1\r\n\r\n-- \r\nACME Support\r\n")
	if err := dw.Close(); err != nil {
		return err
	}
	_, _, err := tp.ReadResponse(250)
	return err
}

type floorBackend struct{ f *Floor }

func (b floorBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &floorSession{f: b.f}, nil
}

type floorSession struct {
	f    *Floor
	from string
}

func (s *floorSession) Mail(from string, _ *smtp.MailOptions) error { s.from = from; return nil }
func (s *floorSession) Rcpt(string, *smtp.RcptOptions) error        { return nil }
func (s *floorSession) Reset()                                      { s.from = "" }
func (s *floorSession) Logout() error                               { return nil }

func (s *floorSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	var id string
	if head, _, _ := bytes.Cut(raw, []byte("\r\n\r\n")); len(head) > 0 {
		if m := floorMsgID.FindSubmatch(head); m != nil {
			id = string(m[1])
		}
	}
	req := &floorReq{from: s.from, id: id, raw: raw, done: make(chan error, 1)}
	select {
	case s.f.reqs <- req:
	case <-s.f.quit:
		return errFloorClosed
	}
	select {
	case err := <-req.done:
		if err != nil {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "not stored: " + err.Error()}
		}
	case <-s.f.quit:
		return errFloorClosed
	}
	select {
	case s.f.out <- req:
	case <-s.f.quit:
	}
	return nil
}

// runFloor is `ticketgate-bench floor`: it runs until interrupted.
func runFloor(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ticketgate-bench floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:2525", "SMTP listener")
	relay := fs.String("relay", "127.0.0.1:2526", "relay for the auto-replies and notices (smtpload's -sink)")
	dir := fs.String("data-dir", "", "folder for the log (required)")
	from := fs.String("from", "acme@support.test", "sender of the outbound mail")
	agents := fs.String("agents", "alice@example.com", "comma-separated agents who get a notice of each request")
	workers := fs.Int("workers", 16, "relay connections (the daemon's outbound.workers default)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dir == "" {
		fmt.Fprintln(stderr, "floor: --data-dir is required")
		return 2
	}
	f := &Floor{Relay: *relay, From: *from, Workers: max(1, *workers)}
	if *agents != "" {
		f.Agents = strings.Split(*agents, ",")
	}
	if err := StartFloor(*listen, *dir, f); err != nil {
		fmt.Fprintln(stderr, "floor:", err)
		return 1
	}
	fmt.Fprintf(stdout, "floor: listening on %s, relay %s\n", f.Addr(), *relay)
	<-ctx.Done()
	if err := f.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		fmt.Fprintln(stderr, "floor: relay:", err)
		return 1
	}
	return 0
}
