// gocni-driver: runs pod sandboxes through containerd's go-cni and libcni the way containerd's
// CRI plugin does on a Windows node, and writes what happened as JSON.
//
// For each pod: an HCN namespace is made with `hnsctl namespace create` (containerd asks HCS for
// one; its GUID is the pod's netns "path"), then go-cni Setup with the CRI's labels and
// capabilities (port mappings, DNS, pod annotations), the endpoint HNS now holds for that
// namespace is read with `hnsctl list endpoints --json`, then Check, Remove, Remove again (the
// kubelet retries StopPodSandbox, so DEL must be idempotent), and the namespace is deleted.
//
// Built in GOPATH mode against Debian's packages, with no module proxy:
//
//	GO111MODULE=off GOPATH=<scratch>:/usr/share/gocode go build -o gocni-driver ./test/gocni/driver
//
// The plugins inherit this process's environment (libcni passes os.Environ() plus CNI_*), so
// CNI_HNS_BACKEND, CNI_HNS_EMULATOR_DIR, CNI_STATE_DIR and CNI_LOG_FILE set for the driver reach
// them, and hnsctl.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	gocni "github.com/containerd/go-cni"
	"github.com/containernetworking/cni/libcni"
)

type options struct {
	conflist     string
	confDir      string
	binDirs      string
	hnsctl       string
	pods         int
	inFlight     int
	out          string
	cacheDir     string
	hostPortBase int
	podNamespace string
	podPrefix    string
	ifPrefix     string
	stepTimeout  time.Duration
}

// Step is one operation on one pod, in the order they ran.
type Step struct {
	Name    string  `json:"name"`
	Outcome string  `json:"outcome"` // "ok", "failed" or "skipped"
	Error   string  `json:"error,omitempty"`
	Ms      float64 `json:"ms"`
}

// IfaceReport is go-cni's view of one interface of the Setup result.
type IfaceReport struct {
	Mac     string   `json:"mac"`
	Sandbox string   `json:"sandbox"`
	IPs     []string `json:"ips"`
}

// PodReport is everything known about one pod sandbox.
type PodReport struct {
	Index      int                    `json:"index"`
	SandboxID  string                 `json:"sandboxId"`
	Name       string                 `json:"name"`
	Namespace  string                 `json:"namespace"` // the HCN namespace GUID passed as the netns path
	PodUID     string                 `json:"podUid"`
	HostPort   int32                  `json:"hostPort"`
	IP         string                 `json:"ip"`  // the primary pod IP, chosen as containerd's CRI does
	IPs        []string               `json:"ips"` // every IP go-cni assigned to eth0
	Interfaces map[string]IfaceReport `json:"interfaces,omitempty"`
	Endpoint   map[string]interface{} `json:"endpoint,omitempty"` // the HNS endpoint in the pod's namespace, while the pod was up
	Cached     *cachedRequest         `json:"libcniCache,omitempty"`
	Steps      []Step                 `json:"steps"`
	Failed     bool                   `json:"failed"`
}

// cachedRequest is the part of libcni's result cache that shows what the runtime sent.
type cachedRequest struct {
	CniArgs        [][2]string            `json:"cniArgs,omitempty"`
	CapabilityArgs map[string]interface{} `json:"capabilityArgs,omitempty"`
}

// Report is the driver's output file.
type Report struct {
	Conflist   string      `json:"conflist,omitempty"`
	ConfDir    string      `json:"confDir,omitempty"`
	BinDirs    []string    `json:"binDirs"`
	Network    string      `json:"network"`
	CNIVersion string      `json:"cniVersion"`
	IfName     string      `json:"ifName"`
	CacheDir   string      `json:"cacheDir"`
	PodCount   int         `json:"podCount"`
	InFlight   int         `json:"inFlight"`
	StartedAt  string      `json:"startedAt"`
	TotalMs    float64     `json:"totalMs"`
	Failures   int         `json:"failures"`
	Error      string      `json:"error,omitempty"` // a failure before any pod ran (loading the conf ...)
	CacheLeft  []string    `json:"cacheLeft"`       // files under <cacheDir>/results after the run
	Pods       []PodReport `json:"pods"`
}

