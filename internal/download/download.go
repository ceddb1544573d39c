// Package download sets the headers under which a stored attachment is
// sent: always a download, never rendered on our origin (the bytes are
// the sender's), with a safe file name.
package download

import (
	"mime"
	"net/http"
	"strconv"
)

// Headers sets Content-Type, Content-Disposition (name, or "attachment"
// when empty), nosniff and, when size is not negative, Content-Length.
func Headers(h http.Header, name string, size int64) {
	if name == "" {
		name = "attachment"
	}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("X-Content-Type-Options", "nosniff")
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
}
