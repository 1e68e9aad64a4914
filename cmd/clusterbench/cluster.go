package main

// `clusterbench cluster up|down|status`: a local throwaway Redis Cluster that
// outlives the command (for poking at it with redis-cli or pointing `run
// --addrs` at it), and a status table for any cluster.
//
// Exit codes: bad flag values, a missing redis-server, a port in use, a
// second `up` while one runs, and `status` pointed at no cluster or at a
// non-cluster server are bad input (2). `down` with nothing running says so
// and exits 0, so scripts can always call it (like rm -f).

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/router"
	"github.com/spf13/cobra"
)

func init() { register(newClusterCmd) }

// passwordEnv supplies --password without putting it on a command line.
const passwordEnv = "CLUSTERBENCH_PASSWORD"

func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster up|down|status",
		Short: "Start, stop and inspect a local throwaway Redis Cluster",
		Long: `cluster up starts a Redis Cluster from redis-server on 127.0.0.1 that keeps
running after the command returns; it prints one host:port per line, masters
first. cluster down stops it and removes its files. cluster status prints a
table of the nodes of the local cluster or of any cluster (--addrs).`,
		// Runnable only to turn a missing or unknown subcommand into bad
		// input (cobra would print the help and exit 0).
		Args: cobra.ArbitraryArgs,
		RunE: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return badInput("unknown command %q for \"clusterbench cluster\": use up, down or status", args[0])
			}
			return badInput("cluster needs a command: up, down or status (see --help)")
		},
	}
	cmd.AddCommand(newClusterUpCmd(), newClusterDownCmd(), newClusterStatusCmd())
	return cmd
}

// clusterState is the state file `up` writes and `down`/`status` read.
type clusterState struct {
	Schema   int       `json:"schema"`
	Started  time.Time `json:"started"`
	Masters  int       `json:"masters"`
	Replicas int       `json:"replicas"`
	cluster.LocalState
}

// defaultStatePath is $XDG_STATE_HOME/clusterbench/cluster.json, or
// ~/.local/state/clusterbench/cluster.json.
func defaultStatePath() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "clusterbench", "cluster.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".local", "state", "clusterbench", "cluster.json")
}

func statePathOrDefault(path string) (string, error) {
	if path == "" {
		path = defaultStatePath()
	}
	if path == "" {
		return "", badInput("no home directory for the state file: pass --state FILE")
	}
	return path, nil
}

// readState returns the state at path, or nil when there is none.
func readState(path string) (*clusterState, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var st clusterState
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("state file %s is not valid: %v (stop leftover redis-server processes by hand and remove it)", path, err)
	}
	return &st, nil
}

