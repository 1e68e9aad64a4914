//go:build !linux

package pace

import (
	"context"
	"time"
)

// Waiter waits with a runtime timer (no timerfd here).
type Waiter struct {
	ctx   context.Context
	timer *time.Timer
}

// New returns a Waiter whose waits end when ctx is done; Close releases it.
func New(ctx context.Context) *Waiter { return &Waiter{ctx: ctx} }

// Close stops the timer.
func (w *Waiter) Close() error {
	if w.timer != nil {
		w.timer.Stop()
	}
	return nil
}

func (w *Waiter) sleep(d time.Duration) { w.sleepTimer(d) }
