package pgp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	gomessage "github.com/emersion/go-message"

	"github.com/ticketgate/ticketgate/message"
	"github.com/ticketgate/ticketgate/store"
)

// maxSignatureBytes bounds the signature part of a multipart/signed mail.
const maxSignatureBytes = 64 << 10

// maxHeaderBytes bounds a header block this package copies.
const maxHeaderBytes = 1 << 20

// Opened is what the inbound step made of a message.
type Opened struct {
	// Encrypted: the mail was multipart/encrypted (RFC 3156).
	Encrypted bool
	// Plain is the blob of the decrypted message to parse instead of the
	// raw one: the outer header (From, Subject with its [ACME-N] token,
	// Message-ID, Authentication-Results …) with the decrypted entity as
	// its content. Empty when the mail was not encrypted or could not be
	// decrypted.
	Plain string
	// Failure says, for the agents, why an encrypted mail could not be
	// decrypted ("" when it was, or was not encrypted).
	Failure string
	// Signature is the result of the signature check (none when the mail
	// was not signed); Signer the fingerprint of the key that made a good
	// signature.
	Signature store.Signature
	Signer    string
}

// Source is what Open reads and writes.
type Source struct {
	// Open opens the raw message (or the plain blob, for a signed part
	// inside an encrypted mail) by blob hash.
	Open func(hash string) (io.ReadSeekCloser, error)
	// NewBlob starts the blob of the decrypted message.
	NewBlob func() (store.BlobWriter, error)
	// Decrypt returns the secret keys that may decrypt (the addressed
	// projects' keys); asked only for encrypted mail, so a key that cannot
	// be read holds up only that (its error is a storage error: the
	// sender retries).
	Decrypt func() (openpgp.EntityList, error)
	// SenderKeys returns the verified and the unverified key known for the
	// sender's From address (either may be nil).
	SenderKeys func(from string) (verified, unverified *openpgp.Entity, err error)
	// MaxBytes caps the decrypted (and decompressed) message.
	MaxBytes int64
}

// errStorage marks failures of the store (temporary: the sender retries),
// as opposed to what the mail itself is (an answer, never an error).
type errStorage struct{ err error }

func (e errStorage) Error() string { return e.err.Error() }
func (e errStorage) Unwrap() error { return e.err }

// IsStorage reports whether Open failed because the store did.
func IsStorage(err error) bool {
	var s errStorage
	return errors.As(err, &s)
}

// Open looks at the raw message hash: a multipart/encrypted mail is
// decrypted into a new blob (streamed, capped at MaxBytes), and a
// multipart/signed one (also inside the encrypted one) has its signature
// checked. Anything the mail does wrong is in the result; the error is
// for reading or writing the store (IsStorage) only.
func Open(src Source, hash string) (*Opened, error) {
	f, err := src.Open(hash)
	if err != nil {
		return nil, errStorage{err}
	}
	defer f.Close()
	h, err := message.ReadHeader(f)
	if err != nil {
		return nil, errStorage{err}
	}
	typ, params, perr := mime.ParseMediaType(h.Get("Content-Type"))
	from := strings.ToLower(message.FirstAddress(h.Get("From")))
	o := &Opened{}
	if perr != nil {
		return o, nil
	}
	switch {
	case typ == "multipart/encrypted" && strings.EqualFold(params["protocol"], "application/pgp-encrypted"):
		o.Encrypted = true
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, errStorage{err}
		}
		if err := decrypt(src, f, from, o); err != nil {
			return nil, err
		}
		if o.Plain != "" && o.Signature == store.SignatureNone {
			// RFC 3156 §6.1: signed, then encrypted.
			pf, err := src.Open(o.Plain)
			if err != nil {
				return nil, errStorage{err}
			}
			defer pf.Close()
			ph, err := message.ReadHeader(pf)
			if err != nil {
				return nil, errStorage{err}
			}
			if t, p, err := mime.ParseMediaType(ph.Get("Content-Type")); err == nil && isPGPSigned(t, p) {
				if err := verifySigned(src, pf, p["boundary"], from, o); err != nil {
					return nil, err
				}
			}
		}
	case isPGPSigned(typ, params):
		if err := verifySigned(src, f, params["boundary"], from, o); err != nil {
			return nil, err
		}
	}
	return o, nil
}

func isPGPSigned(typ string, params map[string]string) bool {
	return typ == "multipart/signed" && strings.EqualFold(params["protocol"], "application/pgp-signature") && params["boundary"] != ""
}

