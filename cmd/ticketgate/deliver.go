package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	tgdaemon "github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/mailin"
)

// recipientList is a repeatable --recipient flag.
type recipientList []string

func (r *recipientList) String() string { return strings.Join(*r, ",") }
func (r *recipientList) Set(v string) error {
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			*r = append(*r, a)
		}
	}
	return nil
}

// cmdDeliver reads one message on stdin and hands it to the daemon over
// data_dir/lmtp.sock. It never opens the store (bbolt allows one process)
// and reads no secret file. Exit codes follow sysexits so the MTA knows
// whether to retry.
func cmdDeliver(args []string, stdin io.Reader, stderr io.Writer) int {
	var path, sender string
	var given recipientList
	fs := newFlags("deliver", stderr, &path)
	fs.Var(&given, "recipient", "the envelope recipient as the MTA received it, detail part included (Postfix pipe: ${original_recipient}); repeatable. Default: from Delivered-To, X-Original-To, To/Cc")
	fs.StringVar(&sender, "f", "", "envelope sender")
	fs.StringVar(&sender, "sender", "", "envelope sender")
	if err := parseFlags(fs, args); err != nil {
		return exitConfig
	}
	// Recipients may also follow as arguments (pipe transports often
	// end with "-- ${recipient}"; a ${original_recipient} that expands to
	// several addresses lands here too).
	given = append(given, fs.Args()...)
	cfg, err := config.LoadClient(path)
	if err != nil {
		printConfigErrors(stderr, path, err)
		// The MTA should keep the mail while the sysadmin fixes the config.
		return exitTempFail
	}
	raw, err := io.ReadAll(io.LimitReader(stdin, cfg.Inbound.MaxMessageBytes+1))
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate deliver: reading stdin: %v\n", err)
		return exitTempFail
	}
	if err := mailin.CheckHeader(raw); err != nil {
		fmt.Fprintf(stderr, "ticketgate deliver: %v\n", err)
		return exitDataErr
	}
	if int64(len(raw)) > cfg.Inbound.MaxMessageBytes {
		fmt.Fprintf(stderr, "ticketgate deliver: message larger than inbound.max_message_bytes (%d)\n", cfg.Inbound.MaxMessageBytes)
		return exitUnavail
	}
	rcpts := deliverRecipients(cfg, given, raw)
	if len(rcpts) == 0 {
		fmt.Fprintln(stderr, "ticketgate deliver: no project address in Delivered-To, X-Original-To, To or Cc (use --recipient)")
		return exitNoUser
	}
	sock := filepath.Join(cfg.DataDir, tgdaemon.SocketName)
	verdicts, err := mailin.LMTPDeliver(sock, sender, rcpts, raw, 2*time.Minute)
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate deliver: %v\n", err)
		if fault.IsTemporary(err) {
			return exitTempFail
		}
		return exitUnavail
	}
	return deliverExit(verdicts, rcpts, stderr)
}

// deliverRecipients decides the LMTP recipients. The envelope recipient
// the MTA passes with --recipient is used as given, detail part and all
// (+internal, +t-<token>, +bounce-<id>). Headers are the sender's to write,
// so what they add may only ever restrict: a bare project address given
// on the command line becomes the internal address when the MTA's
// Delivered-To/X-Original-To name it (an alias that drops "+internal" must
// not turn an internal note into a public answer), and addresses found
// only in headers lose any reply-token or bounce detail.
func deliverRecipients(cfg *config.Config, given []string, raw []byte) []string {
	internalFromHeader := map[string]string{}
	for _, r := range mailin.MTARecipients(raw) {
		if p, kind, _ := cfg.Route(r); kind == config.AddrInternal {
			internalFromHeader[p.Key] = r
		}
	}
	var out []string
	seen := map[string]int{} // project key → index in out
	add := func(p *config.Project, kind config.AddressKind, addr string) {
		if p == nil {
			out = append(out, addr) // the daemon answers 550: exit 67
			return
		}
		if i, ok := seen[p.Key]; ok {
			// The daemon handles one copy per project: the most
			// restrictive form wins.
			if kind == config.AddrInternal {
				out[i] = addr
			}
			return
		}
		seen[p.Key] = len(out)
		out = append(out, addr)
	}
	if len(given) > 0 {
		for _, r := range given {
			p, kind, tag := cfg.Route(r)
			if p != nil && kind == config.AddrProject && tag == "" {
				if in, ok := internalFromHeader[p.Key]; ok {
					r, kind = in, config.AddrInternal
				}
			}
			add(p, kind, r)
		}
		return out
	}
	for _, r := range mailin.RecipientsFromHeader(raw) {
		p, kind, _ := cfg.Route(r)
		switch kind {
		case config.AddrNone:
			continue
		case config.AddrInternal:
		default:
			r, kind = p.Address, config.AddrProject
		}
		add(p, kind, r)
	}
	return out
}

// deliverExit turns per-recipient verdicts into one exit code. Any
// temporary failure wins (75): the MTA retries the whole message, and the
// copies already stored are recognised as duplicates then. Content refused
// for good comes next (65: the sender must hear of it). Otherwise the
// message counts as delivered when any project stored it; when none did,
// the most specific permanent failure is reported.
func deliverExit(verdicts map[string]error, rcpts []string, stderr io.Writer) int {
	stored, temp, refused := false, false, false
	code := -1
	for _, r := range rcpts {
		err, ok := verdicts[r]
		if !ok {
			err = fault.Temporary(errors.New("no answer from the daemon for this recipient"))
		}
		if err == nil {
			stored = true
			continue
		}
		fmt.Fprintf(stderr, "ticketgate deliver: %s: %v\n", r, err)
		var se *smtp.SMTPError
		switch {
		case fault.IsTemporary(err):
			temp = true
		case errors.As(err, &se) && se.Code == 550:
			code = exitNoUser
		case errors.As(err, &se) && (se.Code == 552 || se.Code == 554 || se.Code == 500):
			// The content was refused for good (too large, a line too
			// long, too deep): EX_DATAERR, so the MTA bounces it now —
			// even when another project kept it: the content is the same.
			refused = true
		case code == -1:
			code = exitUnavail
		}
	}
	switch {
	case temp:
		return exitTempFail
	case refused:
		return exitDataErr
	case stored:
		return exitOK
	case code == -1:
		return exitSoftware
	}
	return code
}
