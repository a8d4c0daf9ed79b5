package app

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
)

// importsCollector reports imports by status, read from the database at
// scrape time so every process (and every restart) reports the truth.
type importsCollector struct {
	a    *App
	desc *prometheus.Desc
}

func (c importsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c importsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := c.a.Store.DB().QueryContext(ctx, `SELECT source_type, status, COUNT(*) FROM imports GROUP BY source_type, status`)
	if err != nil {
		c.a.log.Warn("imports metric", "error", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var src, status string
		var n float64
		if rows.Scan(&src, &status, &n) == nil {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, n, src, status)
		}
	}
}

// watchJobs records job run and queue-wait times from River's events until
// ctx ends.
func (a *App) watchJobs(ctx context.Context) {
	run := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_job_run_seconds", Help: "Job run time by kind and outcome.",
		Buckets: prometheus.ExponentialBuckets(0.005, 4, 10)}, []string{"kind", "outcome"})
	wait := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "ferry_job_queue_wait_seconds", Help: "Time jobs waited before running.",
		Buckets: prometheus.ExponentialBuckets(0.005, 4, 10)}, []string{"kind"})
	if err := a.Registry.Register(run); err != nil {
		return
	}
	if err := a.Registry.Register(wait); err != nil {
		return
	}
	events, stop := a.Queue.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed, river.EventKindJobSnoozed, river.EventKindJobCancelled)
	go func() {
		defer stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				if ev.Job == nil || ev.JobStats == nil {
					continue
				}
				run.WithLabelValues(ev.Job.Kind, string(ev.Kind)).Observe(ev.JobStats.RunDuration.Seconds())
				wait.WithLabelValues(ev.Job.Kind).Observe(ev.JobStats.QueueWaitDuration.Seconds())
			}
		}
	}()
}
