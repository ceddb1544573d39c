package message

import (
	"testing"

	"github.com/ticketgate/ticketgate/internal/leaftest"
)

// TestLeaf: message imports no package of the gateway but msgid and tnef
// (the winmail.dat decoder, a leaf too; issues 13.7 and 20): every part of
// the gateway may read mail with it, and it knows nothing of tickets,
// policy or transports.
func TestLeaf(t *testing.T) { leaftest.Check(t, leaftest.Module+"msgid", leaftest.Module+"tnef") }
