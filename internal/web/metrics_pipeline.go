package web

import (
	"slices"
	"sync"

	"facegate/pipeline"
)

// Summary writes a summary: quantile → value pairs (q ascending), the sum
// and the count of observations.
func (w *MetricWriter) Summary(name, help string, quantiles [][2]float64, sum float64, count uint64, labels ...string) {
	if !validMetricName(name) {
		return
	}
	f := w.family(name, "summary", help)
	for _, q := range quantiles {
		w.sample(f, name, append(slices.Clone(labels), "quantile", formatFloat(q[0])), q[1])
	}
	w.sample(f, name+"_sum", labels, sum)
	w.sample(f, name+"_count", labels, float64(count))
}

// WritePipelineStats writes the runners' counters and per-stage latencies
// (as summaries: the pipeline keeps quantiles, not fixed buckets). The app
// registers it with Metrics().Collect.
func WritePipelineStats(w *MetricWriter, stats ...pipeline.Stats) {
	for _, st := range stats {
		cam := []string{"camera", st.Camera}
		w.Counter("facegate_frames_processed_total", "Frames the pipeline processed, per camera.", float64(st.Frames), cam...)
		w.Counter("facegate_frames_dropped_total", "Frames overwritten before the pipeline took them, per camera.", float64(st.Dropped), cam...)
		w.Counter("facegate_faces_detected_total", "Faces detected, per camera.", float64(st.Faces), cam...)
		w.Counter("facegate_embeddings_total", "Face embeddings computed, per camera.", float64(st.Embeds), cam...)
		w.Gauge("facegate_tracks", "Faces tracked now, per camera.", float64(st.Tracks), cam...)
		w.Counter("facegate_source_opens_total", "Successful camera opens.", float64(st.Opens), cam...)
		w.Counter("facegate_source_failures_total", "Failed camera opens and streams.", float64(st.Failures), cam...)
		if !st.Started.IsZero() {
			w.Gauge("facegate_pipeline_start_time_seconds", "When the camera's pipeline started (Unix time).", float64(st.Started.UnixNano())/1e9, cam...)
		}
		for i, ss := range st.Stages {
			labels := []string{"camera", st.Camera, "stage", pipeline.Stage(i).String()}
			w.Summary("facegate_stage_seconds", "Latency of each pipeline stage.",
				[][2]float64{{0.5, ss.P50.Seconds()}, {0.9, ss.P90.Seconds()}, {0.99, ss.P99.Seconds()}},
				ss.Mean.Seconds()*float64(ss.Count), ss.Count, labels...)
		}
	}
}

// similarityBounds are the buckets of the match-similarity histogram.
var similarityBounds = []float64{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}

// eventStats counts events by type and camera and the similarity of named
// matches; PublishEvent feeds it.
type eventStats struct {
	mu     sync.Mutex
	counts map[[2]string]uint64 // type, camera
	sim    []uint64             // len(similarityBounds)+1
	simSum float64
}

func newEventStats() *eventStats {
	return &eventStats{counts: map[[2]string]uint64{}, sim: make([]uint64, len(similarityBounds)+1)}
}

func (e *eventStats) observe(ev pipeline.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.counts) < 1000 { // bounded label sets
		e.counts[[2]string{string(ev.Type), ev.Camera}]++
	}
	if ev.Type == pipeline.EventRecognized {
		s := float64(ev.Similarity)
		i, _ := slices.BinarySearch(similarityBounds, s)
		e.sim[i]++
		e.simSum += s
	}
}

func (e *eventStats) write(w *MetricWriter) {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := make([][2]string, 0, len(e.counts))
	for k := range e.counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [2]string) int {
		if c := compareStr(a[0], b[0]); c != 0 {
			return c
		}
		return compareStr(a[1], b[1])
	})
	for _, k := range keys {
		w.Counter("facegate_events_total", "Events by type and camera.", float64(e.counts[k]), "type", k[0], "camera", k[1])
	}
	w.Histogram("facegate_match_similarity", "Cosine similarity of recognized faces.", similarityBounds, slices.Clone(e.sim), e.simSum)
}

func compareStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// uptime is reported so dashboards see restarts.
func (s *Server) writeProcess(w *MetricWriter) {
	w.Gauge("facegate_web_start_time_seconds", "When the web server started (Unix time).", float64(s.started.UnixNano())/1e9)
}
