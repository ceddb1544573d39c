package msgid

import "testing"

// FuzzCanonical holds Canonical's allocation-free path to the general one:
// whatever canonicalASCII accepts, it must answer as canonicalGeneral does.
func FuzzCanonical(f *testing.F) {
	for _, s := range []string{
		"<abc@example.com>", "abc@Example.COM", "<<a@b>>", "a@B@c", "A@b@C", "x@y (comment)",
		"new-1.2@customer.example", "tg-0123456789abcdefghijklmn@support.example.com",
		"<a b@c>", "a\x00@b", "é@b", "\x7f@b", "", "<>", "noat", "NOAT", "a@b\t", "<a@b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := canonicalGeneral(s)
		if got := Canonical(s); got != want {
			t.Fatalf("Canonical(%q) = %q, the general form %q", s, got, want)
		}
	})
}

// TestCanonicalNoAlloc: the ids of every mail cost no allocation.
func TestCanonicalNoAlloc(t *testing.T) {
	for _, s := range []string{"new-1.2@customer.example", "<tg-0123456789abcdefghijklmn@support.example.com>", "Mixed.Local@domain.example"} {
		if n := testing.AllocsPerRun(100, func() { Canonical(s) }); n > 0 {
			t.Errorf("Canonical(%q) allocates %v times", s, n)
		}
	}
}
