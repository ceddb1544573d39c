package notify

import (
	"strings"
	"testing"
)

// TestSaidCache: a message's text is stripped once however many
// notifications render it, an edited text is stripped anew, and an entry
// survives one generation change (the outbox renders a message's mails
// thousands of messages after it arrived).
func TestSaidCache(t *testing.T) {
	var c saidCache
	text := "New words.\n\nOn Mon, Carl wrote:\n> old words\n"
	got := c.said(1, text)
	if !strings.Contains(got, "New words.") || strings.Contains(got, "old words") {
		t.Fatalf("stripped: %q", got)
	}
	if e := c.cur[1]; e.said != got {
		t.Fatalf("not kept: %+v", e)
	}
	// A kept entry answers without stripping: poison it to see it used.
	c.cur[1] = saidEntry{hash: c.cur[1].hash, said: "kept"}
	if s := c.said(1, text); s != "kept" {
		t.Fatalf("the same text stripped again: %q", s)
	}
	if s := c.said(1, "Edited.\n"); s != "Edited." && s != "Edited.\n" {
		t.Fatalf("an edited text: %q", s)
	}
	c.cur[1] = saidEntry{hash: c.cur[1].hash, said: "kept-edited"}
	for id := uint64(2); id < saidGen+2; id++ {
		c.said(id, "x")
	}
	if _, ok := c.old[1]; !ok {
		t.Fatal("the entry did not move to the old generation")
	}
	if s := c.said(1, "Edited.\n"); s != "kept-edited" {
		t.Fatalf("an entry of the old generation: %q", s)
	}
}
