package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestFloor: a request sent to the floor is in its log, synced, before the
// 250, and the sink gets the auto-reply (In-Reply-To the request) and one
// notice per agent; Close sends what was taken and reports no failure.
func TestFloor(t *testing.T) {
	sink := startSink(t)
	got := make(chan *Outbound, 8)
	sink.setHandler(func(o *Outbound) { got <- o })
	dir := t.TempDir()
	f := &Floor{Relay: sink.Addr(), From: "acme@support.test", Agents: []string{"alice@example.com", "bob@example.com"}, Workers: 2}
	if err := StartFloor("127.0.0.1:0", dir, f); err != nil {
		t.Fatal(err)
	}
	raw := "From: <carl@example.com>\r\nTo: <acme@support.test>\r\nSubject: printer\r\nMessage-ID: <req-1@example.com>\r\n\r\nThe printer is on fire.\r\n"
	c, err := smtp.Dial(f.Addr())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("carl@example.com", []string{"acme@support.test"}, strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	// Acknowledged: the log holds the message whole, length first.
	b, err := os.ReadFile(filepath.Join(dir, "floor.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 8 || binary.BigEndian.Uint64(b) != uint64(len(b)-8) || !bytes.Contains(b[8:], []byte("on fire")) {
		t.Fatalf("log after the 250: %q", b)
	}
	var rcpts []string
	for range 3 {
		o := <-got
		rcpts = append(rcpts, o.Rcpts...)
		if o.InReplyTo != "req-1@example.com" && o.InReplyTo != "<req-1@example.com>" {
			t.Errorf("mail to %v: In-Reply-To %q", o.Rcpts, o.InReplyTo)
		}
	}
	slices.Sort(rcpts)
	if want := []string{"alice@example.com", "bob@example.com", "carl@example.com"}; !slices.Equal(rcpts, want) {
		t.Errorf("sent to %v, want %v", rcpts, want)
	}
	if err := f.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
