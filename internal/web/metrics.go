package web

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Metrics is a small Prometheus text-format registry: counters the server
// increments, values read at scrape time, and collectors through which the
// app writes the pipeline's statistics.
type Metrics struct {
	mu         sync.Mutex
	counters   map[string]*atomic.Uint64
	funcs      []func(*MetricWriter)
	collectors []func(*MetricWriter)
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics { return &Metrics{counters: map[string]*atomic.Uint64{}} }

// counterHelp documents the counters the server increments itself.
var counterHelp = map[string]string{
	"facegate_web_requests_total":      "HTTP requests served.",
	"facegate_web_login_failed_total":  "Failed logins.",
	"facegate_web_login_limited_total": "Login or setup attempts refused by the rate limit.",
}

// Inc adds one to the counter name.
func (m *Metrics) Inc(name string) {
	m.mu.Lock()
	c, ok := m.counters[name]
	if !ok {
		c = new(atomic.Uint64)
		m.counters[name] = c
	}
	m.mu.Unlock()
	c.Add(1)
}

// CounterFunc exposes a counter read from fn at scrape time.
func (m *Metrics) CounterFunc(name, help string, fn func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.funcs = append(m.funcs, func(w *MetricWriter) { w.Counter(name, help, fn()) })
}

// GaugeFunc exposes a gauge read from fn at scrape time.
func (m *Metrics) GaugeFunc(name, help string, fn func() float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.funcs = append(m.funcs, func(w *MetricWriter) { w.Gauge(name, help, fn()) })
}

// Collect registers fn, called at every scrape to write metrics (the app
// feeds the pipeline's per-stage latencies, frame counts and so on).
func (m *Metrics) Collect(fn func(*MetricWriter)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.collectors = append(m.collectors, fn)
}

// WriteTo writes every metric in the text exposition format.
func (m *Metrics) WriteTo(out io.Writer) (int64, error) {
	w := &MetricWriter{families: map[string]*family{}}
	m.mu.Lock()
	names := make([]string, 0, len(m.counters))
	for n := range m.counters {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w.Counter(n, counterHelp[n], float64(m.counters[n].Load()))
	}
	fns := append(slices.Clone(m.funcs), m.collectors...)
	m.mu.Unlock()
	for _, fn := range fns {
		fn(w)
	}
	var b strings.Builder
	for _, name := range w.order {
		f := w.families[name]
		if f.help != "" {
			fmt.Fprintf(&b, "# HELP %s %s\n", name, escapeHelp(f.help))
		}
		fmt.Fprintf(&b, "# TYPE %s %s\n", name, f.typ)
		b.WriteString(f.samples.String())
	}
	n, err := io.WriteString(out, b.String())
	return int64(n), err
}

func (s *Server) handleMetrics(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, _ = s.m.WriteTo(w)
}

// MetricWriter collects samples by family, so a family's samples are
// written together even when several collectors contribute to it.
type MetricWriter struct {
	families map[string]*family
	order    []string
}

type family struct {
	typ, help string
	samples   strings.Builder
}

func (w *MetricWriter) family(name, typ, help string) *family {
	f, ok := w.families[name]
	if !ok {
		f = &family{typ: typ, help: help}
		w.families[name] = f
		w.order = append(w.order, name)
	}
	return f
}

// Counter writes one counter sample; labels are name, value pairs.
func (w *MetricWriter) Counter(name, help string, v float64, labels ...string) {
	if !validMetricName(name) {
		return
	}
	w.sample(w.family(name, "counter", help), name, labels, v)
}

// Gauge writes one gauge sample; labels are name, value pairs.
func (w *MetricWriter) Gauge(name, help string, v float64, labels ...string) {
	if !validMetricName(name) {
		return
	}
	w.sample(w.family(name, "gauge", help), name, labels, v)
}

// Histogram writes a histogram: upper bounds (ascending, without +Inf),
// the count of observations ≤ each bound (not cumulative: per bucket, with
// one extra for above the last bound), their sum, and labels.
func (w *MetricWriter) Histogram(name, help string, bounds []float64, buckets []uint64, sum float64, labels ...string) {
	if !validMetricName(name) || len(buckets) != len(bounds)+1 {
		return
	}
	f := w.family(name, "histogram", help)
	var cum uint64
	for i, ub := range bounds {
		cum += buckets[i]
		w.sample(f, name+"_bucket", append(slices.Clone(labels), "le", formatFloat(ub)), float64(cum))
	}
	cum += buckets[len(bounds)]
	w.sample(f, name+"_bucket", append(slices.Clone(labels), "le", "+Inf"), float64(cum))
	w.sample(f, name+"_sum", labels, sum)
	w.sample(f, name+"_count", labels, float64(cum))
}

func (w *MetricWriter) sample(f *family, name string, labels []string, v float64) {
	b := &f.samples
	b.WriteString(name)
	if len(labels) >= 2 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i])
			b.WriteString(`="`)
			b.WriteString(escapeLabel(labels[i+1]))
			b.WriteByte('"')
		}
		b.WriteByte('}')
	}
	b.WriteByte(' ')
	b.WriteString(formatFloat(v))
	b.WriteByte('\n')
}

func formatFloat(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

var labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }

var helpEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`)

func escapeHelp(s string) string { return helpEscaper.Replace(s) }

func validMetricName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return true
}
