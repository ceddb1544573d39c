// Package mailhtml makes the HTML body of a customer's mail safe to show:
// one sanitising policy and one pass over the body's pictures, shared by
// the customer pages (web) and the agents' desk, which differ only in
// what they make of a picture (web points cid: pictures at its image
// route, the desk's srcdoc frame inlines them as data: URLs).
package mailhtml

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/ticketgate/ticketgate/store"
)

// NewPolicy returns the sanitiser for customer HTML. It starts from
// bluemonday's policy for user content (no scripts, event handlers,
// styles, forms or frames) and tightens what a mail body needs tightened:
// relative links (they point at nothing on our server) go, links open
// without telling the target where they came from, and no image source
// but an inline data: picture survives, since a remote image in mail is
// usually a tracking pixel that would tell the sender the customer
// looked. keepSrc, when not nil, keeps the other image sources it
// accepts (a caller that also allows their scheme).
//
// RewriteImages has already turned remote images into links by the time
// the policy runs; the policy's source rule is the backstop should the
// two ever tokenise a tag differently.
func NewPolicy(keepSrc func(*url.URL) bool) *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowDataURIImages()
	p.AllowRelativeURLs(false)
	p.RequireNoReferrerOnLinks(true)
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme != "data" && (keepSrc == nil || !keepSrc(u)) {
			*u = url.URL{}
		}
	})
	return p
}

// DataImage matches the inline pictures the policy keeps.
var DataImage = regexp.MustCompile(`(?i)^data:image/(png|gif|jpeg|webp);base64,`)

// Image is one <img> tag of a body.
type Image struct {
	// Raw is the tag as written.
	Raw string
	// Src and Alt are the first of each attribute (a browser uses the
	// first of repeated attributes; so do we), trimmed.
	Src, Alt string
}

// Data reports whether the picture is an inline data: picture the policy
// keeps.
func (im Image) Data() bool { return DataImage.MatchString(im.Src) }

// CID returns what a cid: source names (without "cid:"); ok is false for
// any other source.
func (im Image) CID() (cid string, ok bool) {
	if !strings.HasPrefix(strings.ToLower(im.Src), "cid:") {
		return "", false
	}
	return im.Src[len("cid:"):], true
}

// Remote reports whether the picture is loaded from the web.
func (im Image) Remote() bool {
	lower := strings.ToLower(im.Src)
	return strings.HasPrefix(lower, "http://") || strings.HasPrefix(lower, "https://")
}

// RewriteImages returns body with every <img> tag replaced by what img
// makes of it (HTML; return im.Raw to keep the tag). Everything else is
// copied as it was. The result still goes through the policy, which has
// the last word on what is safe.
func RewriteImages(body string, img func(Image) string) string {
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
		im := Image{Raw: string(z.Raw())}
		seenSrc, seenAlt := false, false
		for more {
			var k, v []byte
			k, v, more = z.TagAttr()
			switch {
			case string(k) == "src" && !seenSrc:
				im.Src, seenSrc = strings.TrimSpace(string(v)), true
			case string(k) == "alt" && !seenAlt:
				im.Alt, seenAlt = strings.TrimSpace(string(v)), true
			}
		}
		b.WriteString(img(im))
	}
}

// Names reports whether a is the attachment a cid: URL (without "cid:")
// names: its Content-ID, compared without angle brackets and case.
func Names(a store.Attachment, cid string) bool { return names(a, cidKey(cid)) }

func names(a store.Attachment, key string) bool {
	return a.ContentID != "" && strings.EqualFold(strings.Trim(a.ContentID, "<> "), key)
}

// CIDIndex returns the index of the first attachment a cid: URL names,
// or -1.
func CIDIndex(attach []store.Attachment, cid string) int {
	key := cidKey(cid)
	for i, a := range attach {
		if names(a, key) {
			return i
		}
	}
	return -1
}

// cidKey is what a cid: URL names, unescaped and without angle brackets.
func cidKey(cid string) string {
	if u, err := url.PathUnescape(cid); err == nil {
		cid = u
	}
	return strings.Trim(cid, "<> ")
}
