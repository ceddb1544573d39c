package templates

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverrideDirAndFallback(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "de", "customer"), 0o755)
	os.WriteFile(filepath.Join(dir, "de", "customer", "request_created.txt"), []byte("Eigener Text für {{.Name}}"), 0o644)
	os.WriteFile(filepath.Join(dir, "de", "customer", "request_created.html"), []byte(`{{define "body"}}<p>Eigen {{.Name}}</p>{{end}}`), 0o644)
	s := New(dir)
	data := struct {
		Name    string
		Marker  string
		Project struct{ Name string }
		Ticket  struct{ Key string }
	}{Name: "<Carl>"}
	text, html, err := s.Render("de", "customer/request_created", &data)
	if err != nil {
		t.Fatal(err)
	}
	if text != "Eigener Text für <Carl>" || !strings.Contains(html, "<p>Eigen &lt;Carl&gt;</p>") {
		t.Fatalf("override not used or not escaped: %q %q", text, html)
	}
	// A language without the template falls back to English defaults.
	if _, _, err := s.Render("fr", "internal/request_created", &struct{}{}); err == nil {
		// renders with empty data: the fallback was found
	} else if !strings.Contains(err.Error(), "executing") && !strings.Contains(err.Error(), "can't evaluate") {
		t.Fatalf("fallback to en: %v", err)
	}
	if _, _, err := s.Render("en", "customer/no_such_event", nil); err == nil {
		t.Fatal("missing template rendered")
	}
	if ReplyMarker("de") == ReplyMarker("en") || ReplyMarker("xx") != ReplyMarker("en") {
		t.Fatal("reply markers")
	}
}
