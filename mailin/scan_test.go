package mailin

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
)

// scanDataByByte is limitedConn.scan's DATA handling one byte at a time,
// as it was before scan learned to skip to the next CR inside a line: the
// reference TestScanSkipsLinesAsByteByByte holds scan to.
func (c *limitedConn) scanDataByByte(b []byte, more bool) (int, error) {
	for i := 0; i < len(b); i++ {
		if c.mode != readingData {
			if err := c.commandByte(b[i]); err != nil {
				return 0, err
			}
			continue
		}
		ch := b[i]
		if ch == '\r' {
			if i+1 == len(b) && more {
				c.heldCR = true
				return i, nil
			}
			if i+1 < len(b) && b[i+1] == '\r' {
				b[i], ch = ' ', ' '
			}
		}
		if c.endOfData(ch) {
			c.mode, c.lineLen, c.verb = readingCommands, 0, c.verb[:0]
		}
	}
	return len(b), nil
}

// TestScanSkipsLinesAsByteByByte: scan, which jumps from CR to CR inside
// a line, passes on the same bytes, repairs the same stray CRs, holds back
// the same trailing CR and finds the same end of DATA as the byte-by-byte
// machine, for messages of random lines (dots, bare and doubled CRs, bare
// LFs) cut into random reads.
func TestScanSkipsLinesAsByteByByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2026))
	pieces := []string{"text of a line", ".", "..", "\r", "\n", "\r\n", "\r\r\n", "\r\r", " ", "x", "\r\n.\r", "\r\n.\r\n"}
	for round := range 3000 {
		var msg []byte
		for range rng.IntN(40) {
			msg = append(msg, pieces[rng.IntN(len(pieces))]...)
		}
		msg = append(msg, "\r\n.\r\nQUIT\r\n"...)
		fast := &limitedConn{s: &Server{}, mode: readingData}
		slow := &limitedConn{s: &Server{}, mode: readingData}
		for rest := msg; len(rest) > 0; {
			k := 1 + rng.IntN(len(rest))
			if rng.IntN(3) == 0 {
				k = min(len(rest), 1+rng.IntN(4))
			}
			more := k < len(rest)
			fb, sb := bytes.Clone(rest[:k]), bytes.Clone(rest[:k])
			fn, ferr := fast.scan(fb, more)
			sn, serr := slow.scanDataByByte(sb, more)
			if fn != sn || (ferr == nil) != (serr == nil) || !bytes.Equal(fb[:fn], sb[:sn]) {
				t.Fatalf("round %d, read %q: scan gave %d %q %v, byte by byte %d %q %v", round, rest[:k], fn, fb[:fn], ferr, sn, sb[:sn], serr)
			}
			if fast.mode != slow.mode || fast.dstate != slow.dstate || fast.heldCR != slow.heldCR {
				t.Fatalf("round %d, read %q: state %d/%d/%v, byte by byte %d/%d/%v", round, rest[:k], fast.mode, fast.dstate, fast.heldCR, slow.mode, slow.dstate, slow.heldCR)
			}
			// A held-back CR comes again at the front of the next read,
			// as Read passes it on.
			rest = rest[fn:]
			fast.heldCR, slow.heldCR = false, false
		}
		if fast.mode != readingCommands {
			t.Fatalf("round %d: %q did not end the message", round, msg)
		}
	}
}

// TestShutdownKeepsAPendingReply: once the end of a message was read, the
// connection owes its client the reply (go-smtp writes it after Data
// returns); a shutdown then closes it without writing 421, which would
// reach the client before the 250 of a mail already stored. Once go-smtp
// reads the next command the reply was written, and an idle connection
// is told 421 as before.
func TestShutdownKeepsAPendingReply(t *testing.T) {
	for _, owed := range []bool{true, false} {
		client, server := net.Pipe()
		s := &Server{conns: map[net.Conn]*session{}}
		lc := &limitedConn{Conn: server, s: s, mode: readingData}
		s.conns[lc] = nil
		go client.Write([]byte("It jams.\r\n.\r\n"))
		buf := make([]byte, 64)
		if n, err := lc.Read(buf); err != nil || string(buf[:n]) != "It jams.\r\n.\r\n" {
			t.Fatalf("read %q, %v", buf[:n], err)
		}
		if !lc.replyOwed() {
			t.Fatal("the end of the message was read, but no reply is owed")
		}
		if !owed {
			// go-smtp answered and reads the next command.
			go client.Write([]byte("QUIT\r\n"))
			if _, err := lc.Read(buf); err != nil {
				t.Fatal(err)
			}
			if lc.replyOwed() {
				t.Fatal("a reply is still owed after the next command was read")
			}
		}
		got := make(chan string, 1)
		go func() { b, _ := io.ReadAll(client); got <- string(b) }()
		s.closeConns()
		told := <-got
		if owed && strings.Contains(told, "421") {
			t.Errorf("a connection owing its 250 was told %q", told)
		}
		if !owed && !strings.HasPrefix(told, "421 ") {
			t.Errorf("an idle connection was told %q, want 421", told)
		}
	}
}
