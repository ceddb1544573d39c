package daemon

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"io/fs"
	"log/slog"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	gomessage "github.com/emersion/go-message"
	bolt "go.etcd.io/bbolt"

	"github.com/ticketgate/ticketgate/admin"
	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/notify"
	"github.com/ticketgate/ticketgate/store"
)

// Issue 17: support keys are secrets everywhere but in the key check.

const (
	secretKey    = "OX-4711-SECRET"
	secretHidden = "**********CRET"
)

// lockedBuf collects the daemon's log lines.
type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// keyedMail is a customer's request holding the key in the Subject, an
// X-Support-Key header, the text, a base64 text attachment, a
// quoted-printable part (split by a soft line break) and a line longer
// than any read buffer, with the key across 64 KiB.
func keyedMail() string {
	qp := "<p>My key: OX-47=\r\n11-SECR=45T</p>\r\n"
	long := strings.Repeat("z", 64<<10-6) + secretKey + " zanzibarian"
	var enc bytes.Buffer
	w := quotedprintable.NewWriter(&enc)
	io.WriteString(w, "attached "+secretKey+"\n")
	w.Close()
	att := base64.StdEncoding.EncodeToString([]byte("licence " + secretKey + "\nseats 5\n"))
	return "From: Carl <carl@customer.example>\r\nTo: acme@support.example.com\r\nSubject: Help with " + secretKey + "\r\n" +
		"X-Support-Key: " + secretKey + "\r\nMessage-ID: <keyed@customer.example>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=KK\r\n\r\n" +
		"--KK\r\nContent-Type: multipart/alternative; boundary=AA\r\n\r\n" +
		"--AA\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThe printer is down. My key is " + secretKey + ".\r\n" + long + "\r\n" +
		"--AA\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp +
		"--AA--\r\n" +
		"--KK\r\nContent-Type: text/plain; name=licence-" + secretKey + ".txt\r\nContent-Disposition: attachment; filename=licence-" + secretKey + ".txt\r\nContent-Transfer-Encoding: base64\r\n\r\n" + att + "\r\n" +
		"--KK--\r\n"
}

// leaks reports where a mail or a download shows the key whole: its
// bytes, a decoded header field, a decoded part.
func leaks(t *testing.T, data []byte) []string {
	t.Helper()
	var out []string
	if bytes.Contains(data, []byte(secretKey)) {
		out = append(out, "raw bytes")
	}
	e, err := gomessage.Read(bytes.NewReader(data))
	if err != nil && e == nil {
		return out
	}
	e.Walk(func(path []int, p *gomessage.Entity, err error) error {
		if err != nil {
			return nil
		}
		for f := p.Header.Fields(); f.Next(); {
			if v, _ := f.Text(); strings.Contains(v, secretKey) {
				out = append(out, "header "+f.Key())
			}
		}
		if p.MultipartReader() == nil {
			b, _ := io.ReadAll(p.Body)
			if bytes.Contains(b, []byte(secretKey)) {
				out = append(out, "part "+p.Header.Get("Content-Type"))
			}
		}
		return nil
	})
	return out
}