// writeState writes st to path atomically (temp file + rename), 0600.
func writeState(path string, st *clusterState) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cluster-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func newClusterUpCmd() *cobra.Command {
	var (
		masters, replicas, port int
		nodeTimeout             time.Duration
		statePath               string
	)
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start a local cluster that keeps running; print its nodes (host:port, masters first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if masters < 1 {
				return badInput("--masters %d: a cluster needs at least 1 master (e.g. --masters 3)", masters)
			}
			if replicas < 0 {
				return badInput("--replicas %d: use 0 or more replicas per master", replicas)
			}
			if nodeTimeout <= 0 {
				return badInput("--node-timeout %v: use a positive duration such as 2s", nodeTimeout)
			}
			cfg := cluster.LocalConfig{Masters: masters, Replicas: replicas, BasePort: port, NodeTimeout: nodeTimeout, Detached: true}
			if port != 0 {
				if n := masters * (1 + replicas); port < 1 || port+10000+n-1 > 65535 {
					return badInput("--port %d: the %d nodes need ports %d.. and bus ports %d..; use 0 (free ports) or a port in 1..%d",
						port, n, port, port+10000, 65535-10000-n+1)
				}
			}
			path, err := statePathOrDefault(statePath)
			if err != nil {
				return err
			}
			if err := clearStaleState(path); err != nil {
				return err
			}

			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			l, err := cluster.StartLocal(ctx, cfg)
			switch {
			case errors.Is(err, cluster.ErrServerNotFound), errors.Is(err, cluster.ErrPortInUse):
				return badInput("%v", strings.TrimPrefix(err.Error(), "cluster: "))
			case err != nil:
				return err
			}
			st := &clusterState{Schema: 1, Started: time.Now().UTC(), Masters: masters, Replicas: replicas, LocalState: l.State()}
			if err := writeState(path, st); err != nil {
				return errors.Join(fmt.Errorf("write state file: %w", err), l.Stop())
			}
			for _, a := range l.Addrs() {
				fmt.Fprintln(cmd.OutOrStdout(), a)
			}
			down := "clusterbench cluster down"
			if statePath != "" {
				down += " --state " + statePath
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "clusterbench: %d nodes up (%d masters, %d replicas per master, redis %s); stop with: %s\n",
				len(l.Addrs()), masters, replicas, l.Version(), down)
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&masters, "masters", 3, "number of masters")
	f.IntVar(&replicas, "replicas", 0, "replicas per master")
	f.IntVar(&port, "port", 0, "first client port (node i: port+i, bus port+10000+i); 0 picks free ports")
	f.DurationVar(&nodeTimeout, "node-timeout", cluster.DefaultNodeTimeout, "cluster-node-timeout (how soon a failed master is replaced)")
	f.StringVar(&statePath, "state", "", "state file (default $XDG_STATE_HOME/clusterbench/cluster.json)")
	return cmd
}

// clearStaleState refuses to go on while the state file names live
// servers, and cleans up after a cluster whose servers are all gone.
func clearStaleState(path string) error {
	st, err := readState(path)
	if err != nil || st == nil {
		return err
	}
	l := cluster.AttachLocal(st.LocalState, cluster.ConnOptions{})
	if alive := l.Alive(); len(alive) > 0 {
		return badInput("a local cluster is already running (%s, %d nodes alive, state file %s): run `clusterbench cluster down` first",
			alive[0].Addr, len(alive), path)
	}
	if err := l.Stop(); err != nil { // removes the directory left behind
		return err
	}
	return os.Remove(path)
}

func newClusterDownCmd() *cobra.Command {
	var statePath string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the local cluster started by `cluster up` and remove its files",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, err := statePathOrDefault(statePath)
			if err != nil {
				return err
			}
			st, err := readState(path)
			if err != nil {
				return err
			}
			if st == nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "clusterbench: no local cluster is running (no state file at %s)\n", path)
				return nil
			}
			l := cluster.AttachLocal(st.LocalState, cluster.ConnOptions{})
			n := len(l.Alive())
			if err := l.Stop(); err != nil {
				if len(l.Alive()) > 0 || stillAlive(st) {
					return fmt.Errorf("%w (state file %s kept, run down again)", err, path)
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "clusterbench: warning: %v\n", err)
			}
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "clusterbench: stopped %d nodes\n", n)
			return nil
		},
	}
	cmd.Flags().StringVar(&statePath, "state", "", "state file (default $XDG_STATE_HOME/clusterbench/cluster.json)")
	return cmd
}

// stillAlive reports whether any server of st still runs (a fresh handle:
// Stop empties the list of the one it was called on).
func stillAlive(st *clusterState) bool {
	return len(cluster.AttachLocal(st.LocalState, cluster.ConnOptions{}).Alive()) > 0
}