func main() {
	var o options
	flag.StringVar(&o.conflist, "conflist", "", "a .conflist file, loaded with go-cni's WithConfListFile")
	flag.StringVar(&o.confDir, "conf-dir", "", "a conf_dir, loaded as containerd does on Windows (WithPluginConfDir + WithDefaultConf: the first file by name)")
	flag.StringVar(&o.binDirs, "bin-dir", "", "the CNI bin dir(s) (containerd's bin_dir), separated by the OS list separator")
	flag.StringVar(&o.hnsctl, "hnsctl", "", "the hnsctl executable")
	flag.IntVar(&o.pods, "pods", 20, "how many pod sandboxes")
	flag.IntVar(&o.inFlight, "inflight", 5, "how many pods at once")
	flag.StringVar(&o.out, "out", "-", "where the JSON report goes (- for stdout)")
	flag.StringVar(&o.cacheDir, "cache-dir", "", "libcni's cache dir (results/ is written there); default: a new temporary directory, removed afterwards")
	flag.IntVar(&o.hostPortBase, "host-port-base", 30000, "pod i maps host port base+i to container port 80/TCP")
	flag.StringVar(&o.podNamespace, "pod-namespace", "default", "K8S_POD_NAMESPACE")
	flag.StringVar(&o.podPrefix, "pod-prefix", "gocni-pod", "K8S_POD_NAME is <prefix>-<index>")
	flag.StringVar(&o.ifPrefix, "if-prefix", "eth", "go-cni's interface prefix (containerd: eth, so the first network is eth0)")
	flag.DurationVar(&o.stepTimeout, "step-timeout", 60*time.Second, "deadline of each step")
	flag.Parse()

	report, err := run(o)
	if report == nil {
		report = &Report{PodCount: o.pods, InFlight: o.inFlight}
	}
	if err != nil {
		report.Error = err.Error()
	}
	if werr := writeReport(o.out, report); werr != nil {
		fmt.Fprintf(os.Stderr, "gocni-driver: writing the report: %v\n", werr)
		os.Exit(2)
	}
	switch {
	case err != nil:
		fmt.Fprintf(os.Stderr, "gocni-driver: %v\n", err)
		os.Exit(2)
	case report.Failures > 0:
		fmt.Fprintf(os.Stderr, "gocni-driver: %d of %d pods had a failed step\n", report.Failures, len(report.Pods))
		os.Exit(1)
	}
}

func writeReport(out string, r *Report) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if out == "-" || out == "" {
		_, err = os.Stdout.Write(data)
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func run(o options) (*Report, error) {
	if (o.conflist == "") == (o.confDir == "") {
		return nil, errors.New("give exactly one of -conflist and -conf-dir")
	}
	if o.binDirs == "" || o.hnsctl == "" {
		return nil, errors.New("-bin-dir and -hnsctl are required")
	}
	if o.pods < 1 || o.inFlight < 1 {
		return nil, errors.New("-pods and -inflight must be at least 1")
	}
	dirs := filepath.SplitList(o.binDirs)

	// libcni keeps each ADD's result (and the runtime's arguments) in <CacheDir>/results/
	// <network>-<containerID>-<ifname> and reads it back for CHECK and DEL. go-cni builds its
	// libcni.CNIConfig without a cache dir, so libcni falls back to this package variable.
	removeCache := false
	if o.cacheDir == "" {
		d, err := os.MkdirTemp("", "gocni-cache-")
		if err != nil {
			return nil, err
		}
		o.cacheDir, removeCache = d, true
	}
	libcni.CacheDir = o.cacheDir
	if removeCache {
		defer os.RemoveAll(o.cacheDir)
	}

	// containerd's CRI: cni.New(WithMinNetworkCount, WithPluginConfDir, WithPluginMaxConfNum,
	// WithPluginDir), then Load(WithDefaultConf) on Windows (no loopback network there).
	newOpts := []gocni.Opt{gocni.WithMinNetworkCount(1), gocni.WithPluginDir(dirs), gocni.WithInterfacePrefix(o.ifPrefix)}
	var loadOpts []gocni.Opt
	if o.confDir != "" {
		newOpts = append(newOpts, gocni.WithPluginConfDir(o.confDir), gocni.WithPluginMaxConfNum(1))
		loadOpts = []gocni.Opt{gocni.WithDefaultConf}
	} else {
		loadOpts = []gocni.Opt{gocni.WithConfListFile(o.conflist)}
	}
	cni, err := gocni.New(newOpts...)
	if err != nil {
		return nil, fmt.Errorf("go-cni New: %w", err)
	}
	if err := cni.Load(loadOpts...); err != nil {
		return nil, fmt.Errorf("go-cni Load: %w", err)
	}
	if err := cni.Status(); err != nil {
		return nil, fmt.Errorf("go-cni Status: %w", err)
	}

	cfg := cni.GetConfig()
	report := &Report{
		Conflist:  o.conflist,
		ConfDir:   o.confDir,
		BinDirs:   dirs,
		CacheDir:  o.cacheDir,
		PodCount:  o.pods,
		InFlight:  o.inFlight,
		StartedAt: time.Now().UTC().Format(time.RFC3339Nano),
		Pods:      make([]PodReport, o.pods),
	}
	if len(cfg.Networks) > 0 {
		report.Network = cfg.Networks[0].Config.Name
		report.CNIVersion = cfg.Networks[0].Config.CNIVersion
		report.IfName = cfg.Networks[0].IFName
	}

	start := time.Now()
	sem := make(chan struct{}, o.inFlight)
	var wg sync.WaitGroup
	for i := 0; i < o.pods; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			report.Pods[i] = runPod(cni, o, report.Network, i)
		}(i)
	}
	wg.Wait()
	report.TotalMs = ms(time.Since(start))

	for _, p := range report.Pods {
		if p.Failed {
			report.Failures++
		}
	}
	report.CacheLeft = listFiles(filepath.Join(o.cacheDir, "results"))
	return report, nil
}

