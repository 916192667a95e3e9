package lbsync

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/berth-platform/berth/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func goldenSettings() HAProxySettings {
	return HAProxySettings{StatsSocket: "/run/berth/haproxy.sock", StateFile: "/var/lib/berth/haproxy.state", StatsPort: 9090}
}

func goldenRules() Rules { return Rules{HTTPPort: 80, ReservedPorts: []int{9090}} }

func renderFixture(t *testing.T, snap Snapshot) (haproxyCfg, nginxConf []byte, warns []Warning) {
	t.Helper()
	m, warns := BuildModel(snap, goldenRules())
	h, err := Render(DefaultHAProxyTemplate(), BuildHAProxyView(m, AssignSlots(nil, m), goldenSettings()))
	if err != nil {
		t.Fatal(err)
	}
	n, err := Render(DefaultNginxTemplate(), BuildNginxView(m, 8081))
	if err != nil {
		t.Fatal(err)
	}
	return h, n, warns
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGoldenConfigs(t *testing.T) {
	for name, snap := range fixtures() {
		t.Run(name, func(t *testing.T) {
			h, n, _ := renderFixture(t, snap)
			checkGolden(t, name+".haproxy", h)
			checkGolden(t, name+".nginx", n)
		})
	}
}

// TestGoldenConfigsAreValid runs the real haproxy -c and nginx -t over every
// rendered fixture.
func TestGoldenConfigsAreValid(t *testing.T) {
	haproxy := testenv.HAProxyBinary(t)
	nginx := testenv.NginxBinary(t)
	for name, snap := range fixtures() {
		t.Run(name, func(t *testing.T) {
			h, n, _ := renderFixture(t, snap)
			dir := t.TempDir()
			cfg := filepath.Join(dir, "haproxy.cfg")
			os.WriteFile(cfg, h, 0o644)
			if out, err := exec.Command(haproxy, "-c", "-q", "-f", cfg).CombinedOutput(); err != nil {
				t.Errorf("haproxy -c: %v\n%s", err, out)
			}
			os.WriteFile(filepath.Join(dir, "berth.conf"), n, 0o644)
			main := filepath.Join(dir, "nginx.conf")
			os.WriteFile(main, []byte(testenv.NginxMainConf(dir, "include "+filepath.Join(dir, "berth.conf")+";")), 0o644)
			if out, err := exec.Command(nginx, "-t", "-q", "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", main).CombinedOutput(); err != nil {
				t.Errorf("nginx -t: %v\n%s", err, out)
			}
		})
	}
}

// TestHostileLabelsNeverReachConfigs proves label values are data: every
// hostile value is rejected with a warning, and the rendered files are
// byte-for-byte those of the same apps with no labels at all.
func TestHostileLabelsNeverReachConfigs(t *testing.T) {
	values := hostileValues()
	if len(values) < 20 {
		t.Fatalf("only %d hostile values", len(values))
	}
	hostile := fixtures()["hostile"]
	h, n, warns := renderFixture(t, hostile)

	labelKeys := hostileLabelKeys()
	var twin Snapshot
	for _, in := range hostile.Instances {
		in.Meta = func() map[string]string {
			m := map[string]string{}
			for k, v := range in.Meta {
				if !slices.Contains(labelKeys, k) {
					m[k] = v
				}
			}
			return m
		}()
		twin.Instances = append(twin.Instances, in)
	}
	th, tn, _ := renderFixture(t, twin)
	if !bytes.Equal(h, th) {
		t.Errorf("hostile labels changed haproxy.cfg:\n%s", h)
	}
	if !bytes.Equal(n, tn) {
		t.Errorf("hostile labels changed the nginx config:\n%s", n)
	}
	// Each hostile app got one warning per label (PATH: "ignored", since
	// no VHOST survived), plus one per bad instance.
	if want := len(values)*len(labelKeys) + 4; len(warns) < want {
		t.Errorf("%d warnings, want at least %d", len(warns), want)
	}
	for _, bad := range []string{"pwned", "6.6.6.6", "/etc/", "evil", "bind :22", "bind :23", "%["} {
		if bytes.Contains(h, []byte(bad)) || bytes.Contains(n, []byte(bad)) {
			t.Errorf("rendered config contains %q", bad)
		}
	}
	if bytes.Contains(h, []byte("$host")) {
		t.Error("haproxy.cfg contains $host")
	}
	// Every app still appears, as a plain tcp service with the defaults.
	for i := range values {
		name := "hostile" + itoa(i) + "_" + itoa(11000+i)
		if !bytes.Contains(h, []byte("backend "+name+"\n    mode tcp\n    balance roundrobin\n")) {
			t.Errorf("backend %s missing or not plain tcp", name)
		}
	}
	for _, w := range warns {
		if strings.ContainsAny(w.String(), "\n\r\x00") {
			t.Errorf("warning carries a raw control character: %q", w.String())
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
