package search

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"sync"
	"time"

	"github.com/ticketgate/ticketgate/internal/lowprio"
)

// The worker process. Analyzing words and building and merging the
// index's segments is most of what the index costs, and it is work no
// sender waits on: a search catches up first, and otherwise the index
// may lag a few seconds. In the daemon's own process that work competes
// for the CPUs with the intake on equal terms (the Go scheduler has no
// priorities, and bleve's analysis, persister and merger goroutines are
// its own), and its bursts every catch-up were the clusters of slow
// requests at steady load. In a process of its own started at
// lowprio.Nice, the kernel runs the intake first and the index in the
// time left: during a burst of mail it falls behind, and it catches up
// when the burst is over.
//
// The daemon (Index, through a worker engine) reads the tickets from the
// store and sends their documents; the worker (ServeWorker) owns the
// bleve index under data_dir/search and answers flushes, cursors and
// queries. They speak gob over the worker's stdin and stdout, one
// request at a time: add and drop have no answer, every other request
// has one. The worker ends when its stdin does, closing the index.

// op is a request's kind.
type op uint8

const (
	opOpen op = iota + 1
	opAdd
	opDrop
	opFlush
	opCursor
	opSearch
)

// request is one request to the worker; which fields count depends on Op.
type request struct {
	Op        op
	Path      string   // opOpen
	Doc       doc      // opAdd
	Key       string   // opDrop
	Cursor    uint64   // opFlush
	SetCursor bool     // opFlush
	Query     string   // opSearch
	Projects  []string // opSearch
}

// reply answers every request but add and drop.
type reply struct {
	Err       string
	Fresh     bool   // opOpen
	Warn      string // opOpen
	Cursor    uint64 // opCursor
	HasCursor bool   // opCursor
	Keys      []string
}

// ServeWorker runs the worker: it answers requests read from in on out
// until in ends. It is the `ticketgate search-worker` command, which the
// daemon starts itself.
func ServeWorker(in io.Reader, out io.Writer) error {
	dec := gob.NewDecoder(bufio.NewReaderSize(in, 64<<10))
	bw := bufio.NewWriter(out)
	enc := gob.NewEncoder(bw)
	var l *local
	defer func() {
		if l != nil {
			l.close()
		}
	}()
	for {
		var r request
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("search worker: read a request: %w", err)
		}
		if l == nil && r.Op != opOpen {
			return fmt.Errorf("search worker: request %d before the index is open", r.Op)
		}
		var rep reply
		var err error
		switch r.Op {
		case opOpen:
			if l != nil {
				return errors.New("search worker: the index is open already")
			}
			l, rep.Fresh, rep.Warn, err = openLocal(r.Path)
		case opAdd:
			l.add(r.Doc)
			continue
		case opDrop:
			l.drop(r.Key)
			continue
		case opFlush:
			err = l.flush(r.Cursor, r.SetCursor)
		case opCursor:
			rep.Cursor, rep.HasCursor, err = l.cursor()
		case opSearch:
			rep.Keys, err = l.search(r.Query, r.Projects)
		default:
			return fmt.Errorf("search worker: unknown request %d", r.Op)
		}
		if err != nil {
			rep.Err = err.Error()
		}
		if err := enc.Encode(&rep); err != nil {
			return fmt.Errorf("search worker: answer: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("search worker: answer: %w", err)
		}
	}
}

// errWorkerFailed wraps the error of a request the worker process could
// not be spoken to about (it died, or its pipes broke): the process is
// ended, and the next request starts a new one.
var errWorkerFailed = errors.New("search: the index's worker process failed")

// errWorkerDown answers a request to a worker that is not running (it
// failed and has not been started again yet).
var errWorkerDown = errors.New("search: the index's worker process is not running")

// stopWait is how long Close waits for the worker to close its index
// before it kills it (the index is then caught up, or rebuilt, at the
// next start: it never holds anything the store does not). Well within
// the systemd unit's TimeoutStopSec=20.
const stopWait = 10 * time.Second

// callTimeout bounds one request to the worker, its answer included:
// a worker that takes longer is taken for hung, ended and replaced (the
// index's mutex, which searches and Close wait for, is held meanwhile).
// A flush of a full batch takes well under a second of CPU, and at nice
// 10 on saturated CPUs a few seconds.
const callTimeout = 2 * time.Minute

// worker is the daemon's side of a worker process. Its caller (Index,
// under its mutex) makes one request at a time. Any failure to speak to
// the process ends it: the next start runs a new one.
type worker struct {
	command []string
	log     *slog.Logger
	// timeout replaces callTimeout (tests).
	timeout time.Duration

	cmd   *exec.Cmd
	stdin io.WriteCloser
	bw    *bufio.Writer
	enc   *gob.Encoder
	dec   *gob.Decoder
	// watchdog kills the process when a request runs past the timeout;
	// each request arms it and disarms it (one timer per process, not
	// per document sent).
	watchdog *time.Timer
}

// running reports whether a worker process is up.
func (w *worker) running() bool { return w.cmd != nil }

