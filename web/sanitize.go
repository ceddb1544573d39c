package web

import (
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/ticketgate/ticketgate/store"
)

// newPolicy returns the sanitiser for customer HTML. It starts from
// bluemonday's policy for user content (no scripts, event handlers, styles,
// forms or frames) and tightens what a mail body needs tightened: links open
// without telling the target where they came from, and no image source but
// an inline data: picture survives, since a remote image in mail is usually
// a tracking pixel that would tell the sender the customer looked.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowDataURIImages()
	// "cid:tg-N" is what rewriteImages makes of an embedded picture the
	// page can show (attachment N of the message); placeImages turns it
	// into the picture's URL on our origin after the sanitiser ran.
	p.AllowURLSchemeWithCustomPolicy("cid", func(u *url.URL) bool { return inlineRef.MatchString(u.Opaque) })
	// Relative links in mail point at nothing on this server.
	p.AllowRelativeURLs(false)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	// rewriteImages already turned remote images into links; this is the
	// backstop should the two ever tokenise a tag differently.
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme != "data" && !(u.Scheme == "cid" && inlineRef.MatchString(u.Opaque)) {
			*u = url.URL{}
		}
	})
	return p
}

// dataImage matches the inline pictures the policy keeps.
var dataImage = regexp.MustCompile(`(?i)^data:image/(png|gif|jpeg|webp);base64,`)

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
	var b strings.Builder
	z := xhtml.NewTokenizer(strings.NewReader(body))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			// io.EOF or a read error of an in-memory reader: either way
			// all input has been consumed.
			return b.String()
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
		// A browser uses the first of repeated attributes; so do we.
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
		case strings.HasPrefix(lower, "cid:") && inline && inlineImage(attach, src[len("cid:"):]) >= 0:
			i := inlineImage(attach, src[len("cid:"):])
			b.WriteString(`<img src="cid:tg-` + strconv.Itoa(i) + `" alt="` + html.EscapeString(alt) + `">`)
		case strings.HasPrefix(lower, "cid:"):
			name := attachmentByCID(attach, src[len("cid:"):])
			if name == "" {
				name = alt
			}
			b.WriteString(html.EscapeString(imageLabel(tx, name)))
		case strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://"):
			b.WriteString(`<a href="` + html.EscapeString(src) + `">` + html.EscapeString(imageLabel(tx, alt)) + `</a>`)
		default:
			b.WriteString(html.EscapeString(imageLabel(tx, alt)))
		}
	}
}

func imageLabel(tx *texts, name string) string {
	if name == "" {
		return "[" + tx.Image + "]"
	}
	return "[" + tx.Image + ": " + name + "]"
}

// attachmentByCID returns the file name of the attachment a cid: URL names.
func attachmentByCID(attach []store.Attachment, cid string) string {
	if i := cidIndex(attach, cid); i >= 0 {
		return attach[i].Filename
	}
	return ""
}

// cidIndex returns the index of the attachment a cid: URL names, or -1.
func cidIndex(attach []store.Attachment, cid string) int {
	if u, err := url.PathUnescape(cid); err == nil {
		cid = u
	}
	cid = strings.Trim(cid, "<> ")
	for i, a := range attach {
		if a.ContentID != "" && strings.EqualFold(strings.Trim(a.ContentID, "<> "), cid) {
			return i
		}
	}
	return -1
}
