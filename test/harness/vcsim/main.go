// Command vcsim starts govmomi's vCenter simulator for vsphere-exporter's demo and tests.
// Built offline in GOPATH mode from Debian's golang-github-vmware-govmomi-dev (see scripts/build-vcsim.sh).
// On start it prints one JSON line {"url": ..., "pid": ...} to stdout, then serves until SIGTERM/SIGINT.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
	vapi "github.com/vmware/govmomi/vapi/simulator"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	esx := flag.Bool("esx", false, "simulate a standalone ESXi host instead of vCenter")
	dc := flag.Int("dc", 1, "datacenters")
	cluster := flag.Int("cluster", 1, "clusters per datacenter")
	host := flag.Int("host", 3, "hosts per cluster")
	standalone := flag.Int("standalone-host", 1, "standalone hosts per datacenter")
	vm := flag.Int("vm", 2, "VMs per resource pool")
	ds := flag.Int("ds", 1, "datastores")
	pool := flag.Int("pool", 0, "child resource pools per cluster")
	user := flag.String("user", "", "user:password accepted by Login (default: any non-empty pair)")
	cert := flag.String("tls-cert", "", "serve HTTPS with this PEM certificate")
	key := flag.String("tls-key", "", "PEM key for -tls-cert")
	idle := flag.Duration("session-idle-timeout", 0, "expire sessions idle this long (0: never)")
	delay := flag.Int("delay", 0, "milliseconds to delay every SOAP call")
	methodDelay := flag.String("method-delay", "", "per-method delays, e.g. QueryPerf:200,Login:50 (ms)")
	jitter := flag.Float64("delay-jitter", 0, "delay jitter as a coefficient of variation (stddev/mean, e.g. 0.5), applied to -delay plus -method-delay")
	extras := flag.Bool("extras", false, "fill guest.disk and guest.toolsVersionStatus2 of VMs and add temperature/fan/power sensors to hosts")
	inventoryOut := flag.String("inventory-out", "", "write the simulated VMs and hosts as JSON to this file")
	alarm := flag.Bool("trigger-alarm", false, "give the first host a red triggered alarm (vcsim has no AlarmManager)")
	vapiUser := flag.String("vapi-user", "", "user:password the vAPI REST session login accepts (default: any non-empty pair)")
	dsPerf := flag.Bool("datastore-perf", false, "answer hosts' datastore.* counters like vCenter: one instance per mounted datastore, named by the volume id its URL ends in, with fixed non-zero values; list every mounting host (with its mount path) in Datastore.host")
	flag.Parse()

	model := simulator.VPX()
	if *esx {
		model = simulator.ESX()
	} else {
		model.Datacenter = *dc
		model.Cluster = *cluster
		model.ClusterHost = *host
		model.Host = *standalone
		model.Pool = *pool
	}
	model.Machine = *vm
	model.Datastore = *ds
	model.DelayConfig.Delay = *delay
	model.DelayConfig.DelayJitter = *jitter
	if *methodDelay != "" {
		model.DelayConfig.MethodDelay = map[string]int{}
		for _, kv := range strings.Split(*methodDelay, ",") {
			parts := strings.SplitN(kv, ":", 2)
			ms, err := strconv.Atoi(strings.TrimSpace(parts[len(parts)-1]))
			if len(parts) != 2 || err != nil {
				fail(fmt.Errorf("bad -method-delay entry %q", kv))
			}
			model.DelayConfig.MethodDelay[strings.TrimSpace(parts[0])] = ms
		}
	}
	simulator.SessionIdleTimeout = *idle

	if err := model.Create(); err != nil {
		fail(err)
	}
	if *alarm {
		if err := triggerAlarm(); err != nil {
			fail(err)
		}
	}
	expandPerfInstances(*dsPerf)
	if *dsPerf {
		mountAllHosts()
	}
	if *extras {
		addExtras()
	}
	if *inventoryOut != "" {
		if err := writeInventory(*inventoryOut); err != nil {
			fail(err)
		}
	}
	model.Service.Listen = &url.URL{Host: *listen}
	if *user != "" {
		parts := strings.SplitN(*user, ":", 2)
		if len(parts) != 2 {
			fail(fmt.Errorf("-user must be user:password"))
		}
		model.Service.Listen.User = url.UserPassword(parts[0], parts[1])
	}
	if *cert != "" {
		pair, err := tls.LoadX509KeyPair(*cert, *key)
		if err != nil {
			fail(err)
		}
		model.Service.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	}

	server := model.Service.NewServer()
	if !*esx {
		// The vAPI (REST tagging) endpoint under /rest, registered here rather than through
		// RegisterEndpoints so its session login can be given its own credentials (-vapi-user).
		path, handler := vapi.New(model.Service.Listen, simulator.Map.OptionManager().Setting)
		model.Service.Handle(path, vapiLogin(handler, *vapiUser))
	}
	u := *server.URL
	u.User = nil
	out, _ := json.Marshal(map[string]interface{}{"url": u.String(), "pid": os.Getpid(), "started": time.Now().UTC()})
	fmt.Println(string(out))

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	server.Close()
	model.Remove()
}

