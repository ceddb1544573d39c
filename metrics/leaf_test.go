package metrics

import (
	"testing"

	"github.com/ticketgate/ticketgate/internal/leaftest"
)

// TestLeaf: metrics imports no package of the gateway (issue 13, item 7),
// so no domain package can come to depend on it through a cycle and it
// never reads the domain's types.
func TestLeaf(t *testing.T) { leaftest.Check(t) }
