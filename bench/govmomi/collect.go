package main

// Telegraf's collection (endpoint.go collect, collectResource, chunkify, collectChunk and
// throttled_exec.go), for the realtime kinds discovered by telegraf.go.

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

// collect is endpoint.collect: one goroutine per kind, each collectResource.
func (t *telegraf) collect(ctx context.Context) (collectStats, error) {
	var st collectStats
	if err := t.getClient(ctx); err != nil {
		return st, err
	}
	var wg sync.WaitGroup
	errs := make([]error, len(t.kinds))
	for i, k := range t.kinds {
		wg.Add(1)
		go func(i int, k *kind) {
			defer wg.Done()
			errs[i] = t.collectResource(ctx, k, &st)
		}(i, k)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

func (t *telegraf) collectResource(ctx context.Context, k *kind, st *collectStats) error {
	if err := t.getClient(ctx); err != nil {
		return err
	}
	ctx1, cancel := t.call(ctx)
	now, err := methods.GetCurrentTime(ctx1, t.c) // getServerTime
	cancel()
	if err != nil {
		return err
	}
	latest := k.latestSample
	if latest.IsZero() {
		latest = now.Add(-realtimeInterval * time.Second)
	}
	var mu sync.Mutex
	var firstErr error
	newest := time.Time{}
	t.chunkify(k, *now, latest, func(chunk []types.PerfQuerySpec) {
		ts, err := t.collectChunk(ctx, chunk, st)
		mu.Lock()
		defer mu.Unlock()
		if err != nil && firstErr == nil {
			firstErr = err
		}
		if ts.After(newest) {
			newest = ts
		}
	})
	if !newest.IsZero() {
		k.latestSample = newest
	}
	return firstErr
}

// chunkify: per object, one spec per start time with all the kind's metrics; specs go into a
// query until it holds more than maxRealtimeMetrics metric ids (Telegraf's max_query_objects
// bounds historical queries only), or -objects objects when set (the README's reading).
func (t *telegraf) chunkify(k *kind, now, latest time.Time, job func([]types.PerfQuerySpec)) {
	run := newThrottled(t.concurrency)
	submit := func(c []types.PerfQuerySpec) { run.do(func() { job(c) }) }
	var pqs []types.PerfQuerySpec
	numQs, numObjects := 0, 0
	for _, o := range k.objects {
		buckets := map[int64]*types.PerfQuerySpec{}
		for _, m := range k.metrics {
			name := t.names[m.CounterId]
			if name == "" {
				continue
			}
			start := latest.Add(-realtimeInterval * time.Second * (metricLookback - 1))
			if hw, ok := t.hwMarks.Load(o.ref.Value + "|" + name); ok {
				start = hw.(time.Time)
			}
			if !start.Truncate(time.Second).Before(now.Truncate(time.Second)) {
				continue
			}
			b, ok := buckets[start.Unix()]
			if !ok {
				s, e := start, now
				b = &types.PerfQuerySpec{Entity: o.ref, MaxSample: maxSampleConst, IntervalId: realtimeInterval,
					Format: "normal", StartTime: &s, EndTime: &e}
				buckets[start.Unix()] = b
			}
			b.MetricId = append(b.MetricId, m)
			if len(b.MetricId) > maxRealtimeMetrics {
				delete(buckets, start.Unix())
				submit([]types.PerfQuerySpec{*b})
			}
		}
		for _, b := range buckets {
			pqs = append(pqs, *b)
			numQs += len(b.MetricId)
			if numQs > maxRealtimeMetrics {
				submit(pqs)
				pqs, numQs, numObjects = nil, 0, 0
			}
		}
		// An object's specs (one per start time) stay in one query.
		if len(buckets) > 0 && len(pqs) > 0 {
			numObjects++
			if t.objectsPerQuery > 0 && numObjects >= t.objectsPerQuery {
				submit(pqs)
				pqs, numQs, numObjects = nil, 0, 0
			}
		}
	}
	if len(pqs) > 0 {
		submit(pqs)
	}
	run.wait()
}

// collectChunk: getClient, QueryPerf, ToMetricSeries; counts the values Telegraf would emit
// (negative ones mean "no data") and moves the high-water marks to the newest sample.
func (t *telegraf) collectChunk(ctx context.Context, pqs []types.PerfQuerySpec, st *collectStats) (time.Time, error) {
	newest := time.Time{}
	if err := t.getClient(ctx); err != nil {
		return newest, err
	}
	ctx1, cancel := t.call(ctx)
	defer cancel()
	raw, err := t.perf.Query(ctx1, pqs)
	atomic.AddInt64(&st.queries, 1)
	if err != nil {
		return newest, err
	}
	ems, err := t.perf.ToMetricSeries(ctx1, raw)
	if err != nil {
		return newest, err
	}
	var samples, series int64
	for _, em := range ems {
		for _, v := range em.Value {
			series++
			var last time.Time
			for i, x := range v.Value {
				if x < 0 || i >= len(em.SampleInfo) {
					continue
				}
				samples++
				if ts := em.SampleInfo[i].Timestamp; ts.After(last) {
					last = ts
				}
			}
			if !last.IsZero() {
				t.hwMarks.Store(em.Entity.Value+"|"+strings.TrimSpace(v.Name), last)
				if last.After(newest) {
					newest = last
				}
			}
		}
	}
	atomic.AddInt64(&st.samples, samples)
	atomic.AddInt64(&st.series, series)
	return newest, nil
}

// throttled is throttled_exec.go: jobs start at once and run `limit` at a time.
type throttled struct {
	limiter chan struct{}
	wg      sync.WaitGroup
}

func newThrottled(limit int) *throttled { return &throttled{limiter: make(chan struct{}, limit)} }

func (t *throttled) do(job func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		t.limiter <- struct{}{}
		defer func() { <-t.limiter }()
		job()
	}()
}

func (t *throttled) wait() { t.wg.Wait() }
