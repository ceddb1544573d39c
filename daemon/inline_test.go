package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// Inline images (issue 20): the cid: pictures of an HTML mail appear in
// place on the customer's and the agent's page, from our origin, only as
// PNG/JPEG/GIF/WebP by their bytes; SVG never; remote images stay out.

func testPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{R: 200, G: uint8(x * 20), B: uint8(y * 20), A: 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func testJPEG(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, w, h)), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// strictCSPForTest is the policy of every page (web.strictCSP).
const strictCSPForTest = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

const svgImage = `<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="window.pwned=1"><script>window.pwned=2</script><rect width="40" height="40" fill="red"/></svg>`

// inlinePart is one embedded picture of a multipart/related mail.
type inlinePart struct {
	cid, ctype, name string
	data             []byte
}

// relatedMail is an HTML mail (with a text alternative) and its embedded
// pictures.
func relatedMail(from, to, subject, id, extraHeader, text, html string, parts []inlinePart) string {
	var b strings.Builder
	b.WriteString("From: " + from + "\r\nTo: " + to + "\r\nSubject: " + subject + "\r\nMessage-ID: <" + id + ">\r\n" + extraHeader)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=rel\r\n\r\n")
	b.WriteString("--rel\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n")
	b.WriteString("--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
	b.WriteString("--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n--alt--\r\n")
	for _, p := range parts {
		b.WriteString("--rel\r\nContent-Type: " + p.ctype + "; name=\"" + p.name + "\"\r\nContent-ID: <" + p.cid + ">\r\n")
		b.WriteString("Content-Disposition: inline; filename=\"" + p.name + "\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
		b.WriteString(base64.StdEncoding.EncodeToString(p.data) + "\r\n")
	}
	b.WriteString("--rel--\r\n")
	return b.String()
}

// imagesOnPage loads page in the browser, waits until every picture has
// loaded or failed, and returns each <img>'s src and naturalWidth.
func imagesOnPage(t *testing.T, ctx context.Context, page string) map[string]int {
	t.Helper()
	type img struct {
		Src   string `json:"src"`
		Width int    `json:"w"`
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS("h1")),
		chromedp.Poll[chromedp.Void](`Array.from(document.images).every(i => i.complete)`),
	)
	if err != nil {
		t.Fatal(err)
	}
	imgs := must(chromedp.Run(ctx, chromedp.Evaluate[[]img](`Array.from(document.images).map(i => ({src: i.getAttribute('src'), w: i.naturalWidth}))`)))(t)
	out := map[string]int{}
	for _, i := range imgs {
		out[i.Src] = i.Width
	}
	return out
}

// TestInlineImagesInBrowser: an HTML mail with two cid: pictures (PNG,
// JPEG), an SVG, an SVG declared as PNG and a remote image: in Chromium,
// the customer's page and the agent's show exactly the two pictures
// (naturalWidth > 0), the SVGs are not rendered (and their URLs answer
// 404), the remote server is never asked, and only the pages showing
// pictures allow 'self' images.
func TestInlineImagesInBrowser(t *testing.T) {
	ctx := browser(t)
	var fetched atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tracker := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fetched.Add(1) })}
	go tracker.Serve(ln)
	defer tracker.Close()
	remote := "http://" + ln.Addr().String() + "/pixel.png"

	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	pngData, jpgData := testPNG(t, 30, 20), testJPEG(t, 24, 16)
	html := `<p>The printer:</p><img src="cid:front@customer.example" alt="front"><img src="cid:back@customer.example" alt="back">` +
		`<p>Drawing:</p><img src="cid:drawing@customer.example" alt="drawing"><img src="cid:fake@customer.example" alt="fake">` +
		`<img src="` + remote + `" alt="tracker">`
	raw := relatedMail(`"Carl" <carl@customer.example>`, "acme@support.example.com", "Printer photos", "img1@customer.example", "",
		"The printer: see the photos.", html, []inlinePart{
			{"front@customer.example", "image/png", "front.png", pngData},
			{"back@customer.example", "image/jpeg", "back.jpg", jpgData},
			{"drawing@customer.example", "image/svg+xml", "drawing.svg", []byte(svgImage)},
			{"fake@customer.example", "image/png", "fake.png", []byte(svgImage)},
		})
	mustSend(t, d.Addr("smtp"), "carl@customer.example", []string{"acme@support.example.com"}, raw)
	web := "http://" + d.Addr("web")
	customer := web + linkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, "carl@customer.example", "http://ticketgate.test/t/")))[1]
	agent := web + agentLinkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, "alice@example.com", "http://ticketgate.test/a/")))[1]

	for who, page := range map[string]string{"customer": customer, "agent": agent} {
		imgs := imagesOnPage(t, ctx, page)
		shown := 0
		var fake string
		for src, w := range imgs {
			if !strings.Contains(src, "/img/") {
				t.Errorf("%s page: an <img> not from our image route: %q", who, src)
				continue
			}
			if strings.HasSuffix(src, "/3") {
				fake = src
			}
			if w > 0 {
				shown++
			}
		}
		if shown != 2 || len(imgs) != 3 {
			t.Errorf("%s page: %d of %d pictures shown, want the PNG and the JPEG: %v", who, shown, len(imgs), imgs)
		}
		if fake == "" || imgs[fake] != 0 {
			t.Errorf("%s page: the SVG declared as PNG: %q width %d", who, fake, imgs[fake])
		}
		pwned := must(chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned !== undefined`)))(t)
		if pwned {
			t.Errorf("%s page: script in an SVG ran", who)
		}
		text := must(chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))))(t)
		if !strings.Contains(text, "drawing.svg") {
			t.Errorf("%s page: the SVG is not named in place: %s", who, text)
		}

		resp, err := http.Get(page)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if csp := resp.Header.Get("Content-Security-Policy"); csp != strings.Replace(strictCSPForTest, "img-src data:", "img-src data: 'self'", 1) {
			t.Errorf("%s page: CSP %q", who, csp)
		}
		srcs := regexp.MustCompile(`src="(/[^"]*/img/(\d+))/(\d)"`).FindAllStringSubmatch(string(page), -1)
		if len(srcs) != 3 {
			t.Fatalf("%s page: %d pictures in the HTML", who, len(srcs))
		}
		for _, idx := range []string{"0", "1", "2", "3"} {
			u := web + srcs[0][1] + "/" + idx
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := resp.Header
			switch idx {
			case "0", "1":
				want, data := "image/png", pngData
				if idx == "1" {
					want, data = "image/jpeg", jpgData
				}
				if resp.StatusCode != 200 || h.Get("Content-Type") != want || h.Get("X-Content-Type-Options") != "nosniff" || !bytes.Equal(body, data) {
					t.Errorf("%s: %d %v", u, resp.StatusCode, h)
				}
			default:
				// The SVG, declared as such or as PNG: never served.
				if resp.StatusCode != http.StatusNotFound || strings.Contains(string(body), "<svg") {
					t.Errorf("%s (an SVG): %d %q", u, resp.StatusCode, h.Get("Content-Type"))
				}
			}
		}
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the remote image was requested %d time(s)", n)
	}
}

