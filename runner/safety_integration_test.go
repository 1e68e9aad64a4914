package runner

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/workload"
)

// foreignKeys are keys a benchmark with prefix "safe" must never write or
// delete: other prefixes, the prefix itself without ':', keys that share
// its first letters, contain it, or would match it as a glob or in
// another case.
func foreignKeys() map[string]string {
	keys := map[string]string{
		"safe": "bare prefix", "safex:1": "longer prefix", "safe*": "glob", "safe?x": "glob",
		"unsafe:1": "contains it", "{safe}:1": "tagged", "SAFE:1": "upper case", "safe;1": "other separator",
		"xsafe:1": "suffix", "safe\\:1": "escaped colon",
	}
	for i := range 200 { // spread over every master and the slots that move
		keys["other:"+strconv.Itoa(i)] = "value-" + strconv.Itoa(i)
	}
	return keys
}

// allKeys lists every key of every master with SCAN.
func allKeys(ctx context.Context, t *testing.T, masters []string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, a := range masters {
		c, err := cluster.Dial(a, cluster.ConnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		var cursor uint64
		for {
			e, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Count(1000).Build()).AsScanEntry()
			if err != nil {
				c.Close()
				t.Fatalf("SCAN on %s: %v", a, err)
			}
			for _, k := range e.Elements {
				out[k] = true
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
		c.Close()
	}
	return out
}

// checkForeign asserts every foreign key still holds its value.
func checkForeign(ctx context.Context, t *testing.T, c rueidis.Client, foreign map[string]string) {
	t.Helper()
	for k, want := range foreign {
		got, err := c.Do(ctx, c.B().Get().Key(k).Build()).ToString()
		if err != nil || got != want {
			t.Errorf("foreign key %q = %q (%v), want %q untouched", k, got, err, want)
		}
	}
}

// ours counts the keys of the run's prefix.
func ours(keys map[string]bool, prefix string) int {
	n := 0
	for k := range keys {
		if strings.HasPrefix(k, prefix+":") {
			n++
		}
	}
	return n
}

// TestSafetyIntegration runs against a cluster that already holds other
// data: the run writes only under its prefix (preload, every write op, a
// migration moving foreign keys along), its cleanup removes exactly its own
// keys, and --keep-keys keeps them.
func TestSafetyIntegration(t *testing.T) {
	redistest.RequireServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })
	masters := l.MasterAddrs()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: masters, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	foreign := foreignKeys()
	for k, v := range foreign {
		if err := c.Do(ctx, c.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}

	const keys = 3000
	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix, wc.TagGroup = keys, "safe", 4
	if wc.Mix, err = workload.ParseMix("get:40,set:20,del:10,incr:10,mget:10,mset:10"); err != nil {
		t.Fatal(err)
	}
	move, err := cluster.ParseScenario("move:100")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Profile: "safety", Addrs: masters, Strategies: []string{"router", "goredis"}, Duration: 2 * time.Second,
		Warmup: 300 * time.Millisecond, Workers: 4, Pipeline: 1, Workload: wc, Migrate: move, MigrateAt: 500 * time.Millisecond,
		Out: t.TempDir(),
	}
	if _, err := Run(ctx, cfg, Hooks{}); err != nil {
		t.Fatal(err)
	}
	after := allKeys(ctx, t, masters)
	if n := ours(after, "safe"); n != 0 {
		t.Errorf("%d keys under safe: left after the default cleanup", n)
	}
	if len(after) != len(foreign) {
		t.Errorf("%d keys on the cluster after the run, want the %d foreign ones", len(after), len(foreign))
	}
	checkForeign(ctx, t, c, foreign)

	// --keep-keys: the keyspace stays (no del in the mix: all of it).
	cfg.KeepKeys, cfg.Strategies, cfg.Migrate = true, []string{"router"}, cluster.Scenario{Kind: cluster.ScenarioNone}
	cfg.Workload.TagGroup = 0
	if cfg.Workload.Mix, err = workload.ParseMix("get:50,set:50"); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, cfg, Hooks{}); err != nil {
		t.Fatal(err)
	}
	if n := ours(allKeys(ctx, t, masters), "safe"); n != keys {
		t.Errorf("%d keys under safe: after a run with --keep-keys, want %d", n, keys)
	}
	checkForeign(ctx, t, c, foreign)
	n, err := DeleteKeys(ctx, masters, cluster.ConnOptions{}, "safe")
	if err != nil || n != keys {
		t.Errorf("DeleteKeys = %d, %v; want %d", n, err, keys)
	}
	if left := allKeys(ctx, t, masters); len(left) != len(foreign) {
		t.Errorf("%d keys left after DeleteKeys, want the %d foreign ones", len(left), len(foreign))
	}
	checkForeign(ctx, t, c, foreign)

	// A prefix with glob characters matches itself only.
	glob := map[string]string{"s?fe:1": "ours", "s?fe:2": "ours", "sxfe:1": "theirs", "safe:9": "theirs"}
	for k, v := range glob {
		if err := c.Do(ctx, c.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := DeleteKeys(ctx, masters, cluster.ConnOptions{}, "s?fe"); err != nil || n != 2 {
		t.Errorf("DeleteKeys(s?fe) = %d, %v; want the 2 keys under s?fe:", n, err)
	}
	checkForeign(ctx, t, c, map[string]string{"sxfe:1": "theirs", "safe:9": "theirs"})
}

// TestTopologyChangesNeedPermission: a migration may change a cluster
// only when every node is on loopback, or with --allow-topology-changes.
// Nothing here connects to a non-loopback address.
func TestTopologyChangesNeedPermission(t *testing.T) {
	move, err := cluster.ParseScenario("move:10")
	if err != nil {
		t.Fatal(err)
	}
	half := func(addr string, first, last uint16) cluster.Master {
		return cluster.Master{Addr: addr, Slots: []router.SlotRange{{First: first, Last: last}}}
	}
	remote := &cluster.Topology{Masters: []cluster.Master{half("10.0.0.5:7000", 0, 8191), half("10.0.0.6:7000", 8192, 16383)}}
	local := &cluster.Topology{Masters: []cluster.Master{half("127.0.0.1:7000", 0, 8191), half("127.0.0.1:7001", 8192, 16383)}}
	tests := []struct {
		name    string
		topo    *cluster.Topology
		migrate cluster.Scenario
		allow   bool
		refused bool
	}{
		{"remote cluster, migration", remote, move, false, true},
		{"remote cluster, migration allowed", remote, move, true, false},
		{"remote cluster, load only", remote, cluster.Scenario{Kind: cluster.ScenarioNone}, false, false},
		{"loopback cluster, migration", local, move, false, false},
	}
	for _, tc := range tests {
		cfg := Config{Addrs: []string{tc.topo.Masters[0].Addr}, Migrate: tc.migrate, AllowTopologyChanges: tc.allow}
		err := checkExternal(cfg, tc.topo)
		if got := errors.Is(err, cluster.ErrNotLoopback); got != tc.refused {
			t.Errorf("%s: err %v, refused %v, want %v", tc.name, err, got, tc.refused)
		}
	}
}

// TestMigratorRefusesRemoteNodesIntegration: the migrator reads the
// cluster's view from a loopback seed and refuses it when a node announces
// a non-loopback address (TEST-NET-1, never dialled), unless allowed.
func TestMigratorRefusesRemoteNodesIntegration(t *testing.T) {
	addr := redistest.StartNode(t, "--cluster-announce-ip", "192.0.2.1")
	if _, err := redistest.Command(addr, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cluster.NewMigrator(ctx, addr, cluster.ConnOptions{}); !errors.Is(err, cluster.ErrNotLoopback) {
		t.Errorf("NewMigrator of a cluster announcing 192.0.2.1: err %v, want ErrNotLoopback", err)
	}
	m, err := cluster.NewMigrator(ctx, addr, cluster.ConnOptions{}, cluster.AllowTopologyChanges(true))
	if err != nil {
		t.Fatalf("NewMigrator with AllowTopologyChanges: %v", err)
	}
	m.Close()
}

// flushCall matches a command or client method that empties a database.
var flushCall = regexp.MustCompile(`(?i)flush_?(all|db)`)

// TestNoFlushInSource: no code of the module (tests aside) sends
// FLUSHALL or FLUSHDB, as a string or through a client's method; comments
// may mention them.
func TestNoFlushInSource(t *testing.T) {
	root := filepath.Join("..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		files++
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var text string
			switch n := n.(type) {
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					text = n.Value
				}
			case *ast.SelectorExpr:
				text = n.Sel.Name
			}
			if flushCall.MatchString(text) {
				t.Errorf("%s: %s: a run must never empty a database", path, text)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("scanned %d Go files: the walk missed the module", files)
	}
}
