package main

// `clusterbench spread`: how evenly a workload's operations spread over the
// 16384 slots and over the masters, before running anything. Offline, the
// slots are split evenly over --masters; with --addrs, the live cluster's
// ownership is used and its keys per slot are counted too.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/rueidis"
	"github.com/spf13/cobra"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/plots"
	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

func init() { register(newSpreadCmd) }

// Defaults of spread.
const (
	defaultSpreadOps = 1_000_000
	defaultSpreadTop = 10
	// countBatch is how many CLUSTER COUNTKEYSINSLOT go in one pipeline.
	countBatch = 1024
)

type spreadFlags struct {
	wl       workloadFlags
	ops      int
	workers  int
	masters  int
	addrs    []string
	out      string
	top      int
	user     string
	password string
	tls      tlsFlags
	tlsConf  *tls.Config // from tls, set by check
}

func newSpreadCmd() *cobra.Command {
	f := &spreadFlags{}
	cmd := &cobra.Command{
		Use:   "spread",
		Short: "Show how evenly a workload spreads over slots and nodes (offline or on a live cluster)",
		Long: `spread draws --ops operations from the workload, exactly as run's workers would
(one generator per worker, the same seed), hashes each key to its slot, and
reports how evenly they fall over the 16384 slots and over the masters: each
node's share, max/mean, the coefficient of variation, the Gini coefficient and
the hottest slots. It writes heatmap.png/.svg (operations per slot, 128×128,
owners outlined), lorenz.png/.svg and spread.json to --out.

Without --addrs the slots are split evenly over --masters, as a fresh local
cluster has them. With --addrs the live cluster's slot ownership is used, and
its keys per slot (CLUSTER COUNTKEYSINSLOT on each master) are reported too.
spread only reads from a cluster.`,
		Example: `  clusterbench spread --dist zipf --keys 100000 --masters 6
  clusterbench spread --dist hotspot --hot 0.01:0.9 --tag-group 16
  clusterbench spread --addrs 127.0.0.1:7000 --top 20`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSpread(cmd, f) },
	}
	fl := cmd.Flags()
	addWorkloadFlags(fl, &f.wl)
	fl.IntVar(&f.ops, "ops", defaultSpreadOps, "operations to sample from the workload")
	fl.IntVar(&f.workers, "workers", runner.DefaultWorkers, "workers whose generators the sample is drawn from (as in run)")
	fl.IntVar(&f.masters, "masters", runner.DefaultMasters, "masters to split the slots over evenly (without --addrs)")
	fl.StringSliceVar(&f.addrs, "addrs", nil, "seed nodes of a live cluster, host:port,...: use its slot ownership and count its keys")
	fl.StringVar(&f.out, "out", "", "output directory for the charts and spread.json (default spread-<time>)")
	fl.IntVar(&f.top, "top", defaultSpreadTop, "how many of the hottest slots to list")
	fl.StringVar(&f.user, "user", "", "ACL user (with --addrs)")
	fl.StringVar(&f.password, "password", "", "password (with --addrs; or set "+passwordEnv+")")
	f.tls.add(fl, false)
	return cmd
}

// spreadResult is what spread reports, and spread.json.
type spreadResult struct {
	Ops     uint64 `json:"ops"`
	Workers int    `json:"workers"`
	// Ownership is "even split" or "cluster <seed>".
	Ownership string          `json:"ownership"`
	Dist      string          `json:"dist"`
	Keys      int             `json:"keys"`
	Seed      uint64          `json:"seed"`
	OpsSpread metrics.Spread  `json:"ops_spread"`
	KeySpread *metrics.Spread `json:"keys_spread"` // null offline
	// Charts are the files written.
	Charts []string `json:"charts"`

	slotOps, slotKeys []uint64
	owners            []string // by slot, "" when unowned
}

