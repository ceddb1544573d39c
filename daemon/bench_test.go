package daemon

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// BenchmarkSMTPAccept measures what the spine accepts over SMTP: 8
// concurrent client connections, 70 % new requests from distinct senders
// and 30 % customer replies threaded by In-Reply-To, every message durable
// (fsynced, group-committed) before its 250. It reports messages per second
// and the p50/p99 time from the end of DATA (the final ".") to the 250.
// Auto-replies and agent notifications go to an in-process relay, so the
// sender loop runs too.
//
//	go test -run '^$' -bench BenchmarkSMTPAccept -benchtime 4000x ./daemon
func BenchmarkSMTPAccept(b *testing.B) {
	sink, err := mailouttest.Start(mailouttest.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	c := benchConfig(b.TempDir(), sink)
	// Load from many senders: the automatic-mail budget of one project
	// would stop the auto-replies after 1,000 per hour.
	c.Limits.AutoPerProject.Count = 1 << 30
	c.Limits.AutoPerTicket.Count = 1 << 30
	if err := c.Finalize(); err != nil {
		b.Fatal(err)
	}
	d, err := Start(c, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(b.Context())
	const clients = 8
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for w := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, err := smtp.Dial(d.Addr("smtp"))
			if err != nil {
				b.Error(err)
				return
			}
			defer cl.Close()
			var mine []time.Duration
			var last string
			for i := w; i < b.N; i += clients {
				from := fmt.Sprintf("c%d-%d@customer.example", w, i)
				id := fmt.Sprintf("bench-%d-%d@customer.example", w, i)
				extra := ""
				if i%10 >= 7 && last != "" {
					extra = "In-Reply-To: <" + last + ">\r\n"
				}
				raw := fmt.Sprintf("From: %s\r\nTo: acme@support.example.com\r\nSubject: Bench %d\r\nMessage-ID: <%s>\r\nDate: Mon, 02 Nov 2026 10:00:00 +0000\r\n%s\r\nHello, this is message %d.\r\nIt has a few lines of text\r\nlike a short customer request.\r\n", from, i, id, extra, i)
				if err := cl.Mail(from, nil); err != nil {
					b.Error(err)
					return
				}
				if err := cl.Rcpt("acme@support.example.com", nil); err != nil {
					b.Error(err)
					return
				}
				wc, err := cl.Data()
				if err != nil {
					b.Error(err)
					return
				}
				io.WriteString(wc, raw)
				t0 := time.Now()
				if err := wc.Close(); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t0))
				last = id
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