// TestInlineImagesInNotifications: an agent's HTML answer with two cid:
// pictures reaches the customer with both as ordinary attachments (the
// same bytes, Content-Disposition: attachment).
func TestInlineImagesInNotifications(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := startAt(t, workflowConfig(t, sink, nil), nil)
	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, msg(carl, acmeAddr, "Printer", "n1@customer.example", "It is broken."))
	pngData, jpgData := testPNG(t, 12, 8), testJPEG(t, 10, 10)
	answer := relatedMail("Alice <alice@example.com>", acmeAddr, "Re: [ACME-1] Printer", "n2@example.com", proof+"\r\n",
		"Plug it in as shown.", `<p>Plug it in as shown:</p><img src="cid:plug@example.com"><img src="cid:socket@example.com">`,
		[]inlinePart{{"plug@example.com", "image/png", "plug.png", pngData}, {"socket@example.com", "image/jpeg", "socket.jpg", jpgData}})
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, answer)
	m := waitMailTo(t, sink, carl, "Plug it in as shown")
	r, err := mail.CreateReader(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]byte{}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if h, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := h.Filename()
			if disp, _, _ := h.ContentDisposition(); disp != "attachment" {
				t.Errorf("%s: disposition %q", name, disp)
			}
			got[name], _ = io.ReadAll(p.Body)
		}
	}
	if len(got) != 2 || !bytes.Equal(got["plug.png"], pngData) || !bytes.Equal(got["socket.jpg"], jpgData) {
		t.Errorf("attachments of the customer's mail: %d %v", len(got), names(got))
	}
}
