package metrics

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// TimelineHeader is the header row of timeline.csv. moved to refreshes
// are the client's counts (0 for a library that does not expose them);
// server_moved and server_ask are the redirects the servers sent
// (INFO errorstats), sampled at the interval's end.
var TimelineHeader = []string{
	"strategy", "interval", "t_s", "phase", "ops", "throughput",
	"p50_us", "p90_us", "p99_us", "p999_us", "max_us",
	"moved", "ask", "tryagain", "errors", "refreshes",
	"server_moved", "server_ask",
}

// optionalTimeline are the columns a timeline.csv written before they
// existed lacks; they read as 0.
var optionalTimeline = map[string]bool{"server_moved": true, "server_ask": true}

// TimelineRow is one row of timeline.csv: one interval of one strategy.
// (Complete is not written.)
type TimelineRow struct {
	Strategy string
	IntervalStats
	// ServerMoved and ServerAsk are the redirects every node sent during
	// the interval, whoever they went to.
	ServerMoved, ServerAsk int64
}

// TimelineRows returns the timeline rows of one strategy's result.
func TimelineRows(strategy string, r *Result) []TimelineRow {
	rows := make([]TimelineRow, len(r.Intervals))
	for i, iv := range r.Intervals {
		rows[i] = TimelineRow{Strategy: strategy, IntervalStats: iv.IntervalStats}
	}
	return rows
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// WriteTimelineCSV writes the header and rows as CSV.
func WriteTimelineCSV(w io.Writer, rows []TimelineRow) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(TimelineHeader); err != nil {
		return fmt.Errorf("metrics: timeline: %w", err)
	}
	for _, r := range rows {
		i := func(n int64) string { return strconv.FormatInt(n, 10) }
		rec := []string{
			r.Strategy, strconv.Itoa(r.Index), fmtFloat(r.Start.Seconds()), r.Phase, i(r.Ops), fmtFloat(r.Throughput),
			fmtFloat(r.Latency.P50), fmtFloat(r.Latency.P90), fmtFloat(r.Latency.P99), fmtFloat(r.Latency.P999), fmtFloat(r.Latency.Max),
			i(r.Moved), i(r.Ask), i(r.TryAgain), i(r.Errors), i(r.Refreshes),
			i(r.ServerMoved), i(r.ServerAsk),
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("metrics: timeline: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("metrics: timeline: %w", err)
	}
	return nil
}

// ReadTimelineCSV reads a timeline.csv. Columns are found by header name,
// so columns added later (after the known ones, or in between) are ignored.
func ReadTimelineCSV(r io.Reader) ([]TimelineRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: timeline header: %v", ErrFormat, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range TimelineHeader {
		if _, ok := col[h]; !ok && !optionalTimeline[h] {
			return nil, fmt.Errorf("%w: timeline has no column %q", ErrFormat, h)
		}
	}
	var rows []TimelineRow
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: timeline: %v", ErrFormat, err)
		}
		if len(rec) != len(header) {
			return nil, fmt.Errorf("%w: timeline line %d has %d fields, header %d", ErrFormat, line, len(rec), len(header))
		}
		var perr error
		get := func(name string) string { return rec[col[name]] }
		num := func(name string) int64 {
			if _, ok := col[name]; !ok {
				return 0 // an optional column this file lacks
			}
			n, err := strconv.ParseInt(get(name), 10, 64)
			if err != nil && perr == nil {
				perr = fmt.Errorf("%w: timeline line %d, %s: %v", ErrFormat, line, name, err)
			}
			return n
		}
		flt := func(name string) float64 {
			f, err := strconv.ParseFloat(get(name), 64)
			if err != nil && perr == nil {
				perr = fmt.Errorf("%w: timeline line %d, %s: %v", ErrFormat, line, name, err)
			}
			return f
		}
		row := TimelineRow{Strategy: get("strategy")}
		row.Index = int(num("interval"))
		row.Start = time.Duration(math.Round(flt("t_s") * 1e9))
		row.Phase = get("phase")
		row.Ops = num("ops")
		row.Throughput = flt("throughput")
		row.Latency = Latency{P50: flt("p50_us"), P90: flt("p90_us"), P99: flt("p99_us"), P999: flt("p999_us"), Max: flt("max_us")}
		row.Moved, row.Ask, row.TryAgain = num("moved"), num("ask"), num("tryagain")
		row.Errors, row.Refreshes = num("errors"), num("refreshes")
		row.ServerMoved, row.ServerAsk = num("server_moved"), num("server_ask")
		if perr != nil {
			return nil, perr
		}
		rows = append(rows, row)
	}
}
