package main

// What Telegraf's vsphere input (influxdata/telegraf plugins/inputs/vsphere, endpoint.go, client.go,
// finder.go at b27263146617) sends for VMs and hosts with its default configuration, ported call for
// call onto the govmomi 0.24 API Debian ships: newClient (login, a root ContainerView, the
// maxQueryMetrics option), discover (counter names, the finder's ContainerView descent with the
// properties Telegraf reads, resource pools for VMs, the datacenter-name walk, QueryAvailablePerfMetric
// on up to 100 sampled objects, or sample.conf's counter lists), collect (a GetCurrentTime per getClient, a goroutine per resource
// kind, chunkify's QueryPerf batches run collect_concurrency at a time). Historical kinds
// (datacenter, cluster, resource pool, datastore) and custom attributes are left out; samples are
// counted, not turned into Telegraf metrics.

import (
	"context"
	"math/rand"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/performance"
	"github.com/vmware/govmomi/property"
	"github.com/vmware/govmomi/session"
	"github.com/vmware/govmomi/view"
	"github.com/vmware/govmomi/vim25"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const (
	maxSampleConst     = 10    // endpoint.go: samples per query at most
	maxMetadataSamples = 100   // endpoint.go: objects whose available metrics are read
	maxRealtimeMetrics = 50000 // endpoint.go: metric ids per realtime query at most
	realtimeInterval   = 20    // realtime sampling, s
	metricLookback     = 3     // Telegraf's default metric_lookback
)

// sampleInclude is vm_metric_include and host_metric_include of Telegraf's sample.conf, the
// configuration `telegraf config` writes.
var sampleInclude = map[string][]string{
	"vm": {"cpu.demand.average", "cpu.idle.summation", "cpu.latency.average", "cpu.readiness.average",
		"cpu.ready.summation", "cpu.run.summation", "cpu.usagemhz.average", "cpu.used.summation",
		"cpu.wait.summation", "mem.active.average", "mem.granted.average", "mem.latency.average",
		"mem.swapin.average", "mem.swapinRate.average", "mem.swapout.average", "mem.swapoutRate.average",
		"mem.usage.average", "mem.vmmemctl.average", "net.bytesRx.average", "net.bytesTx.average",
		"net.droppedRx.summation", "net.droppedTx.summation", "net.usage.average", "power.power.average",
		"virtualDisk.numberReadAveraged.average", "virtualDisk.numberWriteAveraged.average",
		"virtualDisk.read.average", "virtualDisk.readOIO.latest", "virtualDisk.throughput.usage.average",
		"virtualDisk.totalReadLatency.average", "virtualDisk.totalWriteLatency.average",
		"virtualDisk.write.average", "virtualDisk.writeOIO.latest", "sys.uptime.latest"},
	"host": {"cpu.coreUtilization.average", "cpu.costop.summation", "cpu.demand.average", "cpu.idle.summation",
		"cpu.latency.average", "cpu.readiness.average", "cpu.ready.summation", "cpu.swapwait.summation",
		"cpu.usage.average", "cpu.usagemhz.average", "cpu.used.summation", "cpu.utilization.average",
		"cpu.wait.summation", "disk.deviceReadLatency.average", "disk.deviceWriteLatency.average",
		"disk.kernelReadLatency.average", "disk.kernelWriteLatency.average", "disk.numberReadAveraged.average",
		"disk.numberWriteAveraged.average", "disk.read.average", "disk.totalReadLatency.average",
		"disk.totalWriteLatency.average", "disk.write.average", "mem.active.average", "mem.latency.average",
		"mem.state.latest", "mem.swapin.average", "mem.swapinRate.average", "mem.swapout.average",
		"mem.swapoutRate.average", "mem.totalCapacity.average", "mem.usage.average", "mem.vmmemctl.average",
		"net.bytesRx.average", "net.bytesTx.average", "net.droppedRx.summation", "net.droppedTx.summation",
		"net.errorsRx.summation", "net.errorsTx.summation", "net.usage.average", "power.power.average",
		"storageAdapter.numberReadAveraged.average", "storageAdapter.numberWriteAveraged.average",
		"storageAdapter.read.average", "storageAdapter.write.average", "sys.uptime.latest"},
}

// kind is Telegraf's resourceKind for a realtime kind.
type kind struct {
	name, vcName, path string
	objects            map[string]*objectRef
	metrics            []types.PerfMetricId
	latestSample       time.Time
}

type objectRef struct {
	name, dcname string
	ref          types.ManagedObjectReference
	parentRef    *types.ManagedObjectReference
}

type telegraf struct {
	timeout         time.Duration
	concurrency     int
	objectsPerQuery int
	allMetrics      bool // every available counter (no *_metric_include), else sample.conf's lists
	c               *govmomi.Client
	perf            *performance.Manager
	mux             sync.Mutex // clientFactory.mux: getClient's liveness checks one at a time
	names           map[int32]string
	kinds           []*kind
	hwMarks         sync.Map // moid|metric name -> time of the last sample
}

type collectStats struct{ samples, series, queries int64 }

func (t *telegraf) call(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.timeout)
}

