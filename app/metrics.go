package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/riverqueue/river"
)

// metricsHandler serves the Prometheus registry. Who may read it:
//
//   - with Config.MetricsToken set, whoever sends "Authorization: Bearer
//     <token>" (compared in constant time), on either listener; others get
//     401;
//   - else on the separate metrics listener (Config.MetricsListen),
//     everyone who can reach that address: the operator chose it;
//   - else, on the main listener, loopback clients only, as GitLab's
//     monitoring whitelist defaults to localhost. A request a proxy
//     forwarded (X-Forwarded-For, Forwarded, X-Real-Ip) is not a loopback
//     client even when the proxy runs on the same host. Others get 404,
//     as GitLab answers outside its whitelist.
func (a *App) metricsHandler(mainListener bool) http.Handler {
	prom := promhttp.HandlerFor(a.Registry, promhttp.HandlerOpts{})
	want := sha256.Sum256([]byte(a.cfg.MetricsToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case a.cfg.MetricsToken != "":
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
			if !ok || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="ferry metrics"`)
				jsonError(w, http.StatusUnauthorized, `{"message":"401 Unauthorized"}`)
				return
			}
		case mainListener && !fromLoopback(r):
			jsonError(w, http.StatusNotFound, `{"error":"404 Not Found"}`)
			return
		}
		prom.ServeHTTP(w, r)
	})
}

// fromLoopback reports whether the client itself is on this host.
func fromLoopback(r *http.Request) bool {
	for _, h := range []string{"X-Forwarded-For", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func jsonError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body+"\n")
}

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
