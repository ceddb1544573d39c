package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset"
	"github.com/emersion/go-message/mail"

	"github.com/ticketgate/ticketgate/internal/corpustest"
	"github.com/ticketgate/ticketgate/store"
	"github.com/ticketgate/ticketgate/web"
)

// corpusMail is what the test takes from one real message: enough to build
// the two messages the page renders from it.
type corpusMail struct {
	path, subject, from, fromName string
	text, html                    string
	attach                        []store.Attachment
}

func readCorpusMail(path string) (*corpusMail, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	e, err := message.Read(bytes.NewReader(cleanHeader(raw)))
	if e == nil {
		return nil, err
	}
	cm := &corpusMail{path: path}
	h := mail.Header{Header: e.Header}
	cm.subject, _ = h.Subject()
	if from, err := h.AddressList("From"); err == nil && len(from) > 0 {
		cm.from, cm.fromName = from[0].Address, from[0].Name
	}
	_ = e.Walk(func(_ []int, part *message.Entity, err error) error {
		if err != nil || part == nil || part.MultipartReader() != nil {
			return nil
		}
		mt, params, _ := part.Header.ContentType()
		disp, dparams, _ := part.Header.ContentDisposition()
		body, _ := io.ReadAll(io.LimitReader(part.Body, 1<<20))
		name := dparams["filename"]
		if name == "" {
			name = params["name"]
		}
		switch {
		case disp != "attachment" && name == "" && mt == "text/plain" && cm.text == "":
			cm.text = string(body)
		case disp != "attachment" && name == "" && mt == "text/html" && cm.html == "":
			cm.html = string(body)
		default:
			cm.attach = append(cm.attach, store.Attachment{Filename: name, ContentType: mt, Size: int64(len(body)),
				ContentID: strings.Trim(part.Header.Get("Content-Id"), "<> "), Inline: disp == "inline"})
		}
		return nil
	})
	if cm.text == "" && cm.html == "" && e.MultipartReader() == nil && len(cm.attach) == 0 {
		body, _ := io.ReadAll(e.Body)
		cm.text = string(body)
	}
	return cm, nil
}

// cleanHeader drops what go-message's strict header reader refuses and a
// lenient ingest would skip: an mbox "From " line and lines that are
// neither fields nor continuations. The page never sees headers; this only
// gets the bodies of malformed corpus messages into the test.
func cleanHeader(raw []byte) []byte {
	var out bytes.Buffer
	rest := raw
	first := true
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		trimmed := bytes.TrimRight(line, "\r\n")
		if len(trimmed) == 0 {
			out.Write(line)
			out.Write(rest)
			return out.Bytes()
		}
		isField := false
		if i := bytes.IndexByte(trimmed, ':'); i > 0 {
			isField = true
			for _, c := range trimmed[:i] {
				if c <= ' ' || c > '~' {
					isField = false
					break
				}
			}
		}
		if isField || (!first && (line[0] == ' ' || line[0] == '\t')) {
			out.Write(line)
		}
		first = false
	}
	return out.Bytes()
}

// normalizeText is what a reader would compare: valid UTF-8 (the page
// cannot carry anything else), no control characters, whitespace collapsed.
func normalizeText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if r == 0 || r == utf8.RuneError {
			return -1
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// TestCorpusPagesShowTextAndStayInert renders every message of the shared
// corpus twice on a ticket page, once from its text and once from its HTML
// alone, and checks what a customer would get: the page loads, carries the
// subject, shows the whole text (answer plus folded history, nothing lost
// or garbled by folding and linking), and whatever the HTML held, the page
// can run nothing, load nothing from elsewhere and submit nowhere.
func TestCorpusPagesShowTextAndStayInert(t *testing.T) {
	corpus := corpustest.Dir(t)
	var mails []*corpusMail
	err := filepath.WalkDir(corpus, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".eml") {
			return err
		}
		cm, err := readCorpusMail(path)
		if err != nil {
			t.Logf("%s: unreadable by go-message, skipped: %v", path, err)
			return nil
		}
		mails = append(mails, cm)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) < 600 {
		t.Fatalf("only %d corpus messages readable", len(mails))
	}
	f := newFixture(t, web.Options{}, nil)
	err = f.st.Update(context.Background(), func(tx store.Tx) error {
		for i, cm := range mails {
			n := uint64(100 + i)
			tk := &store.Ticket{Key: store.TicketKey("CORP", n), Project: "CORP", Number: n, Subject: cm.subject,
				Status: "new", Language: "en", Created: t0, Updated: t0}
			msgs := []store.Message{
				{Direction: "in", Kind: "request", From: cm.from, FromName: cm.fromName, Text: cm.text, Received: t0, Attach: cm.attach},
				{Direction: "in", Kind: "comment", From: cm.from, FromName: cm.fromName, HTML: cm.html, Received: t0},
			}
			if err := addTicket(tx, tk, msgs); err != nil {
				return err
			}
			if err := addToken(tx, fmt.Sprintf("corpus%020d", n), tk.Key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	htmlPages := 0
	for _, cm := range mails {
		if strings.TrimSpace(cm.html) != "" {
			htmlPages++
		}
	}
	if htmlPages < 100 {
		t.Errorf("only %d corpus messages have HTML to sanitise", htmlPages)
	}
	for i, cm := range mails {
		name, _ := filepath.Rel(corpus, cm.path)
		t.Run(name, func(t *testing.T) {
			resp, page := f.get(t, fmt.Sprintf("/t/corpus%020d", 100+i))
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			assertInert(t, page)
			// The folded history follows its "Show quoted text" summary;
			// without it the page reads as the text did.
			text := normalizeText(strings.ReplaceAll(pageText(page), " Show quoted text ", " "))
			if subj := normalizeText(cm.subject); subj != "" && !strings.Contains(text, subj) {
				t.Errorf("subject %q not on the page", subj)
			}
			if body := normalizeText(cm.text); !strings.Contains(text, body) {
				t.Errorf("text not shown whole:\nwant %q\npage %q", body, text)
			}
		})
	}
}