// connect is client.go newClient: RetrieveServiceContent, Login, a ContainerView of the root
// folder (created, never read) and the vpxd.stats.maxQueryMetrics option.
func (t *telegraf) connect(ctx context.Context, u *url.URL) error {
	ctx1, cancel := t.call(ctx)
	defer cancel()
	vc, err := vim25.NewClient(ctx1, soap.NewClient(u, true))
	if err != nil {
		return err
	}
	t.c = &govmomi.Client{Client: vc, SessionManager: session.NewManager(vc)}
	if err := t.c.Login(ctx1, u.User); err != nil {
		return err
	}
	if _, err := view.NewManager(vc).CreateContainerView(ctx1, vc.ServiceContent.RootFolder, []string{}, true); err != nil {
		return err
	}
	t.perf = performance.NewManager(vc)
	if vc.ServiceContent.Setting != nil {
		// Telegraf falls back to a version-based guess when the option is unknown.
		_, _ = object.NewOptionManager(vc, *vc.ServiceContent.Setting).Query(ctx1, "config.vpxd.stats.maxQueryMetrics")
	}
	t.kinds = []*kind{
		{name: "host", vcName: "HostSystem", path: "/*/host/**"},
		{name: "vm", vcName: "VirtualMachine", path: "/*/vm/**"},
	}
	return nil
}

// getClient is clientFactory.getClient: every use of the client first checks the session with GetCurrentTime.
func (t *telegraf) getClient(ctx context.Context) error {
	t.mux.Lock()
	defer t.mux.Unlock()
	ctx1, cancel := t.call(ctx)
	defer cancel()
	_, err := methods.GetCurrentTime(ctx1, t.c)
	return err
}

func (t *telegraf) close(ctx context.Context) error {
	ctx1, cancel := t.call(ctx)
	defer cancel()
	return t.c.Logout(ctx1)
}