// TestSupportKeysNeverServedWhole sends a mail holding a valid support
// key in every place a key can be and follows it everywhere it is
// served or copied: the mail at the sink (the agents' notification, the
// customer's auto-reply, an agent's answer that attaches a file with the
// key), the desk's raw and attachment downloads, the customer page's
// attachment download, the search index, every file of the store but the
// blobs, and the log. Only the key check saw it: the ticket was opened.
func TestSupportKeysNeverServedWhole(t *testing.T) {
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	keys := keyFile(t, "key,customer,expires", secretKey+",customer.example,")
	c := benchConfig(t.TempDir(), sink)
	c.TrustedAuthservIDs = []string{"mx.example.com"}
	c.Inbound.AuthResultsFrom = []string{"127.0.0.1"}
	c.Admin.Users = map[string]string{unixUser(t): alice}
	c.Projects[0].OpenTo = config.OpenToKey
	c.Projects[0].SupportKeys = config.SupportKeys{File: keys, Pattern: keyPattern}
	if err := c.Finalize(); err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuf{}
	d, err := Start(c, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })

	mustSend(t, d.Addr("smtp"), carl, []string{acmeAddr}, keyedMail())
	first := settle(t, d, sink)
	if len(first) < 2 {
		t.Fatalf("%d mails for a request with a valid key, want the auto-reply and the agents'", len(first))
	}
	tk, msgs := ticketOf(t, d, "ACME-1")
	if tk.Subject != "Help with "+secretHidden {
		t.Errorf("stored subject %q", tk.Subject)
	}
	req := msgs[0]
	if len(req.Attach) != 1 || req.Raw == "" {
		t.Fatalf("request: %d attachments, raw %q", len(req.Attach), req.Raw)
	}
	// The raw message on disk stays whole: the durable record.
	if f, err := d.Store().OpenBlob(req.Raw); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(f)
		f.Close()
		if !bytes.Contains(b, []byte(secretKey)) {
			t.Fatal("the stored raw message lost the key")
		}
	}

	// Alice answers with a file holding the key: the customer's copy
	// attaches it.
	reply := "From: Alice <alice@example.com>\r\nTo: acme@support.example.com\r\nSubject: Re: [ACME-1] Help\r\n" + proof + "\r\n" +
		"Message-ID: <answer@example.com>\r\nDate: Mon, 02 Nov 2026 11:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=RR\r\n\r\n" +
		"--RR\r\nContent-Type: text/plain\r\n\r\nHere is your licence file.\r\n" +
		"--RR\r\nContent-Type: text/plain; name=licence.txt\r\nContent-Disposition: attachment; filename=licence.txt\r\n\r\nkey=" + secretKey + "\r\n" +
		"--RR--\r\n"
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, reply)
	all := settle(t, d, sink)
	answered := false
	for _, m := range all {
		if w := leaks(t, m.Data); len(w) > 0 {
			t.Errorf("mail to %v shows the key whole: %v", m.To, w)
		}
		if len(m.To) == 1 && m.To[0] == carl && bytes.Contains(m.Data, []byte("licence.txt")) {
			answered = true
			if !strings.Contains(string(decodedParts(t, m.Data)), "key="+secretHidden) {
				t.Errorf("the answer's attachment lacks the redacted key")
			}
		}
	}
	if !answered {
		t.Fatal("the customer got no answer with the attachment")
	}

	// The desk: sign in by the mailed link, download the raw message and
	// the attachment.
	web := "http://" + d.Addr("web")
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, []byte) {
		t.Helper()
		resp, err := cl.Get(web + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		for name, vs := range resp.Header {
			for _, v := range vs {
				if strings.Contains(v, secretKey) {
					t.Errorf("GET %s: header %s shows the key whole: %s", path, name, v)
				}
			}
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	post := func(path string, form url.Values) int {
		t.Helper()
		resp, err := cl.PostForm(web+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	csrf := func(page []byte) string {
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
		if m == nil {
			t.Fatalf("no csrf token in\n%s", page)
		}
		return string(m[1])
	}
	_, page := get("/desk/signin")
	post("/desk/signin", url.Values{"csrf": {csrf(page)}, "address": {alice}})
	link := ""
	d.Store().View(func(tx store.Tx) error {
		items, err := tx.ListOutbox(1000)
		for _, it := range items {
			if it.Event == notify.SignInTemplate && it.Recipient == alice {
				link = strings.TrimPrefix(it.Vars.Link, "http://ticketgate.test")
			}
		}
		return err
	})
	if link == "" {
		m := deskLinkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, alice, "/desk/signin/")))
		if m == nil {
			t.Fatal("no sign-in link")
		}
		link = m[1]
	}
	_, page = get(link)
	if code := post(link, url.Values{"csrf": {csrf(page)}}); code != http.StatusSeeOther {
		t.Fatalf("confirming the sign-in: %d", code)
	}
	<-d.SearchReady()
	for _, path := range []string{
		"/desk/t/ACME-1/raw/" + id(req.ID),
		"/desk/t/ACME-1/att/" + id(req.ID) + "/0",
		"/desk/t/ACME-1",
		"/desk/?q=zanzibarian",
	} {
		code, body := get(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, code)
		}
		if w := leaks(t, body); len(w) > 0 {
			t.Errorf("GET %s shows the key whole: %v", path, w)
		}
		if strings.Contains(path, "/raw/") || strings.Contains(path, "/att/") {
			if !bytes.Contains(decodedParts(t, body), []byte(secretHidden)) {
				t.Errorf("GET %s: no redacted key in it:\n%.400s", path, body)
			}
		}
		if strings.Contains(path, "?q=") && !bytes.Contains(body, []byte("ACME-1")) {
			t.Errorf("the search for a word of the text found nothing")
		}
	}
	// The whole key is not in the index: searching it finds nothing.
	if keys, err := d.searchTickets(context.Background(), secretKey, []string{"ACME"}); err != nil || len(keys) != 0 {
		t.Errorf("searching the whole key found %v (%v)", keys, err)
	}

	// The customer page's download of the agent's attachment.
	_, msgs = ticketOf(t, d, "ACME-1")
	var answer *store.Message
	for _, m := range msgs {
		if m.MessageID == "answer@example.com" {
			answer = m
		}
	}
	if answer == nil || len(answer.Attach) != 1 {
		t.Fatal("the answer was not stored with its file")
	}
	lm := linkRE.FindStringSubmatch(textBody(t, waitMailTo(t, sink, carl, "http://ticketgate.test/t/")))
	if lm != nil {
		code, body := get(lm[1] + "/att/" + id(answer.ID) + "/0")
		if code != http.StatusOK || bytes.Contains(body, []byte(secretKey)) || !bytes.Contains(body, []byte(secretHidden)) {
			t.Errorf("customer page download: %d %q", code, body)
		}
	} else {
		t.Error("no link token of the customer")
	}

	// The admin API's download (`ticketgate attachment ACME-1 N`), both files.
	ac := admin.NewSocketClient(filepath.Join(c.DataDir, AdminSocketName))
	for n := 1; n <= 2; n++ {
		var buf bytes.Buffer
		if _, err := ac.Attachment(context.Background(), "ACME-1", n, &buf); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(buf.Bytes(), []byte(secretKey)) || !bytes.Contains(buf.Bytes(), []byte(secretHidden)) {
			t.Errorf("admin API attachment %d: %q", n, buf.Bytes())
		}
	}

	// Alice forwards a customer's mail holding the key (attached as a
	// message): the request opened for the customer is stored redacted.
	fwd := "From: Alice <alice@example.com>\r\nTo: acme@support.example.com\r\nSubject: Fwd: licence trouble\r\n" + proof + "\r\n" +
		"Message-ID: <fwd@example.com>\r\nDate: Mon, 02 Nov 2026 12:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=FF\r\n\r\n" +
		"--FF\r\nContent-Type: text/plain\r\n\r\nFrom Dora, by phone and mail.\r\n" +
		"--FF\r\nContent-Type: message/rfc822\r\nContent-Disposition: attachment; filename=\"dora.eml\"\r\n\r\n" +
		"From: Dora <dora@customer.example>\r\nTo: alice@example.com\r\nSubject: licence " + secretKey + " broken\r\nMessage-ID: <dora1@customer.example>\r\n\r\n" +
		"My licence " + secretKey + " stopped working.\r\n" +
		"--FF--\r\n"
	mustSend(t, d.Addr("smtp"), alice, []string{acmeAddr}, fwd)
	for _, m := range settle(t, d, sink) {
		if w := leaks(t, m.Data); len(w) > 0 {
			t.Errorf("mail to %v after the forward shows the key whole: %v", m.To, w)
		}
	}
	tk2, msgs2 := ticketOf(t, d, "ACME-2")
	if tk2.Reporter != "dora@customer.example" || len(msgs2) == 0 || !strings.Contains(msgs2[0].Text, "My licence "+secretHidden+" stopped") {
		t.Errorf("the forward opened %s for %s with %q", tk2.Key, tk2.Reporter, msgs2[0].Text)
	}

	// Nothing the store keeps but the blobs holds the key; nor does the log.
	// Blobs of at most store.InlineBlobMax bytes live inside ticketgate.db
	// (issue 13: bucket blob_data, the content; before schema 10 bucket
	// blobs, be64 time then the content): with the daemon stopped, their
	// contents are cut out of its bytes before they are searched (a value
	// is stored contiguously, in its leaf or its overflow pages).
	d.Shutdown(context.Background())
	var blobs [][]byte
	db, err := bolt.Open(filepath.Join(c.DataDir, "ticketgate.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	db.View(func(tx *bolt.Tx) error {
		tx.Bucket([]byte("blobs")).ForEach(func(_, v []byte) error {
			blobs = append(blobs, bytes.Clone(v[8:]))
			return nil
		})
		return tx.Bucket([]byte("blob_data")).ForEach(func(_, v []byte) error {
			blobs = append(blobs, bytes.Clone(v))
			return nil
		})
	})
	if len(blobs) == 0 {
		t.Fatal("no inline blobs found to cut out: the store's layout changed under this test")
	}
	db.Close()
	filepath.WalkDir(c.DataDir, func(path string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			if de != nil && de.IsDir() && (de.Name() == "blobs" || de.Name() == "tmp") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.Contains(path, "pre-") {
			return nil
		}
		b, err := os.ReadFile(path)
		if filepath.Base(path) == "ticketgate.db" {
			for _, blob := range blobs {
				b = bytes.ReplaceAll(b, blob, nil)
			}
		}
		if err == nil && bytes.Contains(b, []byte(secretKey)) {
			t.Errorf("%s holds the key whole", path)
		}
		return nil
	})
	if strings.Contains(logs.String(), secretKey) {
		t.Errorf("the log shows the key whole")
	}
}

// decodedParts is every decoded leaf part of a message, joined.
func decodedParts(t *testing.T, data []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	e, err := gomessage.Read(bytes.NewReader(data))
	if err != nil && e == nil {
		return data
	}
	e.Walk(func(_ []int, p *gomessage.Entity, err error) error {
		if err == nil && p.MultipartReader() == nil {
			io.Copy(&out, p.Body)
		}
		return nil
	})
	if out.Len() == 0 {
		return data
	}
	return out.Bytes()
}

func id(n uint64) string { return strconv.FormatUint(n, 10) }
