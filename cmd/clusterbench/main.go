// Command clusterbench is a load generator and benchmark suite for Redis Cluster.
//
// This package is the thin CLI layer: it parses flags, handles signals and
// exit codes, and calls the library packages, which return errors and never exit.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Exit codes are part of the CLI contract (see DESIGN.md).
const (
	exitOK          = 0
	exitFailed      = 1
	exitBadInput    = 2
	exitInterrupted = 130
	exitTerminated  = 143
)

// usageError marks an error caused by the user's input: it is printed as one
// line and the process exits with exitBadInput.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// badInput returns a usageError; the message should name the problem and the fix.
func badInput(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(run(os.Args[1:]))
}

// run executes the CLI with args and returns the process exit code.
func run(args []string) int {
	root := newRootCmd()
	root.SetArgs(args)
	ctx, stop := sigs.watch(context.Background())
	err := root.ExecuteContext(ctx)
	stop()
	if s := sigs.caught(); s != nil {
		if err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintln(os.Stderr, "clusterbench: "+err.Error())
		}
		return exitCode(s)
	}
	if err == nil {
		return exitOK
	}
	msg := err.Error()
	if isFlagError(err) && !strings.Contains(msg, "--help") {
		msg += " (see --help)"
	}
	// One line: a message that spans several (joined errors) is folded.
	fmt.Fprintln(os.Stderr, "clusterbench: "+strings.ReplaceAll(msg, "\n", "; "))
	var ue *usageError
	if errors.As(err, &ue) || isFlagError(err) {
		return exitBadInput
	}
	return exitFailed
}
