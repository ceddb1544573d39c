package mailout_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ticketgate/ticketgate/mailout/mailouttest"
)

// sinkProcessEnv makes the test binary a sink process instead of running
// tests: BenchmarkSendPerMail keeps the sink's work out of the figures
// (allocations and instructions counted by valgrind are the benchmark
// process's only).
const sinkProcessEnv = "TICKETGATE_MAILOUT_SINK_PROCESS"

// benchSinkEnv names the address of a sink process started beforehand
// (with sinkProcessEnv=1), for runs under valgrind, whose callgrind cannot
// follow the benchmark starting a child process itself.
const benchSinkEnv = "TICKETGATE_MAILOUT_BENCH_SINK"

func TestMain(m *testing.M) {
	if os.Getenv(sinkProcessEnv) == "1" {
		os.Exit(serveSinkProcess())
	}
	os.Exit(m.Run())
}

// serveSinkProcess runs a mailouttest sink (headers only), prints its
// address, and when its stdin ends prints how many messages it accepted.
func serveSinkProcess() int {
	sink, err := mailouttest.Start(mailouttest.Options{HeaderOnly: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(sink.Addr())
	_, _ = io.Copy(io.Discard, os.Stdin)
	fmt.Println(len(sink.Messages()))
	_ = sink.Close()
	return 0
}

// sinkProcess is a sink in a child process (serveSinkProcess), or the
// one benchSinkEnv names (then cmd is nil).
type sinkProcess struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	addr  string
}

func startSinkProcess(tb testing.TB) *sinkProcess {
	tb.Helper()
	if addr := os.Getenv(benchSinkEnv); addr != "" {
		return &sinkProcess{addr: addr}
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), sinkProcessEnv+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p := &sinkProcess{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := p.out.ReadString('\n')
	if err != nil {
		stdin.Close()
		_ = cmd.Wait()
		tb.Fatalf("sink process: %v", err)
	}
	p.addr = strings.TrimSpace(line)
	return p
}

// hostPort splits the sink's address for SMTPOptions.
func (p *sinkProcess) hostPort(tb testing.TB) (string, int) {
	tb.Helper()
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		tb.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		tb.Fatal(err)
	}
	return host, n
}

// stop ends the sink process and returns how many messages it accepted
// (-1 for a sink started beforehand: it is left running).
func (p *sinkProcess) stop() (int, error) {
	if p.cmd == nil {
		return -1, nil
	}
	p.stdin.Close()
	line, rerr := p.out.ReadString('\n')
	werr := p.cmd.Wait()
	if rerr != nil {
		return 0, fmt.Errorf("sink process: %w (exit: %v)", rerr, werr)
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("sink process count %q: %w", line, err)
	}
	return n, werr
}