func newClusterStatusCmd() *cobra.Command {
	var (
		addrs     []string
		statePath string
		opt       cluster.ConnOptions
		tlsf      tlsFlags
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print a table of the cluster's nodes: role, slots, keys, state, version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opt.Password == "" {
				opt.Password = os.Getenv(passwordEnv)
			}
			var err error
			if opt.TLS, err = tlsf.config(len(addrs) > 0); err != nil {
				return badInput("%v", err)
			}
			seeds, err := statusSeeds(addrs, statePath)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rows, err := clusterStatus(ctx, seeds, opt)
			if err != nil {
				return explainTLS(err, opt.TLS)
			}
			return writeStatusTable(cmd.OutOrStdout(), rows)
		},
	}
	f := cmd.Flags()
	f.StringSliceVar(&addrs, "addrs", nil, "host:port of one or more cluster nodes (default: the local cluster of 'cluster up')")
	f.StringVar(&statePath, "state", "", "state file of the local cluster (default $XDG_STATE_HOME/clusterbench/cluster.json)")
	f.StringVar(&opt.Username, "user", "", "ACL user name")
	f.StringVar(&opt.Password, "password", "", "password (or set "+passwordEnv+")")
	tlsf.add(f, false)
	return cmd
}

// statusSeeds returns the addresses to ask: --addrs, else the local
// cluster's nodes from the state file.
func statusSeeds(addrs []string, statePath string) ([]string, error) {
	if len(addrs) > 0 {
		for _, a := range addrs {
			if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
				return nil, badInput("--addrs %q: want host:port, e.g. 127.0.0.1:7000", a)
			}
		}
		return addrs, nil
	}
	path, err := statePathOrDefault(statePath)
	if err != nil {
		return nil, err
	}
	st, err := readState(path)
	if err != nil {
		return nil, err
	}
	if st == nil || len(st.Nodes) == 0 {
		return nil, badInput("no local cluster (no state file at %s): run `clusterbench cluster up` or pass --addrs", path)
	}
	var seeds []string
	for _, n := range st.Nodes {
		seeds = append(seeds, n.Addr)
	}
	return seeds, nil
}

// statusRow is one node in the status table.
type statusRow struct {
	node, role, slots, keys, state, version string
}