// runPod is one pod sandbox's network life, as the CRI plugin drives it.
func runPod(cni gocni.CNI, o options, network string, i int) PodReport {
	p := PodReport{
		Index:     i,
		SandboxID: randomHex(32),
		Name:      fmt.Sprintf("%s-%d", o.podPrefix, i),
		PodUID:    randomUUID(),
		HostPort:  int32(o.hostPortBase + i),
		IPs:       []string{},
	}
	step := func(name string, fn func(ctx context.Context) error) bool {
		ctx, cancel := context.WithTimeout(context.Background(), o.stepTimeout)
		defer cancel()
		t := time.Now()
		err := fn(ctx)
		s := Step{Name: name, Outcome: "ok", Ms: ms(time.Since(t))}
		if err != nil {
			s.Outcome, s.Error, p.Failed = "failed", err.Error(), true
		}
		p.Steps = append(p.Steps, s)
		return err == nil
	}
	skip := func(name, why string) {
		p.Steps = append(p.Steps, Step{Name: name, Outcome: "skipped", Error: why})
		p.Failed = true
	}

	if !step("namespace-create", func(ctx context.Context) error {
		out, err := hnsctl(ctx, o.hnsctl, "namespace", "create")
		if err != nil {
			return err
		}
		p.Namespace = strings.TrimSpace(out)
		if p.Namespace == "" {
			return errors.New("hnsctl namespace create printed no id")
		}
		return nil
	}) {
		for _, n := range []string{"setup", "capture-endpoint", "check", "remove", "remove-again", "namespace-delete"} {
			skip(n, "no namespace")
		}
		return p
	}

	// The CRI's options for a sandbox (containerd pkg/cri: toCNILabels, toCNIPortMappings,
	// toCNIDNS, the pod annotations capability). The same options go to Setup, Check and Remove.
	nsOpts := []gocni.NamespaceOpts{
		gocni.WithLabels(map[string]string{
			"K8S_POD_NAMESPACE":          o.podNamespace,
			"K8S_POD_NAME":               p.Name,
			"K8S_POD_INFRA_CONTAINER_ID": p.SandboxID,
			"K8S_POD_UID":                p.PodUID,
			"IgnoreUnknown":              "1",
		}),
		gocni.WithCapability("io.kubernetes.cri.pod-annotations", map[string]string{"kubernetes.io/config.source": "api"}),
		gocni.WithCapabilityPortMap([]gocni.PortMapping{{HostPort: p.HostPort, ContainerPort: 80, Protocol: "TCP"}}),
		gocni.WithCapabilityDNS(gocni.DNS{
			Servers:  []string{"10.96.0.10"},
			Searches: []string{"default.svc.cluster.local", "svc.cluster.local", "cluster.local"},
			Options:  []string{"ndots:5"},
		}),
	}

	setupOK := step("setup", func(ctx context.Context) error {
		res, err := cni.Setup(ctx, p.SandboxID, p.Namespace, nsOpts...)
		if err != nil {
			return err
		}
		p.Interfaces = map[string]IfaceReport{}
		for name, c := range res.Interfaces {
			ir := IfaceReport{Mac: c.Mac, Sandbox: c.Sandbox, IPs: []string{}}
			for _, ipc := range c.IPConfigs {
				ir.IPs = append(ir.IPs, ipc.IP.String())
			}
			p.Interfaces[name] = ir
		}
		// containerd: the sandbox's IPs are those of the default interface; no IP there fails
		// the sandbox ("failed to find network info for sandbox"). IPv4 first is the pod IP.
		def := o.ifPrefix + "0"
		c, ok := res.Interfaces[def]
		if !ok || len(c.IPConfigs) == 0 {
			return fmt.Errorf("failed to find network info for sandbox %q (no IP on %s)", p.SandboxID, def)
		}
		for _, ipc := range c.IPConfigs {
			p.IPs = append(p.IPs, ipc.IP.String())
		}
		p.IP = p.IPs[0]
		for _, ipc := range c.IPConfigs {
			if ipc.IP.To4() != nil {
				p.IP = ipc.IP.String()
				break
			}
		}
		p.Cached = readCache(o.cacheDir, network, p.SandboxID, def)
		return nil
	})

	if setupOK {
		step("capture-endpoint", func(ctx context.Context) error {
			ep, err := endpointIn(ctx, o.hnsctl, p.Namespace)
			p.Endpoint = ep
			return err
		})
		step("check", func(ctx context.Context) error { return cni.Check(ctx, p.SandboxID, p.Namespace, nsOpts...) })
	} else {
		skip("capture-endpoint", "setup failed")
		skip("check", "setup failed")
	}
	// A failed Setup is followed by the same teardown (the CRI's deferred cleanup).
	step("remove", func(ctx context.Context) error { return cni.Remove(ctx, p.SandboxID, p.Namespace, nsOpts...) })
	step("remove-again", func(ctx context.Context) error { return cni.Remove(ctx, p.SandboxID, p.Namespace, nsOpts...) })
	step("namespace-delete", func(ctx context.Context) error {
		_, err := hnsctl(ctx, o.hnsctl, "namespace", "delete", p.Namespace)
		return err
	})
	return p
}