// decrypt decrypts the second part of a multipart/encrypted mail read
// from f into the plain blob.
func decrypt(src Source, f io.ReadSeeker, from string, o *Opened) error {
	br := bufio.NewReader(f)
	outer, err := readRawHeader(br)
	if err != nil {
		return errStorage{err}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return errStorage{err}
	}
	ent, err := gomessage.Read(bufio.NewReader(f))
	if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
		o.Failure = fmt.Sprintf("the encrypted message is malformed: %v", err)
		return nil
	}
	mr := ent.MultipartReader()
	if mr == nil {
		o.Failure = "the encrypted message has no parts"
		return nil
	}
	var body io.Reader
	for i := 0; i < 2; i++ {
		p, err := mr.NextPart()
		if err != nil {
			o.Failure = fmt.Sprintf("the encrypted message lacks its encrypted part: %v", err)
			return nil
		}
		if i == 1 {
			body = p.Body
		}
	}
	block, err := armor.Decode(body)
	if err != nil {
		o.Failure = fmt.Sprintf("the encrypted part is not OpenPGP data: %v", err)
		return nil
	}
	verified, unverified, err := senderKeys(src, from)
	if err != nil {
		return err
	}
	own, err := src.Decrypt()
	if err != nil {
		return errStorage{err}
	}
	ring := append(openpgp.EntityList{}, own...)
	for _, k := range []*openpgp.Entity{verified, unverified} {
		if k != nil {
			ring = append(ring, k)
		}
	}
	cfg := packetConfig(nil)
	limit := src.MaxBytes
	cfg.MaxDecompressedMessageSize = &limit
	md, err := openpgp.ReadMessage(block.Body, ring, nil, cfg)
	if err != nil {
		switch {
		case errors.Is(err, pgperrors.ErrKeyIncorrect):
			o.Failure = "the message is encrypted to a key this project does not hold"
		default:
			o.Failure = fmt.Sprintf("the message could not be decrypted: %v", err)
		}
		return nil
	}
	if !md.IsEncrypted {
		o.Failure = "the encrypted part holds no encrypted data"
		return nil
	}
	w, err := src.NewBlob()
	if err != nil {
		return errStorage{err}
	}
	if err := writePlain(w, outer, md.UnverifiedBody, src.MaxBytes); err != nil {
		w.Abort()
		var s errStorage
		if errors.As(err, &s) {
			return err
		}
		o.Failure = fmt.Sprintf("the message could not be decrypted: %v", err)
		return nil
	}
	hash, err := w.CommitPending()
	if err != nil {
		return errStorage{err}
	}
	o.Plain = hash
	if md.IsSigned {
		o.Signature, o.Signer = inlineSignature(md, verified, unverified)
	}
	return nil
}

func senderKeys(src Source, from string) (verified, unverified *openpgp.Entity, err error) {
	if src.SenderKeys == nil || from == "" {
		return nil, nil, nil
	}
	verified, unverified, err = src.SenderKeys(from)
	if err != nil {
		return nil, nil, errStorage{err}
	}
	return verified, unverified, nil
}

// inlineSignature judges a signature inside the encrypted data (RFC 3156
// §6.2), valid once the body was read to its end.
func inlineSignature(md *openpgp.MessageDetails, verified, unverified *openpgp.Entity) (store.Signature, string) {
	if md.SignedBy == nil {
		return store.SignatureUnknownKey, ""
	}
	if md.SignatureError != nil {
		return store.SignatureBad, ""
	}
	return judge(md.SignedBy.Entity, verified, unverified)
}

func judge(signer, verified, unverified *openpgp.Entity) (store.Signature, string) {
	fp := Fingerprint(signer)
	switch {
	case verified != nil && fp == Fingerprint(verified):
		return store.SignatureVerified, fp
	case unverified != nil && fp == Fingerprint(unverified):
		return store.SignatureUnverifiedKey, fp
	}
	return store.SignatureUnknownKey, ""
}

// writePlain writes the message to parse: the outer header without its
// Content-* fields, then the decrypted entity (its own Content-* fields
// and body; any other field in it — protected headers — is dropped: the
// author and subject are always the outer, proven ones).
func writePlain(w io.Writer, outer []string, dec io.Reader, max int64) error {
	lr := &capReader{r: dec, max: max}
	br := bufio.NewReader(lr)
	inner, err := readRawHeader(br)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	for _, f := range outer {
		if !isContentField(f) {
			bw.WriteString(f)
		}
	}
	hasType := false
	for _, f := range inner {
		if isContentField(f) {
			hasType = hasType || strings.HasPrefix(strings.ToLower(f), "content-type:")
			bw.WriteString(f)
		}
	}
	if !hasType {
		bw.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	}
	bw.WriteString("\r\n")
	if _, err := io.Copy(bw, br); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return errStorage{err}
	}
	return nil
}

