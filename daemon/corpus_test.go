package daemon

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/internal/corpustest"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// TestCorpusOverSMTP sends every message of the shared corpus through the
// SMTP listener: each must be accepted and stored on a ticket (new or
// threaded), none may crash the daemon, and an exact repeat of a message
// is recognised as a duplicate.
func TestCorpusOverSMTP(t *testing.T) {
	dir := corpustest.Dir(t)
	var files []string
	filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".eml") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) < 600 {
		t.Fatalf("only %d corpus files found in %s", len(files), dir)
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	c := testConfig(t, t.TempDir(), sink)
	// Hundreds of messages from a few senders: not a flood here.
	c.Limits.NewTicketsPerSender.Count = 1 << 20
	d := start(t, c)
	count := func() int {
		n := 0
		d.Store().View(func(tx store.Tx) error {
			return tx.ForEachTicket("ACME", func(tk *store.Ticket) bool { n += tk.Messages; return true })
		})
		return n
	}
	seen := map[[32]byte]bool{}
	stored := 0
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dir, f)
		before := count()
		if err := send(t, d.Addr("smtp"), "sender@corpus.example", []string{"acme@support.example.com"}, string(raw)); err != nil {
			t.Errorf("%s: refused: %v", rel, err)
			continue
		}
		after := count()
		// SMTP carries lines, not line endings: a CRLF file and its LF
		// twin are the same message on the wire.
		sum := sha256.Sum256([]byte(strings.ReplaceAll(string(raw), "\r\n", "\n")))
		switch {
		case after == before+1:
			stored++
		case after == before && seen[sum]:
			// The same bytes again (the corpus has a few copies).
		default:
			t.Errorf("%s: message count went from %d to %d", rel, before, after)
		}
		seen[sum] = true
	}
	t.Logf("%d corpus messages sent over SMTP, %d stored, %d exact repeats recognised", len(files), stored, len(files)-stored)
}
