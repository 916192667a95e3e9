package placement

import (
	"slices"
	"strings"
	"testing"
)

func TestServicePorts(t *testing.T) {
	sp, err := NewServicePorts(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	mustAlloc := func(app string, req []int, want []int) {
		t.Helper()
		got, err := sp.Allocate(app, req)
		if err != nil || !slices.Equal(got, want) {
			t.Fatalf("Allocate(%s, %v) = %v, %v; want %v", app, req, got, err, want)
		}
	}
	mustAlloc("/a", []int{0, 0}, []int{10000, 10001})
	mustAlloc("/b", []int{10002, 0}, []int{10002, 10003})
	mustAlloc("/c", []int{80}, []int{80}) // fixed ports may be outside the pool

	_, err = sp.Allocate("/d", []int{10001})
	if err == nil || !strings.Contains(err.Error(), "servicePort 10001 is already used by app /a") {
		t.Fatalf("conflict: %v", err)
	}
	if _, err := sp.Allocate("/d", []int{9000, 9000}); err == nil || !strings.Contains(err.Error(), "9000 listed twice") {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := sp.Allocate("/d", []int{70000}); err == nil {
		t.Fatal("out of range accepted")
	}
	if ports := sp.Ports("/d"); len(ports) != 0 {
		t.Fatalf("failed allocations left %v", ports)
	}

	// Changing ports: 0s keep the app's previous pool ports, others are freed.
	mustAlloc("/a", []int{0}, []int{10000})
	if h, ok := sp.Holder(10001); ok {
		t.Fatalf("10001 still held by %s", h)
	}
	mustAlloc("/a", []int{10000, 0}, []int{10000, 10004})

	sp.Release("/b")
	if _, ok := sp.Holder(10002); ok {
		t.Fatal("release kept 10002")
	}
	mustAlloc("/d", []int{10002}, []int{10002})
}

func TestServicePortsPoolExhaustion(t *testing.T) {
	sp, err := NewServicePorts(100, 102)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Allocate("/a", []int{0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := sp.Allocate("/b", []int{0}); err == nil || !strings.Contains(err.Error(), "pool 100-102 exhausted") {
		t.Fatalf("got %v", err)
	}
	sp.Release("/a")
	got, err := sp.Allocate("/b", []int{0})
	if err != nil || len(got) != 1 {
		t.Fatalf("after release: %v, %v", got, err)
	}
	if _, err := NewServicePorts(200, 100); err == nil {
		t.Fatal("inverted pool accepted")
	}
}

func TestHostPortsFor(t *testing.T) {
	tests := []struct {
		network Network
		ports   []int
		require bool
		want    []int
	}{
		{HostNetwork, []int{0}, false, []int{0}},
		{HostNetwork, []int{8080, 0}, false, []int{0, 0}},
		{HostNetwork, []int{8080, 0}, true, []int{8080, 0}},
		{BridgeNetwork, []int{0, 31005}, false, []int{0, 31005}},
		{UserNetwork, []int{-1, 0, 8080}, false, []int{0, 8080}},
	}
	for _, tt := range tests {
		if got := HostPortsFor(tt.network, tt.ports, tt.require); !slices.Equal(got, tt.want) {
			t.Errorf("HostPortsFor(%v, %v, %v) = %v, want %v", tt.network, tt.ports, tt.require, got, tt.want)
		}
	}
}
