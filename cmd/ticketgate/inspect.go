package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/policy"
)

// inspectOutput is the JSON `ticketgate inspect` prints.
type inspectOutput struct {
	Subject     string               `json:"subject"`
	From        string               `json:"from"`
	FromName    string               `json:"from_name"`
	To          []message.Address    `json:"to"`
	Cc          []message.Address    `json:"cc"`
	MessageID   string               `json:"message_id"`
	InReplyTo   []string             `json:"in_reply_to"`
	References  []string             `json:"references"`
	Date        string               `json:"date"`
	Text        string               `json:"text"`
	HTML        string               `json:"html"`
	Attachments []message.Attachment `json:"attachments"`
	Auto        string               `json:"auto"`
	Problems    []string             `json:"problems"`
}

func cmdInspect(args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: ticketgate inspect FILE")
		return exitConfig
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate inspect: %v\n", err)
		return exitConfig
	}
	defer f.Close()
	m, err := message.Parse(f, message.ParseOptions{})
	if err != nil {
		fmt.Fprintf(stderr, "ticketgate inspect: reading %s: %v\n", args[0], err)
		return exitConfig
	}
	out := inspectOutput{
		Subject: m.Subject, From: m.From, FromName: m.FromName, To: nonNil(m.To), Cc: nonNil(m.Cc),
		MessageID: m.MessageID, InReplyTo: nonNilS(m.InReplyTo), References: nonNilS(m.References),
		Text: m.Text, HTML: m.HTML, Attachments: m.Attachments, Problems: nonNilS(m.Problems),
		// A file has no envelope: only the headers can say "automatic".
		Auto: policy.Automatic(m, policy.Envelope{Source: "file"}, policy.Options{}),
	}
	if out.Attachments == nil {
		out.Attachments = []message.Attachment{}
	}
	if !m.Date.IsZero() {
		out.Date = m.Date.Format(time.RFC3339)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintf(stderr, "ticketgate inspect: %v\n", err)
		return exitFailure
	}
	return exitOK
}

func nonNil(a []message.Address) []message.Address {
	if a == nil {
		return []message.Address{}
	}
	return a
}

func nonNilS(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}
