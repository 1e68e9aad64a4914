package workload

import (
	"errors"
	"strings"
	"testing"
)

func TestDefaultConfigIsValid(t *testing.T) {
	c := DefaultConfig()
	if errs := c.Validate(); errs != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", errs)
	}
	if c.Keys != DefaultKeys || c.Prefix != DefaultPrefix || c.Mix.String() != DefaultMix || c.Seed != DefaultSeed {
		t.Errorf("DefaultConfig() = %+v does not match the Default constants", c)
	}
	// Every distribution is valid with the defaults.
	for d := range numDists {
		c.Dist = d
		if errs := c.Validate(); errs != nil {
			t.Errorf("dist %v: %v", d, errs)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		fields []string // the fields named by the errors, in order
		msg    string   // a fragment of the first error
	}{
		{"theta too big for zipf", func(c *Config) { c.Dist, c.ZipfTheta = DistZipf, 1.5 },
			[]string{"zipf-theta"}, "zipf-theta 1.5 out of range: use a value in (0,1)"},
		{"theta 1 (Gray's method needs < 1)", func(c *Config) { c.Dist, c.ZipfTheta = DistLatest, 1 },
			[]string{"zipf-theta"}, "out of range"},
		{"theta 0", func(c *Config) { c.Dist, c.ZipfTheta = DistZipf, 0 },
			[]string{"zipf-theta"}, "out of range"},
		{"theta ignored by uniform", func(c *Config) { c.Dist, c.ZipfTheta = DistUniform, 7 },
			nil, ""},
		{"unknown dist", func(c *Config) { c.Dist = 42 },
			[]string{"dist"}, "Dist(42) unknown"},
		{"hot keys fraction", func(c *Config) { c.Dist, c.Hot = DistHotspot, Hot{Keys: 0, Ops: 0.8} },
			[]string{"hot"}, "keys fraction must be in (0,1)"},
		{"hot ops fraction", func(c *Config) { c.Dist, c.Hot = DistHotspot, Hot{Keys: 0.2, Ops: 2} },
			[]string{"hot"}, "ops fraction must be in [0,1]"},
		{"hot ignored by gaussian", func(c *Config) { c.Dist, c.Hot = DistGaussian, Hot{} },
			nil, ""},
		{"no keys", func(c *Config) { c.Keys = 0 },
			[]string{"keys"}, "keys 0 out of range: use 1 to 1000000000"},
		{"too many keys", func(c *Config) { c.Keys = MaxKeys + 1 },
			[]string{"keys"}, "out of range"},
		{"too many keys for zipf", func(c *Config) { c.Dist, c.Keys = DistZipf, MaxZipfKeys+1 },
			[]string{"keys"}, "too many for dist zipf"},
		{"many keys are fine for uniform", func(c *Config) { c.Keys = MaxZipfKeys + 1 },
			nil, ""},
		{"empty prefix", func(c *Config) { c.Prefix = "" },
			[]string{"key-prefix"}, "is empty"},
		{"brace in prefix with tags", func(c *Config) { c.Prefix, c.TagGroup = "a{b", 4 },
			[]string{"key-prefix"}, "remove the braces"},
		{"brace in prefix without tags is allowed", func(c *Config) { c.Prefix = "{one-slot}" },
			nil, ""},
		{"negative tag group", func(c *Config) { c.TagGroup = -1 },
			[]string{"tag-group"}, "use 0 (no hash tags) or a group size ≥ 1"},
		{"tag group bigger than the keyspace", func(c *Config) { c.Keys, c.TagGroup = 10, 11 },
			[]string{"tag-group"}, "more than keys 10"},
		{"value size zero", func(c *Config) { c.ValueSize = ValueSize{0, 0} },
			[]string{"value-size"}, "out of range"},
		{"value size range reversed", func(c *Config) { c.ValueSize = ValueSize{512, 32} },
			[]string{"value-size"}, "empty range"},
		{"empty mix", func(c *Config) { c.Mix = Mix{} },
			[]string{"mix"}, "is empty"},
		{"mget without tags", func(c *Config) { c.Mix = Mix{OpGet: 1, OpMGet: 1} },
			[]string{"mix"}, "uses mget/mset but tag-group is 0"},
		{"mset with tags is fine", func(c *Config) { c.Mix, c.TagGroup = Mix{OpMSet: 1}, 4 },
			nil, ""},
		{"everything wrong at once", func(c *Config) {
			*c = Config{Dist: DistZipf, TagGroup: -2, Prefix: "", Mix: Mix{OpMGet: 1}}
		}, []string{"zipf-theta", "keys", "key-prefix", "tag-group", "value-size", "mix"}, "zipf-theta 0 out of range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.change(&c)
			errs := c.Validate()
			var fields []string
			for _, err := range errs {
				var fe *FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("%v is not a *FieldError", err)
				}
				fields = append(fields, fe.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("errors %v name fields %v, want %v", errs, fields, tt.fields)
			}
			if len(errs) > 0 && !strings.Contains(errs[0].Error(), tt.msg) {
				t.Errorf("first error %q does not contain %q", errs[0], tt.msg)
			}
			// New refuses exactly the configs Validate rejects, with all the errors.
			_, err := New(c)
			if (err != nil) != (len(errs) > 0) {
				t.Fatalf("New error %v, Validate %v", err, errs)
			}
			for _, e := range errs {
				if !strings.Contains(err.Error(), e.Error()) {
					t.Errorf("New's error %q lacks %q", err, e)
				}
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Errorf("New's error does not wrap ErrInvalid")
			}
		})
	}
}

func TestKeySpaceFromConfig(t *testing.T) {
	c := DefaultConfig()
	c.TagGroup = 16
	if ks := c.KeySpace(); ks != (KeySpace{Keys: DefaultKeys, Prefix: DefaultPrefix, TagGroup: 16}) {
		t.Errorf("KeySpace() = %+v", ks)
	}
}

func TestTextRoundTrip(t *testing.T) {
	// Dist, Hot, Mix and ValueSize read and write their CLI strings (YAML, JSON).
	var d Dist
	var h Hot
	var m Mix
	var v ValueSize
	for _, tt := range []struct {
		in string
		u  interface {
			UnmarshalText([]byte) error
			MarshalText() ([]byte, error)
		}
	}{
		{"latest", &d}, {"0.1:0.9", &h}, {"get:1,mset:3", &m}, {"32-512", &v},
	} {
		if err := tt.u.UnmarshalText([]byte(tt.in)); err != nil {
			t.Errorf("UnmarshalText(%q): %v", tt.in, err)
			continue
		}
		if out, _ := tt.u.MarshalText(); string(out) != tt.in {
			t.Errorf("MarshalText after %q = %q", tt.in, out)
		}
	}
	if err := m.UnmarshalText([]byte("bogus")); err == nil || m.String() != "get:1,mset:3" {
		t.Errorf("bad UnmarshalText: err %v, value changed to %v", err, m)
	}
}
