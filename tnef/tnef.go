// Package tnef decodes Outlook's winmail.dat (application/ms-tnef, the
// Transport Neutral Encapsulation Format of [MS-OXTNEF]) into the files
// and the body it carries: attachments with their names (the long name
// from the MAPI properties where there is one), the plain-text body, the
// HTML body, and the compressed RTF body ([MS-OXRTFCP]) with a bounded
// RTF-to-text conversion for mail that has no other body.
//
// The decoder reads untrusted input: every size and count is checked
// against Limits before anything is allocated, and every failure is an
// *Error of a Kind (never a panic, never a silently empty result).
package tnef

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// Signature is the magic number a TNEF stream begins with.
const Signature = 0x223E9F78

// Attribute levels and IDs ([MS-OXTNEF] 2.1.3.2; the low 16 bits of the
// attribute, the high 16 bits carry a type the decoder does not need).
const (
	levelMessage    = 0x01
	levelAttachment = 0x02

	attBody           = 0x800C
	attSubject        = 0x8004
	attMessageClass   = 0x8008
	attAttachData     = 0x800F
	attAttachTitle    = 0x8010
	attAttachRendData = 0x9002
	attMsgProps       = 0x9003
	attAttachment     = 0x9005
	attOemCodepage    = 0x9007
)

// MAPI property IDs ([MS-OXPROPS]) the decoder reads.
const (
	propSubject          = 0x0037
	propMessageClass     = 0x001A
	propBody             = 0x1000
	propRTFCompressed    = 0x1009
	propHTML             = 0x1013
	propAttachData       = 0x3701
	propAttachFilename   = 0x3704
	propAttachLongName   = 0x3707
	propAttachMimeTag    = 0x370E
	propAttachContentID  = 0x3712
	propAttachLongPath   = 0x370D
	propDisplayName      = 0x3001
	propInternetCodepage = 0x3FDE
)

// Limits bound what Decode accepts. Zero fields take the defaults.
type Limits struct {
	MaxInput       int64 // bytes of TNEF read (default 64 MiB)
	MaxAttachments int   // attachments (default 256)
	MaxAttributes  int   // TNEF attributes (default 100000)
	MaxProperties  int   // MAPI properties in one list (default 10000)
	MaxBody        int   // bytes of a decompressed RTF body (default 16 MiB)
}

func (l Limits) withDefaults() Limits {
	if l.MaxInput <= 0 {
		l.MaxInput = 64 << 20
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = 256
	}
	if l.MaxAttributes <= 0 {
		l.MaxAttributes = 100000
	}
	if l.MaxProperties <= 0 {
		l.MaxProperties = 10000
	}
	if l.MaxBody <= 0 {
		l.MaxBody = 16 << 20
	}
	return l
}

// Attachment is one file carried in the TNEF stream.
type Attachment struct {
	// Name is the long file name (PidTagAttachLongFilename) when the
	// sender's client wrote one, else the short name (attAttachTitle or
	// PidTagAttachFilename), without any folder; "" when there is none.
	Name      string
	MIMEType  string // PidTagAttachMimeTag, "" when absent
	ContentID string // PidTagAttachContentId, "" when absent
	Data      []byte
}

// Message is what a TNEF stream carries.
type Message struct {
	MessageClass string // "IPM.Note", "IPM.Microsoft Schedule.MtgReq", …
	Subject      string
	Body         string // the plain-text body, "" when absent
	HTML         []byte // the HTML body, nil when absent
	RTF          []byte // the decompressed RTF body, nil when absent
	Attachments  []Attachment
	// Trailing counts bytes after the last attribute that are too few
	// to start one (fewer than 9; some clients pad the stream).
	Trailing int
}

// Text returns the body as plain text: the plain body when there is one,
// else the RTF body turned into text (HTML is left to the caller, which
// has an HTML converter). "" when neither is there.
func (m *Message) Text() string {
	if m.Body != "" {
		return m.Body
	}
	if len(m.RTF) > 0 {
		return RTFText(m.RTF)
	}
	return ""
}

// Decode reads a TNEF stream from r.
func Decode(r io.Reader, lim Limits) (*Message, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("tnef: read: %w", err)
	}
	if int64(len(data)) > lim.MaxInput {
		return nil, newError(KindLimit, lim.MaxInput, "stream larger than %d bytes", lim.MaxInput)
	}
	return decode(data, lim)
}

// attachmentState collects one attachment while its attributes arrive.
type attachmentState struct {
	title         string
	data          []byte
	hasData       bool
	props         properties
	hasProperties bool
}

