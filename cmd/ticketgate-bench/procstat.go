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

// procStat reads utime+stime and the major page faults (pages read from
// disk, e.g. bbolt pages not in the page cache) from /proc/PID/stat.
func procStat(pid int) (time.Duration, int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. majflt, utime and stime are fields 12, 14 and
	// 15, i.e. the 10th, 12th and 13th counting the state field as 1st.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	maj, err0 := strconv.ParseInt(f[9], 10, 64)
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err0 != nil || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("odd /proc/%d/stat", pid)
	}
	return time.Duration(ut+st) * time.Second / clockTicks, maj, nil
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
}

// procSampler samples a process's RssAnon while the load runs.
type procSampler struct {
	pid  int
	quit chan struct{}
	done chan struct{}

	mu    sync.Mutex
	st    procStats
	cpu0  time.Duration
	maj0  int64
	start time.Time
}

func startSampler(pid int, every time.Duration) *procSampler {
	s := &procSampler{pid: pid, quit: make(chan struct{}), done: make(chan struct{}), start: time.Now()}
	s.cpu0, s.maj0, _ = procStat(pid)
	if kb, err := rssAnonKB(pid); err == nil {
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

func (s *procSampler) sample() {
	kb, err := rssAnonKB(s.pid)
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

func (s *procSampler) stop() procStats {
	close(s.quit)
	<-s.done
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st
}
