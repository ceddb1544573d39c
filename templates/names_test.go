package templates

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNames: the identifiers a template pair names are found wherever they
// stand (a field chain, inside with, after $, in a template the pair
// defines and calls); what it does not name is not reported, and an
// unknown template names everything.
func TestNames(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "en", "internal"), 0o755)
	os.WriteFile(filepath.Join(dir, "en", "internal", "custom.txt"), []byte(`{{with .Message}}{{.Text}}{{end}}{{if $.Due}}due{{end}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "en", "internal", "custom.html"), []byte(`{{define "body"}}{{template "part" $}}{{end}}{{define "part"}}{{range $i, $a := .Ticket.Files}}{{$a}}{{end}}{{end}}`), 0o644)
	s := New(dir)
	for ident, want := range map[string]bool{"Message": true, "Text": true, "Due": true, "Ticket": true, "Files": true, "Attachments": false, "ActorDisplay": false} {
		if got := s.Names("en", "internal/custom").Has(ident); got != want {
			t.Errorf("custom names %s: %v, want %v", ident, got, want)
		}
	}
	// German falls back to the English pair.
	if de := s.Names("de", "internal/custom"); !de.Has("Files") || de.Has("Attachments") {
		t.Error("the fallback's names differ")
	}
	// The defaults: the auto-reply shows nothing of the request's text,
	// the agents' notice of it does.
	for _, lang := range Languages() {
		if c := s.Names(lang, "customer/request_created"); c.Has("Message") || c.Has("Text") {
			t.Errorf("%s customer/request_created names the message", lang)
		}
		if i := s.Names(lang, "internal/request_created"); !i.Has("Message") || !i.Has("Text") {
			t.Errorf("%s internal/request_created does not name the message's text", lang)
		}
	}
	if !s.Names("en", "customer/no_such_event").Has("Anything") {
		t.Error("an unknown template names nothing")
	}
}
