package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// interrupts turns SIGINT/SIGTERM into a two-stage stop: the first cancels
// the command's context (stop issuing work, write what was measured, stop
// the local cluster), the second runs the emergency cleanups (stop every
// server we started) and exits at once.
type interrupts struct {
	mu       sync.Mutex
	sig      os.Signal
	cleanups []func()
}

var sigs = &interrupts{}

// watch returns a context cancelled by the first signal.
func (in *interrupts) watch(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				in.mu.Lock()
				first := in.sig == nil
				if first {
					in.sig = s
				}
				cleanups := append([]func(){}, in.cleanups...)
				in.mu.Unlock()
				if first {
					fmt.Fprintf(os.Stderr, "\nclusterbench: %v: stopping, writing results (press Ctrl-C again to quit now)\n", s)
					cancel()
					continue
				}
				for i := len(cleanups) - 1; i >= 0; i-- {
					cleanups[i]()
				}
				os.Exit(exitCode(s))
			case <-done:
				return
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}

// onForcedExit registers a cleanup that must run even when a second signal
// ends the process at once (stopping local redis-servers). It returns a
// function that unregisters it.
func onForcedExit(f func()) func() {
	sigs.mu.Lock()
	defer sigs.mu.Unlock()
	sigs.cleanups = append(sigs.cleanups, f)
	i := len(sigs.cleanups) - 1
	return func() {
		sigs.mu.Lock()
		defer sigs.mu.Unlock()
		sigs.cleanups[i] = func() {}
	}
}

// caught returns the first signal received, or nil.
func (in *interrupts) caught() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sig
}

// exitCode is 128 + the signal number, as shells report it: 130 for
// SIGINT, 143 for SIGTERM.
func exitCode(s os.Signal) int {
	if s == syscall.SIGTERM {
		return exitTerminated
	}
	return exitInterrupted
}
