//go:build linux

package pace

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Waiter waits with its own timerfd, or with a runtime timer if the kernel
// refuses one.
type Waiter struct {
	ctx     context.Context
	fd      int
	f       *os.File // the timerfd, non-blocking, so waits go through the netpoller
	spec    unix.ItimerSpec
	buf     [8]byte     // the expiry count a read returns
	unwatch func() bool // stops the context watch
	timer   *time.Timer // the fallback
}

// New returns a Waiter whose waits end when ctx is done; Close releases it.
func New(ctx context.Context) *Waiter {
	w := &Waiter{ctx: ctx}
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return w
	}
	// Never f.Fd(): it would make the file blocking.
	f := os.NewFile(uintptr(fd), "timerfd")
	w.fd, w.f = fd, f
	// A deadline in the past makes the wait under way, and every later
	// one, return at once.
	w.unwatch = context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	return w
}

// Close releases the timerfd.
func (w *Waiter) Close() error {
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.f == nil {
		return nil
	}
	w.unwatch()
	return w.f.Close()
}

func (w *Waiter) sleep(d time.Duration) {
	if w.f == nil {
		w.sleepTimer(d)
		return
	}
	w.spec.Value = unix.NsecToTimespec(int64(d))
	err := unix.TimerfdSettime(w.fd, 0, &w.spec, nil)
	if err == nil {
		// The read waits in the netpoller until the timer fires, and
		// returns the expiry count. (Skipping its first attempt, which
		// only says EAGAIN, would lose an expiry that came before the
		// wait began: the netpoller forgets readiness at the start of a
		// read.)
		_, err = w.f.Read(w.buf[:])
	}
	if err != nil && w.ctx.Err() == nil {
		// Not the context: give up on the timerfd for good.
		w.Close()
		w.f = nil
		w.sleepTimer(d)
	}
}
