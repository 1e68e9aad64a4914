package main

import (
	"strings"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "clusterbench",
		Short: "Load generator and benchmark suite for Redis Cluster",
		Long: `clusterbench drives a Redis Cluster with realistic key distributions while its
slots are being moved, and reports what each MOVED/ASK redirect costs, how evenly
load spreads over slots and nodes, and how client strategies compare.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	// Flag parse errors are bad input: report them as one line, exit 2.
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return badInput("%v (see --help)", err)
	})
	root.AddCommand(subcommands()...)
	return root
}

// subcommands lists every subcommand; each lives in a file of its own.
func subcommands() []*cobra.Command {
	var cmds []*cobra.Command
	for _, mk := range registry {
		cmds = append(cmds, mk())
	}
	return cmds
}

// registry holds the constructors of the subcommands; each subcommand file
// adds itself in an init function so files do not have to touch this one.
var registry []func() *cobra.Command

func register(mk func() *cobra.Command) { registry = append(registry, mk) }

// isFlagError reports cobra's own argument errors (unknown command, wrong
// number of arguments), which are bad input too.
func isFlagError(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command") ||
		strings.HasPrefix(msg, "accepts ") ||
		strings.HasPrefix(msg, "requires at least") ||
		strings.HasPrefix(msg, "unknown flag") ||
		strings.HasPrefix(msg, "unknown shorthand flag")
}