func (f *spreadFlags) check(cmd *cobra.Command) (workload.Config, error) {
	wc, errs := f.wl.config(cmd.Flags())
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Error())
	}
	if len(errs) == 0 {
		for _, e := range wc.Validate() {
			msgs = append(msgs, e.Error())
		}
	}
	if f.ops < 1 {
		msgs = append(msgs, fmt.Sprintf("--ops %d: sample at least one operation", f.ops))
	}
	if f.workers < 1 {
		msgs = append(msgs, fmt.Sprintf("--workers %d: want at least 1", f.workers))
	}
	if f.top < 0 {
		msgs = append(msgs, fmt.Sprintf("--top %d: want 0 or more", f.top))
	}
	if len(f.addrs) > 0 && cmd.Flags().Changed("masters") {
		msgs = append(msgs, "--masters and --addrs exclude each other: --addrs uses the live cluster's masters")
	}
	if len(f.addrs) == 0 && (f.masters < 1 || f.masters > router.NumSlots) {
		msgs = append(msgs, fmt.Sprintf("--masters %d: want 1 to %d", f.masters, router.NumSlots))
	}
	for _, a := range f.addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			msgs = append(msgs, fmt.Sprintf("--addrs %q: want host:port, e.g. 127.0.0.1:7000", a))
		}
	}
	var err error
	if f.tlsConf, err = f.tls.config(len(f.addrs) > 0); err != nil {
		msgs = append(msgs, err.Error())
	}
	if len(msgs) > 0 {
		return wc, badInput("spread: %s", strings.Join(msgs, "; "))
	}
	return wc, nil
}

func runSpread(cmd *cobra.Command, f *spreadFlags) error {
	wc, err := f.check(cmd)
	if err != nil {
		return err
	}
	wl, err := workload.New(wc)
	if err != nil {
		return badInput("spread: %v", err)
	}
	res := &spreadResult{Workers: f.workers, Dist: wc.Dist.String(), Keys: wc.Keys, Seed: wc.Seed}
	res.slotOps = sampleSlotOps(wl, f.ops, f.workers)
	res.Ops = uint64(f.ops)

	var owner []int
	var names []string
	if len(f.addrs) == 0 {
		res.Ownership = "even split"
		owner, names = evenOwners(f.masters)
	} else {
		opt := cluster.ConnOptions{Username: f.user, Password: f.password, TLS: f.tlsConf}
		if opt.Password == "" {
			opt.Password = os.Getenv(passwordEnv)
		}
		ctx, cancel := context.WithTimeout(cmd.Context(), 2*time.Minute)
		defer cancel()
		topo, seed, err := discoverAny(ctx, f.addrs, opt)
		if err != nil {
			return err
		}
		if len(topo.Masters) == 0 {
			return badInput("spread: the cluster at %s has no master with slots", seed)
		}
		res.Ownership = "cluster " + seed
		owner, names = clusterOwners(topo)
		if res.slotKeys, err = countKeys(ctx, topo, opt); err != nil {
			return fmt.Errorf("spread: counting keys: %w", err)
		}
		ks, err := metrics.SpreadOf(res.slotKeys, owner, names, nil, f.top)
		if err != nil {
			return err
		}
		res.KeySpread = &ks
	}
	res.OpsSpread, err = metrics.SpreadOf(res.slotOps, owner, names, nil, f.top)
	if err != nil {
		return err
	}
	res.owners = make([]string, router.NumSlots)
	for s, o := range owner {
		if o >= 0 {
			res.owners[s] = names[o]
		}
	}

	out := f.out
	if out == "" {
		out = "spread-" + time.Now().Format("20060102-150405")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return badInput("spread: --out %s: %v: choose a directory you can write", out, err)
	}
	if res.Charts, err = drawSpread(res, out); err != nil {
		return err
	}
	if err := writeSpreadJSON(filepath.Join(out, "spread.json"), res); err != nil {
		return err
	}
	if err := writeSpreadReport(cmd.OutOrStdout(), res); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "charts and spread.json in %s\n", out)
	return nil
}

