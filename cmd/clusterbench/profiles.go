package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/clusterbench/clusterbench/profiles"
)

func init() { register(newProfilesCmd) }

func newProfilesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "profiles",
		Short: "List the shipped run profiles",
		Long: `profiles lists the scenarios shipped in the binary. Run one with
clusterbench run --profile NAME; flags given on the command line override the
profile's settings. A profile file of your own is a YAML mapping of run flag
names to values (lists are joined with commas) plus a description:

  description: my read-heavy scale-out
  strategy: [router, goredis]
  dist: zipf
  migrate: scale-out`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := profiles.Shipped()
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "PROFILE\tDESCRIPTION")
			for _, p := range ps {
				fmt.Fprintf(w, "%s\t%s\n", p.Name, p.Description)
			}
			return w.Flush()
		},
	}
}