func isContentField(f string) bool {
	return len(f) >= 8 && strings.EqualFold(f[:8], "content-")
}

// readRawHeader reads a header block as its fields, each with its
// continuation lines and line ends exactly as written (an mbox "From "
// line is dropped). The blank line is consumed.
func readRawHeader(br *bufio.Reader) ([]string, error) {
	var fields []string
	total := 0
	first := true
	for {
		line, err := br.ReadString('\n')
		total += len(line)
		if total > maxHeaderBytes {
			return nil, fmt.Errorf("pgp: header longer than %d bytes", maxHeaderBytes)
		}
		if first && strings.HasPrefix(line, "From ") {
			first = false
			continue
		}
		first = false
		if strings.TrimRight(line, "\r\n") == "" {
			return fields, nil
		}
		if !strings.HasSuffix(line, "\n") {
			line += "\r\n"
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += line
		} else {
			fields = append(fields, line)
		}
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// capReader fails once more than max bytes are read.
type capReader struct {
	r         io.Reader
	max, read int64
}

func (c *capReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += int64(n)
	if c.read > c.max {
		return n, fmt.Errorf("the decrypted message is larger than %d bytes", c.max)
	}
	return n, err
}

// verifySigned checks a multipart/signed mail read from f (RFC 3156 §5):
// the signature part is read first (small, capped), then the signed part
// streams, exactly as it was transmitted with CRLF line ends, into the
// check — nothing is held whole.
func verifySigned(src Source, f io.ReadSeeker, boundary, from string, o *Opened) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return errStorage{err}
	}
	ent, err := gomessage.Read(bufio.NewReader(f))
	if err != nil && !gomessage.IsUnknownCharset(err) && !gomessage.IsUnknownEncoding(err) {
		o.Signature = store.SignatureBad
		return nil
	}
	mr := ent.MultipartReader()
	if mr == nil {
		o.Signature = store.SignatureBad
		return nil
	}
	var sig []byte
	for i := 0; i < 2; i++ {
		p, err := mr.NextPart()
		if err != nil {
			o.Signature = store.SignatureBad
			return nil
		}
		if i == 1 {
			sig, err = io.ReadAll(io.LimitReader(p.Body, maxSignatureBytes+1))
			if err != nil || len(sig) > maxSignatureBytes {
				o.Signature = store.SignatureBad
				return nil
			}
		}
	}
	verified, unverified, err := senderKeys(src, from)
	if err != nil {
		return err
	}
	var ring openpgp.EntityList
	for _, k := range []*openpgp.Entity{verified, unverified} {
		if k != nil {
			ring = append(ring, k)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return errStorage{err}
	}
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(firstPart(bufio.NewReaderSize(f, 64<<10), boundary, pw))
	}()
	signer, err := openpgp.CheckArmoredDetachedSignature(ring, pr, bytes.NewReader(sig), packetConfig(nil))
	pr.CloseWithError(io.ErrClosedPipe) // ends the copier when the check stopped early
	<-done
	switch {
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		o.Signature = store.SignatureUnknownKey
	case err != nil:
		o.Signature = store.SignatureBad
	default:
		o.Signature, o.Signer = judge(signer, verified, unverified)
	}
	return nil
}

// firstPart writes the first body part of the multipart entity read from
// br, canonical (CRLF line ends), without the line end before the next
// delimiter (RFC 2046 §5.1.1: it belongs to the delimiter).
func firstPart(br *bufio.Reader, boundary string, w io.Writer) error {
	if _, err := readRawHeader(br); err != nil {
		return err
	}
	delim := "--" + boundary
	isDelim := func(line []byte) bool {
		l := bytes.TrimRight(line, " \t\r\n")
		return bytes.Equal(l, []byte(delim)) || bytes.Equal(l, []byte(delim+"--"))
	}
	in := false
	pending := false
	atStart := true
	for {
		line, err := br.ReadSlice('\n')
		full := err == nil || (err == io.EOF && len(line) > 0)
		if err != nil && err != bufio.ErrBufferFull && err != io.EOF {
			return err
		}
		if atStart && full && isDelim(line) {
			if in {
				return nil
			}
			in = true
			atStart = true
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			continue
		}
		if in {
			if atStart && pending {
				if _, werr := w.Write([]byte("\r\n")); werr != nil {
					return werr
				}
				pending = false
			}
			content := line
			if full {
				content = bytes.TrimRight(line, "\n")
				content = bytes.TrimSuffix(content, []byte("\r"))
			}
			if _, werr := w.Write(content); werr != nil {
				return werr
			}
			if full {
				pending = true
			}
		}
		atStart = full
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
	}
}
