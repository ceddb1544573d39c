package imapin

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/mailin"
)

// streamCheck is a receiver that looks at the start of the message and
// reports whether the server had already sent its end by then.
type streamCheck struct {
	end    string
	wire   *lockedBuffer
	result chan streamResult
}

type streamResult struct {
	endSentEarly bool
	size         int64
	err          error
}

func (s *streamCheck) Receive(_ context.Context, _ *mailin.Envelope, r io.Reader) []error {
	head := make([]byte, 64<<10)
	_, err := io.ReadFull(r, head)
	res := streamResult{endSentEarly: strings.Contains(s.wire.String(), s.end), err: err}
	n, err := io.Copy(io.Discard, r)
	res.size = int64(len(head)) + n
	if res.err == nil {
		res.err = err
	}
	s.result <- res
	return nil
}

// A large message reaches the pipeline while the server is still sending
// it: the fetcher streams the literal into the spool instead of collecting
// the whole message in memory first (issue 13, item 8).
func TestFetchStreamsLargeMessage(t *testing.T) {
	srv := startMem(t, capsRev2)
	const end = "THE-LAST-LINE-OF-THE-MESSAGE"
	var b bytes.Buffer
	b.WriteString(mail(1))
	line := strings.Repeat("x", 998) + "\r\n"
	for b.Len() < 24<<20 {
		b.WriteString(line)
	}
	b.WriteString(end + "\r\n")
	srv.append(t, "INBOX", b.String())
	e := newEnv(t, srv.port, nil)
	rc := &streamCheck{end: end, wire: srv.wire, result: make(chan streamResult, 1)}
	e.manager(t, rc)
	res := <-rc.result
	if res.err != nil {
		t.Fatal(res.err)
	}
	if res.size != int64(b.Len()) {
		t.Errorf("received %d bytes, the message has %d", res.size, b.Len())
	}
	if res.endSentEarly {
		t.Error("the server had sent the whole message before the pipeline read its start: the fetch was collected in memory")
	}
	e.eventually(t, "moved", func() bool { return srv.count("Processed") == 1 })
}
