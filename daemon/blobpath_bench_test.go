package daemon

import (
	"fmt"
	"os"
	"testing"

	"github.com/ticketgate/ticketgate/store"
)

// BenchmarkCommitPathNewDurable is BenchmarkCommitPathNew on a store that
// fsyncs, as the daemon's does: what the raw message's blob costs a new
// request (a file created, renamed and fsynced with its folder, or, since
// issue 13, a record written in the commit's own transaction) shows here
// and not in the NoSync benchmark. The 1,000 tickets it starts from are
// written without fsync (faster; the figures are per request after them).
//
//	go test -run '^$' -bench BenchmarkCommitPathNewDurable -benchmem ./daemon
//
// Instructions per request: callgrind at two -test.benchtime counts of
// inflight=1; system calls per request: strace -f -c the same way.
func BenchmarkCommitPathNewDurable(b *testing.B) {
	if os.Getenv(store.RunTwiceEnv) != "" {
		b.Skip("measure without " + store.RunTwiceEnv)
	}
	for _, inflight := range []int{16, 1} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) { benchCommitPath(b, inflight, true) })
	}
}
