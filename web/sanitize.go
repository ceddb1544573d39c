package web

import (
	"html"
	"net/url"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"

	"github.com/ticketgate/ticketgate/internal/mailhtml"
	"github.com/ticketgate/ticketgate/store"
)

// newPolicy returns the sanitiser for customer HTML: package mailhtml's,
// which the desk's frame shares, with the page's own additions.
func newPolicy() *bluemonday.Policy {
	// "cid:tg-N" is what rewriteImages makes of an embedded picture the
	// page can show (attachment N of the message); placeImages turns it
	// into the picture's URL on our origin after the sanitiser ran.
	inlineSrc := func(u *url.URL) bool { return u.Scheme == "cid" && inlineRef.MatchString(u.Opaque) }
	p := mailhtml.NewPolicy(inlineSrc)
	p.AllowURLSchemeWithCustomPolicy("cid", func(u *url.URL) bool { return inlineRef.MatchString(u.Opaque) })
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}

// sanitizeHTML makes a customer's HTML body safe to embed in the page.
// imgURL gives the address of attachment idx's picture on our origin;
// nil shows embedded pictures by name only. inline reports whether the
// result shows one.
func sanitizeHTML(p *bluemonday.Policy, tx *texts, body string, attach []store.Attachment, imgURL func(idx int) string) (out string, inline bool) {
	out = p.Sanitize(rewriteImages(tx, body, attach, imgURL != nil))
	if imgURL != nil {
		out, inline = placeImages(out, imgURL)
	}
	return strings.TrimSpace(out), inline
}

// rewriteImages replaces every image the page will not load with what a
// reader can act on: a remote image becomes a link to it (opening it is the
// reader's choice), an embedded cid: image becomes its file name (it is
// listed with the attachments), anything else its alt text. Inline data:
// images stay. The result still goes through the policy, which has the last
// word on what is safe.
//
// With inline, a cid: picture of a type the page may show (inlineImage)
// becomes <img src="cid:tg-N">, N its attachment's index, for
// placeImages to point at our image route.
func rewriteImages(tx *texts, body string, attach []store.Attachment, inline bool) string {
	return mailhtml.RewriteImages(body, func(im mailhtml.Image) string {
		if im.Data() {
			return im.Raw
		}
		if cid, ok := im.CID(); ok {
			if i := inlineImage(attach, cid); inline && i >= 0 {
				return `<img src="cid:tg-` + strconv.Itoa(i) + `" alt="` + html.EscapeString(im.Alt) + `">`
			}
			name := attachmentByCID(attach, cid)
			if name == "" {
				name = im.Alt
			}
			return html.EscapeString(imageLabel(tx, name))
		}
		if im.Remote() {
			return `<a href="` + html.EscapeString(im.Src) + `">` + html.EscapeString(imageLabel(tx, im.Alt)) + `</a>`
		}
		return html.EscapeString(imageLabel(tx, im.Alt))
	})
}

func imageLabel(tx *texts, name string) string {
	if name == "" {
		return "[" + tx.Image + "]"
	}
	return "[" + tx.Image + ": " + name + "]"
}

// attachmentByCID returns the file name of the attachment a cid: URL names.
func attachmentByCID(attach []store.Attachment, cid string) string {
	if i := mailhtml.CIDIndex(attach, cid); i >= 0 {
		return attach[i].Filename
	}
	return ""
}