// inventoryVM and inventoryHost are read straight from the simulator's model, so tests can
// check the exporter's output against a source that does not share the exporter's SOAP client.
type inventoryVM struct {
	Moid         string `json:"moid"`
	Name         string `json:"name"`
	NumCPU       int32  `json:"numCpu"`
	MemoryMB     int32  `json:"memoryMB"`
	PowerState   string `json:"powerState"`
	InstanceUUID string `json:"instanceUuid"`
	UUID         string `json:"uuid"`
	Template     bool   `json:"template"`
	Host         string `json:"host"`
}

type inventoryHost struct {
	Moid              string `json:"moid"`
	Name              string `json:"name"`
	NumCPUCores       int16  `json:"numCpuCores"`
	CPUMhz            int32  `json:"cpuMhz"`
	MemorySize        int64  `json:"memorySize"`
	ConnectionState   string `json:"connectionState"`
	InMaintenanceMode bool   `json:"inMaintenanceMode"`
	Version           string `json:"version"`
}

// writeInventory reads the same summary.* properties the exporter requests, sorted by moid for stable output.
func writeInventory(file string) error {
	inv := struct {
		VMs   []inventoryVM   `json:"vms"`
		Hosts []inventoryHost `json:"hosts"`
	}{VMs: []inventoryVM{}, Hosts: []inventoryHost{}}
	for _, e := range simulator.Map.All("VirtualMachine") {
		vm, ok := e.(*simulator.VirtualMachine)
		if !ok {
			return fmt.Errorf("unexpected VirtualMachine type %T", e)
		}
		c, r := vm.Summary.Config, vm.Summary.Runtime
		item := inventoryVM{Moid: vm.Self.Value, Name: vm.Name, NumCPU: c.NumCpu, MemoryMB: c.MemorySizeMB,
			PowerState: string(r.PowerState), InstanceUUID: c.InstanceUuid, UUID: c.Uuid, Template: c.Template}
		if r.Host != nil {
			item.Host = r.Host.Value
		}
		inv.VMs = append(inv.VMs, item)
	}
	for _, e := range simulator.Map.All("HostSystem") {
		h, ok := e.(*simulator.HostSystem)
		if !ok {
			return fmt.Errorf("unexpected HostSystem type %T", e)
		}
		item := inventoryHost{Moid: h.Self.Value, Name: h.Name}
		if hw := h.Summary.Hardware; hw != nil {
			item.NumCPUCores, item.CPUMhz, item.MemorySize = hw.NumCpuCores, hw.CpuMhz, hw.MemorySize
		}
		if rt := h.Summary.Runtime; rt != nil {
			item.ConnectionState, item.InMaintenanceMode = string(rt.ConnectionState), rt.InMaintenanceMode
		}
		if p := h.Summary.Config.Product; p != nil {
			item.Version = p.Version
		}
		inv.Hosts = append(inv.Hosts, item)
	}
	sort.Slice(inv.VMs, func(i, j int) bool { return inv.VMs[i].Moid < inv.VMs[j].Moid })
	sort.Slice(inv.Hosts, func(i, j int) bool { return inv.Hosts[i].Moid < inv.Hosts[j].Moid })
	out, err := json.MarshalIndent(inv, "", "  ")
	if err != nil {
		return err
	}
	// Write then rename, so a reader never sees a half-written file.
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}

