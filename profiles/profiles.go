// Package profiles holds the shipped run scenarios (YAML files embedded in
// the binary) and loads user profile files of the same form.
//
// A profile is a flat YAML mapping whose keys are `clusterbench run` flag
// names and whose values are what the flag would be given (a list is
// joined with commas), plus a one-line `description`. Flags given on the
// command line override the profile. Keys are checked against the flags
// the caller knows, so a typo is an error naming the file, line and key.
package profiles

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed *.yaml
var shipped embed.FS

// ErrProfile is wrapped by every error of this package.
var ErrProfile = errors.New("profile")

// Setting is one key of a profile with the line it stands on.
type Setting struct {
	Key, Value string
	Line       int
}

// Profile is a named set of run settings.
type Profile struct {
	Name        string
	Description string
	File        string // the file it came from ("<name>.yaml (shipped)" for embedded ones)
	Settings    []Setting
}

// Load returns the shipped profile called nameOrPath, or reads the file
// at that path (anything with a path separator or a .yaml/.yml suffix).
// known reports whether a key is a run flag.
func Load(nameOrPath string, known func(key string) bool) (*Profile, error) {
	if isPath(nameOrPath) {
		data, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrProfile, nameOrPath, err)
		}
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(nameOrPath), ".yaml"), ".yml")
		return parse(name, nameOrPath, data, known)
	}
	data, err := shipped.ReadFile(nameOrPath + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("%w %q is unknown: use one of %s, or a path to a .yaml file", ErrProfile, nameOrPath, strings.Join(Names(), ", "))
	}
	return parse(nameOrPath, nameOrPath+".yaml (shipped)", data, known)
}

func isPath(s string) bool {
	return strings.ContainsRune(s, os.PathSeparator) || strings.HasSuffix(s, ".yaml") || strings.HasSuffix(s, ".yml")
}

// Names lists the shipped profiles.
func Names() []string {
	entries, _ := fs.Glob(shipped, "*.yaml")
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e, ".yaml"))
	}
	sort.Strings(names)
	return names
}

// Shipped returns every shipped profile, parsed (keys are not checked).
func Shipped() ([]*Profile, error) {
	var out []*Profile
	for _, n := range Names() {
		p, err := Load(n, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// parse reads a profile; every problem names the file and the line.
func parse(name, file string, data []byte, known func(string) bool) (*Profile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrProfile, file, err)
	}
	p := &Profile{Name: name, File: file}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%w %s: empty file: write `key: value` lines with run flag names", ErrProfile, file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w %s:%d: want a mapping of run flag names to values", ErrProfile, file, root.Line)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		key := k.Value
		if seen[key] {
			return nil, fmt.Errorf("%w %s:%d: %q appears twice", ErrProfile, file, k.Line, key)
		}
		seen[key] = true
		value, err := scalar(v)
		if err != nil {
			return nil, fmt.Errorf("%w %s:%d: %s: %v", ErrProfile, file, v.Line, key, err)
		}
		if key == "description" {
			p.Description = value
			continue
		}
		if known != nil && !known(key) {
			return nil, fmt.Errorf("%w %s:%d: unknown field %q: use `clusterbench run` flag names (see run --help)", ErrProfile, file, k.Line, key)
		}
		p.Settings = append(p.Settings, Setting{Key: key, Value: value, Line: k.Line})
	}
	return p, nil
}

// scalar turns a value node into the flag's string: a list is joined by commas.
func scalar(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		return v.Value, nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(v.Content))
		for _, c := range v.Content {
			if c.Kind != yaml.ScalarNode {
				return "", errors.New("a list may only hold plain values")
			}
			parts = append(parts, c.Value)
		}
		return strings.Join(parts, ","), nil
	}
	return "", errors.New("want a value or a list of values")
}
