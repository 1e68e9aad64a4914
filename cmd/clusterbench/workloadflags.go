package main

// The workload flags, shared by the subcommands that build a workload
// (run, spread), so names, defaults and help stay one.

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/workload"
)

// workloadFlags are the raw values of the workload flags.
type workloadFlags struct {
	dist      string
	zipfTheta float64
	hot       string
	keys      int
	keyPrefix string
	tagGroup  int
	valueSize string
	mix       string
	seed      uint64
}

// addWorkloadFlags defines --dist, --zipf-theta, --hot, --keys,
// --key-prefix, --tag-group, --value-size, --mix and --seed on fs.
func addWorkloadFlags(fs *pflag.FlagSet, f *workloadFlags) {
	fs.StringVar(&f.dist, "dist", workload.DefaultDist.String(), "key distribution: uniform, zipf, hotspot, sequential, latest, gaussian")
	fs.Float64Var(&f.zipfTheta, "zipf-theta", workload.DefaultZipfTheta, "zipf/latest skew, in (0,1)")
	fs.StringVar(&f.hot, "hot", fmt.Sprintf("%g:%g", workload.DefaultHotKeys, workload.DefaultHotOps), "hotspot: KEYS:OPS fractions, e.g. 0.2:0.8 sends 80% of ops to 20% of keys")
	fs.IntVar(&f.keys, "keys", workload.DefaultKeys, "keyspace size")
	fs.StringVar(&f.keyPrefix, "key-prefix", workload.DefaultPrefix, "every key starts with PREFIX: (only such keys are written or deleted)")
	fs.IntVar(&f.tagGroup, "tag-group", workload.DefaultTagGroup, "N consecutive keys share a {hash tag} (needed by mget/mset); 0: no tags")
	fs.StringVar(&f.valueSize, "value-size", fmt.Sprint(workload.DefaultValueSize), "value bytes: N or MIN-MAX")
	fs.StringVar(&f.mix, "mix", workload.DefaultMix, "op mix with weights: get, set, del, incr, mget, mset")
	fs.Uint64Var(&f.seed, "seed", workload.DefaultSeed, "seed of the key/op stream (the same for every strategy)")
}

// config turns the flags into a workload config, returning every bad
// value (not yet the cross-field checks of workload.Config.Validate).
// --hot is read only when given or when --dist is hotspot.
func (f *workloadFlags) config(fs *pflag.FlagSet) (workload.Config, []error) {
	var errs []error
	wc := workload.DefaultConfig()
	var err error
	if wc.Dist, err = workload.ParseDist(f.dist); err != nil {
		errs = append(errs, err)
	}
	if fs.Changed("hot") || wc.Dist == workload.DistHotspot {
		if wc.Hot, err = workload.ParseHot(f.hot); err != nil {
			errs = append(errs, err)
		}
	}
	if wc.ValueSize, err = workload.ParseValueSize(f.valueSize); err != nil {
		errs = append(errs, err)
	}
	if wc.Mix, err = workload.ParseMix(f.mix); err != nil {
		errs = append(errs, err)
	}
	wc.ZipfTheta, wc.Keys, wc.Prefix, wc.TagGroup, wc.Seed = f.zipfTheta, f.keys, f.keyPrefix, f.tagGroup, f.seed
	return wc, errs
}