// clusterStatus asks the first reachable seed for CLUSTER NODES, then each
// node for its state, key count and version.
func clusterStatus(ctx context.Context, seeds []string, opt cluster.ConnOptions) ([]statusRow, error) {
	var view []cluster.ClusterNode
	var errs []error
	var seed string
	for _, s := range seeds {
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		v, err := cluster.NodesOf(sctx, s, opt)
		cancel()
		if err == nil {
			view, seed = v, s
			break
		}
		if errors.Is(err, cluster.ErrNotCluster) || errors.Is(err, cluster.ErrAuth) {
			return nil, badInput("%v", strings.TrimPrefix(err.Error(), "cluster: "))
		}
		errs = append(errs, err)
	}
	if view == nil {
		return nil, fmt.Errorf("no node answered: %w", errors.Join(errs...))
	}
	// The answering node may list itself without a host (a lone node).
	for i := range view {
		if view[i].IsMyself() && view[i].Addr == "" {
			view[i].Addr = seed
		}
	}
	byID := make(map[string]cluster.ClusterNode, len(view))
	for _, n := range view {
		byID[n.ID] = n
	}
	var rows []statusRow
	for _, n := range orderNodes(view) {
		r := statusRow{node: cmp.Or(n.Addr, "?"), role: "master", slots: "-", keys: "-", state: "-", version: "-"}
		if !n.IsMaster() {
			r.role = "replica"
			if m, ok := byID[n.MasterID]; ok {
				r.role = "replica of " + m.Addr
			}
		}
		for _, f := range []string{"fail", "fail?", "handshake", "noaddr"} {
			if n.HasFlag(f) {
				r.role += " (" + f + ")"
			}
		}
		if n.IsMaster() {
			r.slots = slotSummary(n)
		}
		if n.Addr != "" {
			r.keys, r.state, r.version = nodeFigures(ctx, n.Addr, opt)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// nodeFigures returns DBSIZE, cluster_state and redis_version of one node,
// "-" for what it could not get, and "unreachable" as the state when the
// node does not answer.
func nodeFigures(ctx context.Context, addr string, opt cluster.ConnOptions) (keys, state, version string) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	keys, state, version = "-", "unreachable", "-"
	c, err := cluster.Dial(addr, opt)
	if err != nil {
		return
	}
	defer c.Close()
	if n, err := c.Do(ctx, c.B().Dbsize().Build()).AsInt64(); err == nil {
		keys = strconv.FormatInt(n, 10)
	}
	if s, err := cluster.DoText(ctx, c, addr, "CLUSTER", "INFO"); err == nil {
		state = cmp.Or(cluster.ParseInfo(s)["cluster_state"], "-")
	} else {
		state = "error"
	}
	if s, err := cluster.DoText(ctx, c, addr, "INFO", "server"); err == nil {
		version = cmp.Or(cluster.ParseInfo(s)["redis_version"], "-")
	}
	return
}

// orderNodes lists masters by first slot (those without slots last, by
// address), each followed by its replicas; nodes whose master is unknown
// come at the end.
func orderNodes(view []cluster.ClusterNode) []cluster.ClusterNode {
	var masters []cluster.ClusterNode
	replicas := map[string][]cluster.ClusterNode{}
	for _, n := range view {
		if n.IsMaster() {
			masters = append(masters, n)
		} else {
			replicas[n.MasterID] = append(replicas[n.MasterID], n)
		}
	}
	first := func(n cluster.ClusterNode) int {
		if len(n.Slots) == 0 {
			return router.NumSlots
		}
		return int(slices.MinFunc(n.Slots, func(a, b router.SlotRange) int { return cmp.Compare(a.First, b.First) }).First)
	}
	slices.SortFunc(masters, func(a, b cluster.ClusterNode) int {
		return cmp.Or(cmp.Compare(first(a), first(b)), cmp.Compare(a.Addr, b.Addr))
	})
	var out []cluster.ClusterNode
	for _, m := range masters {
		out = append(out, m)
		rs := replicas[m.ID]
		slices.SortFunc(rs, func(a, b cluster.ClusterNode) int { return cmp.Compare(a.Addr, b.Addr) })
		out = append(out, rs...)
		delete(replicas, m.ID)
	}
	for _, id := range slices.Sorted(maps.Keys(replicas)) {
		out = append(out, replicas[id]...)
	}
	return out
}

// slotSummary is "count (ranges)" with at most three ranges shown, plus
// the slots in migration: "5461 (0-5460)", "12 (1, 5-9, 20-24 …+3)",
// "5461 (0-5460) 1 migrating".
func slotSummary(n cluster.ClusterNode) string {
	rs := slices.Clone(n.Slots)
	slices.SortFunc(rs, func(a, b router.SlotRange) int { return cmp.Compare(a.First, b.First) })
	s := strconv.Itoa(n.SlotCount())
	if len(rs) > 0 {
		var parts []string
		for _, r := range rs[:min(len(rs), 3)] {
			if r.First == r.Last {
				parts = append(parts, strconv.Itoa(int(r.First)))
			} else {
				parts = append(parts, fmt.Sprintf("%d-%d", r.First, r.Last))
			}
		}
		more := ""
		if len(rs) > 3 {
			more = fmt.Sprintf(" …+%d", len(rs)-3)
		}
		s += " (" + strings.Join(parts, ", ") + more + ")"
	}
	if len(n.Migrating) > 0 {
		s += fmt.Sprintf(" %d migrating", len(n.Migrating))
	}
	if len(n.Importing) > 0 {
		s += fmt.Sprintf(" %d importing", len(n.Importing))
	}
	return s
}

func writeStatusTable(w io.Writer, rows []statusRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tSLOTS\tKEYS\tSTATE\tVERSION")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.node, r.role, r.slots, r.keys, r.state, r.version)
	}
	return tw.Flush()
}
