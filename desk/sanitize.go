package desk

import (
	"encoding/base64"
	"html"
	"io"
	"strings"

	"github.com/microcosm-cc/bluemonday"

	"github.com/ticketgate/ticketgate/internal/mailhtml"
	"github.com/ticketgate/ticketgate/store"
)

// Customer HTML is shown inside <iframe sandbox srcdoc=…>: sanitised
// first (no scripts, handlers, forms, frames, styles, remote content),
// then framed without allow-scripts or allow-same-origin, under the desk's
// CSP, which the frame inherits. Each layer alone would stop a script or
// a request; together they do not depend on each other. The sanitiser is
// the customer pages' (package mailhtml); the frame keeps no image source
// but data: (cid: pictures are inlined as data: URLs first).

func newPolicy() *bluemonday.Policy { return mailhtml.NewPolicy(nil) }

// maxInlineImage bounds a cid: picture put inline into the frame.
const maxInlineImage = 1 << 20

// srcdoc returns the frame document of an HTML body: cid: pictures come
// inline as data: URLs from their blobs, remote pictures become links,
// and the policy has the last word.
func srcdoc(p *bluemonday.Policy, blobs store.Blobs, body string, attach []store.Attachment) string {
	rewritten := mailhtml.RewriteImages(body, func(im mailhtml.Image) string {
		if im.Data() {
			return im.Raw
		}
		if cid, ok := im.CID(); ok {
			if uri := inlineImage(blobs, attach, cid); uri != "" {
				return `<img src="` + html.EscapeString(uri) + `" alt="` + html.EscapeString(im.Alt) + `">`
			}
			return html.EscapeString("[" + im.Alt + "]")
		}
		if im.Remote() {
			return `<a href="` + html.EscapeString(im.Src) + `">[` + html.EscapeString(im.Alt+" "+im.Src) + `]</a>`
		}
		return html.EscapeString("[" + im.Alt + "]")
	})
	clean := p.Sanitize(rewritten)
	return `<!DOCTYPE html><html><head><meta charset="utf-8"><style>body{font:15px/1.5 system-ui,sans-serif;margin:8px;overflow-wrap:anywhere}img{max-width:100%;height:auto}</style></head><body>` + clean + `</body></html>`
}

// inlineImage reads the attachment a cid: URL names as a data: URL, ""
// when there is none, it is no picture, too large or unreadable.
func inlineImage(blobs store.Blobs, attach []store.Attachment, cid string) string {
	for _, a := range attach {
		if !mailhtml.Names(a, cid) || a.Blob == "" || a.Size > maxInlineImage {
			continue
		}
		ct := strings.ToLower(a.ContentType)
		if !mailhtml.DataImage.MatchString("data:" + ct + ";base64,") {
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
