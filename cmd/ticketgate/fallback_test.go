package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/daemon"
)

// TestShowFromFallback: `show` says when a message had no usable From and
// where its sender's address came from.
func TestShowFromFallback(t *testing.T) {
	path := writeConfig(t, t.TempDir(), "")
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := daemon.Start(cfg, slog.New(slog.DiscardHandler), daemon.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	raw := "From: \"Printer\" <>\r\nReply-To: Dana <dana@customer.example>\r\nTo: acme@support.example.com\r\nSubject: toner\r\nMessage-ID: <fb@customer.example>\r\n\r\nOut of toner.\r\n"
	if code, _, e := runCmd([]string{"deliver", "-c", path}, raw); code != 0 {
		t.Fatal(e)
	}
	code, out, stderr := runCmd([]string{"show", "-c", path, "ACME-1"}, "")
	if code != 0 || !strings.Contains(out, "reporter: dana@customer.example") ||
		!strings.Contains(out, "from: no usable From header; the sender's address was taken from Reply-To") {
		t.Fatalf("show: %d %s %s", code, out, stderr)
	}
}
