// Package pace waits until an instant, for the open-loop workers.
//
// An open-loop op's latency counts from its intended start, so a wait that
// wakes late adds its lateness to the op's latency. A runtime timer can
// wake up to a millisecond late: when every goroutine is parked, the Go
// runtime sleeps in epoll_wait, whose timeout is whole milliseconds (at
// 5000 ops/s on a local cluster that made the median latency 630 µs
// instead of 100). On Linux a Waiter arms a timerfd instead: its expiry is
// a kernel hrtimer that makes the fd readable at microsecond precision, and
// the goroutine waits for that through the netpoller like any read,
// holding no thread. It costs three system calls a wait, which only a
// process at the limit of its CPU feels.
package pace

import "time"

// Until waits until t and reports whether it was reached: false once the
// Waiter's context is done. A Waiter belongs to one goroutine; waiting
// allocates nothing.
func (w *Waiter) Until(t time.Time) bool {
	for {
		if w.ctx.Err() != nil {
			return false
		}
		d := time.Until(t)
		if d <= 0 {
			return true
		}
		w.sleep(d)
	}
}

// sleepTimer waits d on the Waiter's runtime timer, or until its context
// is done.
func (w *Waiter) sleepTimer(d time.Duration) {
	if w.timer == nil {
		w.timer = time.NewTimer(d)
	} else {
		w.timer.Reset(d)
	}
	select {
	case <-w.timer.C:
	case <-w.ctx.Done():
		w.timer.Stop()
	}
}
