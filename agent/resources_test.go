package agent

import (
	"reflect"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/wire"
)

func TestParseResources(t *testing.T) {
	tests := []struct {
		in      string
		want    wire.Resources
		wantErr string
	}{
		{in: "", want: wire.Resources{}},
		{in: "cpus:4;mem:8192;disk:20000;ports:[31000-32000]", want: wire.Resources{CPUs: 4, Mem: 8192, Disk: 20000, Ports: []wire.PortRange{{Begin: 31000, End: 32000}}}},
		{in: " cpus : 0.5 ; gpus:1", want: wire.Resources{CPUs: 0.5, GPUs: 1}},
		{in: "ports:[33000-33010,31000-31005]", want: wire.Resources{Ports: []wire.PortRange{{Begin: 31000, End: 31005}, {Begin: 33000, End: 33010}}}},
		{in: "ports:31000", want: wire.Resources{Ports: []wire.PortRange{{Begin: 31000, End: 31000}}}},
		{in: "cpus", wantErr: "want name:value"},
		{in: "cpus:-1", wantErr: "not a non-negative number"},
		{in: "cpus:x", wantErr: "not a non-negative number"},
		{in: "foo:1", wantErr: `unknown resource "foo"`},
		{in: "ports:[32000-31000]", wantErr: "bad port range"},
		{in: "ports:[1-70000]", wantErr: "bad port range"},
		{in: "ports:[31000-31010,31005-31020]", wantErr: "overlap"},
		{in: "ports:[]", wantErr: "no port range"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseResources(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Res, tt.want) {
				t.Errorf("got %+v, want %+v", got.Res, tt.want)
			}
		})
	}
}

func TestResourcesComplete(t *testing.T) {
	host := HostFacts{CPUs: 2, MemMiB: 24 * 1024, DiskMiB: 100 * 1024, HaveMem: true, HaveDisk: true}
	tests := []struct {
		name string
		in   string
		host HostFacts
		want wire.Resources
	}{
		{"all detected", "", host, wire.Resources{CPUs: 2, Mem: 23 * 1024, Disk: 95 * 1024, Ports: []wire.PortRange{{Begin: 31000, End: 32000}}}},
		{"explicit wins", "cpus:8;mem:100;disk:5;ports:[40000-40010]", host, wire.Resources{CPUs: 8, Mem: 100, Disk: 5, Ports: []wire.PortRange{{Begin: 40000, End: 40010}}}},
		{"small host keeps half", "", HostFacts{CPUs: 1, MemMiB: 1024, DiskMiB: 4096, HaveMem: true, HaveDisk: true}, wire.Resources{CPUs: 1, Mem: 512, Disk: 2048, Ports: []wire.PortRange{{Begin: 31000, End: 32000}}}},
		{"large host keeps half at least", "", HostFacts{CPUs: 1, MemMiB: 2048, DiskMiB: 10240, HaveMem: true, HaveDisk: true}, wire.Resources{CPUs: 1, Mem: 1024, Disk: 5120, Ports: []wire.PortRange{{Begin: 31000, End: 32000}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseResources(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Complete(tt.host); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDetectHost(t *testing.T) {
	h := DetectHost(t.TempDir())
	if h.CPUs < 1 || !h.HaveMem || h.MemMiB < 64 || !h.HaveDisk || h.DiskMiB <= 0 {
		t.Fatalf("implausible host facts %+v", h)
	}
}

func TestParseAttributes(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]string
		wantErr string
	}{
		{"", map[string]string{}, ""},
		{"rack:r1;zone:z1", map[string]string{"rack": "r1", "zone": "z1"}, ""},
		{"url:http://x:1;", map[string]string{"url": "http://x:1"}, ""},
		{"rack", nil, "want name:value"},
		{":x", nil, "want name:value"},
		{"a:1;a:2", nil, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseAttributes(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
