// Command govmomi-bench does Telegraf's vsphere input collection of VMs and hosts with govmomi,
// for vsphere-exporter's benchmark (bench/govmomi.ts, docs/performance.md "The govmomi comparison").
// Built offline in GOPATH mode from Debian's golang-github-vmware-govmomi-dev, the same source as
// our vcsim (scripts/build-govmomi-bench.sh). It runs in phases — login, discover, collect 1..N,
// logout — and after each prints one JSON line {"phase","wall_ms","cpu_ms",...} to stdout; with
// -step it then waits for a line on stdin, so the benchmark can count each phase's calls at its
// counting proxy. The password is read from a file and never printed.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"
)

// phaseReport is one line of output.
type phaseReport struct {
	Phase   string  `json:"phase"`
	WallMs  float64 `json:"wall_ms"`
	CPUMs   float64 `json:"cpu_ms"`
	Samples int64   `json:"samples,omitempty"`
	Series  int64   `json:"series,omitempty"`
	Queries int64   `json:"queries,omitempty"`
	Objects int     `json:"objects,omitempty"`
	Metrics int     `json:"metrics_per_object,omitempty"`
	PeakRSS int64   `json:"peak_rss_kib"`
	Error   string  `json:"error,omitempty"`
}

func cpuMs() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
}

func peakRSSKiB() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss // KiB on Linux
}

func main() {
	rawURL := flag.String("url", "", "vCenter SDK URL, e.g. http://127.0.0.1:8989/sdk")
	user := flag.String("user", "", "user name")
	passwordFile := flag.String("password-file", "", "file holding the password (first line)")
	collections := flag.Int("collections", 3, "collections (Telegraf Gather calls) after discovery")
	objects := flag.Int("objects", 0, "realtime objects per QueryPerf; 0: Telegraf's code (up to 50,000 metric ids per call)")
	metrics := flag.String("metrics", "sample", "sample: sample.conf's vm_/host_metric_include; all: every available counter (no include list)")
	concurrency := flag.Int("collect-concurrency", 1, "Telegraf collect_concurrency (and discover_concurrency)")
	timeout := flag.Duration("timeout", 60*time.Second, "Telegraf timeout: deadline of each call")
	deadline := flag.Duration("deadline", 10*time.Minute, "deadline of the whole run")
	step := flag.Bool("step", false, "wait for a line on stdin after each phase")
	flag.Parse()

	if *rawURL == "" || *user == "" || *passwordFile == "" || *collections < 1 || *concurrency < 1 || *objects < 0 ||
		(*metrics != "sample" && *metrics != "all") {
		fmt.Fprintln(os.Stderr, "usage: govmomi-bench -url URL -user USER -password-file FILE [-collections N] [-objects N] [-step]")
		os.Exit(2)
	}
	pw, err := os.ReadFile(*passwordFile)
	if err != nil {
		fail(err)
	}
	u, err := url.Parse(*rawURL)
	if err != nil {
		fail(err)
	}
	u.User = url.UserPassword(*user, strings.SplitN(string(pw), "\n", 2)[0])

	ctx, cancel := context.WithTimeout(context.Background(), *deadline)
	defer cancel()
	in := bufio.NewReader(os.Stdin)
	out := json.NewEncoder(os.Stdout)
	// Each phase's figures, then (with -step) a pause until the benchmark has drained its proxy.
	phase := func(name string, run func(r *phaseReport) error) {
		r := phaseReport{Phase: name}
		t0, c0 := time.Now(), cpuMs()
		err := run(&r)
		r.WallMs = float64(time.Since(t0).Microseconds()) / 1000
		r.CPUMs = cpuMs() - c0
		r.PeakRSS = peakRSSKiB()
		if err != nil {
			r.Error = err.Error()
		}
		if e := out.Encode(r); e != nil {
			os.Exit(1)
		}
		if err != nil {
			os.Exit(1)
		}
		if *step {
			if _, e := in.ReadString('\n'); e != nil {
				os.Exit(1) // the benchmark went away
			}
		}
	}

	t := &telegraf{timeout: *timeout, concurrency: *concurrency, objectsPerQuery: *objects, allMetrics: *metrics == "all"}
	phase("login", func(*phaseReport) error { return t.connect(ctx, u) })
	phase("discover", func(r *phaseReport) error {
		err := t.discover(ctx)
		for _, k := range t.kinds {
			r.Objects += len(k.objects)
			if len(k.metrics) > r.Metrics {
				r.Metrics = len(k.metrics)
			}
		}
		return err
	})
	var lastEnd time.Time
	for i := 1; i <= *collections; i++ {
		// Telegraf collects at its interval (≥ 20 s for realtime data); a collection in the same
		// second as the last sample would find nothing new to ask for. Not timed.
		if wait := time.Until(lastEnd.Add(1100 * time.Millisecond)); wait > 0 {
			time.Sleep(wait)
		}
		phase(fmt.Sprintf("collect%d", i), func(r *phaseReport) error {
			st, err := t.collect(ctx)
			r.Samples, r.Series, r.Queries = st.samples, st.series, st.queries
			lastEnd = time.Now()
			return err
		})
	}
	phase("logout", func(*phaseReport) error { return t.close(ctx) })
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "govmomi-bench: %v\n", err)
	os.Exit(1)
}
