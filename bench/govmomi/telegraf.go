package main

// What Telegraf's vsphere input (influxdata/telegraf plugins/inputs/vsphere: endpoint.go,
// client.go, finder.go, throttled_exec.go at b27263146617) sends for VMs and hosts with its
// default configuration, ported call for call onto the govmomi 0.24 API Debian ships. This file:
// newClient (login, a root ContainerView, the maxQueryMetrics option) and discover (counter names,
// the finder's descent of finder.go, resource pools for VMs, the datacenter-name walk, and the
// counters to ask for: sample.conf's lists, or QueryAvailablePerfMetric on up to 100 objects).
// collect.go has the collection. Historical kinds (datacenter, cluster, resource pool, datastore)
// and custom attributes are left out; samples are counted, not turned into Telegraf metrics.

import (
	"context"
	"math/rand"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/vmware/govmomi"
	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/performance"
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
