package desk

import (
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// TestSrcdocInlinesCIDAndDropsTheRest: a cid: picture comes inline as a
// data: URL from its blob; remote pictures become links, scripts,
// handlers and styles go.
func TestSrcdocInlinesCIDAndDropsTheRest(t *testing.T) {
	e := newEnv(t)
	png := []byte("\x89PNG\r\n\x1a\nfake")
	hash, n, err := e.db.PutBlob(strings.NewReader(string(png)))
	if err != nil {
		t.Fatal(err)
	}
	attach := []store.Attachment{{Filename: "logo.png", ContentType: "image/png", Size: n, Blob: hash, ContentID: "<logo@x>"}}
	doc := srcdoc(newPolicy(), e.db, `<p style="position:fixed">Hi <img src="cid:logo@x" alt="logo"><img src="https://tracker.example/p.gif"><script>x()</script><b onclick="y()">b</b></p>`, attach)
	if !strings.Contains(doc, `src="data:image/png;base64,`+base64.StdEncoding.EncodeToString(png)+`"`) {
		t.Errorf("the cid: picture is not inline:\n%s", doc)
	}
	for _, bad := range []string{"<script", "onclick", "position:fixed", `src="https://`} {
		if strings.Contains(doc, bad) {
			t.Errorf("%q survived:\n%s", bad, doc)
		}
	}
	if !strings.Contains(doc, `href="https://tracker.example/p.gif"`) {
		t.Errorf("the remote picture is not a link:\n%s", doc)
	}
}

// TestGermanDesk: the desk speaks the browser's language.
func TestGermanDesk(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/desk/signin", nil)
	req.Header.Set("Accept-Language", "de-DE,de;q=0.9,en;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), `lang="de"`) || !strings.Contains(string(page), "Anmeldelink senden") {
		t.Fatalf("German sign-in page:\n%s", page)
	}
}
