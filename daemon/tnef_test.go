package daemon

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/ticketgate/ticketgate/internal/corpustest"
	"github.com/ticketgate/ticketgate/mailout/mailouttest"
	"github.com/ticketgate/ticketgate/store"
)

// tnefMail is an Outlook mail whose only part is a winmail.dat.
func tnefMail(n int, data []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: Olga Outlook <olga@customer.example>\r\nTo: acme@support.example.com\r\nSubject: winmail %d\r\n", n)
	fmt.Fprintf(&b, "Message-ID: <tnef-%d@customer.example>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n", n)
	b.WriteString("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n")
	b.WriteString("Content-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n")
	b.WriteString("Content-Disposition: attachment; filename=\"winmail.dat\"\r\n\r\n")
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n--b1--\r\n")
	return b.String()
}

// debianTnef returns the files Debian's tnef command writes from a
// stream, by name (decoded from Windows-1252 where tnef wrote the bytes
// of the stream's code page).
func debianTnef(t *testing.T, bin, file string) (map[string][]byte, error) {
	t.Helper()
	out := t.TempDir()
	if msg, err := exec.Command(bin, "--overwrite", "-C", out, "-f", file).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("%v: %s", err, msg)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(out, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		n := e.Name()
		if !utf8.ValidString(n) {
			if s, err := charmap.Windows1252.NewDecoder().String(n); err == nil {
				n = s
			}
		}
		files[n] = b
	}
	return files, nil
}

func blobBytes(t *testing.T, d *Daemon, hash string) []byte {
	t.Helper()
	f, err := d.Store().OpenBlob(hash)
	if err != nil {
		t.Fatalf("blob %s: %v", hash, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWinmailDatOverSMTP sends every winmail.dat of ../shared/corpus/tnef
// through the SMTP listener, each as the only part of an Outlook mail.
// The ticket's attachments are what Debian's tnef command extracts from
// the same file: the same names and the same bytes, each its own blob.
// Two differences are by design (as in package tnef's own comparison): an
// OLE object loses the 16-byte interface id tnef keeps in front of the
// file, and a file without a name is stored under a name made from its
// type where tnef writes "tnef-tmp". The broken samples keep the original
// winmail.dat, byte for byte, with a problem saying why; a stream's body
// is the ticket's text when the mail has no other.
func TestWinmailDatOverSMTP(t *testing.T) {
	dir := filepath.Join(corpustest.Dir(t), "tnef")
	bin, err := exec.LookPath("tnef")
	if err != nil {
		t.Skip("Debian's tnef command is not installed (apt-get install tnef; .ci/run installs it)")
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.tnef"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no TNEF samples in the corpus at %s: %v", dir, err)
	}
	sort.Strings(files)
	// Broken on purpose (the corpus README): tnef refuses them too.
	broken := map[string]bool{"bad_checksum.tnef": true, "duplicate_filename.tnef": true, "IPM-DistList.tnef": true}
	// The bodies of samples that carry one (and no other file's text).
	bodies := map[string]string{
		"rtf.tnef":     "Greg Allen",
		"umlaut.tnef":  "TEST äöü",
		"triples.tnef": "Sample description",
	}
	sink := mailouttest.NewSink(t, mailouttest.Options{})
	d := start(t, testConfig(t, t.TempDir(), sink))
	compared := 0
	for i, f := range files {
		name := filepath.Base(f)
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mustSend(t, d.Addr("smtp"), "olga@customer.example", []string{"acme@support.example.com"}, tnefMail(i, in))
		key := store.TicketKey("ACME", uint64(i+1))
		_, msgs := ticketOf(t, d, key)
		if len(msgs) != 1 || msgs[0].Subject != fmt.Sprintf("winmail %d", i) {
			t.Fatalf("%s: %s holds %d messages", name, key, len(msgs))
		}
		m := msgs[0]
		ours := map[string][]byte{}
		for _, a := range m.Attach {
			if a.Blob == "" {
				t.Fatalf("%s: attachment %q stored without a blob", name, a.Filename)
			}
			if _, dup := ours[a.Filename]; dup {
				t.Errorf("%s: two attachments named %q", name, a.Filename)
			}
			ours[a.Filename] = blobBytes(t, d, a.Blob)
			if int64(len(ours[a.Filename])) != a.Size {
				t.Errorf("%s: %q size %d, blob %d bytes", name, a.Filename, a.Size, len(ours[a.Filename]))
			}
		}
		if broken[name] {
			if len(m.Attach) != 1 || m.Attach[0].Filename != "winmail.dat" || !bytes.Equal(ours["winmail.dat"], in) {
				t.Errorf("%s (broken): attachments %v, want the original winmail.dat", name, names(ours))
			}
			if !strings.Contains(strings.Join(m.Problems, "\n"), "could not be decoded") {
				t.Errorf("%s (broken): no problem noted: %q", name, m.Problems)
			}
			continue
		}
		if want, ok := bodies[name]; ok && !strings.Contains(m.Text, want) {
			t.Errorf("%s: text %q does not contain the stream's body %q", name, m.Text, want)
		}
		theirs, err := debianTnef(t, bin, f)
		if err != nil {
			t.Fatalf("%s: tnef: %v", name, err)
		}
		if _, ok := theirs["tnef-tmp"]; ok {
			// tnef's name for a nameless file; ours comes from its type.
			theirs["attachment.bin"] = theirs["tnef-tmp"]
			delete(theirs, "tnef-tmp")
		}
		if got, want := names(ours), names(theirs); got != want {
			t.Errorf("%s: attachments %s, tnef wrote %s", name, got, want)
			continue
		}
		for n, b := range theirs {
			o := ours[n]
			if !bytes.Equal(o, b) && !(len(b) == len(o)+16 && bytes.Equal(b[16:], o)) {
				t.Errorf("%s: %q: %d bytes on the ticket, tnef wrote %d that differ", name, n, len(o), len(b))
			}
		}
		compared++
	}
	if compared < len(files)-len(broken) {
		t.Errorf("compared %d samples of %d", compared, len(files)-len(broken))
	}
	t.Logf("%d winmail.dat samples compared with %s, %d broken ones kept as they came", compared, bin, len(broken))
}

func names(m map[string][]byte) string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return fmt.Sprintf("%q", out)
}
