package message

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"
)

// benchMessage builds a mid-size multipart message (about 300 KB): a
// quoted-printable text/html alternative with an inline image and two
// base64 attachments, the shape of a typical Outlook reply.
func benchMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: =?utf-8?Q?J=C3=B6rg?= <joerg@example.org>\r\nTo: acme@support.example.com\r\n" +
		"Subject: =?utf-8?B?UmU6IFtBQ01FLTQyXSBEcnVja2Vy?=\r\nDate: Mon, 3 Mar 2025 10:14:55 +0100\r\n" +
		"Message-ID: <bench@example.org>\r\nReferences: <a@x> <b@y> <c@z>\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n" +
		"Content-Type: multipart/related; boundary=\"rel\"\r\n\r\n--rel\r\n" +
		"Content-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n--alt\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	para := "Der Drucker im 2. Stock druckt seit gestern nur noch leere Seiten, bitte pr=C3=BCfen. =\r\nDanke!\r\n"
	for i := 0; i < 300; i++ {
		b.WriteString(para)
	}
	b.WriteString("\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<html><body>")
	for i := 0; i < 300; i++ {
		b.WriteString("<p class=3D\"MsoNormal\">" + para + "</p>\r\n")
	}
	b.WriteString("</body></html>\r\n--alt--\r\n")
	attach := func(header string, size int) {
		data := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, 1, 2, 3, 0xff}, size/9)
		enc := base64.StdEncoding.EncodeToString(data)
		b.WriteString(header + "Content-Transfer-Encoding: base64\r\n\r\n")
		for len(enc) > 76 {
			b.WriteString(enc[:76] + "\r\n")
			enc = enc[76:]
		}
		b.WriteString(enc + "\r\n")
	}
	attach("--rel\r\nContent-Type: image/png; name=\"image001.png\"\r\nContent-ID: <image001.png@01D>\r\n", 20000)
	b.WriteString("--rel--\r\n")
	attach("--outer\r\nContent-Type: application/pdf; name=\"report.pdf\"\r\nContent-Disposition: attachment; filename=\"report.pdf\"\r\n", 80000)
	attach("--outer\r\nContent-Type: application/vnd.ms-excel\r\nContent-Disposition: attachment; filename*=utf-8''Tabelle%20M%C3%A4rz.xls\r\n", 60000)
	b.WriteString("--outer--\r\n")
	return b.Bytes()
}

func BenchmarkParse(b *testing.B) {
	raw := benchMessage()
	sink := func(a *Attachment, r io.Reader) (string, error) {
		_, err := io.Copy(io.Discard, r)
		return "ref", err
	}
	m, err := Parse(bytes.NewReader(raw), ParseOptions{Attachments: sink})
	if err != nil || len(m.Attachments) != 3 || !strings.Contains(m.Text, "Drucker") {
		b.Fatalf("bench message does not parse as expected: %v %+v", err, m)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Parse(bytes.NewReader(raw), ParseOptions{Attachments: sink}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(len(raw))/1024, "KiB/msg")
}
