// Command vcsim starts govmomi's vCenter simulator for vsphere-exporter's demo and tests.
// Built offline in GOPATH mode from Debian's golang-github-vmware-govmomi-dev (see scripts/build-vcsim.sh).
// On start it prints one JSON line {"url": ..., "pid": ...} to stdout, then serves until SIGTERM/SIGINT.
package main

import (
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vmware/govmomi/simulator"
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

func fail(err error) {
	fmt.Fprintln(os.Stderr, "vcsim:", err)
	os.Exit(2)
}
