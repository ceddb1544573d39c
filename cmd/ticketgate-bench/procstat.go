package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime/stime in /proc/PID/stat: 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// rssAnonKB reads RssAnon (anonymous resident memory; bbolt's mapped file
// pages are RssFile and don't count) from /proc/PID/status.
func rssAnonKB(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			f := strings.Fields(v)
			if len(f) > 0 {
				return strconv.ParseInt(f[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no RssAnon in /proc/%d/status", pid)
}

// procStat reads the CPU time (utime+stime) and the major page faults
// (pages read from disk, e.g. bbolt pages not in the page cache) of the
// daemon and its children from /proc: its own, those of the children it
// has waited for (cutime, cstime, cmajflt), and those of its children
// alive now (the search index's worker process).
func procStat(pid int) (time.Duration, int64, error) {
	cpu, maj, err := procStatOne(pid)
	if err != nil {
		return 0, 0, err
	}
	for _, kid := range children(pid) {
		if c, m, err := procStatOne(kid); err == nil {
			cpu += c
			maj += m
		}
	}
	return cpu, maj, nil
}

// procStatOne is procStat of one process and the children it waited for.
func procStatOne(pid int) (time.Duration, int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. majflt, cmajflt, utime, stime, cutime and
	// cstime are fields 12, 13, 14, 15, 16 and 17, i.e. the 10th to 15th
	// counting the state field as 1st.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	var v [6]int64
	for k := range v {
		if v[k], err = strconv.ParseInt(f[9+k], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("odd /proc/%d/stat", pid)
		}
	}
	return time.Duration(v[2]+v[3]+v[4]+v[5]) * time.Second / clockTicks, v[0] + v[1], nil
}

// children lists the processes pid started that are alive, from each of
// its threads' children file (a process is listed by the thread that
// started it, or another if that one ended).
func children(pid int) []int {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return nil
	}
	var kids []int
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(f); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids
}

// findDaemon returns the process that has dataDir/ticketgate.db open (the
// daemon holds it for its whole life).
func findDaemon(dataDir string) (int, error) {
	db, err := filepath.Abs(filepath.Join(dataDir, "ticketgate.db"))
	if err != nil {
		return 0, err
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	self := os.Getpid()
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == self {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if t, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && t == db {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no process has %s open (is the daemon running as this user?)", db)
}

// storeBytes is what the bbolt file and every blob take on the disk.
func storeBytes(dataDir string) int64 {
	var n int64
	if fi, err := os.Stat(filepath.Join(dataDir, "ticketgate.db")); err == nil {
		n += diskBytes(fi)
	}
	filepath.WalkDir(filepath.Join(dataDir, "blobs"), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += diskBytes(fi)
			}
		}
		return nil
	})
	return n
}

// diskBytes is what a file takes on the disk (its allocated blocks), not
// its length: bbolt extends its file 16 MiB at a time, sparse, once its
// map is larger than that (always, since the store maps at least 1 GiB),
// so the length moves in steps that say nothing of what was written.
func diskBytes(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return fi.Size()
}

type procStats struct {
	startMB, maxMB, endMB float64
	cpu, wall             time.Duration
	majFaults             int64
	// settled is the CPU from the start until the process and its
	// children went quiet after the load (settle), work deferred past
	// the load (the search index catching up) included.
	settled time.Duration
}

// procSampler samples the RssAnon of a process and its children (the
// search index's worker) while the load runs.
type procSampler struct {
	pid int
	// kids are pid's children, looked up again every second.
	kids   []int
	kidsAt time.Time
	quit   chan struct{}
	done   chan struct{}

	mu    sync.Mutex
	st    procStats
	cpu0  time.Duration
	maj0  int64
	start time.Time
}

func startSampler(pid int, every time.Duration) *procSampler {
	s := &procSampler{pid: pid, quit: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	s.cpu0, s.maj0, _ = procStat(pid)
	if kb, err := s.rssAnonKB(); err == nil {
		s.st.startMB = float64(kb) / 1024
		s.st.maxMB = s.st.startMB
	}
	go func() {
		defer close(s.done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				s.sample()
			case <-s.quit:
				return
			}
		}
	}()
	return s
}

// rssAnonKB is the RssAnon of the process and its children.
func (s *procSampler) rssAnonKB() (int64, error) {
	kb, err := rssAnonKB(s.pid)
	if err != nil {
		return 0, err
	}
	if time.Since(s.kidsAt) > time.Second {
		s.kids, s.kidsAt = children(s.pid), time.Now()
	}
	for _, k := range s.kids {
		if n, err := rssAnonKB(k); err == nil {
			kb += n
		}
	}
	return kb, nil
}

func (s *procSampler) sample() {
	kb, err := s.rssAnonKB()
	if err != nil {
		return
	}
	mb := float64(kb) / 1024
	s.mu.Lock()
	s.st.endMB = mb
	s.st.maxMB = max(s.st.maxMB, mb)
	s.mu.Unlock()
}

// mark ends the CPU measurement (the end of sending: waiting for the
// last auto-replies would dilute it).
func (s *procSampler) mark() {
	cpu, maj, _ := procStat(s.pid)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.cpu = cpu - s.cpu0
	s.st.majFaults = maj - s.maj0
	s.st.wall = time.Since(s.start)
}

// settle waits, up to limit, until the process and its children have used
// less than 2 % of a core in every half second for quietFor, and records
// the CPU they used from the start to the beginning of that quiet time.
func (s *procSampler) settle(quietFor, limit time.Duration) {
	const every = 500 * time.Millisecond
	prev, _, err := procStat(s.pid)
	if err != nil {
		return
	}
	calm, quiet := prev, time.Duration(0)
	for end := time.Now().Add(limit); time.Now().Before(end) && quiet < quietFor; {
		time.Sleep(every)
		cpu, _, err := procStat(s.pid)
		if err != nil {
			return
		}
		if cpu-prev < every/50 {
			quiet += every
		} else {
			calm, quiet = cpu, 0
		}
		prev = cpu
	}
	s.mu.Lock()
	s.st.settled = calm - s.cpu0
	s.mu.Unlock()
}

func (s *procSampler) stop() procStats {
	close(s.quit)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}
