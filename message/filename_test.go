package message

import "testing"

// TestAttachmentNameBidiControls: a right-to-left override makes
// "invoice\u202Efdp.exe" show as "invoiceexe.pdf"; the name keeps its
// letters but loses every bidirectional control.
func TestAttachmentNameBidiControls(t *testing.T) {
	raw := "From: a@b.example\r\nSubject: bill\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n" +
		"--XX\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*=UTF-8''invoice%E2%80%AEfdp.exe\r\n\r\nMZ\r\n" +
		"--XX\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"=?UTF-8?Q?a=E2=81=A7b=E2=80=8F.txt?=\"\r\n\r\nx\r\n" +
		"--XX--\r\n"
	m := parseString(t, raw)
	if len(m.Attachments) != 2 {
		t.Fatalf("%d attachments", len(m.Attachments))
	}
	for i, want := range []string{"invoicefdp.exe", "ab.txt"} {
		if got := m.Attachments[i].Filename; got != want {
			t.Errorf("attachment %d named %q, want %q", i, got, want)
		}
	}
}