// triggerAlarm registers an Alarm (alarm-1, readable info.name) and marks the first host (by moid)
// red with it triggered and unacknowledged. Like vCenter, the state is also listed on every ancestor
// (whose overallStatus turns red too), so the exporter must not report it once per ancestor.
func triggerAlarm() error {
	hosts := simulator.Map.All("HostSystem")
	if len(hosts) == 0 {
		return fmt.Errorf("-trigger-alarm: no host")
	}
	sort.Slice(hosts, func(i, j int) bool { return hosts[i].Reference().Value < hosts[j].Reference().Value })
	alarm := &mo.Alarm{}
	alarm.Self = types.ManagedObjectReference{Type: "Alarm", Value: "alarm-1"}
	alarm.Info.Name = "Host connection and power state"
	alarm.Info.Alarm = alarm.Self
	simulator.Map.Put(alarm)
	state := types.AlarmState{
		Key:           "alarm-1." + hosts[0].Reference().Value,
		Entity:        hosts[0].Reference(),
		Alarm:         alarm.Self,
		OverallStatus: types.ManagedEntityStatusRed,
		Time:          time.Date(2026, 11, 20, 8, 15, 42, 0, time.UTC),
		Acknowledged:  types.NewBool(false),
	}
	for e := hosts[0].Entity(); e != nil; {
		e.TriggeredAlarmState = append(e.TriggeredAlarmState, state)
		e.OverallStatus = types.ManagedEntityStatusRed
		if e.Parent == nil {
			break
		}
		parent, ok := simulator.Map.Get(*e.Parent).(mo.Entity)
		if !ok {
			break
		}
		e = parent.Entity()
	}
	return nil
}

