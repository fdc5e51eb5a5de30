package server

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestDetectionLabelsAreBounded counts detections of more distinct rule ids than
// maxDetectionLabels: the metric keeps at most maxDetectionLabels+1 series ("other").
func TestDetectionLabelsAreBounded(t *testing.T) {
	m := newMetrics(func() float64 { return 0 })
	for i := 0; i < maxDetectionLabels+50; i++ {
		m.detections.add(fmt.Sprintf("rule-%d", i), 1)
	}
	m.detections.add("rule-1", 1) // a known id keeps its own series
	ch := make(chan prometheus.Metric, maxDetectionLabels+100)
	m.detections.vec.Collect(ch)
	close(ch)
	if got := len(ch); got != maxDetectionLabels+1 {
		t.Fatalf("%d detection series; want %d (the bound plus %q)", got, maxDetectionLabels+1, detectionOtherLabel)
	}
}
