package mailout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/ticketgate/ticketgate/fault"
)

func newTestMaildir(t *testing.T) *Maildir {
	t.Helper()
	md, err := NewMaildir(filepath.Join(t.TempDir(), "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// readDir returns the names in one of the maildir's folders.
func readDir(t *testing.T, md *Maildir, sub string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(md.Path(), sub))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestNewMaildirCreatesFolders(t *testing.T) {
	root := filepath.Join(t.TempDir(), "deep", "outbox")
	md, err := NewMaildir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"tmp", "new", "cur"} {
		fi, err := os.Stat(filepath.Join(root, sub))
		if err != nil {
			t.Fatalf("%s: %v", sub, err)
		}
		if !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want a 0700 directory", sub, fi.Mode())
		}
	}
	// Opening an existing maildir is fine too.
	if _, err := NewMaildir(root); err != nil {
		t.Errorf("reopening: %v", err)
	}
	if err := md.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := NewMaildir(""); err == nil {
		t.Error("NewMaildir(\"\") succeeded")
	}
}

func TestMaildirSend(t *testing.T) {
	md := newTestMaildir(t)
	msg := testMessage(7)
	env := Envelope{From: "bounces+acme@support.example.com", To: []string{"alice@customer.example", "bob@customer.example"}, MessageID: "msg-7@support.example.com"}

	if err := md.Send(t.Context(), env, bytes.NewReader(msg)); err != nil {
		t.Fatal(err)
	}

	if names := readDir(t, md, "tmp"); len(names) != 0 {
		t.Errorf("tmp/ still holds %q", names)
	}
	if names := readDir(t, md, "cur"); len(names) != 0 {
		t.Errorf("cur/ holds %q", names)
	}
	names := readDir(t, md, "new")
	if len(names) != 1 {
		t.Fatalf("new/ holds %q, want one file", names)
	}
	host, _ := os.Hostname()
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	pattern := fmt.Sprintf(`^\d+\.%d_1\.%s$`, os.Getpid(), regexp.QuoteMeta(host))
	if !regexp.MustCompile(pattern).MatchString(names[0]) {
		t.Errorf("file name %q does not match %s", names[0], pattern)
	}
	got, err := os.ReadFile(filepath.Join(md.Path(), "new", names[0]))
	if err != nil {
		t.Fatal(err)
	}
	want := "Return-Path: <bounces+acme@support.example.com>\r\n" +
		"Delivered-To: alice@customer.example\r\n" +
		"Delivered-To: bob@customer.example\r\n" + string(msg)
	if string(got) != want {
		t.Errorf("file content:\n got %q\nwant %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(md.Path(), "new", names[0]))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestMaildirKeepsLineEndings(t *testing.T) {
	md := newTestMaildir(t)
	msg := "Subject: unix line endings\n\nbody\n"
	if err := md.Send(t.Context(), Envelope{From: "", To: []string{"x@example.com"}}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	names := readDir(t, md, "new")
	if len(names) != 1 {
		t.Fatalf("new/ holds %q", names)
	}
	got, err := os.ReadFile(filepath.Join(md.Path(), "new", names[0]))
	if err != nil {
		t.Fatal(err)
	}
	// The null sender shows as <>.
	want := "Return-Path: <>\nDelivered-To: x@example.com\n" + msg
	if string(got) != want {
		t.Errorf("file content:\n got %q\nwant %q", got, want)
	}
}

func TestMaildirConcurrentUniqueNames(t *testing.T) {
	md := newTestMaildir(t)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- md.Send(t.Context(), testEnvelope(i), bytes.NewReader(testMessage(i)))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	names := readDir(t, md, "new")
	if len(names) != n {
		t.Fatalf("new/ holds %d files, want %d", len(names), n)
	}
	// Every message arrived intact in its own file.
	seen := make(map[string]bool)
	for _, name := range names {
		data, err := os.ReadFile(filepath.Join(md.Path(), "new", name))
		if err != nil {
			t.Fatal(err)
		}
		i := bytes.Index(data, []byte("Subject: [ACME-"))
		if i < 0 {
			t.Fatalf("%s has no subject", name)
		}
		var id int
		if _, err := fmt.Sscanf(string(data[i:]), "Subject: [ACME-%d]", &id); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.HasSuffix(data, testMessage(id)) {
			t.Errorf("%s: content of message %d is damaged", name, id)
		}
		seen[string(testMessage(id))] = true
	}
	if len(seen) != n {
		t.Errorf("%d distinct messages in new/, want %d", len(seen), n)
	}
	if tmp := readDir(t, md, "tmp"); len(tmp) != 0 {
		t.Errorf("tmp/ still holds %d files", len(tmp))
	}
}

func TestMaildirDiskErrorIsTemporary(t *testing.T) {
	md := newTestMaildir(t)
	// Someone removed tmp/ under the running daemon.
	if err := os.RemoveAll(filepath.Join(md.Path(), "tmp")); err != nil {
		t.Fatal(err)
	}
	err := md.Send(t.Context(), testEnvelope(1), bytes.NewReader(testMessage(1)))
	if !errors.Is(err, os.ErrNotExist) || !fault.IsTemporary(err) {
		t.Fatalf("Send error = %v, want a temporary not-exist error", err)
	}
	if names := readDir(t, md, "new"); len(names) != 0 {
		t.Errorf("new/ holds %q after a failed send", names)
	}
}

func TestMaildirReadErrorLeavesNothing(t *testing.T) {
	md := newTestMaildir(t)
	broken := errors.New("blob store unreadable")
	err := md.Send(t.Context(), testEnvelope(1), io.MultiReader(strings.NewReader("Subject: x\r\n"), &failingReader{err: broken}))
	if !errors.Is(err, broken) || !fault.IsTemporary(err) {
		t.Fatalf("Send error = %v, want temporary wrapping the read error", err)
	}
	if names := readDir(t, md, "new"); len(names) != 0 {
		t.Errorf("new/ holds %q after a failed send", names)
	}
	if names := readDir(t, md, "tmp"); len(names) != 0 {
		t.Errorf("tmp/ keeps the partial file %q", names)
	}
}

func TestMaildirCancelled(t *testing.T) {
	md := newTestMaildir(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := md.Send(ctx, testEnvelope(1), bytes.NewReader(testMessage(1)))
	if !errors.Is(err, context.Canceled) || !fault.IsTemporary(err) {
		t.Fatalf("Send error = %v, want temporary context.Canceled", err)
	}
	if names := readDir(t, md, "new"); len(names) != 0 {
		t.Errorf("new/ holds %q after a cancelled send", names)
	}
}

func TestMaildirBadEnvelope(t *testing.T) {
	md := newTestMaildir(t)
	err := md.Send(t.Context(), Envelope{From: "a@example.com\r\nX-Injected: yes", To: []string{"b@example.com"}}, strings.NewReader("x\r\n"))
	if err == nil || fault.IsTemporary(err) {
		t.Fatalf("Send error = %v, want permanent", err)
	}
	if names := readDir(t, md, "new"); len(names) != 0 {
		t.Errorf("new/ holds %q", names)
	}
}