func decode(data []byte, lim Limits) (*Message, error) {
	if len(data) < 6 {
		return nil, newError(KindTruncated, 0, "%d bytes, too short for a TNEF header", len(data))
	}
	if binary.LittleEndian.Uint32(data) != Signature {
		return nil, newError(KindSignature, 0, "signature %#08x", binary.LittleEndian.Uint32(data))
	}
	d := decoder{lim: lim, codepage: 1252}
	m := &Message{}
	var atts []*attachmentState
	var msgProps properties
	off := 6
	for n := 0; off < len(data); n++ {
		if len(data)-off < 9 {
			// Too short for an attribute's level, ID and length.
			m.Trailing = len(data) - off
			break
		}
		if n >= lim.MaxAttributes {
			return nil, newError(KindLimit, int64(off), "more than %d attributes", lim.MaxAttributes)
		}
		level := data[off]
		id := binary.LittleEndian.Uint32(data[off+1:]) & 0xFFFF
		length := int64(binary.LittleEndian.Uint32(data[off+5:]))
		start := int64(off + 9)
		if start+length+2 > int64(len(data)) {
			return nil, newError(KindTruncated, int64(off), "attribute %#04x of %d bytes runs past the end", id, length)
		}
		val := data[start : start+length]
		sum := binary.LittleEndian.Uint16(data[start+length:])
		if checksum(val) != sum {
			return nil, newError(KindChecksum, int64(off), "attribute %#04x: checksum %#04x, want %#04x", id, checksum(val), sum)
		}
		off = int(start + length + 2)

		switch level {
		case levelMessage:
			switch id {
			case attOemCodepage:
				if len(val) >= 4 {
					d.codepage = binary.LittleEndian.Uint32(val)
				}
			case attSubject:
				m.Subject = d.string8(val)
			case attMessageClass:
				m.MessageClass = d.string8(val)
			case attBody:
				m.Body = d.string8(val)
			case attMsgProps:
				ps, err := d.properties(val, int64(start))
				if err != nil {
					return nil, err
				}
				msgProps = ps
			}
		case levelAttachment:
			if id == attAttachRendData || len(atts) == 0 {
				if len(atts) >= lim.MaxAttachments {
					return nil, newError(KindLimit, int64(start), "more than %d attachments", lim.MaxAttachments)
				}
				atts = append(atts, &attachmentState{})
			}
			a := atts[len(atts)-1]
			switch id {
			case attAttachTitle:
				a.title = d.string8(val)
			case attAttachData:
				a.data, a.hasData = val, true
			case attAttachment:
				ps, err := d.properties(val, int64(start))
				if err != nil {
					return nil, err
				}
				a.props, a.hasProperties = ps, true
			}
		default:
			return nil, newError(KindMalformed, int64(off), "attribute level %d", level)
		}
	}

	if v, ok := msgProps.get(propBody); ok && m.Body == "" {
		m.Body = d.text(v)
	}
	if v, ok := msgProps.get(propHTML); ok {
		m.HTML = v.bytes()
	}
	if m.Subject == "" {
		if v, ok := msgProps.get(propSubject); ok {
			m.Subject = d.text(v)
		}
	}
	if v, ok := msgProps.get(propRTFCompressed); ok {
		rtf, err := DecompressRTF(v.bytes(), lim.MaxBody)
		if err != nil {
			return nil, err
		}
		m.RTF = rtf
	}
	for _, a := range atts {
		m.Attachments = append(m.Attachments, d.attachment(a))
	}
	return m, nil
}

// attachment turns the collected attributes of one attachment into an
// Attachment: the data of attAttachData, else of PidTagAttachDataBinary
// or PidTagAttachDataObject (without the interface id that starts an
// object); the long name, else the short one.
func (d *decoder) attachment(a *attachmentState) Attachment {
	out := Attachment{Data: a.data}
	if !a.hasData || len(a.data) == 0 {
		if v, ok := a.props.get(propAttachData); ok {
			b := v.bytes()
			if v.typ == typObject && len(b) >= 16 {
				b = b[16:]
			}
			if len(b) > 0 || !a.hasData {
				out.Data = b
			}
		}
	}
	for _, id := range []uint16{propAttachLongName, propAttachFilename} {
		if v, ok := a.props.get(id); ok {
			if s := d.text(v); s != "" {
				out.Name = s
				break
			}
		}
	}
	if out.Name == "" {
		out.Name = a.title
	}
	if out.Name == "" {
		if v, ok := a.props.get(propAttachLongPath); ok {
			out.Name = d.text(v)
		}
	}
	out.Name = baseName(out.Name)
	if v, ok := a.props.get(propAttachMimeTag); ok {
		out.MIMEType = d.text(v)
	}
	if v, ok := a.props.get(propAttachContentID); ok {
		out.ContentID = d.text(v)
	}
	if out.Data == nil {
		out.Data = []byte{}
	}
	return out
}

// baseName drops any folder from a file name (Windows or Unix style) and
// what a name must not carry.
func baseName(s string) string {
	if i := bytes.LastIndexAny([]byte(s), `\/:`); i >= 0 {
		s = s[i+1:]
	}
	s = string(bytes.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, []byte(s)))
	if s == "." || s == ".." {
		return ""
	}
	return s
}

// checksum is the TNEF attribute checksum: the sum of the value's bytes
// modulo 65536.
func checksum(b []byte) uint16 {
	var s uint16
	for _, c := range b {
		s += uint16(c)
	}
	return s
}