// sampleSlotOps draws ops operations from the workload, split over the
// workers' generators as a run splits them, and counts them per slot.
func sampleSlotOps(wl *workload.Workload, ops, workers int) []uint64 {
	counts := make([]uint64, router.NumSlots)
	var buf []byte
	for w := range workers {
		n := ops / workers
		if w < ops%workers {
			n++
		}
		g := wl.Generator(w)
		for range n {
			_, buf = g.Next(buf[:0])
			counts[router.Slot(buf)]++
		}
	}
	return counts
}

// evenOwners splits the slots over n masters as a fresh cluster does.
func evenOwners(n int) ([]int, []string) {
	owner := make([]int, router.NumSlots)
	var names []string
	for i, r := range cluster.SplitSlots(n) {
		names = append(names, fmt.Sprintf("master %d", i+1))
		for s := int(r.First); s <= int(r.Last); s++ {
			owner[s] = i
		}
	}
	return owner, names
}

// clusterOwners maps each slot to the master serving it (-1: none).
func clusterOwners(topo *cluster.Topology) ([]int, []string) {
	owner := make([]int, router.NumSlots)
	for s := range owner {
		owner[s] = -1
	}
	var names []string
	for i, m := range topo.Masters {
		names = append(names, m.Addr)
		for _, r := range m.Slots {
			for s := int(r.First); s <= int(r.Last); s++ {
				owner[s] = i
			}
		}
	}
	return owner, names
}

// discoverAny asks each seed in turn for the topology. A topology that
// misses slots is used as it is (those slots count for no node).
func discoverAny(ctx context.Context, seeds []string, opt cluster.ConnOptions) (*cluster.Topology, string, error) {
	var errs []error
	for _, s := range seeds {
		topo, err := cluster.Discover(ctx, s, opt)
		if topo != nil && (err == nil || errors.Is(err, router.ErrSlotsUncovered)) {
			return topo, s, nil
		}
		if errors.Is(err, cluster.ErrNotCluster) {
			return nil, "", badInput("spread: %v", err)
		}
		errs = append(errs, err)
	}
	return nil, "", badInput("spread: no node of --addrs answered: %v", explainTLS(errors.Join(errs...), opt.TLS))
}

