package message

import (
	"net/mail"
	"testing"
)

// FuzzSimpleAddress holds simpleAddress to net/mail: whatever it reads,
// AddressParser.ParseList reads as the same single address.
func FuzzSimpleAddress(f *testing.F) {
	for _, s := range []string{
		"new1@customer.example", "Customer 1 <new1@customer.example>", "<a@b>", "Jörg <j@x.de>", "A  B <a@b>",
		"a.b@c.d", ".a@b", "a.@b", "a..b@c", "a@b.", "a@", "@b", "a b@c", "\"Q\" <a@b>", "N (c) <a@b>", "=?utf-8?q?x?= <a@b>",
		"N <a@b>, M <c@d>", "N <a@b> x", "N. Ame <a@b>", "N <a@[1.2.3.4]>", "N<a@b>", " N <a@b>", "N <a@b@c>", "a@b@c",
		"O'Brien <o'brien@example.ie>", "x+tag@EXAMPLE.com", "N <>", "<>", "N\t<a@b>", "Ab? <a@b>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, addr, ok := simpleAddress(s)
		if !ok {
			return
		}
		list, err := (&mail.AddressParser{}).ParseList(s)
		if err != nil || len(list) != 1 {
			t.Fatalf("simpleAddress(%q) = %q %q, net/mail: %v %v", s, name, addr, list, err)
		}
		if list[0].Name != name || list[0].Address != addr {
			t.Fatalf("simpleAddress(%q) = %q %q, net/mail %q %q", s, name, addr, list[0].Name, list[0].Address)
		}
	})
}

// TestSimpleAddressAllocs: the usual From costs one allocation (the list).
func TestSimpleAddressAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { parseAddressList("Customer 1 <new1@customer.example>", nil) }); n > 1 {
		t.Errorf("parseAddressList allocates %v times, want 1", n)
	}
}