// vapiLogin makes POST /rest/com/vmware/cis/session accept only userPass ("user:password"); vcsim's
// own vAPI login takes any non-empty pair, so a wrong REST password could not be tested otherwise.
func vapiLogin(next http.Handler, userPass string) http.Handler {
	if userPass == "" {
		return next
	}
	parts := strings.SplitN(userPass, ":", 2)
	if len(parts) != 2 {
		fail(fmt.Errorf("-vapi-user must be user:password"))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/com/vmware/cis/session") &&
			r.URL.Query().Get("~action") == "" {
			u, p, ok := r.BasicAuth()
			if !ok || u != parts[0] || p != parts[1] {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vcsim:", err)
	os.Exit(2)
}

// instancePerf answers QueryPerf's instance "*" like vCenter does (the aggregate plus every
// instance QueryAvailablePerfMetric lists); vcsim 0.24 would echo "*" back as one instance.
type instancePerf struct {
	*simulator.PerformanceManager
	// Counter keys of group "datastore", when -datastore-perf is on.
	datastoreCounters map[int32]bool
}

// Get hands the property collector the wrapped object (it cannot see through an embedded pointer).
func (p *instancePerf) Get() mo.Reference { return p.PerformanceManager }

func (p *instancePerf) QueryPerf(ctx *simulator.Context, req *types.QueryPerf) soap.HasFault {
	for i := range req.QuerySpec {
		qs := &req.QuerySpec[i]
		var ids []types.PerfMetricId
		var available []types.PerfMetricId
		for _, id := range qs.MetricId {
			if id.Instance != "*" {
				ids = append(ids, id)
				continue
			}
			if available == nil {
				res := p.QueryAvailablePerfMetric(ctx, &types.QueryAvailablePerfMetric{This: req.This, Entity: qs.Entity, IntervalId: qs.IntervalId})
				if body, ok := res.(*methods.QueryAvailablePerfMetricBody); ok && body.Res != nil {
					available = body.Res.Returnval
				}
			}
			ids = append(ids, types.PerfMetricId{CounterId: id.CounterId, Instance: ""})
			if p.datastoreCounters[id.CounterId] && qs.Entity.Type == "HostSystem" {
				for _, v := range hostVolumes(qs.Entity) {
					ids = append(ids, types.PerfMetricId{CounterId: id.CounterId, Instance: v})
				}
				continue
			}
			for _, a := range available {
				if a.CounterId == id.CounterId && a.Instance != "" {
					ids = append(ids, a)
				}
			}
		}
		qs.MetricId = ids
	}
	res := p.PerformanceManager.QueryPerf(ctx, req)
	if len(p.datastoreCounters) > 0 {
		p.fillDatastoreSeries(res)
	}
	return res
}

// fillDatastoreSeries gives every host datastore-counter series of an instance a value fixed by
// host, instance and counter (vcsim has no sample data for them and would add noise to any).
func (p *instancePerf) fillDatastoreSeries(res soap.HasFault) {
	body, ok := res.(*methods.QueryPerfBody)
	if !ok || body.Res == nil {
		return
	}
	for _, base := range body.Res.Returnval {
		em, ok := base.(*types.PerfEntityMetric)
		if !ok || em.Entity.Type != "HostSystem" {
			continue
		}
		for _, v := range em.Value {
			series, ok := v.(*types.PerfMetricIntSeries)
			if !ok || !p.datastoreCounters[series.Id.CounterId] || series.Id.Instance == "" {
				continue
			}
			h := fnv.New32a()
			fmt.Fprintf(h, "%s|%s|%d", em.Entity.Value, series.Id.Instance, series.Id.CounterId)
			series.Value = make([]int64, len(em.SampleInfo))
			for i := range series.Value {
				series.Value[i] = int64(h.Sum32()%97) + 1
			}
		}
	}
}

// hostVolumes names a host's datastores as vCenter names its datastore-counter instances: by the
// volume id under /vmfs/volumes/, i.e. the last part of the datastore URL (vcsim names only the
// first datastore, by its moid).
func hostVolumes(ref types.ManagedObjectReference) []string {
	h, ok := simulator.Map.Get(ref).(*simulator.HostSystem)
	if !ok {
		return nil
	}
	var out []string
	for _, d := range h.Datastore {
		if ds, ok := simulator.Map.Get(d).(*simulator.Datastore); ok {
			out = append(out, volumeID(ds.Summary.Url))
		}
	}
	return out
}

func volumeID(u string) string {
	parts := strings.Split(strings.TrimRight(u, "/"), "/")
	return parts[len(parts)-1]
}

// mountAllHosts lists every host that has a datastore in that datastore's host property, with the
// mount path vCenter reports (vcsim 0.24 keeps only the last host added, without a path).
func mountAllHosts() {
	mounts := map[types.ManagedObjectReference][]types.DatastoreHostMount{}
	yes := true
	for _, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		for _, d := range h.Datastore {
			ds, ok := simulator.Map.Get(d).(*simulator.Datastore)
			if !ok {
				continue
			}
			mounts[d] = append(mounts[d], types.DatastoreHostMount{
				Key: h.Self,
				MountInfo: types.HostMountInfo{
					Path:       "/vmfs/volumes/" + volumeID(ds.Summary.Url),
					AccessMode: string(types.HostMountModeReadWrite),
					Mounted:    &yes,
					Accessible: &yes,
				},
			})
		}
	}
	for d, m := range mounts {
		if ds, ok := simulator.Map.Get(d).(*simulator.Datastore); ok {
			ds.Host = m
		}
	}
}

func expandPerfInstances(datastorePerf bool) {
	ref := types.ManagedObjectReference{Type: "PerformanceManager", Value: "PerfMgr"}
	if pm, ok := simulator.Map.Get(ref).(*simulator.PerformanceManager); ok {
		ip := &instancePerf{PerformanceManager: pm}
		if datastorePerf {
			ip.datastoreCounters = map[int32]bool{}
			for _, c := range pm.PerfCounter {
				if c.GroupInfo.GetElementDescription().Key == "datastore" {
					ip.datastoreCounters[c.Key] = true
				}
			}
		}
		simulator.Map.Put(ip)
	}
}

// addExtras fills properties vcsim leaves empty, so tests can check the exporter's reading of them.
func addExtras() {
	for i, e := range simulator.Map.All("VirtualMachine") {
		vm := e.(*simulator.VirtualMachine)
		vm.Guest.ToolsVersionStatus2 = string(types.VirtualMachineToolsVersionStatusGuestToolsCurrent)
		vm.Guest.Disk = []types.GuestDiskInfo{
			{DiskPath: "/", Capacity: int64(10+i) << 30, FreeSpace: int64(3+i) << 30},
			{DiskPath: "C:\\", Capacity: 64 << 30, FreeSpace: int64(i+1) << 20},
		}
	}
	for i, e := range simulator.Map.All("HostSystem") {
		h := e.(*simulator.HostSystem)
		var sensors []types.HostNumericSensorInfo
		if rt := h.Runtime.HealthSystemRuntime; rt != nil && rt.SystemHealthInfo != nil {
			sensors = append(sensors, rt.SystemHealthInfo.NumericSensorInfo...)
		}
		health := func(key string) *types.ElementDescription {
			return &types.ElementDescription{Description: types.Description{Label: key, Summary: key}, Key: key}
		}
		sensors = append(sensors,
			types.HostNumericSensorInfo{Name: "System Board 1 Inlet Temp", HealthState: health("green"), CurrentReading: int64(2350 + i), UnitModifier: -2, BaseUnits: "Degrees C", SensorType: "temperature"},
			types.HostNumericSensorInfo{Name: "Fan Block 1 FAN1", HealthState: health("yellow"), CurrentReading: int64(564 + i), UnitModifier: 1, BaseUnits: "RPM", SensorType: "fan"},
			types.HostNumericSensorInfo{Name: "Power Supply 1 PS1 Input Power", HealthState: health("red"), CurrentReading: int64(120 + i), UnitModifier: 0, BaseUnits: "Watts", SensorType: "power"},
		)
		// Hardware status: vcsim's CPU sockets kept, a memory element and a storage controller added
		// (yellow on the first host), so every component has an element and not all are green.
		hw := &types.HostHardwareStatusInfo{}
		if rt := h.Runtime.HealthSystemRuntime; rt != nil && rt.HardwareStatusInfo != nil {
			hw.CpuStatusInfo = append(hw.CpuStatusInfo, rt.HardwareStatusInfo.CpuStatusInfo...)
		}
		hwHealth := func(key string) *types.ElementDescription {
			return &types.ElementDescription{Description: types.Description{Label: key, Summary: key}, Key: key}
		}
		storage := "Green"
		if i == 0 {
			storage = "Yellow"
		}
		hw.MemoryStatusInfo = append(hw.MemoryStatusInfo, &types.HostHardwareElementInfo{Name: "System Memory", Status: hwHealth("Green")})
		hw.StorageStatusInfo = append(hw.StorageStatusInfo, types.HostStorageElementInfo{HostHardwareElementInfo: types.HostHardwareElementInfo{Name: "Storage controller 0", Status: hwHealth(storage)}})
		h.Runtime.HealthSystemRuntime = &types.HealthSystemRuntime{SystemHealthInfo: &types.HostSystemHealthInfo{NumericSensorInfo: sensors}, HardwareStatusInfo: hw}
		// The first host's second physical NIC has no link (vim25: linkSpeed unset). Config and its
		// network info may be shared between hosts: copied before the change.
		if i == 0 && h.Config != nil && h.Config.Network != nil && len(h.Config.Network.Pnic) > 1 {
			cfg := *h.Config
			network := *cfg.Network
			network.Pnic = append([]types.PhysicalNic(nil), network.Pnic...)
			network.Pnic[1].LinkSpeed = nil
			cfg.Network = &network
			h.Config = &cfg
		}
	}
}
