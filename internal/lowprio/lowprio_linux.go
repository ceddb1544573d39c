package lowprio

import "golang.org/x/sys/unix"

// lower sets the calling thread (a Linux thread is a process to
// setpriority) to Nice. A failure leaves it as it was: the work is
// done either way, only sooner.
func lower() {
	_ = unix.Setpriority(unix.PRIO_PROCESS, unix.Gettid(), Nice)
}
