package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// ColdStart runs the daemon command and returns the time from exec until
// its SMTP listener at addr answers with a 220 greeting; then it stops the
// daemon (SIGTERM) and waits for it.
func ColdStart(addr string, command []string, timeout time.Duration) (time.Duration, error) {
	cmd := exec.Command(command[0], command[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	for time.Since(start) < timeout {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.SetReadDeadline(time.Now().Add(timeout))
			line, err := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if err == nil && strings.HasPrefix(line, "220") {
				return time.Since(start), nil
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	return 0, fmt.Errorf("coldstart: no 220 from %s within %s", addr, timeout)
}
