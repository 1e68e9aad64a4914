//go:build unix && !linux

package cluster

import (
	"os/exec"
	"strconv"
	"syscall"
)

// sysProcAttr: see proc_linux.go. Other systems have no Pdeathsig, so an
// attached server outlives a clusterbench that is killed with SIGKILL.
func sysProcAttr(detached bool) *syscall.SysProcAttr {
	if detached {
		return &syscall.SysProcAttr{Setsid: true}
	}
	return &syscall.SysProcAttr{Setpgid: true}
}

// processAlive reports whether pid is a live process serving port (0: do not
// check), asking ps for the process title (no /proc here).
func processAlive(pid, port int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	out, err := exec.Command("ps", "-o", "stat=,command=", "-p", strconv.Itoa(pid)).Output()
	if err != nil || len(out) == 0 || out[0] == 'Z' {
		return false
	}
	return port == 0 || servesPort(string(out), port)
}
