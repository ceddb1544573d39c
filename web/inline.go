package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/ticketgate/ticketgate/internal/mailhtml"
	"github.com/ticketgate/ticketgate/store"
)

// Inline pictures (issue 20): the cid: images of an HTML mail are shown in
// place on the ticket page and the agent page. They come from our own
// origin (/t/<token>/img/<msg>/<idx>, /a/<token>/img/<msg>/<idx>), which
// serves an attachment only when its bytes are a PNG, JPEG, GIF or WebP
// picture by content sniffing — never SVG (it can carry script), never on
// the strength of the type the sender declared — with nosniff. Pages
// that show one allow images from 'self' in their Content-Security-Policy;
// every other response keeps the strict policy. Remote images stay links.

// inlineRef is what rewriteImages writes for a picture the page shows.
var inlineRef = regexp.MustCompile(`^tg-[0-9]{1,4}$`)

// inlineTypes are the declared types whose cid: pictures the page asks
// for; the image route still decides by the bytes (servedImageTypes).
var inlineTypes = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/jpg": true, "image/pjpeg": true, "image/gif": true, "image/webp": true,
}

// servedImageTypes are what http.DetectContentType must find in the bytes
// for the image route to serve them.
var servedImageTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true}

// pageImagesCSP is the pages' policy (setSecurityHeaders) with images
// from our own origin allowed, and nothing else changed.
var pageImagesCSP = strings.Replace(strictCSP, "img-src data:", "img-src data: 'self'", 1)

// inlineImage returns the index of the attachment a cid: URL names when
// the page may show it as a picture (stored, of a raster image type), or
// -1.
func inlineImage(attach []store.Attachment, cid string) int {
	i := mailhtml.CIDIndex(attach, cid)
	if i < 0 || attach[i].Blob == "" {
		return -1
	}
	mt, _, err := mime.ParseMediaType(attach[i].ContentType)
	if err != nil || !inlineTypes[strings.ToLower(mt)] {
		return -1
	}
	return i
}

// placeImages points every <img src="cid:tg-N"> of sanitised HTML at
// imgURL(N), and drops any other cid: URL (a link to one leads nowhere).
// It reports whether a picture was placed.
func placeImages(sanitized string, imgURL func(idx int) string) (string, bool) {
	if !strings.Contains(sanitized, "cid:") {
		return sanitized, false
	}
	var b strings.Builder
	placed := false
	z := xhtml.NewTokenizer(strings.NewReader(sanitized))
	for {
		tt := z.Next()
		if tt == xhtml.ErrorToken {
			return b.String(), placed
		}
		raw := z.Raw()
		if (tt != xhtml.StartTagToken && tt != xhtml.SelfClosingTagToken) || !strings.Contains(string(raw), "cid:") {
			b.Write(raw)
			continue
		}
		tok := z.Token()
		attrs := tok.Attr[:0]
		for _, a := range tok.Attr {
			v := strings.TrimSpace(a.Val)
			if !strings.HasPrefix(strings.ToLower(v), "cid:") {
				attrs = append(attrs, a)
				continue
			}
			if tok.DataAtom == atom.Img && a.Key == "src" && inlineRef.MatchString(v[len("cid:"):]) {
				n, _ := strconv.Atoi(v[len("cid:tg-"):])
				a.Val = imgURL(n)
				attrs = append(attrs, a)
				placed = true
			}
		}
		tok.Attr = attrs
		b.WriteString(tok.String())
	}
}

// image serves a picture of a public message of the link's ticket.
func (s *server) image(w http.ResponseWriter, r *http.Request) {
	s.serveImage(w, r, s.linkTicket(r), public)
}

// agentImage serves a picture of any message of the agent link's ticket.
func (s *server) agentImage(w http.ResponseWriter, r *http.Request) {
	s.serveImage(w, r, s.agentLinkTicket(r), anyMessage)
}

// serveImage sends attachment {idx} of message {msg} as a picture when
// resolve accepts the link, the message is visible, and its bytes sniff
// as PNG, JPEG, GIF or WebP; anything else is the one 404.
func (s *server) serveImage(w http.ResponseWriter, r *http.Request, resolve func(store.Tx) (*store.Ticket, error), visible func(*store.Message) bool) {
	a, key, f, ok := s.openAttachment(w, r, "picture", resolve, visible)
	if !ok {
		return
	}
	defer f.Close()
	head := make([]byte, 512)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		s.log.Error("picture not served: reading its file", "blob", a.Blob, "err", err)
		s.serverError(w, r, true)
		return
	}
	ct := http.DetectContentType(head[:n])
	if !servedImageTypes[ct] {
		// An SVG, an HTML page or anything else named a picture: the
		// bytes decide, and these are not shown on our origin.
		s.log.Info("picture not served: its bytes are no PNG, JPEG, GIF or WebP", "ticket", key, "declared", a.ContentType, "sniffed", ct)
		s.notFound(w, r)
		return
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		s.serverError(w, r, true)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	name := a.Filename
	if name == "" {
		name = "image"
	}
	h.Set("Content-Disposition", mime.FormatMediaType("inline", map[string]string{"filename": name}))
	http.ServeContent(w, r, "", s.opts.Now(), f)
}
