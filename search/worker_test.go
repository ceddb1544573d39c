package search

import (
	"context"
	"encoding/gob"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ticketgate/ticketgate/internal/lowprio"
	"github.com/ticketgate/ticketgate/store"
)

// TestMain lets the test binary be the worker process: started with
// "search-worker" as its first argument, it serves the worker on its
// stdin and stdout, as `ticketgate search-worker` does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "search-worker" {
		if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == "search-worker-hang" {
		hangingWorker()
	}
	os.Exit(m.Run())
}

var workerCommand = []string{os.Args[0], "search-worker"}

// hangingWorker answers the open request as a worker does and then
// never answers again, as a worker stuck in a deadlock would.
func hangingWorker() {
	dec, enc := gob.NewDecoder(os.Stdin), gob.NewEncoder(os.Stdout)
	var r request
	if dec.Decode(&r) != nil || enc.Encode(&reply{Fresh: true}) != nil {
		os.Exit(1)
	}
	for dec.Decode(&r) == nil {
		select {}
	}
	os.Exit(0)
}

// runWorker is run with the index in a worker process.
func runWorker(t *testing.T, dir string, db store.DB) *Index {
	t.Helper()
	x, err := OpenWorker(context.Background(), dir, db, nil, workerCommand)
	if err != nil {
		t.Fatal(err)
	}
	runIndex(t, x)
	return x
}

// workerPID is the process id of x's worker (x.mu is not needed: the
// test makes no request meanwhile).
func workerPID(t *testing.T, x *Index) int {
	t.Helper()
	w := x.eng.(*worker)
	if !w.running() {
		t.Fatal("no worker process")
	}
	return w.cmd.Process.Pid
}

// TestWorkerRunsAtLowPriority: every thread of the worker process runs
// at lowprio.Nice, and the daemon's own threads keep their priority.
func TestWorkerRunsAtLowPriority(t *testing.T) {
	db := openStore(t)
	addTicket(t, db, "ACME", 1, "Printer", "carl@customer.example", "first words")
	x := runWorker(t, t.TempDir(), db)
	find(t, x, "printer", "ACME") // the worker has analyzed and searched
	pid := workerPID(t, x)
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if len(tasks) < 2 {
		t.Fatalf("the worker has %d threads", len(tasks))
	}
	for _, task := range tasks {
		if n := niceOf(t, filepath.Join("/proc", strconv.Itoa(pid), "task", task.Name(), "stat")); n != lowprio.Nice {
			t.Errorf("worker thread %s runs at nice %d, want %d", task.Name(), n, lowprio.Nice)
		}
	}
	// A thread that started a worker is lowered for good and never runs
	// a goroutine again (internal/lowprio); the others keep their
	// priority.
	got := make(chan int)
	go func() {
		p, _ := unix.Getpriority(unix.PRIO_PROCESS, unix.Gettid())
		got <- 20 - p // the kernel answers 20 - nice
	}()
	if n := <-got; n == lowprio.Nice {
		t.Errorf("a goroutine of this process runs at nice %d too", n)
	}
}

