package mailin

import (
	"slices"
	"testing"
)

// RecipientsFromHeader reads the header the way the pipeline does
// (package message): an mbox line, folded fields, an 8-bit display name and
// a bare address in Delivered-To all read.
func TestRecipientsFromHeader(t *testing.T) {
	for _, tc := range []struct {
		name, raw string
		want      []string
	}{
		{"delivered-to first", "From x@y Thu Jan  1 00:00:00 2026\r\nTo: a@example.com\r\nDelivered-To: Support@Example.com\r\n\r\nbody", []string{"support@example.com"}},
		{"x-original-to", "X-Original-To: <help@example.com>\r\nTo: a@example.com\r\n\r\n", []string{"help@example.com"}},
		{"to and cc, folded", "To: \"M\xfcller\" <a@example.com>,\r\n b@example.com\r\nCc: c@example.com\r\n\r\n", []string{"a@example.com", "b@example.com", "c@example.com"}},
		{"broken list", "To: a@example.com b@example.com;;\r\n\r\n", []string{"a@example.com", "b@example.com"}},
		{"none", "Subject: hi\r\n\r\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RecipientsFromHeader([]byte(tc.raw)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}
