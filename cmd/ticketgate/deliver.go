package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/ticketgate/ticketgate/config"
	tgdaemon "github.com/ticketgate/ticketgate/daemon"
	"github.com/ticketgate/ticketgate/fault"
	"github.com/ticketgate/ticketgate/mailin"
)

// cmdDeliver reads one message on stdin and hands it to the daemon over
// data_dir/lmtp.sock. It never opens the store (bbolt allows one process).
// Exit codes follow sysexits so the MTA knows whether to retry.
func cmdDeliver(args []string, stdin io.Reader, stderr io.Writer) int {
	var path, rcpt, sender string
	fs := newFlags("deliver", stderr, &path)
	fs.StringVar(&rcpt, "recipient", "", "project address (default: from Delivered-To, X-Original-To, To/Cc)")
	fs.StringVar(&sender, "f", "", "envelope sender")
	fs.StringVar(&sender, "sender", "", "envelope sender")
	if err := fs.Parse(args); err != nil {
		return exitConfig
	}
	cfg, err := config.Load(path)
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
	rcpts := []string{rcpt}
	if rcpt == "" {
		rcpts = nil
		for _, r := range mailin.RecipientsFromHeader(raw) {
			if p, kind, _ := cfg.Route(r); p != nil && kind != config.AddrNone {
				rcpts = append(rcpts, r)
			}
		}
		if len(rcpts) == 0 {
			fmt.Fprintln(stderr, "ticketgate deliver: no project address in Delivered-To, X-Original-To, To or Cc (use --recipient)")
			return exitNoUser
		}
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

// deliverExit turns per-recipient verdicts into one exit code: success if
// any project stored it; otherwise the most retryable failure wins.
func deliverExit(verdicts map[string]error, rcpts []string, stderr io.Writer) int {
	code := -1
	for _, r := range rcpts {
		err := verdicts[r]
		if err == nil {
			return exitOK
		}
		fmt.Fprintf(stderr, "ticketgate deliver: %s: %v\n", r, err)
		var se *smtp.SMTPError
		c := exitUnavail
		switch {
		case fault.IsTemporary(err):
			c = exitTempFail
		case errors.As(err, &se) && se.Code == 550:
			c = exitNoUser
		case errors.As(err, &se) && (se.Code == 552 || se.Code == 554 || se.Code == 500):
			// The content was refused for good (too large, a line too
			// long, too deep): EX_DATAERR, so the MTA bounces it now.
			c = exitDataErr
		}
		if code == -1 || c == exitTempFail || (c == exitNoUser && code != exitTempFail) {
			code = c
		}
	}
	if code == -1 {
		return exitSoftware
	}
	return code
}
