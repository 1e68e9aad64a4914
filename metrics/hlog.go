package metrics

import (
	"fmt"
	"io"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// WriteHlog writes a result's timeline as a standard HdrHistogram interval
// log (the format of HdrHistogram's HistogramLogWriter, read by
// HistogramLogProcessor, HdrHistogram plotters and hdrhistogram-go's
// HistogramLogReader): a header with the format version, StartTime and
// BaseTime, the legend, then per interval one untagged line with all
// operations and one line per operation kind tagged with its name
// ("Tag=get,..."). Values are latencies in nanoseconds; the Interval_Max
// column is in milliseconds, the log format's convention. Time stamps are
// seconds from the base time: the run's start, truncated to the second
// because the BaseTime line has whole seconds only.
//
// Every interval gets its untagged line, empty or not, so the log has no
// gaps; a tagged line is written only when that op ran in the interval.
// WriteHlog stamps the result's interval histograms with their times and
// tags.
func WriteHlog(w io.Writer, r *Result) error {
	lw := hdr.NewHistogramLogWriter(w)
	startMs := r.Start.UnixMilli()
	baseMs := startMs / 1000 * 1000
	lw.SetBaseTime(baseMs)
	err := lw.OutputComment(fmt.Sprintf("[Logged with clusterbench; ops %s]", strings.Join(r.Ops, " ")))
	if err == nil {
		err = lw.OutputLogFormatVersion()
	}
	if err == nil {
		err = lw.OutputStartTime(startMs)
	}
	if err == nil {
		err = lw.OutputBaseTime(baseMs)
	}
	if err == nil {
		err = lw.OutputLegend()
	}
	if err != nil {
		return fmt.Errorf("metrics: hlog: %w", err)
	}
	intervalMs := r.Interval.Milliseconds()
	write := func(h *hdr.PackedHistogram, i int, tag string) error {
		from := startMs + int64(i)*intervalMs
		h.SetStartTimeMs(from)
		h.SetEndTimeMs(from + intervalMs)
		h.SetTag(tag)
		if err := lw.OutputIntervalPackedHistogram(h); err != nil {
			return fmt.Errorf("metrics: hlog interval %d: %w", i, err)
		}
		return nil
	}
	for i, iv := range r.Intervals {
		h := iv.Hist
		if h == nil {
			h = newPacked()
		}
		if err := write(h, i, ""); err != nil {
			return err
		}
		for op, h := range iv.OpHists {
			if h == nil || h.TotalCount() == 0 {
				continue
			}
			if err := write(h, i, r.Ops[op]); err != nil {
				return err
			}
		}
	}
	return nil
}

// HlogInterval is one histogram read back from an interval log.
type HlogInterval struct {
	Tag   string // "" for the all-operations stream
	Start time.Time
	Hist  *hdr.Histogram
}

// ReadHlog reads an interval log with hdrhistogram-go's reader (merge
// uses it to combine timelines of several hosts).
func ReadHlog(r io.Reader) ([]HlogInterval, error) {
	lr := hdr.NewHistogramLogReader(r)
	var out []HlogInterval
	for {
		h, err := lr.NextIntervalHistogram()
		if err != nil {
			return nil, fmt.Errorf("%w: hlog: %v", ErrFormat, err)
		}
		if h == nil {
			return out, nil
		}
		out = append(out, HlogInterval{Tag: h.Tag(), Start: time.UnixMilli(h.StartTimeMs()), Hist: h})
	}
}
