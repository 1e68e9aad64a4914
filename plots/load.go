package plots

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/clusterbench/clusterbench/metrics"
)

var (
	// ErrNotRun means a directory holds no summary.json: it is not the
	// output of a run (or the run did not finish writing).
	ErrNotRun = errors.New("plots: not a run directory")
	// ErrFormat means a file of the run could not be read.
	ErrFormat = errors.New("plots: malformed input")
)

// numSlots is Redis Cluster's slot count (router.NumSlots; plots imports
// only metrics).
const numSlots = 16384

// Event is one line of events.csv; T is seconds from its strategy's start.
type Event struct {
	Strategy string
	T        float64
	Kind     string
	Slot     int
	Keys     int
	From, To string
	Node     string
	Detail   string
}

// SlotData is one strategy's operations per slot and each slot's final
// owner ("" when unknown), from slots.csv.
type SlotData struct {
	Ops    []uint64
	Owners []string
}

// Run is what plots reads from a run directory. Only Summary is required;
// the maps are empty when their file is missing.
type Run struct {
	Dir      string
	Summary  *metrics.Summary
	Timeline map[string][]metrics.TimelineRow // by strategy, in file order
	Events   map[string][]Event               // by strategy, by time
	Slots    map[string]*SlotData             // by strategy
	// Interval is the timeline's interval in seconds.
	Interval float64
}

// Strategies returns the strategy names in summary order.
func (r *Run) Strategies() []string {
	names := make([]string, len(r.Summary.Strategies))
	for i, s := range r.Summary.Strategies {
		names[i] = s.Name
	}
	return names
}

// LoadRun reads the run saved in dir. A directory without summary.json
// gives an error wrapping ErrNotRun; an unreadable file one wrapping
// ErrFormat (or metrics.ErrFormat).
func LoadRun(dir string) (*Run, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("plots: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("%w: %s is not a directory", ErrNotRun, dir)
	}
	sumPath := filepath.Join(dir, "summary.json")
	if _, err := os.Stat(sumPath); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s has no summary.json", ErrNotRun, dir)
	}
	sum, err := metrics.ReadSummaryJSON(sumPath)
	if err != nil {
		return nil, err
	}
	r := &Run{Dir: dir, Summary: sum, Timeline: map[string][]metrics.TimelineRow{},
		Events: map[string][]Event{}, Slots: map[string]*SlotData{}, Interval: sum.IntervalS}

	if err := readOptional(filepath.Join(dir, "timeline.csv"), func(f io.Reader) error {
		rows, err := metrics.ReadTimelineCSV(f)
		for _, row := range rows {
			r.Timeline[row.Strategy] = append(r.Timeline[row.Strategy], row)
		}
		return err
	}); err != nil {
		return nil, err
	}
	if r.Interval <= 0 {
		r.Interval = guessInterval(r.Timeline)
	}

	evPath := filepath.Join(dir, "events.csv")
	if _, err := os.Stat(evPath); err == nil {
		if err := readOptional(evPath, func(f io.Reader) error {
			evs, err := ReadEventsCSV(f)
			for _, ev := range evs {
				r.Events[ev.Strategy] = append(r.Events[ev.Strategy], ev)
			}
			return err
		}); err != nil {
			return nil, err
		}
	} else {
		// Without events.csv, summary.json still has the run-level events,
		// each detail starting with "strategy=NAME".
		for _, ev := range sum.Events {
			name, _, _ := strings.Cut(strings.TrimPrefix(ev.Detail, "strategy="), " ")
			r.Events[name] = append(r.Events[name], Event{Strategy: name, T: ev.T, Kind: ev.Kind, Slot: -1, Detail: ev.Detail})
		}
	}
	for name := range r.Events {
		slices.SortStableFunc(r.Events[name], func(a, b Event) int { return cmpFloat(a.T, b.T) })
	}

	if err := readOptional(filepath.Join(dir, "slots.csv"), func(f io.Reader) error {
		var err error
		r.Slots, err = ReadSlotsCSV(f)
		return err
	}); err != nil {
		return nil, err
	}
	return r, nil
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// readOptional opens path and hands it to read; a missing file is not an
// error (the plots that need it are skipped).
func readOptional(path string, read func(io.Reader) error) error {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("plots: %w", err)
	}
	defer f.Close()
	if err := read(f); err != nil {
		return fmt.Errorf("plots: %s: %w", filepath.Base(path), err)
	}
	return nil
}

