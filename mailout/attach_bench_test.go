//go:build unix

package mailout

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ticketgate/ticketgate/store"
)

// discardConn is a connection to nowhere: writes vanish, deadlines are
// accepted.
type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error)      { return len(p), nil }
func (discardConn) SetReadDeadline(time.Time) error  { return nil }
func (discardConn) SetWriteDeadline(time.Time) error { return nil }
func (discardConn) Close() error                     { return nil }

// dataTransport writes a mail as the SMTP transport writes DATA (read in
// smtpBodyBuffer pieces, dot-stuffed, through the connection's buffer
// and deadline writer) to a connection that discards it.
type dataTransport struct{ c *smtpClient }

func (d dataTransport) Send(ctx context.Context, env Envelope, msg io.Reader) error {
	_, err := d.c.writeBody(msg)
	return err
}

func (dataTransport) Close() error { return nil }

// largeAttachment writes n random bytes (a fixed seed) to a file and
// returns its path and bytes.
func largeAttachment(tb testing.TB, n int) (string, []byte) {
	tb.Helper()
	data := make([]byte, n)
	r := rand.New(rand.NewPCG(13, 14))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	path := filepath.Join(tb.TempDir(), "blob")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	return path, data
}

// cpuTime is the CPU time the process has used so far (user and
// system, every thread: the composer's and the transport's goroutines,
// and the collector's).
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start ("cpu-ns/op"): with
// two goroutines at work, ns/op (wall time) is not the CPU a send takes.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

// fileBlob is what the store hands out for a blob kept as a file (an
// *os.File with its methods, as store's fileReader).
type fileBlob struct{ *os.File }

// BenchmarkSendLargeAttachment is a worker's send of one mail with a
// 14 MiB attachment (issue 13: a large reply to four customers is four
// of these) through the real writer stack: Message.WriteTo on the
// composer's goroutine into its buffered pipe, the transport's read of
// the pipe, dot-stuffing and the connection's buffer, to a connection
// that discards what it is given. The attachment is a file, read as the
// store's blob files are; the message borrows the sender's buffers, as
// the Sender's messages do. compose is WriteTo alone into a 16 KiB buffer
// over io.Discard; compose-20KiB the same for a small attachment.
// cpu-ns/op is the process's CPU time per mail.
//
//	go test -run '^$' -bench BenchmarkSendLargeAttachment -benchmem -count 6 ./mailout
func BenchmarkSendLargeAttachment(b *testing.B) {
	const size = 14 << 20
	path, _ := largeAttachment(b, size)
	it := &store.OutboxItem{MessageID: "tg.big@support.example.com", Recipient: "a@b.example", MailFrom: "b@support.example.com", Date: time.Unix(1.8e9, 0).UTC(),
		Header: store.OutboxHeader{From: "s@support.example.com", FromName: "Acme", Subject: "[ACME-1] the logs"},
		Attach: []store.Attachment{{Filename: "logs.tar.gz", ContentType: "application/gzip", Size: size, Blob: "big"}}}
	body := Body{Text: "Hello,\n\nthe logs are attached.\n", HTML: "<p>Hello,</p><p>the logs are attached.</p>"}
	open := func(string) (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return fileBlob{f}, nil
	}
	b.Run("send", func(b *testing.B) {
		c := newSMTPClient(discardConn{}, discardConn{}, time.Minute)
		s := &Sender{transport: dataTransport{c}}
		cp := newComposer()
		defer cp.stop()
		b.SetBytes(size)
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			m, err := Prepare(it, body, open)
			if err != nil {
				b.Fatal(err)
			}
			m.Bufs = &s.bufs
			if err := s.send(context.Background(), m, cp); err != nil {
				b.Fatal(err)
			}
		}
		reportCPU(b, start)
	})
	compose := func(b *testing.B, it *store.OutboxItem, open OpenBlob) {
		bw := bufio.NewWriterSize(io.Discard, 16<<10)
		var bufs Buffers
		b.SetBytes(it.Attach[0].Size)
		b.ReportAllocs()
		start := cpuTime(b)
		for b.Loop() {
			m, err := Prepare(it, body, open)
			if err != nil {
				b.Fatal(err)
			}
			m.Bufs = &bufs
			if _, err := m.WriteTo(bw); err != nil {
				b.Fatal(err)
			}
			if err := bw.Flush(); err != nil {
				b.Fatal(err)
			}
			m.Close()
		}
		reportCPU(b, start)
	}
	b.Run("compose", func(b *testing.B) { compose(b, it, open) })
	// A small attachment (a screenshot), held in memory as the store
	// holds small blobs.
	b.Run("compose-20KiB", func(b *testing.B) {
		small := *it
		small.Attach = []store.Attachment{{Filename: "screen.png", ContentType: "image/png", Size: 20 << 10, Blob: "small"}}
		_, data := largeAttachment(b, 20<<10)
		compose(b, &small, func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	})
}