// discover is endpoint.discover for the host and vm kinds.
func (t *telegraf) discover(ctx context.Context) error {
	if err := t.getClient(ctx); err != nil { // reloadMetricNameMap
		return err
	}
	byKey, err := t.perf.CounterInfoByKey(ctx)
	if err != nil {
		return err
	}
	t.names = make(map[int32]string, len(byKey))
	for k, c := range byKey {
		t.names[k] = c.Name()
	}
	if err := t.getClient(ctx); err != nil {
		return err
	}
	dcNames := map[string]string{}
	for _, k := range t.kinds {
		objs, err := t.getObjects(ctx, k)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if o.parentRef != nil {
				o.dcname = t.ancestorName(ctx, "Datacenter", dcNames, *o.parentRef)
			}
		}
		k.objects = objs
		if !t.allMetrics {
			t.simpleMetadataSelect(k)
		} else if err := t.complexMetadataSelect(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// getObjects is getHosts / getVMs: the finder's read, and for VMs the resource pools as well.
func (t *telegraf) getObjects(ctx context.Context, k *kind) (map[string]*objectRef, error) {
	f := &finder{c: t.c.Client, timeout: t.timeout}
	content, err := f.findAll(ctx, k.vcName, k.path)
	if err != nil {
		return nil, err
	}
	m := map[string]*objectRef{}
	if k.vcName == "HostSystem" {
		var hosts []mo.HostSystem
		if err := loadContent(content, &hosts); err != nil {
			return nil, err
		}
		for i := range hosts {
			h := &hosts[i]
			m[h.Self.Value] = &objectRef{name: h.Name, ref: h.Self, parentRef: h.Parent}
		}
		return m, nil
	}
	var vms []mo.VirtualMachine
	if err := loadContent(content, &vms); err != nil {
		return nil, err
	}
	if err := t.getClient(ctx); err != nil {
		return nil, err
	}
	if _, err := f.findAll(ctx, "ResourcePool", "/*/host/**"); err != nil {
		return nil, err
	}
	for i := range vms {
		vm := &vms[i]
		if vm.Runtime.PowerState != "poweredOn" {
			continue
		}
		m[vm.Self.Value] = &objectRef{name: vm.Name, ref: vm.Self, parentRef: vm.Runtime.Host}
	}
	return m, nil
}

func loadContent(content []types.ObjectContent, dst interface{}) error {
	return mo.LoadObjectContent(content, dst)
}

// ancestorName is getAncestorName: up the parent chain one RetrieveProperties at a time, cached per object.
func (t *telegraf) ancestorName(ctx context.Context, typ string, cache map[string]string, r types.ManagedObjectReference) string {
	var path []string
	name := ""
	for here := r; ; {
		if n, ok := cache[here.String()]; ok {
			name = n
			break
		}
		path = append(path, here.String())
		var me mo.ManagedEntity
		ctx1, cancel := t.call(ctx)
		err := object.NewCommon(t.c.Client, r).Properties(ctx1, here, []string{"parent", "name"}, &me)
		cancel()
		if err != nil {
			break
		}
		if here.Type == typ {
			name = me.Name
			break
		}
		if me.Parent == nil {
			break
		}
		here = *me.Parent
	}
	for _, p := range path {
		cache[p] = name
	}
	return name
}

// simpleMetadataSelect: the include list's counters by name (read with the counter names), each
// with instance "*" (host_instances and vm_instances are true by default); unknown names are skipped.
func (t *telegraf) simpleMetadataSelect(k *kind) {
	byName := make(map[string]int32, len(t.names))
	for key, name := range t.names {
		byName[name] = key
	}
	k.metrics = k.metrics[:0]
	for _, name := range sampleInclude[k.name] {
		if key, ok := byName[name]; ok {
			k.metrics = append(k.metrics, types.PerfMetricId{CounterId: key, Instance: "*"})
		}
	}
}

// complexMetadataSelect: QueryAvailablePerfMetric on up to 100 random objects (discover_concurrency
// at a time); the kind collects the largest set seen, every instance folded into "*".
func (t *telegraf) complexMetadataSelect(ctx context.Context, k *kind) error {
	sampled := make([]*objectRef, 0, len(k.objects))
	for _, o := range k.objects {
		sampled = append(sampled, o)
	}
	rand.Shuffle(len(sampled), func(i, j int) { sampled[i], sampled[j] = sampled[j], sampled[i] })
	if len(sampled) > maxMetadataSamples {
		sampled = sampled[:maxMetadataSamples]
	}
	var mu sync.Mutex
	var firstErr error
	run := newThrottled(t.concurrency)
	for _, o := range sampled {
		o := o
		run.do(func() {
			err := t.getClient(ctx)
			var metrics performance.MetricList
			if err == nil {
				ctx1, cancel := t.call(ctx)
				metrics, err = t.perf.AvailableMetric(ctx1, o.ref, realtimeInterval)
				cancel()
			}
			seen := map[string]types.PerfMetricId{}
			for _, m := range metrics {
				if m.Instance != "" {
					m.Instance = "*" // host_instances and vm_instances are true by default
				}
				seen[strconv.Itoa(int(m.CounterId))+"|"+m.Instance] = m
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			if len(seen) > len(k.metrics) {
				k.metrics = k.metrics[:0]
				for _, m := range seen {
					k.metrics = append(k.metrics, m)
				}
			}
		})
	}
	run.wait()
	return firstErr
}

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

// finder is finder.go: path tokens matched by name, one ContainerView per level, then a recursive
// view of the wanted type at the "**" leaf, read with the properties Telegraf's getters use.
type finder struct {
	c       *vim25.Client
	timeout time.Duration
}

var childTypes = map[string][]string{
	"HostSystem":             {"VirtualMachine"},
	"ResourcePool":           {"VirtualMachine"},
	"ComputeResource":        {"HostSystem", "ResourcePool", "VirtualApp"},
	"ClusterComputeResource": {"HostSystem", "ResourcePool", "VirtualApp"},
	"Datacenter":             {"Folder"},
	"Folder":                 {"Folder", "Datacenter", "VirtualMachine", "ComputeResource", "ClusterComputeResource", "Datastore"},
}

var addFields = map[string][]string{
	"HostSystem":   {"parent", "summary.customValue", "customValue"},
	"ResourcePool": {"parent", "customValue"},
	"VirtualMachine": {"runtime.host", "config.guestId", "config.uuid", "runtime.powerState",
		"summary.customValue", "summary.config.memorySizeMB", "guest.guestId", "guest.net", "guest.hostName",
		"resourcePool", "customValue"},
}

var containers = map[string]bool{"HostSystem": true, "ComputeResource": true, "Datacenter": true,
	"ResourcePool": true, "Folder": true, "VirtualApp": true}

func (f *finder) findAll(ctx context.Context, resType, path string) ([]types.ObjectContent, error) {
	ctx1, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	p := strings.Split(path, "/")
	tokens := make([]property.Filter, len(p)-1)
	for i := 1; i < len(p); i++ {
		tokens[i-1] = property.Filter{"name": p[i]}
	}
	objs := map[string]types.ObjectContent{}
	if err := f.descend(ctx1, f.c.ServiceContent.RootFolder, resType, tokens, 0, objs); err != nil {
		return nil, err
	}
	out := make([]types.ObjectContent, 0, len(objs))
	for _, o := range objs {
		out = append(out, o)
	}
	return out, nil
}

func (f *finder) descend(ctx context.Context, root types.ManagedObjectReference, resType string,
	tokens []property.Filter, pos int, objs map[string]types.ObjectContent) error {
	isLeaf := pos == len(tokens)-1
	if pos >= len(tokens) {
		return nil
	}
	ct, ok := childTypes[root.Type]
	if !ok {
		return nil
	}
	m := view.NewManager(f.c)
	v, err := m.CreateContainerView(ctx, root, ct, false)
	if err != nil {
		return err
	}
	defer v.Destroy(ctx) //nolint:errcheck
	var content []types.ObjectContent
	fields := []string{"name"}
	recurse := tokens[pos]["name"] == "**"
	objectTypes := ct
	if isLeaf {
		fields = append(fields, addFields[resType]...)
		if recurse {
			v2, err := m.CreateContainerView(ctx, root, []string{resType}, true)
			if err != nil {
				return err
			}
			defer v2.Destroy(ctx) //nolint:errcheck
			if err := v2.Retrieve(ctx, []string{resType}, fields, &content); err != nil {
				return err
			}
			for _, c := range content {
				objs[c.Obj.String()] = c
			}
			return nil
		}
		objectTypes = []string{resType}
	}
	if err := v.Retrieve(ctx, objectTypes, fields, &content); err != nil {
		return err
	}
	rerunAsLeaf := false
	for _, c := range content {
		if !matchName(tokens[pos], c.PropSet) {
			continue
		}
		if _, ok := objs[root.String()]; ok {
			continue
		}
		if c.Obj.Type == resType && isLeaf {
			objs[c.Obj.String()] = c
			continue
		}
		inc := 1
		if recurse {
			inc = 0
			if matchName(tokens[pos+1], c.PropSet) {
				if pos == len(tokens)-2 {
					if c.Obj.Type == resType {
						rerunAsLeaf = true
						continue
					}
				} else if containers[c.Obj.Type] {
					inc = 2
				}
			}
		}
		if err := f.descend(ctx, c.Obj, resType, tokens, pos+inc, objs); err != nil {
			return err
		}
	}
	if rerunAsLeaf {
		return f.descend(ctx, root, resType, tokens, pos+1, objs)
	}
	return nil
}

func matchName(f property.Filter, props []types.DynamicProperty) bool {
	for _, prop := range props {
		if prop.Name == "name" {
			return f.MatchProperty(prop)
		}
	}
	return false
}
