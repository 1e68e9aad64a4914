package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// scriptResult runs the scripted workload of four recorders through a
// collector and returns its result; keep selects the recorders fed.
func scriptResult(t testing.TB, keep func(rec int) bool) *Result {
	t.Helper()
	var clock fakeClock
	clock.Set(0)
	c, err := NewCollector(Config{Ops: testOps, Phases: testPhases, Now: clock.Now, Start: time.Date(2025, 1, 2, 3, 4, 5, 250e6, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	recs := make([]*Recorder, 4)
	for i := range recs {
		recs[i] = c.NewRecorder()
	}
	for _, f := range script(len(recs)) {
		if keep(f.rec) {
			recs[f.rec].Record(f.at, f.s)
		}
		if f.at%time.Second == 0 {
			c.Poll()
		}
	}
	for _, r := range recs {
		r.Flush()
	}
	return c.Result()
}

func all(int) bool { return true }

// threeNodes assigns the slots to three nodes in even ranges.
func threeNodes() ([]int, []string) {
	owner := make([]int, NumSlots)
	for s := range owner {
		owner[s] = s * 3 / NumSlots
	}
	return owner, []string{"127.0.0.1:7000", "127.0.0.1:7001", "127.0.0.1:7002"}
}

func testSummary(t testing.TB, results map[string]*Result) *Summary {
	t.Helper()
	owner, names := threeNodes()
	s := &Summary{
		Schema:      SchemaVersion,
		Profile:     "test",
		DurationS:   6,
		RunID:       "20250102-030405-test",
		StartTime:   time.Date(2025, 1, 2, 3, 4, 5, 250e6, time.UTC),
		ToolVersion: "v0.0.0-test",
		PhaseOrder:  testPhases,
		IntervalS:   1,
		Events:      []Event{{T: 3, Kind: "migration_started", Detail: "move 100 slots 127.0.0.1:7000 -> 127.0.0.1:7001"}},
	}
	for _, name := range []string{"router", "rueidis"} {
		r := results[name]
		if r == nil {
			continue
		}
		st, err := r.Strategy(StrategyOptions{Name: name, ClientRedirects: name == "router", SlotOwner: owner, NodeNames: names, TopSlots: 3})
		if err != nil {
			t.Fatal(err)
		}
		st.SlotsMoved = 100
		st.TargetRate = 0
		st.SetServer(ServerCounters{Moved: r.Totals.Moved, Ask: r.Totals.Ask, Calls: map[string]int64{"cluster|shards": 4, "cluster|slots": 1}})
		s.Strategies = append(s.Strategies, st)
	}
	s.Config, _ = ConfigEcho(map[string]any{"workers": 4, "password": "hunter2", "addrs": []string{"127.0.0.1:7000"}})
	return s
}

func TestStrategySummary(t *testing.T) {
	res := scriptResult(t, all)
	owner, names := threeNodes()
	st, err := res.Strategy(StrategyOptions{Name: "router", ClientRedirects: true, SlotOwner: owner, NodeNames: names, CostPhases: []string{"migrating"}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Ops != res.Totals.Ops || st.Errors != res.Totals.Outcomes[Error] || st.Redirects.Client.Moved != res.Totals.Moved {
		t.Fatalf("totals %+v", st)
	}
	var phaseOps, byOp int64
	for _, p := range testPhases {
		ph := st.Phases[p]
		phaseOps += ph.Ops
		for _, o := range ph.ByOp {
			byOp += o.Ops
		}
		d, err := hdr.Decode([]byte(ph.Histogram))
		if err != nil || d.TotalCount() != ph.Ops || LatencyOf(d) != ph.LatencyUS {
			t.Fatalf("phase %s histogram does not match its numbers (%v)", p, err)
		}
	}
	if phaseOps != st.Ops || byOp != st.Ops {
		t.Fatalf("phases hold %d ops, by op %d, want %d", phaseOps, byOp, st.Ops)
	}
	// Redirect cost: only migrating has redirects in the script; direct ops
	// are counted in that phase only.
	mig := res.PhaseResults[2]
	c := st.RedirectCost
	if c.Direct.Ops != mig.Outcomes[OK] || c.AfterMoved.Ops != mig.Outcomes[OKAfterMoved] || c.AfterAsk.Ops != mig.Outcomes[OKAfterAsk] {
		t.Fatalf("redirect cost counts %+v vs phase %+v", c, mig.Outcomes)
	}
	if c.AfterMoved.Ops == 0 || c.MovedExtraP50 != round3(c.AfterMoved.P50-c.Direct.P50) || c.RetryExtraP50 != 0 {
		t.Fatalf("redirect cost extras %+v", c)
	}
	var classes int64
	for _, n := range st.ErrorsByClass {
		classes += n
	}
	if classes != st.Errors || len(st.ErrorsByClass) != NumErrorClasses || st.Outcomes["ok"] != res.Totals.Outcomes[OK] {
		t.Fatalf("errors by class %v, outcomes %v", st.ErrorsByClass, st.Outcomes)
	}
	if st.Spread == nil || st.Spread.Nodes == nil || st.Spread.Slots.Ops != uint64(st.Ops) || len(st.Spread.Nodes.Nodes) != 3 {
		t.Fatalf("spread %+v", st.Spread)
	}
	// Achieved rate: ops outside warmup over the phases' spans (~5 s).
	if st.AchievedRate < 500 || st.AchievedRate > 600 {
		t.Fatalf("achieved rate %v, want ≈ 4 workers / 7 ms", st.AchievedRate)
	}

	lib, _ := res.Strategy(StrategyOptions{Name: "rueidis"})
	if lib.Redirects.Client != nil || lib.Spread.Nodes != nil {
		t.Fatal("a strategy that cannot see its redirects must have client redirects null")
	}
	st.SetServer(ServerCounters{Moved: res.Totals.Moved + 1, Ask: res.Totals.Ask, Calls: map[string]int64{"cluster|nodes": 2}})
	if st.Reconciliation.Agree() || !st.Reconciliation.AskAgree || st.Topology.Total != 2 || st.RoundTripsPerSlot != nil {
		t.Fatalf("server side %+v %+v", st.Reconciliation, st.Topology)
	}
}

func TestSummaryJSONRoundTrip(t *testing.T) {
	s := testSummary(t, map[string]*Result{"router": scriptResult(t, all), "rueidis": scriptResult(t, all)})
	path := filepath.Join(t.TempDir(), "summary.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteSummaryJSON(path, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSummaryJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	json.Compact(&a, s.Config)
	json.Compact(&b, got.Config)
	if a.String() != b.String() {
		t.Fatalf("config %s, want %s", b.String(), a.String())
	}
	got.Config, s.Config = nil, nil
	if !reflect.DeepEqual(got, s) {
		t.Fatalf("summary changed in the round trip:\n%+v\n%+v", got, s)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("the directory holds %d files, want summary.json only (no temporary file)", len(entries))
	}
	if err := os.WriteFile(path, []byte(`{"schema": 2}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSummaryJSON(path); !errors.Is(err, ErrFormat) {
		t.Fatalf("schema 2: err = %v", err)
	}
}

// TestSummaryGolden pins the JSON layout of a small hand-made summary.
// Run with -update to rewrite testdata/summary_golden.json after a
// deliberate change; the fixed fields must never change.
func TestSummaryGolden(t *testing.T) {
	top := 1.5
	s := &Summary{
		Schema: 1, Profile: "smoke", DurationS: 60,
		StartTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), PhaseOrder: []string{"baseline"},
		Strategies: []StrategySummary{{
			Name: "router", Ops: 1000, Errors: 1, Refreshes: 2,
			Redirects:  Redirects{Client: &ClientRedirects{Moved: 3, Ask: 4, TryAgain: 5}, Server: ServerRedirects{Moved: 3, Ask: 4}},
			Phases:     map[string]PhaseSummary{"baseline": {Ops: 1000, Throughput: 16.667, LatencyUS: Latency{P50: 85.311, P90: 90, P99: 120.5, P999: 300, Max: 1200}}},
			SlotsMoved: 2, RoundTripsPerSlot: &top,
		}, {
			Name: "goredis", Ops: 10, Phases: map[string]PhaseSummary{},
		}},
		Events: []Event{{T: 10.5, Kind: "migration_started", Detail: "scale-out"}},
	}
	got, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "summary_golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got)+"\n" != string(want) {
		t.Fatalf("summary JSON differs from %s:\n%s", golden, got)
	}
}

// TestSummaryFixedFields checks DESIGN.md's contract on the generic JSON
// of a real summary: the paths scripts read, with their JSON types.
func TestSummaryFixedFields(t *testing.T) {
	s := testSummary(t, map[string]*Result{"router": scriptResult(t, all), "rueidis": scriptResult(t, all)})
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	get := func(v any, path ...string) any {
		t.Helper()
		for _, p := range path {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object before %q", path, p)
			}
			if v, ok = m[p]; !ok {
				t.Fatalf("missing field %v", path)
			}
		}
		return v
	}
	isNum := func(v any, path ...string) {
		t.Helper()
		if _, ok := get(v, path...).(float64); !ok {
			t.Errorf("%v is not a number", path)
		}
	}
	if get(doc, "schema") != 1.0 || get(doc, "profile") != "test" {
		t.Fatal("schema/profile")
	}
	isNum(doc, "duration_s")
	strategies := get(doc, "strategies").([]any)
	for i, st := range strategies {
		if _, ok := get(st, "name").(string); !ok {
			t.Fatal("name")
		}
		for _, f := range []string{"ops", "errors", "refreshes"} {
			isNum(st, f)
		}
		client := get(st, "redirects", "client")
		if i == 1 {
			if client != nil {
				t.Fatal("rueidis: redirects.client must be null")
			}
		} else {
			for _, f := range []string{"moved", "ask", "tryagain"} {
				isNum(client, f)
			}
		}
		for _, f := range []string{"moved", "ask"} {
			isNum(st, "redirects", "server", f)
		}
		for _, p := range []string{"baseline", "migrating", "after"} {
			isNum(st, "phases", p, "ops")
			isNum(st, "phases", p, "throughput")
			for _, q := range []string{"p50", "p90", "p99", "p999", "max"} {
				isNum(st, "phases", p, "latency_us", q)
			}
		}
	}
	ev := get(doc, "events").([]any)[0]
	isNum(ev, "t")
	if _, ok := get(ev, "kind").(string); !ok {
		t.Fatal("events[].kind")
	}
	if _, ok := get(ev, "detail").(string); !ok {
		t.Fatal("events[].detail")
	}
	if bytes.Contains(b, []byte("hunter2")) {
		t.Fatal("the config echo leaked the password")
	}
}

func TestConfigEcho(t *testing.T) {
	type tlsCfg struct {
		CertFile string `json:"cert_file"`
		KeyFile  string `json:"key_file"`
	}
	raw, err := ConfigEcho(struct {
		Addrs    []string       `json:"addrs"`
		Password string         `json:"password"`
		User     string         `json:"user"`
		Keys     int            `json:"keys"`
		TLS      tlsCfg         `json:"tls"`
		Extra    map[string]any `json:"extra"`
	}{[]string{"127.0.0.1:7000"}, "hunter2", "bench", 100000, tlsCfg{"c.pem", "k.pem"}, map[string]any{"auth_token": "x", "empty_password": ""}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"addrs":["127.0.0.1:7000"],"extra":{"auth_token":"***","empty_password":""},"keys":100000,"password":"***","tls":{"cert_file":"c.pem","key_file":"***"},"user":"bench"}`
	if string(raw) != want {
		t.Fatalf("ConfigEcho = %s\nwant %s", raw, want)
	}
}

func TestTimelineCSVRoundTrip(t *testing.T) {
	res := scriptResult(t, all)
	rows := append(TimelineRows("router", res), TimelineRows("like-jedis", res)...)
	rows[1].ServerMoved, rows[2].ServerAsk = 7, 3
	var buf bytes.Buffer
	if err := WriteTimelineCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(buf.String(), "\n"); first != "strategy,interval,t_s,phase,ops,throughput,p50_us,p90_us,p99_us,p999_us,max_us,moved,ask,tryagain,errors,refreshes,server_moved,server_ask" {
		t.Fatalf("header %q", first)
	}
	got, err := ReadTimelineCSV(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		rows[i].Complete = false // not in the CSV
	}
	if !reflect.DeepEqual(got, rows) {
		t.Fatalf("timeline changed in the round trip:\n%+v\n%+v", got[:2], rows[:2])
	}
	// A file written before the servers' columns existed still reads,
	// with 0 for them.
	old := "strategy,interval,t_s,phase,ops,throughput,p50_us,p90_us,p99_us,p999_us,max_us,moved,ask,tryagain,errors,refreshes\n" +
		"router,0,0,baseline,10,10,1,2,3,4,5,6,7,0,0,1\n"
	if got, err := ReadTimelineCSV(strings.NewReader(old)); err != nil || len(got) != 1 || got[0].Moved != 6 || got[0].ServerMoved != 0 {
		t.Errorf("a timeline without server columns read as %+v, %v", got, err)
	}
	for _, bad := range []string{
		"strategy,interval\nrouter,1\n", // missing columns
		strings.Join(TimelineHeader, ",") + "\nrouter,x,0,baseline,1,1,1,1,1,1,1,0,0,0,0,0,0,0\n", // bad number
		strings.Join(TimelineHeader, ",") + "\nrouter,1\n",                                        // short row
	} {
		if _, err := ReadTimelineCSV(strings.NewReader(bad)); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
}

func TestHlogRoundTrip(t *testing.T) {
	res := scriptResult(t, all)
	var buf bytes.Buffer
	if err := WriteHlog(&buf, res); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	for _, want := range []string{"#[Histogram log format version 1.3]", "#[StartTime: 1735787045 (seconds since epoch), 2025-01-02T03:04:05Z]", "#[BaseTime: 1735787045 (seconds since epoch)]", `"StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"`, "\nTag=get,0.250000,1.000000,"} {
		if !strings.Contains(text, want) {
			t.Fatalf("the log has no %q:\n%s", want, text[:min(len(text), 600)])
		}
	}
	ivs, err := ReadHlog(&buf)
	if err != nil {
		t.Fatal(err)
	}
	totals := map[string]int64{}
	untagged := 0
	for _, iv := range ivs {
		totals[iv.Tag] += iv.Hist.TotalCount()
		if iv.Tag != "" {
			continue
		}
		want := res.Start.Add(time.Duration(untagged) * time.Second)
		if d := iv.Start.Sub(want); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("interval %d starts at %v, want %v", untagged, iv.Start, want)
		}
		ref := NewHistogram()
		res.Intervals[untagged].Hist.MergeInto(ref)
		if !iv.Hist.Equals(ref) {
			t.Errorf("interval %d: histogram differs", untagged)
		}
		untagged++
	}
	if untagged != len(res.Intervals) || totals[""] != res.Totals.Ops {
		t.Fatalf("%d untagged intervals with %d ops; want %d with %d", untagged, totals[""], len(res.Intervals), res.Totals.Ops)
	}
	for op, name := range res.Ops {
		want := res.Merged(func(_, o int, _ Outcome) bool { return o == op }).TotalCount()
		if totals[name] != want {
			t.Errorf("tag %s: %d ops, want %d", name, totals[name], want)
		}
	}
}

func TestRender(t *testing.T) {
	s := testSummary(t, map[string]*Result{"router": scriptResult(t, all), "rueidis": scriptResult(t, all)})
	var text bytes.Buffer
	if err := RenderTable(&text, s); err != nil {
		t.Fatal(err)
	}
	out := text.String()
	router := s.Strategies[0]
	mig := router.Phases["migrating"]
	for _, want := range []string{
		"strategy", "p99.9", "router", "rueidis", "migrating",
		count(mig.Ops), us(mig.LatencyUS.P99), // the migrating row's numbers
		count(router.Redirects.Client.Moved) + "/" + count(router.Redirects.Server.Moved), // client/server MOVED
		"-/" + count(s.Strategies[1].Redirects.Server.Moved),                              // no client count for rueidis
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table has no %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// header + 2×4 phases, blank, header + 2 strategies, then the ranking:
	// blank, its title, header + 2 strategies.
	if len(lines) != 1+8+1+1+2+1+1+1+2 {
		t.Errorf("table has %d lines:\n%s", len(lines), out)
	}
	// The ranking puts the lower p99 while migrating first.
	rank := lines[len(lines)-2:]
	if !strings.HasPrefix(strings.TrimSpace(rank[0]), "1") {
		t.Errorf("ranking rows %q", rank)
	}
	// Phases come in run order.
	if strings.Index(out, "warmup") > strings.Index(out, "baseline") || strings.Index(out, "migrating") > strings.Index(out, "after") {
		t.Errorf("phases out of order:\n%s", out)
	}
	var md bytes.Buffer
	if err := WriteReportMarkdown(&md, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# clusterbench report: test", "| strategy | phase |", "| --- | --- | ---: |", "| strategy | ops | errors |", "\n| --- | ---: | ---: |", "## Errors by class", "migration_started", "Gini"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report.md has no %q:\n%s", want, md.String())
		}
	}
}

// TestMergeSummaries: two hosts' halves merge into what one host running
// everything reports: counts add, latencies come from merged histograms.
func TestMergeSummaries(t *testing.T) {
	whole := testSummary(t, map[string]*Result{"router": scriptResult(t, all)})
	h1 := testSummary(t, map[string]*Result{"router": scriptResult(t, func(r int) bool { return r < 2 })})
	h2 := testSummary(t, map[string]*Result{"router": scriptResult(t, func(r int) bool { return r >= 2 })})
	m, err := MergeSummaries([]string{"gen1", "gen2"}, []*Summary{h1, h2})
	if err != nil {
		t.Fatal(err)
	}
	w, g := whole.Strategies[0], m.Strategies[0]
	if g.Ops != w.Ops || g.Errors != w.Errors || *g.Redirects.Client != *w.Redirects.Client {
		t.Fatalf("merged totals %+v, want %+v", g, w)
	}
	for _, p := range testPhases {
		gp, wp := g.Phases[p], w.Phases[p]
		if gp.Ops != wp.Ops || gp.LatencyUS != wp.LatencyUS || gp.Histogram != wp.Histogram {
			t.Errorf("phase %s: merged %+v, want %+v", p, gp.LatencyUS, wp.LatencyUS)
		}
		for op, o := range wp.ByOp {
			if gp.ByOp[op].LatencyUS != o.LatencyUS || gp.ByOp[op].Ops != o.Ops {
				t.Errorf("phase %s op %s differs", p, op)
			}
		}
	}
	if g.RedirectCost.AfterMoved != w.RedirectCost.AfterMoved || g.RedirectCost.MovedExtraP99 != w.RedirectCost.MovedExtraP99 {
		t.Errorf("redirect cost %+v, want %+v", g.RedirectCost, w.RedirectCost)
	}
	// Each host saw the servers' totals of its own half here; the merge
	// takes the larger.
	if g.Redirects.Server.Moved != max(h1.Strategies[0].Redirects.Server.Moved, h2.Strategies[0].Redirects.Server.Moved) {
		t.Errorf("server moved %d", g.Redirects.Server.Moved)
	}
	if len(m.Events) != 1 || !reflect.DeepEqual(m.Hosts, []string{"gen1", "gen2"}) || m.Schema != 1 {
		t.Errorf("events %v, hosts %v", m.Events, m.Hosts)
	}
	if g.Verify != nil {
		t.Errorf("merged verify %+v with no host verifying, want none", g.Verify)
	}
	h2.Profile = "other"
	if _, err := MergeSummaries([]string{"a", "b"}, []*Summary{h1, h2}); !errors.Is(err, ErrMismatch) {
		t.Errorf("different profiles: err = %v", err)
	}
	h2.Profile = h1.Profile
	ph := h2.Strategies[0].Phases["baseline"]
	ph.Histogram = ""
	h2.Strategies[0].Phases["baseline"] = ph
	if _, err := MergeSummaries([]string{"a", "b"}, []*Summary{h1, h2}); !errors.Is(err, ErrMismatch) {
		t.Errorf("missing histogram: err = %v", err)
	}
}

// Each host verified its own ops and keys: the merged verify section adds
// them up, phase by phase, and says when a host did not verify.
func TestMergeSummariesAddsVerify(t *testing.T) {
	h1 := testSummary(t, map[string]*Result{"router": scriptResult(t, func(r int) bool { return r < 2 })})
	h2 := testSummary(t, map[string]*Result{"router": scriptResult(t, func(r int) bool { return r >= 2 })})
	h1.Strategies[0].Verify = &Verify{ReadsChecked: 10, StaleReads: 1, UncheckedReads: 2, WritesChecked: 5, KeysChecked: 7,
		Phases: map[string]VerifyPhase{"baseline": {ReadsChecked: 10, StaleReads: 1, WritesChecked: 5}}, Examples: []string{"a"}}
	h2.Strategies[0].Verify = &Verify{ReadsChecked: 20, WritesChecked: 8, LostWrites: 3, KeysChecked: 9,
		Phases:   map[string]VerifyPhase{"baseline": {ReadsChecked: 4, WritesChecked: 2}, "migrating": {ReadsChecked: 16, WritesChecked: 6, LostWrites: 3}},
		Examples: []string{"b"}}
	m, err := MergeSummaries([]string{"a", "b"}, []*Summary{h1, h2})
	if err != nil {
		t.Fatal(err)
	}
	want := &Verify{ReadsChecked: 30, StaleReads: 1, UncheckedReads: 2, WritesChecked: 13, LostWrites: 3, KeysChecked: 16,
		Phases:   map[string]VerifyPhase{"baseline": {ReadsChecked: 14, StaleReads: 1, WritesChecked: 7}, "migrating": {ReadsChecked: 16, WritesChecked: 6, LostWrites: 3}},
		Examples: []string{"a", "b"}}
	if got := m.Strategies[0].Verify; !reflect.DeepEqual(got, want) {
		t.Fatalf("merged verify %+v, want %+v", got, want)
	}
	h2.Strategies[0].Verify = nil
	m, err = MergeSummaries([]string{"a", "b"}, []*Summary{h1, h2})
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Strategies[0].Verify; v == nil || v.ReadsChecked != 10 || !strings.Contains(v.Error, "1 of 2 hosts ran without --verify") {
		t.Fatalf("one host verifying: merged %+v", v)
	}
}
