package mailhtml

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// TestRewriteImages: every <img> goes through img with its first src and
// alt (as a browser reads them), and nothing else is touched.
func TestRewriteImages(t *testing.T) {
	var seen []Image
	out := RewriteImages(`<p>a<img src=" cid:Logo@x " src="https://x/y" alt="logo" alt="other"><img src="https://t.example/p.gif"/><i>b</i></p>`, func(im Image) string {
		seen = append(seen, im)
		return "[" + im.Src + "]"
	})
	if want := `<p>a[cid:Logo@x][https://t.example/p.gif]<i>b</i></p>`; out != want {
		t.Errorf("rewritten as %s, want %s", out, want)
	}
	if len(seen) != 2 || seen[0].Alt != "logo" || !strings.HasPrefix(seen[0].Raw, `<img src=" cid:Logo@x "`) {
		t.Fatalf("images seen: %+v", seen)
	}
	if cid, ok := seen[0].CID(); !ok || cid != "Logo@x" || seen[0].Remote() || seen[0].Data() {
		t.Errorf("first image: cid %q %v, remote %v, data %v", cid, ok, seen[0].Remote(), seen[0].Data())
	}
	if _, ok := seen[1].CID(); ok || !seen[1].Remote() {
		t.Errorf("second image is not remote: %+v", seen[1])
	}
	if !(Image{Src: "data:image/png;base64,AAAA"}).Data() || (Image{Src: "data:image/svg+xml;base64,AAAA"}).Data() {
		t.Error("data: pictures: only raster types are kept")
	}
}

// TestCIDIndex: a cid: URL names an attachment by its Content-ID, without
// angle brackets, case or URL escaping.
func TestCIDIndex(t *testing.T) {
	attach := []store.Attachment{{Filename: "a"}, {Filename: "b", ContentID: "<Part1.X@Mail>"}}
	for cid, want := range map[string]int{"part1.x@mail": 1, "%3CPart1.X%40Mail%3E": 1, "part2@mail": -1, "": -1} {
		if got := CIDIndex(attach, cid); got != want {
			t.Errorf("CIDIndex(%q) = %d, want %d", cid, got, want)
		}
	}
	if !Names(attach[1], "PART1.X@MAIL") || Names(attach[0], "") {
		t.Error("Names disagrees with CIDIndex")
	}
}

// TestPolicy: scripts, handlers and styles go; no image source but data:
// survives unless keepSrc keeps it; links carry no referrer.
func TestPolicy(t *testing.T) {
	body := `<p style="position:fixed" onclick="x()">Hi<script>y()</script><img src="https://t.example/p.gif"><img src="data:image/png;base64,AAAA"><img src="cid:keep"><a href="https://example.com/">l</a></p>`
	out := NewPolicy(nil).Sanitize(body)
	for _, bad := range []string{"<script", "onclick", "position:fixed", "https://t.example", "cid:"} {
		if strings.Contains(out, bad) {
			t.Errorf("%q survived: %s", bad, out)
		}
	}
	if !strings.Contains(out, `src="data:image/png;base64,AAAA"`) || !strings.Contains(out, `rel="nofollow noreferrer"`) {
		t.Errorf("data: picture or noreferrer link missing: %s", out)
	}
	p := NewPolicy(func(u *url.URL) bool { return u.Scheme == "cid" && u.Opaque == "keep" })
	p.AllowURLSchemes("cid")
	if out := p.Sanitize(body); !strings.Contains(out, `src="cid:keep"`) || strings.Contains(out, "https://t.example") {
		t.Errorf("keepSrc: %s", out)
	}
}
