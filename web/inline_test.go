package web

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// TestSanitizeInlineImages: a cid: picture of a raster type becomes an
// <img> pointing at our image route; an SVG, a picture without its file,
// a cid: link and a remote image do not.
func TestSanitizeInlineImages(t *testing.T) {
	tx := newCatalog().forTag("en")
	attach := []store.Attachment{
		{Filename: "a.png", ContentType: "image/png", ContentID: "<a@x>", Blob: "h1"},
		{Filename: "d.svg", ContentType: "image/svg+xml", ContentID: "d@x", Blob: "h2"},
		{Filename: "gone.png", ContentType: "image/png", ContentID: "gone@x"},
		{Filename: "b.jpg", ContentType: "image/jpeg; name=b.jpg", ContentID: "b@x", Blob: "h3"},
	}
	url := func(i int) string { return fmt.Sprintf("/t/tok/img/7/%d", i) }
	body := `<p>x</p><img src="CID:a@x" alt="one" onerror="alert(1)"><img src="cid:d@x"><img src="cid:gone@x">` +
		`<img src="cid:b%40x"><a href="cid:tg-0">link</a><img src="cid:tg-1"><img src="https://evil.example/p.gif" alt="px">`
	out, inline := sanitizeHTML(newPolicy(), tx, body, attach, url)
	if !inline {
		t.Error("no picture placed")
	}
	for _, want := range []string{`<img src="/t/tok/img/7/0" alt="one">`, `[image: d.svg]`, `[image: gone.png]`, `<img src="/t/tok/img/7/3" alt="">`, `>link</a>`,
		`<a href="https://evil.example/p.gif" rel="nofollow noreferrer noopener" target="_blank">[image: px]</a>`} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %s:\n%s", want, out)
		}
	}
	for _, bad := range []string{"cid:", "onerror", "/img/7/1", "/img/7/2", "<img src=\"https"} {
		if strings.Contains(out, bad) {
			t.Errorf("has %s:\n%s", bad, out)
		}
	}
	// Without a route (and by default) pictures are named, as before.
	out, inline = sanitizeHTML(newPolicy(), tx, body, attach, nil)
	if inline || !strings.Contains(out, "[image: a.png]") || strings.Contains(out, "/img/") {
		t.Errorf("without a route: %v\n%s", inline, out)
	}
	if pageImagesCSP != strings.Replace(strictCSP, "img-src data:", "img-src data: 'self'", 1) || pageImagesCSP == strictCSP {
		t.Errorf("page CSP with pictures: %q", pageImagesCSP)
	}
}