// countKeys asks every master for the keys in each of its slots, with
// CLUSTER COUNTKEYSINSLOT pipelined in batches over one admin connection.
func countKeys(ctx context.Context, topo *cluster.Topology, opt cluster.ConnOptions) ([]uint64, error) {
	keys := make([]uint64, router.NumSlots)
	for _, m := range topo.Masters {
		var slots []int
		for _, r := range m.Slots {
			for s := int(r.First); s <= int(r.Last); s++ {
				slots = append(slots, s)
			}
		}
		if len(slots) == 0 {
			continue
		}
		if err := countMasterKeys(ctx, m.Addr, opt, slots, keys); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

func countMasterKeys(ctx context.Context, addr string, opt cluster.ConnOptions, slots []int, keys []uint64) error {
	c, err := cluster.Dial(addr, opt)
	if err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	defer c.Close()
	for len(slots) > 0 {
		batch := slots[:min(countBatch, len(slots))]
		slots = slots[len(batch):]
		cmds := make(rueidis.Commands, len(batch))
		for i, s := range batch {
			cmds[i] = c.B().ClusterCountkeysinslot().Slot(int64(s)).Build()
		}
		for i, r := range c.DoMulti(ctx, cmds...) {
			n, err := r.AsInt64()
			if err != nil {
				return fmt.Errorf("%s: CLUSTER COUNTKEYSINSLOT %d: %w", addr, batch[i], err)
			}
			keys[batch[i]] = uint64(n)
		}
	}
	return nil
}

// drawSpread writes the heatmap (operations, and keys when counted) and
// the Lorenz curves.
func drawSpread(res *spreadResult, dir string) ([]string, error) {
	panels := []plots.HeatPanel{{Title: fmt.Sprintf("%s sampled operations", fmtInt(res.Ops)), Counts: res.slotOps, Owners: res.owners, Unit: "ops per slot"}}
	curves := []plots.LorenzCurve{plots.CurveOf("operations (sampled)", res.slotOps)}
	if res.slotKeys != nil {
		panels = append(panels, plots.HeatPanel{Title: fmt.Sprintf("%s keys in the cluster", fmtInt(res.KeySpread.Slots.Ops)), Counts: res.slotKeys, Owners: res.owners, Unit: "keys per slot"})
		curves = append(curves, plots.CurveOf("keys (live)", res.slotKeys))
	}
	title := fmt.Sprintf("Slot spread: %s, %d keys, seed %d; owners: %s", res.Dist, res.Keys, res.Seed, res.Ownership)
	fig, err := plots.HeatmapFigure(title, panels...)
	if err != nil {
		return nil, err
	}
	files, err := fig.Save(dir, "heatmap")
	if err != nil {
		return files, err
	}
	more, err := plots.LorenzFigure("Lorenz curve over the 16384 slots: "+res.Dist+" workload", curves...).Save(dir, "lorenz")
	return append(files, more...), err
}

func writeSpreadJSON(path string, res *spreadResult) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeSpreadReport prints the node table, the evenness statistics and the
// hottest slots.
func writeSpreadReport(w io.Writer, res *spreadResult) error {
	fmt.Fprintf(w, "%s operations sampled (%s, %d keys, seed %d, %d workers); slot owners: %s\n\n",
		fmtInt(res.Ops), res.Dist, res.Keys, res.Seed, res.Workers, res.Ownership)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	ns := res.OpsSpread.Nodes
	if res.KeySpread != nil {
		fmt.Fprintln(tw, "node\tslots\tops\tshare\tkeys\tkey share")
	} else {
		fmt.Fprintln(tw, "node\tslots\tops\tshare")
	}
	for i, n := range ns.Nodes {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f%%", n.Name, n.Slots, n.Ops, 100*n.Share)
		if res.KeySpread != nil {
			k := res.KeySpread.Nodes.Nodes[i]
			fmt.Fprintf(tw, "\t%d\t%.1f%%", k.Ops, 100*k.Share)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "evenness\tmax/mean\tCV\tGini")
	row := func(what string, maxMean, cv, gini float64) {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\n", what, maxMean, cv, gini)
	}
	sl := res.OpsSpread.Slots
	row(fmt.Sprintf("ops over slots (%d of %d used)", sl.Used, sl.Slots), sl.MaxOverMean, sl.CV, sl.Gini)
	row(fmt.Sprintf("ops over nodes (%d)", len(ns.Nodes)), ns.MaxOverMean, ns.CV, ns.Gini)
	if ks := res.KeySpread; ks != nil {
		row(fmt.Sprintf("keys over slots (%d of %d used)", ks.Slots.Used, ks.Slots.Slots), ks.Slots.MaxOverMean, ks.Slots.CV, ks.Slots.Gini)
		row(fmt.Sprintf("keys over nodes (%d)", len(ks.Nodes.Nodes)), ks.Nodes.MaxOverMean, ks.Nodes.CV, ks.Nodes.Gini)
	}
	if len(sl.Top) > 0 {
		fmt.Fprintln(tw)
		fmt.Fprintln(tw, "hottest slot\tops\tshare\tnode")
		for _, t := range sl.Top {
			fmt.Fprintf(tw, "%d\t%d\t%.2f%%\t%s\n", t.Slot, t.Ops, 100*t.Share, res.owners[t.Slot])
		}
	}
	return tw.Flush()
}

// fmtInt writes n with thousands separators.
func fmtInt(n uint64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
