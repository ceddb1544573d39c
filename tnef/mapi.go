package tnef

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// MAPI property types ([MS-OXCDATA] 2.11.1).
const (
	typInteger16 = 0x0002
	typInteger32 = 0x0003
	typFloat32   = 0x0004
	typFloat64   = 0x0005
	typCurrency  = 0x0006
	typAppTime   = 0x0007
	typError     = 0x000A
	typBoolean   = 0x000B
	typObject    = 0x000D
	typInteger64 = 0x0014
	typString8   = 0x001E
	typString    = 0x001F
	typTime      = 0x0040
	typGUID      = 0x0048
	typBinary    = 0x0102
	typMulti     = 0x1000
)

// value is one MAPI property's value: its type and raw bytes (for a
// multi-valued property, the first value).
type value struct {
	typ uint16
	raw []byte
}

func (v value) bytes() []byte { return v.raw }

// properties is a decoded MAPI property list, by property ID. Named
// properties (IDs from 0x8000) are skipped: the decoder needs none.
type properties map[uint16]value

func (p properties) get(id uint16) (value, bool) {
	v, ok := p[id]
	return v, ok
}

// decoder carries what the stream says about itself while it is read.
type decoder struct {
	lim      Limits
	codepage uint32
}

// reader walks a property list, failing with a typed error when it runs
// out of bytes.
type reader struct {
	b    []byte
	off  int
	base int64
}

func (r *reader) need(n int64) error {
	if n < 0 || int64(len(r.b)-r.off) < n {
		return newError(KindTruncated, r.base+int64(r.off), "property list needs %d more bytes, has %d", n, len(r.b)-r.off)
	}
	return nil
}

func (r *reader) u16() (uint16, error) {
	if err := r.need(2); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v, nil
}

func (r *reader) u32() (uint32, error) {
	if err := r.need(4); err != nil {
		return 0, err
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

func (r *reader) take(n int64) ([]byte, error) {
	if err := r.need(n); err != nil {
		return nil, err
	}
	v := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return v, nil
}

// pad4 rounds n up to a multiple of four: values are padded to that.
func pad4(n int64) int64 { return (n + 3) &^ 3 }

// fixedSize is the size of one value of a fixed-size type as TNEF writes
// it (16-bit and boolean values take four bytes), or 0 for a type of
// variable size.
func fixedSize(t uint16) int64 {
	switch t {
	case typInteger16, typInteger32, typFloat32, typError, typBoolean:
		return 4
	case typFloat64, typCurrency, typAppTime, typInteger64, typTime:
		return 8
	case typGUID:
		return 16
	}
	return 0
}

// properties decodes a MAPI property list ([MS-OXTNEF] 2.1.3.5): a count,
// then per property its type and ID, the name of a named property, and
// its value(s).
func (d *decoder) properties(b []byte, base int64) (properties, error) {
	r := &reader{b: b, base: base}
	count, err := r.u32()
	if err != nil {
		return nil, err
	}
	if int64(count) > int64(d.lim.MaxProperties) {
		return nil, newError(KindLimit, base, "%d properties in one list, more than %d", count, d.lim.MaxProperties)
	}
	ps := properties{}
	for i := uint32(0); i < count; i++ {
		typ, err := r.u16()
		if err != nil {
			return nil, err
		}
		id, err := r.u16()
		if err != nil {
			return nil, err
		}
		if id >= 0x8000 {
			// Named property: a GUID, then a number or a name.
			if _, err := r.take(16); err != nil {
				return nil, err
			}
			kind, err := r.u32()
			if err != nil {
				return nil, err
			}
			switch kind {
			case 0:
				if _, err := r.u32(); err != nil {
					return nil, err
				}
			case 1:
				n, err := r.u32()
				if err != nil {
					return nil, err
				}
				if _, err := r.take(pad4(int64(n))); err != nil {
					return nil, err
				}
			default:
				return nil, newError(KindMalformed, base+int64(r.off), "named property kind %d", kind)
			}
		}
		base := typ &^ typMulti
		multi := typ&typMulti != 0
		variable := base == typString8 || base == typString || base == typBinary || base == typObject
		size := fixedSize(base)
		if !variable && size == 0 {
			return nil, newError(KindMalformed, r.base+int64(r.off), "property %#04x has type %#04x", id, typ)
		}
		nvals := uint32(1)
		if multi || variable {
			if nvals, err = r.u32(); err != nil {
				return nil, err
			}
			if int64(nvals) > int64(len(r.b)-r.off) {
				return nil, newError(KindTruncated, r.base+int64(r.off), "property %#04x claims %d values", id, nvals)
			}
		}
		var first []byte
		for k := uint32(0); k < nvals; k++ {
			var v []byte
			if variable {
				n, err := r.u32()
				if err != nil {
					return nil, err
				}
				if v, err = r.take(int64(n)); err != nil {
					return nil, err
				}
				if _, err := r.take(pad4(int64(n)) - int64(n)); err != nil {
					return nil, err
				}
			} else if v, err = r.take(size); err != nil {
				return nil, err
			}
			if k == 0 {
				first = v
			}
		}
		if id < 0x8000 && nvals > 0 {
			if _, dup := ps[id]; !dup {
				ps[id] = value{typ: base, raw: first}
			}
		}
	}
	return ps, nil
}

// text returns a string property as UTF-8: UTF-16 for PtypString, the
// stream's code page for PtypString8, without the terminating NUL.
func (d *decoder) text(v value) string {
	switch v.typ {
	case typString:
		u := make([]uint16, 0, len(v.raw)/2)
		for i := 0; i+1 < len(v.raw); i += 2 {
			u = append(u, binary.LittleEndian.Uint16(v.raw[i:]))
		}
		return strings.TrimRight(string(utf16.Decode(u)), "\x00")
	case typString8, typBinary:
		return d.string8(v.raw)
	}
	return ""
}

// string8 decodes a string in the stream's code page (attOemCodepage).
func (d *decoder) string8(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	enc := codepage(d.codepage)
	if enc == nil {
		if utf8.Valid(b) {
			return string(b)
		}
		enc = charmap.Windows1252
	}
	s, err := enc.NewDecoder().Bytes(b)
	if err != nil {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(s)
}

// codepage maps a Windows code page number to its encoding; nil for
// UTF-8 and for code pages it does not know.
func codepage(cp uint32) encoding.Encoding {
	switch cp {
	case 437:
		return charmap.CodePage437
	case 850:
		return charmap.CodePage850
	case 852:
		return charmap.CodePage852
	case 866:
		return charmap.CodePage866
	case 874:
		return charmap.Windows874
	case 932:
		return japanese.ShiftJIS
	case 936:
		return simplifiedchinese.GBK
	case 949:
		return korean.EUCKR
	case 950:
		return traditionalchinese.Big5
	case 1250:
		return charmap.Windows1250
	case 1251:
		return charmap.Windows1251
	case 1252:
		return charmap.Windows1252
	case 1253:
		return charmap.Windows1253
	case 1254:
		return charmap.Windows1254
	case 1255:
		return charmap.Windows1255
	case 1256:
		return charmap.Windows1256
	case 1257:
		return charmap.Windows1257
	case 1258:
		return charmap.Windows1258
	case 20866:
		return charmap.KOI8R
	case 21866:
		return charmap.KOI8U
	case 28591:
		return charmap.ISO8859_1
	case 28592:
		return charmap.ISO8859_2
	case 28595:
		return charmap.ISO8859_5
	case 28597:
		return charmap.ISO8859_7
	case 28599:
		return charmap.ISO8859_9
	case 28605:
		return charmap.ISO8859_15
	}
	return nil
}
