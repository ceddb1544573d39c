package fault

import (
	"errors"
	"fmt"
	"testing"
)

func TestIsTemporary(t *testing.T) {
	base := errors.New("disk full")
	tmp := Temporary(base)
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"plain", base, false},
		{"temporary", tmp, true},
		{"wrapped temporary", fmt.Errorf("store: %w", tmp), true},
		{"permanent over temporary", Permanent(fmt.Errorf("gave up: %w", tmp)), false},
		{"temporaryf", Temporaryf("x: %w", base), true},
		{"nil", nil, false},
	}
	for _, c := range cases {
		if got := IsTemporary(c.err); got != c.want {
			t.Errorf("%s: IsTemporary = %v, want %v", c.name, got, c.want)
		}
	}
	if !errors.Is(fmt.Errorf("a: %w", tmp), base) {
		t.Error("errors.Is must see through Temporary")
	}
	if Temporary(nil) != nil || Permanent(nil) != nil {
		t.Error("nil must stay nil")
	}
}
