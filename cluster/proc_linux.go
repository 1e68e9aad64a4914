package cluster

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// sysProcAttr puts each server in a process group of its own, so a
// terminal's Ctrl-C reaches only clusterbench, which then stops the servers
// in order. Attached servers also get SIGKILL if clusterbench dies without
// stopping them (Pdeathsig; strictly it fires when the spawning OS thread
// exits, which the Go runtime does not do for threads it has not locked).
// Detached servers (`cluster up`) get a session of their own instead, with
// no controlling terminal, so they outlive the process and its terminal.
func sysProcAttr(detached bool) *syscall.SysProcAttr {
	if detached {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// processAlive reports whether pid is a live (not zombie) process that
// serves port (0: do not check). Redis rewrites its process title to
// "redis-server 127.0.0.1:7000 [cluster]", which tells our server apart from
// an unrelated process that reused the pid after ours exited.
func processAlive(pid, port int) bool {
	if pid <= 0 {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses and may
	// itself contain spaces or parentheses.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		if s := stat[i+2]; s == 'Z' || s == 'X' {
			return false
		}
	}
	if port == 0 {
		return true
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return false
	}
	return servesPort(string(cmdline), port)
}