// start runs a new worker process at lowprio.Nice and opens the index at
// path in it; fresh: the index was created new.
func (w *worker) start(path string) (fresh bool, err error) {
	if len(w.command) == 0 {
		return false, errors.New("search: no worker command")
	}
	cmd := exec.Command(w.command[0], w.command[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return false, fmt.Errorf("search: worker: %w", err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		stdin.Close()
		return false, fmt.Errorf("search: worker: %w", err)
	}
	cmd.Stderr = &lineLog{log: w.log}
	// A process inherits the priority of the thread that starts it, and
	// every thread it makes inherits it in turn.
	if err := lowprio.Run(cmd.Start); err != nil {
		stdin.Close()
		return false, fmt.Errorf("search: start the worker %s: %w", w.command[0], err)
	}
	w.cmd, w.stdin = cmd, stdin
	p := cmd.Process
	w.watchdog = time.AfterFunc(time.Hour, func() {
		w.log.Error("search: the index's worker process did not answer; ending it", "pid", p.Pid, "after", w.callTimeout())
		p.Kill()
	})
	w.watchdog.Stop()
	w.bw = bufio.NewWriterSize(stdin, 64<<10)
	w.enc = gob.NewEncoder(w.bw)
	w.dec = gob.NewDecoder(bufio.NewReaderSize(stdout, 64<<10))
	rep, err := w.call(&request{Op: opOpen, Path: path})
	if err != nil {
		return false, err
	}
	if rep.Warn != "" {
		w.log.Warn("search: " + rep.Warn)
	}
	return rep.Fresh, nil
}

// send writes r without waiting for an answer.
func (w *worker) send(r *request) error {
	_, err := w.request(r, false)
	return err
}

// call writes r and reads its answer; an error the worker answered is
// returned as an error, the worker stays up.
func (w *worker) call(r *request) (*reply, error) {
	return w.request(r, true)
}

// request writes r and, when answer, flushes it and reads the answer, all
// within the call timeout: past it the watchdog kills the process and
// the request fails on the closed pipe.
func (w *worker) request(r *request, answer bool) (*reply, error) {
	if w.cmd == nil {
		return nil, errWorkerDown
	}
	w.watchdog.Reset(w.callTimeout())
	defer w.watchdog.Stop()
	if err := w.enc.Encode(r); err != nil {
		return nil, w.fail(fmt.Errorf("search: to the worker: %w", err))
	}
	if !answer {
		return nil, nil
	}
	if err := w.bw.Flush(); err != nil {
		return nil, w.fail(fmt.Errorf("search: to the worker: %w", err))
	}
	var rep reply
	if err := w.dec.Decode(&rep); err != nil {
		return nil, w.fail(fmt.Errorf("search: from the worker: %w", err))
	}
	if rep.Err != "" {
		return &rep, fmt.Errorf("search: the worker: %s", rep.Err)
	}
	return &rep, nil
}

func (w *worker) callTimeout() time.Duration {
	if w.timeout > 0 {
		return w.timeout
	}
	return callTimeout
}

// fail ends a worker that could not be spoken to, and returns err.
func (w *worker) fail(err error) error {
	w.log.Error("search: the index's worker process failed; it will be started again", "err", err)
	w.stop(0)
	return fmt.Errorf("%w: %w", errWorkerFailed, err)
}

// stop ends the worker: its stdin closes, it closes the index and exits;
// after wait it is killed (at once when wait is 0).
func (w *worker) stop(wait time.Duration) error {
	if w.cmd == nil {
		return nil
	}
	cmd := w.cmd
	w.cmd = nil
	w.watchdog.Stop()
	if wait == 0 {
		cmd.Process.Kill()
		w.stdin.Close()
		cmd.Wait()
		return nil
	}
	w.bw.Flush()
	w.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("search: the worker ended: %w", err)
		}
		return nil
	case <-time.After(wait):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("search: the worker did not close its index within %s; killed", wait)
	}
}

func (w *worker) add(d doc) error       { return w.send(&request{Op: opAdd, Doc: d}) }
func (w *worker) drop(key string) error { return w.send(&request{Op: opDrop, Key: key}) }
func (w *worker) close() error          { return w.stop(stopWait) }
func (w *worker) cursor() (uint64, bool, error) {
	rep, err := w.call(&request{Op: opCursor})
	if err != nil {
		return 0, false, err
	}
	return rep.Cursor, rep.HasCursor, nil
}

func (w *worker) flush(cursor uint64, setCursor bool) error {
	_, err := w.call(&request{Op: opFlush, Cursor: cursor, SetCursor: setCursor})
	return err
}

func (w *worker) search(q string, projects []string) ([]string, error) {
	rep, err := w.call(&request{Op: opSearch, Query: q, Projects: projects})
	if err != nil {
		return nil, err
	}
	return rep.Keys, nil
}

// lineLog logs what the worker writes on its stderr (a panic's stack, a
// runtime error), a line at a time.
type lineLog struct {
	log *slog.Logger
	mu  sync.Mutex
	buf []byte
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimSpace(l.buf[:i]); len(line) > 0 {
			l.log.Warn("search worker: " + string(line))
		}
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 {
		l.log.Warn("search worker: " + string(l.buf))
		l.buf = l.buf[:0]
	}
	return len(p), nil
}
