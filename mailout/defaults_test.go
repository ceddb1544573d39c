package mailout

import (
	"log/slog"
	"testing"

	"github.com/ticketgate/ticketgate/config"
	"github.com/ticketgate/ticketgate/store"
)

// The relay's TLS mode, port and timeout and the sender's workers and
// retry come from package config's defaults: there is one source, so a
// transport or sender built without them behaves as the daemon configured
// by an empty config file (issue 13, item 7: config said none/25/16
// workers while mailout said starttls/587/4).
func TestDefaultsAreConfigs(t *testing.T) {
	def := config.Default().Outbound
	s := NewSMTP(SMTPOptions{Host: "relay.example"}, slog.New(slog.DiscardHandler))
	if s.opts.TLS != def.SMTP.TLS || s.opts.Port != def.SMTP.Port || s.opts.Timeout != def.SMTP.Timeout {
		t.Errorf("SMTP defaults tls %q port %d timeout %v; config says %q %d %v",
			s.opts.TLS, s.opts.Port, s.opts.Timeout, def.SMTP.TLS, def.SMTP.Port, def.SMTP.Timeout)
	}
	// What an empty config file gives goes through unchanged.
	fromCfg, err := SMTPOptionsFromConfig(config.SMTPOut{Host: "relay.example"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fromCfg.withDefaults(); got.TLS != def.SMTP.TLS || got.Port != def.SMTP.Port {
		t.Errorf("from config: tls %q port %d", got.TLS, got.Port)
	}
	st, err := store.Open(t.TempDir(), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snd := NewSender(st, nil, Retry{}, 0, slog.New(slog.DiscardHandler))
	if snd.workers != def.Workers || snd.retry.Initial != def.Retry.Initial || snd.retry.Max != def.Retry.Max || snd.retry.GiveUpAfter != def.Retry.GiveUpAfter {
		t.Errorf("sender defaults workers %d retry %+v; config says %d %+v", snd.workers, snd.retry, def.Workers, def.Retry)
	}
}
