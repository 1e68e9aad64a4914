package pace

import (
	"context"
	"testing"
	"time"
)

func TestUntilNeverWakesEarly(t *testing.T) {
	w := New(context.Background())
	defer w.Close()
	for _, d := range []time.Duration{0, -time.Millisecond, 20 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		for range 20 {
			at := time.Now().Add(d)
			if !w.Until(at) {
				t.Fatalf("Until(now%+v) = false with a live context", d)
			}
			if now := time.Now(); now.Before(at) {
				t.Fatalf("Until(now%+v) returned %v early", d, at.Sub(now))
			}
		}
	}
}

func TestUntilEndsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	w := New(ctx)
	defer w.Close()
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	if w.Until(start.Add(time.Minute)) {
		t.Fatal("Until = true, want false: the context ended first")
	}
	if waited := time.Since(start); waited > 10*time.Second {
		t.Fatalf("Until returned %v after the context ended, want at once", waited)
	}
	if w.Until(time.Now().Add(time.Millisecond)) {
		t.Fatal("Until after the context ended = true, want false")
	}
}

func TestUntilAllocatesNothing(t *testing.T) {
	w := New(context.Background())
	defer w.Close()
	w.Until(time.Now().Add(10 * time.Microsecond)) // first use
	if n := testing.AllocsPerRun(200, func() { w.Until(time.Now().Add(10 * time.Microsecond)) }); n != 0 {
		t.Errorf("Until allocates %v times per wait, want 0", n)
	}
}
