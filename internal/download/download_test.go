package download

import (
	"net/http"
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
