package download

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func TestHeaders(t *testing.T) {
	h := http.Header{}
	Headers(h, `in"voice.pdf`, 42)
	if h.Get("Content-Type") != "application/octet-stream" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Length") != "42" {
		t.Errorf("headers %v", h)
	}
	if got := h.Get("Content-Disposition"); got != `attachment; filename="in\"voice.pdf"` {
		t.Errorf("Content-Disposition %q", got)
	}
	h = http.Header{}
	Headers(h, "", -1)
	if got := h.Get("Content-Disposition"); got != "attachment; filename=attachment" || h.Get("Content-Length") != "" {
		t.Errorf("nameless, sizeless: %v", h)
	}
}

// TestFileHeaders: the length is the open file's size.
func TestFileHeaders(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := http.Header{}
	FileHeaders(h, "f.txt", f)
	if h.Get("Content-Length") != "5" || h.Get("Content-Disposition") != `attachment; filename=f.txt` {
		t.Errorf("headers %v", h)
	}
}