// niceOf reads the nice field of a /proc stat file.
func niceOf(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// After the command's ")": state is field 3, nice field 19.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, err := strconv.Atoi(f[19-3])
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWorkerStartsAgain: a worker killed between two searches is
// replaced by the next one, which opens the same index (no rebuild) and
// catches up with what was written meanwhile; Close ends the worker,
// and a new one keeps the cursor.
func TestWorkerStartsAgain(t *testing.T) {
	db := openStore(t)
	addTicket(t, db, "ACME", 1, "Printer", "carl@customer.example", "first words")
	dir := t.TempDir()
	x, err := OpenWorker(context.Background(), dir, db, nil, workerCommand)
	if err != nil {
		t.Fatal(err)
	}
	stop := runIndex(t, x)
	find(t, x, "printer", "ACME")
	old := workerPID(t, x)
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	comment(t, db, "ACME-1", "the wombat ate the toner")
	if got := find(t, x, "wombat", "ACME"); !slices.Equal(got, []string{"ACME-1"}) {
		t.Fatalf("after the worker was killed: %v", got)
	}
	if pid := workerPID(t, x); pid == old {
		t.Fatal("the killed worker is still the worker")
	}
	node := x.node
	cmd := x.eng.(*worker).cmd
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if cmd.ProcessState == nil || !cmd.ProcessState.Success() {
		t.Fatalf("the worker did not end cleanly at Close: %v", cmd.ProcessState)
	}
	y, err := OpenWorker(context.Background(), dir, db, nil, workerCommand)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	if y.rebuild || y.node != node {
		t.Fatalf("a reopened worker index wants a rebuild (%v) or changed its name (%s → %s)", y.rebuild, node, y.node)
	}
}

// TestWorkerErrors: a worker that cannot be started, or that ends
// before it answers, leaves the index open without it (the mail goes
// on) and fails each catch-up with the reason; ServeWorker answers an
// index it cannot open with the error and goes on, refuses a request
// before the index is open, and ends quietly when its input does; a
// closed Index starts no worker again.
func TestWorkerErrors(t *testing.T) {
	db := openStore(t)
	broken := [][]string{{filepath.Join(t.TempDir(), "missing")}}
	if tr, err := exec.LookPath("true"); err == nil {
		broken = append(broken, []string{tr})
	}
	for _, command := range broken {
		x, err := OpenWorker(context.Background(), t.TempDir(), db, nil, command)
		if err != nil {
			t.Fatalf("%s: %v, want the index open without its worker", command[0], err)
		}
		if err := x.CatchUp(context.Background()); err == nil || x.eng.(*worker).running() {
			t.Errorf("%s: catching up: %v", command[0], err)
		}
		if err := x.Close(); err != nil {
			t.Errorf("%s: close: %v", command[0], err)
		}
	}

	// Under a regular file no index can be made.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- ServeWorker(inR, outW) }()
	enc, dec := gob.NewEncoder(inW), gob.NewDecoder(outR)
	var rep reply
	if err := enc.Encode(&request{Op: opOpen, Path: filepath.Join(file, "index")}); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep.Err == "" {
		t.Error("an index under a regular file opened")
	}
	dir := t.TempDir()
	rep = reply{}
	if err := enc.Encode(&request{Op: opOpen, Path: filepath.Join(dir, "index")}); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&rep); err != nil || rep.Err != "" || !rep.Fresh {
		t.Fatalf("open after a failed open: %+v %v", rep, err)
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Errorf("the end of the input: %v", err)
	}

	inR, inW = io.Pipe()
	go func() { done <- ServeWorker(inR, io.Discard) }()
	if err := gob.NewEncoder(inW).Encode(&request{Op: opSearch, Query: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "before the index is open") {
		t.Errorf("a search before open: %v", err)
	}
	inR.Close()

	addTicket(t, db, "ACME", 1, "Printer", "carl@customer.example", "first words")
	x := runWorker(t, t.TempDir(), db)
	find(t, x, "printer", "ACME")
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := x.Search(context.Background(), "printer", []string{"ACME"}); !errors.Is(err, ErrClosed) {
		t.Errorf("a search after Close: %v, want ErrClosed", err)
	}
	if x.eng.(*worker).running() {
		t.Error("a search after Close started a worker")
	}
}

// TestWorkerThatHangsIsEnded: a worker that stops answering is ended
// after the call timeout and its request fails: here it answers the open
// and never the cursor, so the index is to be built, and building it
// fails the same way, with no worker left running.
func TestWorkerThatHangsIsEnded(t *testing.T) {
	db := openStore(t)
	addTicket(t, db, "ACME", 1, "Printer", "carl@customer.example", "first words")
	w := &worker{command: []string{os.Args[0], "search-worker-hang"}, log: slog.New(slog.DiscardHandler), timeout: 100 * time.Millisecond}
	x, err := open(t.TempDir(), db, nil, w)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if w.running() || !x.rebuild {
		t.Fatalf("after a cursor request that got no answer: running %v, rebuild %v", w.running(), x.rebuild)
	}
	if err := x.Rebuild(context.Background()); err == nil || w.running() {
		t.Fatalf("a build through a hanging worker: %v, running %v", err, w.running())
	}
}
