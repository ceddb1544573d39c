package mailout

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ticketgate/ticketgate/fault"
)

// Maildir is a Transport that writes every message into a maildir, for
// set-ups where a local MDA or a person picks the mail up, and for tests.
type Maildir struct {
	path string
	pid  int
	// host is the host name with the characters the maildir spec reserves
	// escaped, fixed at creation so names stay consistent.
	host string
	// counter tells apart messages written in the same nanosecond by this
	// process.
	counter atomic.Uint64
}

var _ Transport = (*Maildir)(nil)

// NewMaildir opens the maildir at path, creating path and its tmp, new and
// cur folders (mode 0700) when missing.
func NewMaildir(path string) (*Maildir, error) {
	if path == "" {
		return nil, fault.Permanent(errors.New("mailout: maildir path is empty"))
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(path, sub), 0o700); err != nil {
			return nil, fault.Temporaryf("mailout: create maildir: %w", err)
		}
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	// The spec reserves "/" and ":" (":" starts the info part in cur/).
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	return &Maildir{path: path, pid: os.Getpid(), host: host}, nil
}

// Path is the maildir's root folder.
func (m *Maildir) Path() string { return m.path }

// Send writes env's envelope as Return-Path and Delivered-To headers followed
// by msg into tmp/, fsyncs it, moves it into new/ and fsyncs new/, so that a
// nil return means the message survives a crash. Disk errors are temporary;
// an envelope that would break the headers is permanent.
func (m *Maildir) Send(ctx context.Context, env Envelope, msg io.Reader) error {
	if err := checkEnvelope(env); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fault.Temporaryf("mailout: maildir delivery of %s not started: %w", env.MessageID, err)
	}
	name := m.uniqueName()
	tmpPath := filepath.Join(m.path, "tmp", name)
	newPath := filepath.Join(m.path, "new", name)

	if err := m.writeTmp(ctx, tmpPath, env, msg); err != nil {
		_ = os.Remove(tmpPath)
		return fault.Temporaryf("mailout: maildir delivery of %s: %w", env.MessageID, err)
	}
	if err := os.Rename(tmpPath, newPath); err != nil {
		_ = os.Remove(tmpPath)
		return fault.Temporaryf("mailout: maildir delivery of %s: %w", env.MessageID, err)
	}
	// Without this the rename can be lost in a crash even though the file
	// data is on disk, and the message would silently vanish.
	if err := syncDir(filepath.Join(m.path, "new")); err != nil {
		return fault.Temporaryf("mailout: maildir delivery of %s: %w", env.MessageID, err)
	}
	return nil
}

// Close does nothing: a Maildir holds no open files between sends.
func (m *Maildir) Close() error { return nil }

// uniqueName builds <unixnano>.<pid>_<counter>.<host> as the maildir spec
// asks: unique across processes (pid), within one (counter) and across
// machines sharing the folder (host).
func (m *Maildir) uniqueName() string {
	n := m.counter.Add(1)
	return strconv.FormatInt(time.Now().UnixNano(), 10) + "." +
		strconv.Itoa(m.pid) + "_" + strconv.FormatUint(n, 10) + "." + m.host
}

func (m *Maildir) writeTmp(ctx context.Context, tmpPath string, env Envelope, msg io.Reader) (err error) {
	// O_EXCL: a name clash must fail rather than overwrite another message.
	f, err := os.OpenFile(tmpPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()

	br := bufio.NewReader(&ctxReader{ctx: ctx, r: msg})
	if _, err := f.Write(envelopeHeaders(env, lineEnding(br))); err != nil {
		return err
	}
	if _, err := br.WriteTo(f); err != nil {
		return err
	}
	return f.Sync()
}

// envelopeHeaders renders the envelope so that someone reading the maildir
// sees who the message was for, like an MDA's Return-Path/Delivered-To.
func envelopeHeaders(env Envelope, eol string) []byte {
	var b bytes.Buffer
	b.WriteString("Return-Path: <" + env.From + ">" + eol)
	for _, rcpt := range env.To {
		b.WriteString("Delivered-To: " + rcpt + eol)
	}
	return b.Bytes()
}

// lineEnding returns the message's own line ending so the added headers do
// not mix CRLF and LF in one header block. Outbound mail is built with CRLF,
// which is also the default when the first line gives no hint.
func lineEnding(br *bufio.Reader) string {
	peek, _ := br.Peek(4096)
	i := bytes.IndexByte(peek, '\n')
	if i == 0 || (i > 0 && peek[i-1] != '\r') {
		return "\n"
	}
	return "\r\n"
}

// checkEnvelope rejects addresses that would inject header lines or SMTP
// commands. Such an envelope never gets better, so the error is permanent.
func checkEnvelope(env Envelope) error {
	if len(env.To) == 0 {
		return fault.Permanentf("mailout: message %s has no recipients", env.MessageID)
	}
	// (Without copying the addresses into one slice: this runs for every
	// mail.)
	if hasLineBreak(env.From) {
		return fault.Permanentf("mailout: message %s: envelope address %q contains a line break", env.MessageID, env.From)
	}
	for _, a := range env.To {
		if hasLineBreak(a) {
			return fault.Permanentf("mailout: message %s: envelope address %q contains a line break", env.MessageID, a)
		}
	}
	for _, a := range env.To {
		if a == "" {
			return fault.Permanentf("mailout: message %s: empty recipient address", env.MessageID)
		}
	}
	return nil
}

func hasLineBreak(s string) bool {
	return strings.IndexByte(s, '\r') >= 0 || strings.IndexByte(s, '\n') >= 0
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return d.Close()
}

// ctxReader stops a long copy when the caller gives up (shutdown).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
