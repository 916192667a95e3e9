package agent

import (
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/berth-platform/berth/internal/wire"
)

// defaultPorts is the host port range an agent offers when --resources does
// not name one (Mesos' default agent range).
func defaultPorts() []wire.PortRange { return []wire.PortRange{{Begin: 31000, End: 32000}} }

// ParsedResources is the result of parsing --resources: which dimensions the
// operator set explicitly. Unset ones are detected from the host.
type ParsedResources struct {
	Res                            wire.Resources
	HasCPUs, HasMem, HasDisk, HasP bool
}

// ParseResources parses "cpus:4;mem:8192;disk:20000;gpus:0;ports:[31000-32000,33000-33100]".
// An empty string sets nothing.
func ParseResources(s string) (ParsedResources, error) {
	var p ParsedResources
	for _, item := range splitItems(s) {
		key, val, ok := strings.Cut(item, ":")
		if !ok {
			return p, fmt.Errorf("resources: %q: want name:value", item)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if key == "ports" {
			ranges, err := ParsePortRanges(val)
			if err != nil {
				return p, fmt.Errorf("resources: ports: %w", err)
			}
			p.Res.Ports, p.HasP = ranges, true
			continue
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return p, fmt.Errorf("resources: %s: %q is not a non-negative number", key, val)
		}
		switch key {
		case "cpus":
			p.Res.CPUs, p.HasCPUs = f, true
		case "mem":
			p.Res.Mem, p.HasMem = f, true
		case "disk":
			p.Res.Disk, p.HasDisk = f, true
		case "gpus":
			p.Res.GPUs = f
		default:
			return p, fmt.Errorf("resources: unknown resource %q (want cpus, mem, disk, gpus, ports)", key)
		}
	}
	return p, nil
}

// ParsePortRanges parses "[31000-32000,33000-33010]" (brackets optional; a
// single port "31000" is the range 31000-31000). Ranges are sorted and must
// not overlap.
func ParsePortRanges(s string) ([]wire.PortRange, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	var out []wire.PortRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		b, err1 := strconv.Atoi(strings.TrimSpace(lo))
		e := b
		var err2 error
		if isRange {
			e, err2 = strconv.Atoi(strings.TrimSpace(hi))
		}
		if err1 != nil || err2 != nil || b < 1 || e > 65535 || b > e {
			return nil, fmt.Errorf("bad port range %q (want begin-end within 1-65535)", part)
		}
		out = append(out, wire.PortRange{Begin: b, End: e})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no port range in %q", s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Begin < out[j].Begin })
	for i := 1; i < len(out); i++ {
		if out[i].Begin <= out[i-1].End {
			return nil, fmt.Errorf("port ranges %d-%d and %d-%d overlap", out[i-1].Begin, out[i-1].End, out[i].Begin, out[i].End)
		}
	}
	return out, nil
}

// ParseAttributes parses "rack:r1;zone:z1" into a map. Values may contain
// ':'; keys must be non-empty and unique.
func ParseAttributes(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range splitItems(s) {
		key, val, ok := strings.Cut(item, ":")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" {
			return nil, fmt.Errorf("attributes: %q: want name:value", item)
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("attributes: %q given twice", key)
		}
		out[key] = val
	}
	return out, nil
}

func splitItems(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ";") {
		if strings.TrimSpace(item) != "" {
			out = append(out, item)
		}
	}
	return out
}

// HostFacts are what resource detection needs to know about the host.
type HostFacts struct {
	CPUs     int
	MemMiB   float64 // total memory
	DiskMiB  float64 // total size of the work dir's file system
	HaveMem  bool
	HaveDisk bool
}

// Complete fills the dimensions the operator did not set, from the host,
// the way a Mesos agent does: all CPUs; memory minus max(1 GiB, half) when
// the host has at least 2 GiB, else half; disk minus max(5 GiB, half) when
// it has at least 10 GiB, else half; ports [31000-32000].
func (p ParsedResources) Complete(h HostFacts) wire.Resources {
	r := p.Res
	if !p.HasCPUs {
		r.CPUs = float64(h.CPUs)
	}
	if !p.HasMem && h.HaveMem {
		r.Mem = math.Floor(reserveLeft(h.MemMiB, 1024, 2048))
	}
	if !p.HasDisk && h.HaveDisk {
		r.Disk = math.Floor(reserveLeft(h.DiskMiB, 5*1024, 10*1024))
	}
	if !p.HasP {
		r.Ports = defaultPorts()
	}
	return r
}

func reserveLeft(total, reserve, threshold float64) float64 {
	if total >= threshold {
		return math.Max(total-reserve, total/2)
	}
	return total / 2
}

// DetectHost reads the host's CPU count, /proc/meminfo and the size of the
// file system holding dir.
func DetectHost(dir string) HostFacts {
	h := HostFacts{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		h.MemMiB, h.HaveMem = parseMemTotal(string(b))
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err == nil {
		h.DiskMiB, h.HaveDisk = float64(st.Blocks)*float64(st.Bsize)/(1<<20), true
	}
	return h
}

func parseMemTotal(meminfo string) (float64, bool) {
	for _, line := range strings.Split(meminfo, "\n") {
		rest, ok := strings.CutPrefix(line, "MemTotal:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return 0, false
		}
		return kb / 1024, true
	}
	return 0, false
}

// DetectAdvertiseIP picks the first IPv4 address of an interface that is
// up, not loopback and not a container bridge (docker0, br-*, veth*), or
// 127.0.0.1 when there is none.
func DetectAdvertiseIP() string {
	ifs, err := net.Interfaces()
	if err != nil {
		return "127.0.0.1"
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 || isBridgeName(ifc.Name) {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
				return ipn.IP.String()
			}
		}
	}
	return "127.0.0.1"
}

func isBridgeName(name string) bool {
	return name == "docker0" || strings.HasPrefix(name, "br-") || strings.HasPrefix(name, "veth")
}