func hnsctl(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("hnsctl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// endpointIn returns the one HNS endpoint attached to the namespace.
func endpointIn(ctx context.Context, bin, namespace string) (map[string]interface{}, error) {
	out, err := hnsctl(ctx, bin, "list", "endpoints", "--json")
	if err != nil {
		return nil, err
	}
	var eps []map[string]interface{}
	if err := json.Unmarshal([]byte(out), &eps); err != nil {
		return nil, fmt.Errorf("hnsctl list endpoints --json: %v", err)
	}
	var found []map[string]interface{}
	for _, ep := range eps {
		if ns, _ := ep["HostComputeNamespace"].(string); strings.EqualFold(ns, namespace) {
			found = append(found, ep)
		}
	}
	if len(found) != 1 {
		var first map[string]interface{}
		if len(found) > 0 {
			first = found[0]
		}
		return first, fmt.Errorf("%d HNS endpoints in namespace %s, want 1", len(found), namespace)
	}
	return found[0], nil
}

func readCache(dir, network, id, ifName string) *cachedRequest {
	data, err := os.ReadFile(filepath.Join(dir, "results", fmt.Sprintf("%s-%s-%s", network, id, ifName)))
	if err != nil {
		return nil
	}
	var c cachedRequest
	if json.Unmarshal(data, &c) != nil {
		return nil
	}
	return &c
}

func listFiles(dir string) []string {
	out := []string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return out
	}
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}

func ms(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return b
}

// randomHex: containerd's sandbox ids are 32 random bytes in hex.
func randomHex(n int) string {
	return hex.EncodeToString(randomBytes(n))
}

func randomUUID() string {
	b := randomBytes(16)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
