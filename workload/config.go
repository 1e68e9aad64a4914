package workload

import (
	"strings"
)

// Config is the workload part of a run: the CLI flags of DESIGN.md (and the
// keys of a profile's YAML, which use the same names). Start from
// DefaultConfig and override.
type Config struct {
	Dist      Dist      `yaml:"dist"`
	ZipfTheta float64   `yaml:"zipf-theta"` // zipf and latest; in (0,1)
	Hot       Hot       `yaml:"hot"`        // hotspot; "KEYS:OPS"
	Keys      int       `yaml:"keys"`       // keyspace 0..Keys-1
	Prefix    string    `yaml:"key-prefix"`
	TagGroup  int       `yaml:"tag-group"` // keys per hash-tag group; 0 = no tags
	ValueSize ValueSize `yaml:"value-size"`
	Mix       Mix       `yaml:"mix"`
	Seed      uint64    `yaml:"seed"`
}

// DefaultConfig returns the defaults of every setting.
func DefaultConfig() Config {
	mix, err := ParseMix(DefaultMix)
	if err != nil {
		panic(err) // DefaultMix is a constant that parses
	}
	return Config{
		Dist:      DefaultDist,
		ZipfTheta: DefaultZipfTheta,
		Hot:       Hot{Keys: DefaultHotKeys, Ops: DefaultHotOps},
		Keys:      DefaultKeys,
		Prefix:    DefaultPrefix,
		TagGroup:  DefaultTagGroup,
		ValueSize: ValueSize{Min: DefaultValueSize, Max: DefaultValueSize},
		Mix:       mix,
		Seed:      DefaultSeed,
	}
}

// Validate returns every problem with c at once (nil when c is usable), each
// a *FieldError naming the setting and the fix. Settings a distribution does
// not use (zipf-theta unless zipf or latest, hot unless hotspot) are not checked.
func (c Config) Validate() []error {
	var errs []error
	add := func(e error) { errs = append(errs, e) }

	switch {
	case c.Dist >= numDists:
		add(fieldErr("dist", "%s unknown: use one of %s", c.Dist, strings.Join(distNames[:], ", ")))
	case c.Dist == DistZipf || c.Dist == DistLatest:
		if !(c.ZipfTheta > 0 && c.ZipfTheta < 1) {
			add(fieldErr("zipf-theta", "%v out of range: use a value in (0,1), e.g. %v", c.ZipfTheta, DefaultZipfTheta))
		}
	case c.Dist == DistHotspot:
		if err := c.Hot.validate(); err != nil {
			add(err)
		}
	}

	keysOK := c.Keys >= 1 && c.Keys <= MaxKeys
	if !keysOK {
		add(fieldErr("keys", "%d out of range: use 1 to %d", c.Keys, MaxKeys))
	} else if (c.Dist == DistZipf || c.Dist == DistLatest) && c.Keys > MaxZipfKeys {
		add(fieldErr("keys", "%d too many for dist %s, which sums zeta over every key at start (~4 s per 10^8): use at most %d, or dist hotspot", c.Keys, c.Dist, MaxZipfKeys))
	}

	if c.Prefix == "" {
		add(fieldErr("key-prefix", "is empty: use a non-empty prefix, e.g. %s", DefaultPrefix))
	} else if c.TagGroup > 0 && strings.ContainsAny(c.Prefix, "{}") {
		add(fieldErr("key-prefix", "%q contains { or }: with tag-group > 0 a key's hash tag must be its {group}; remove the braces", c.Prefix))
	}

	switch {
	case c.TagGroup < 0:
		add(fieldErr("tag-group", "%d out of range: use 0 (no hash tags) or a group size ≥ 1", c.TagGroup))
	case keysOK && c.TagGroup > c.Keys:
		add(fieldErr("tag-group", "%d is more than keys %d: use a group size up to keys", c.TagGroup, c.Keys))
	}

	if err := c.ValueSize.validate(); err != nil {
		add(err)
	}

	switch {
	case c.Mix.Total() == 0:
		add(fieldErr("mix", "is empty: give at least one op a weight > 0, e.g. %s", DefaultMix))
	case (c.Mix.Uses(OpMGet) || c.Mix.Uses(OpMSet)) && c.TagGroup < 1:
		add(fieldErr("mix", "%q uses mget/mset but tag-group is %d: set tag-group to N ≥ 1 so each multi-key op stays in one slot", c.Mix, c.TagGroup))
	}
	return errs
}

// KeySpace returns the key format of c.
func (c Config) KeySpace() KeySpace {
	return KeySpace{Keys: uint64(c.Keys), Prefix: c.Prefix, TagGroup: uint64(max(c.TagGroup, 0))}
}