// guessInterval is the most common step between a strategy's timeline
// rows (1 s when there is none).
func guessInterval(tl map[string][]metrics.TimelineRow) float64 {
	for _, rows := range tl {
		if len(rows) > 1 {
			if d := (rows[1].Start - rows[0].Start).Seconds(); d > 0 {
				return d
			}
		}
	}
	return 1
}

// csvColumns reads a CSV header and checks that every wanted column is
// there, returning the column index of each name.
func csvColumns(cr *csv.Reader, what string, want []string) (map[string]int, error) {
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %s header: %v", ErrFormat, what, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, h := range want {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("%w: %s has no column %q", ErrFormat, what, h)
		}
	}
	return col, nil
}

// ReadEventsCSV reads events.csv (strategy,t_s,kind,slot,keys,from,to,
// node,detail). Columns are found by name.
func ReadEventsCSV(r io.Reader) ([]Event, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	col, err := csvColumns(cr, "events", []string{"strategy", "t_s", "kind"})
	if err != nil {
		return nil, err
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return rec[i]
		}
		return ""
	}
	var out []Event
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: events: %v", ErrFormat, err)
		}
		t, err := strconv.ParseFloat(get(rec, "t_s"), 64)
		if err != nil {
			return nil, fmt.Errorf("%w: events line %d: t_s %q", ErrFormat, line, get(rec, "t_s"))
		}
		ev := Event{Strategy: get(rec, "strategy"), T: t, Kind: get(rec, "kind"), Slot: -1,
			From: get(rec, "from"), To: get(rec, "to"), Node: get(rec, "node"), Detail: get(rec, "detail")}
		if s := get(rec, "slot"); s != "" {
			if ev.Slot, err = strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("%w: events line %d: slot %q", ErrFormat, line, s)
			}
		}
		if s := get(rec, "keys"); s != "" {
			if ev.Keys, err = strconv.Atoi(s); err != nil {
				return nil, fmt.Errorf("%w: events line %d: keys %q", ErrFormat, line, s)
			}
		}
		out = append(out, ev)
	}
}

// ReadSlotsCSV reads slots.csv (strategy,slot,ops,owner) into one
// SlotData per strategy; slots without a row have 0 ops and no owner.
func ReadSlotsCSV(r io.Reader) (map[string]*SlotData, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	col, err := csvColumns(cr, "slots", []string{"strategy", "slot", "ops", "owner"})
	if err != nil {
		return nil, err
	}
	out := map[string]*SlotData{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: slots: %v", ErrFormat, err)
		}
		slot, err := strconv.Atoi(rec[col["slot"]])
		if err != nil || slot < 0 || slot >= numSlots {
			return nil, fmt.Errorf("%w: slots line %d: slot %q is not in 0..%d", ErrFormat, line, rec[col["slot"]], numSlots-1)
		}
		ops, err := strconv.ParseUint(rec[col["ops"]], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: slots line %d: ops %q", ErrFormat, line, rec[col["ops"]])
		}
		name := rec[col["strategy"]]
		sd := out[name]
		if sd == nil {
			sd = &SlotData{Ops: make([]uint64, numSlots), Owners: make([]string, numSlots)}
			out[name] = sd
		}
		sd.Ops[slot] = ops
		sd.Owners[slot] = strings.Clone(rec[col["owner"]]) // the record is reused
	}
}
