package desk

import (
	"encoding/base64"
	"html"
	"io"
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/ticketgate/ticketgate/store"
)

// Customer HTML is shown inside <iframe sandbox srcdoc=…>: sanitised
// first (no scripts, handlers, forms, frames, styles, remote content),
// then framed without allow-scripts or allow-same-origin, under the desk's
// CSP, which the frame inherits. Each layer alone would stop a script or
// a request; together they do not depend on each other.

func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowDataURIImages()
	p.AllowRelativeURLs(false)
	p.RequireNoReferrerOnLinks(true)
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme != "data" {
			*u = url.URL{}
		}
	})
	return p
}

var dataImage = regexp.MustCompile(`(?i)^data:image/(png|gif|jpeg|webp);base64,`)

// maxInlineImage bounds a cid: picture put inline into the frame.
const maxInlineImage = 1 << 20

// srcdoc returns the frame document of an HTML body: cid: pictures come
// inline as data: URLs from their blobs, remote pictures become links,
// and the policy has the last word.
func srcdoc(p *bluemonday.Policy, blobs store.Blobs, body string, attach []store.Attachment) string {
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(body))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			break
		}
		if tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken {
			b.Write(z.Raw())
			continue
		}
		name, more := z.TagName()
		if atom.Lookup(name) != atom.Img {
			b.Write(z.Raw())
			continue
		}
		raw := string(z.Raw())
		var src, alt string
		seenSrc, seenAlt := false, false
		for more {
			var k, v []byte
			k, v, more = z.TagAttr()
			switch {
			case string(k) == "src" && !seenSrc:
				src, seenSrc = strings.TrimSpace(string(v)), true
			case string(k) == "alt" && !seenAlt:
				alt, seenAlt = strings.TrimSpace(string(v)), true
			}
		}
		lower := strings.ToLower(src)
		switch {
		case dataImage.MatchString(src):
			b.WriteString(raw)
		case strings.HasPrefix(lower, "cid:"):
			if uri := inlineImage(blobs, attach, src[len("cid:"):]); uri != "" {
				b.WriteString(`<img src="` + html.EscapeString(uri) + `" alt="` + html.EscapeString(alt) + `">`)
			} else {
				b.WriteString(html.EscapeString("[" + alt + "]"))
			}
		case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
			b.WriteString(`<a href="` + html.EscapeString(src) + `">[` + html.EscapeString(alt+" "+src) + `]</a>`)
		default:
			b.WriteString(html.EscapeString("[" + alt + "]"))
		}
	}
	clean := p.Sanitize(b.String())
	return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{font:15px/1.5 system-ui,sans-serif;margin:8px;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style></head><body>` + clean + `</body></html>`
}

// inlineImage reads the attachment a cid: URL names as a data: URL, ""
// when there is none, it is no picture, too large or unreadable.
func inlineImage(blobs store.Blobs, attach []store.Attachment, cid string) string {
	if u, err := url.PathUnescape(cid); err == nil {
		cid = u
	}
	cid = strings.Trim(cid, "<> ")
	for _, a := range attach {
		if a.ContentID == "" || !strings.EqualFold(strings.Trim(a.ContentID, "<> "), cid) || a.Blob == "" || a.Size > maxInlineImage {
			continue
		}
		ct := strings.ToLower(a.ContentType)
		if !dataImage.MatchString("data:" + ct + ";base64,") {
			return ""
		}
		f, err := blobs.OpenBlob(a.Blob)
		if err != nil {
			return ""
		}
		data, err := io.ReadAll(io.LimitReader(f, maxInlineImage+1))
		f.Close()
		if err != nil || len(data) > maxInlineImage {
			return ""
		}
		return "data:" + ct + ";base64," + base64.StdEncoding.EncodeToString(data)
	}
	return ""
}
