package lbsync

import (
	"slices"
	"strings"
	"testing"
)

func TestBuildModelRules(t *testing.T) {
	tests := []struct {
		name      string
		insts     []Instance
		rules     Rules
		wantPorts []int
		wantWarn  string // substring of some warning; "" = no warnings
		check     func(t *testing.T, m Model)
	}{
		{
			name:      "non-Berth services are ignored silently",
			insts:     []Instance{{Service: "consul", ID: "consul", Address: "10.0.0.1", Port: 8300}},
			wantPorts: nil,
		},
		{
			name:      "tcp by default, sorted backends",
			insts:     []Instance{inst("/a", 10001, "10.0.0.9", 31000), inst("/a", 10001, "10.0.0.10", 31000)},
			wantPorts: []int{10001},
			check: func(t *testing.T, m Model) {
				s := m.Services[0]
				if s.Mode != "tcp" || s.Balance != "roundrobin" || s.Name != "a_10001" {
					t.Errorf("service = %+v", s)
				}
				if got := []string{s.Backends[0].Address, s.Backends[1].Address}; !slices.Equal(got, []string{"10.0.0.9", "10.0.0.10"}) {
					t.Errorf("backends not in address order: %v", got)
				}
			},
		},
		{
			name:      "vhost implies http and makes routes",
			insts:     []Instance{inst("/w", 10001, "10.0.0.1", 1, "HAPROXY_0_VHOST", "A.example.com,b.example.com")},
			wantPorts: []int{10001},
			check: func(t *testing.T, m Model) {
				if m.Services[0].Mode != "http" || len(m.Routes) != 2 || m.Routes[0].Host != "a.example.com" {
					t.Errorf("model = %+v", m)
				}
			},
		},
		{
			name:      "servicePort equal to the HTTP port is the default backend",
			insts:     []Instance{inst("/home", 8080, "10.0.0.1", 1)},
			rules:     Rules{HTTPPort: 8080},
			wantPorts: []int{8080},
			check: func(t *testing.T, m Model) {
				if m.Default != "home_8080" || m.Services[0].Mode != "http" {
					t.Errorf("model = %+v", m)
				}
			},
		},
		{
			name:      "reserved port rejected",
			insts:     []Instance{inst("/a", 9090, "10.0.0.1", 1)},
			rules:     Rules{ReservedPorts: []int{9090}},
			wantWarn:  "reserved",
			wantPorts: nil,
		},
		{
			name:      "group filtering: default group external",
			insts:     []Instance{inst("/a", 10001, "10.0.0.1", 1), inst("/b", 10002, "10.0.0.1", 2, MetaGroup, "internal")},
			wantPorts: []int{10001},
		},
		{
			name:      "group filtering: per-port group wins",
			insts:     []Instance{inst("/b", 10002, "10.0.0.1", 2, MetaGroup, "external", "HAPROXY_0_GROUP", "internal")},
			rules:     Rules{Group: "internal"},
			wantPorts: []int{10002},
		},
		{
			name:      "group * exposes everything",
			insts:     []Instance{inst("/a", 10001, "10.0.0.1", 1), inst("/b", 10002, "10.0.0.1", 2, MetaGroup, "internal")},
			rules:     Rules{Group: "*"},
			wantPorts: []int{10001, 10002},
		},
		{
			name:      "two apps on one servicePort: smallest app id keeps it",
			insts:     []Instance{inst("/z", 10001, "10.0.0.1", 1), inst("/a", 10001, "10.0.0.2", 2)},
			wantPorts: []int{10001},
			wantWarn:  "belongs to app",
			check: func(t *testing.T, m Model) {
				if m.Services[0].App != "/a" || len(m.Services[0].Backends) != 1 {
					t.Errorf("service = %+v", m.Services[0])
				}
			},
		},
		{
			name: "labels from the newest version",
			insts: func() []Instance {
				old := inst("/a", 10001, "10.0.0.1", 1, "HAPROXY_0_BALANCE", "source")
				nu := inst("/a", 10001, "10.0.0.2", 2, "HAPROXY_0_BALANCE", "leastconn", MetaVersion, "2027-01-01T00:00:00.000Z")
				return []Instance{old, nu}
			}(),
			wantPorts: []int{10001},
			check: func(t *testing.T, m Model) {
				if m.Services[0].Balance != "leastconn" {
					t.Errorf("balance = %s", m.Services[0].Balance)
				}
			},
		},
		{
			name:      "duplicate endpoints collapse",
			insts:     []Instance{inst("/a", 10001, "10.0.0.1", 1), func() Instance { i := inst("/a", 10001, "10.0.0.1", 1); i.ID = "other"; return i }()},
			wantPorts: []int{10001},
			check: func(t *testing.T, m Model) {
				if len(m.Services[0].Backends) != 1 {
					t.Errorf("backends = %v", m.Services[0].Backends)
				}
			},
		},
		{
			name:      "path without vhost ignored",
			insts:     []Instance{inst("/a", 10001, "10.0.0.1", 1, "HAPROXY_0_PATH", "/api")},
			wantPorts: []int{10001},
			wantWarn:  "routes only together",
		},
		{
			name: "route collision: lower servicePort wins",
			insts: []Instance{inst("/a", 10002, "10.0.0.1", 1, "HAPROXY_0_VHOST", "x.com"),
				inst("/b", 10001, "10.0.0.1", 2, "HAPROXY_0_VHOST", "x.com")},
			wantPorts: []int{10001, 10002},
			wantWarn:  "already belongs to servicePort 10001",
			check: func(t *testing.T, m Model) {
				if len(m.Routes) != 1 || m.Routes[0].ServicePort != 10001 {
					t.Errorf("routes = %+v", m.Routes)
				}
			},
		},
		{
			name:      "port index selects labels",
			insts:     []Instance{inst("/a", 10001, "10.0.0.1", 1, MetaPortIndex, "1", "HAPROXY_0_MODE", "http", "HAPROXY_1_MODE", "tcp")},
			wantPorts: []int{10001},
			check: func(t *testing.T, m Model) {
				if m.Services[0].Mode != "tcp" {
					t.Errorf("mode = %s", m.Services[0].Mode)
				}
			},
		},
		{
			name:      "IPv6 backend",
			insts:     []Instance{inst("/a", 10001, "fd00::1", 31000)},
			wantPorts: []int{10001},
			check: func(t *testing.T, m Model) {
				if got := m.Services[0].Backends[0].HostPort(); got != "[fd00::1]:31000" {
					t.Errorf("hostport = %s", got)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, warns := BuildModel(Snapshot{Instances: tt.insts}, tt.rules)
			var ports []int
			for _, s := range m.Services {
				ports = append(ports, s.ServicePort)
			}
			if !slices.Equal(ports, tt.wantPorts) {
				t.Errorf("servicePorts = %v, want %v", ports, tt.wantPorts)
			}
			var all []string
			for _, w := range warns {
				all = append(all, w.String())
			}
			joined := strings.Join(all, "\n")
			if tt.wantWarn == "" && len(warns) > 0 {
				t.Errorf("unexpected warnings:\n%s", joined)
			}
			if tt.wantWarn != "" && !strings.Contains(joined, tt.wantWarn) {
				t.Errorf("warnings %q lack %q", joined, tt.wantWarn)
			}
			if tt.check != nil && len(m.Services) > 0 {
				tt.check(t, m)
			}
		})
	}
}

func TestBuildModelIsDeterministic(t *testing.T) {
	snap := fixtures()["vhosts"]
	want, wantW := BuildModel(snap, Rules{HTTPPort: 80})
	for i := range 20 {
		shuffled := slices.Clone(snap.Instances)
		for j := range shuffled {
			k := (j*7 + i) % len(shuffled)
			shuffled[j], shuffled[k] = shuffled[k], shuffled[j]
		}
		got, gotW := BuildModel(Snapshot{Instances: shuffled}, Rules{HTTPPort: 80})
		if !modelsEqual(got, want) || len(gotW) != len(wantW) {
			t.Fatalf("order %d gave a different model", i)
		}
	}
}

func modelsEqual(a, b Model) bool {
	ra, _ := Render(DefaultHAProxyTemplate(), BuildHAProxyView(a, AssignSlots(nil, a), HAProxySettings{StatsSocket: "/s", StateFile: "/f"}))
	rb, _ := Render(DefaultHAProxyTemplate(), BuildHAProxyView(b, AssignSlots(nil, b), HAProxySettings{StatsSocket: "/s", StateFile: "/f"}))
	return string(ra) == string(rb)
}
