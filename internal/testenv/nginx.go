package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// NginxBinary returns the path of nginx (Debian's nginx-light).
func NginxBinary(t testing.TB) string {
	t.Helper()
	p, err := lookBinary("nginx", "/usr/sbin/nginx")
	Need(t, "nginx (Debian package nginx-light)", err)
	return p
}

// Nginx is an nginx master process with its own prefix directory.
type Nginx struct {
	Dir      string
	ConfPath string
	proc     *Process
	t        testing.TB
}

// NginxMainConf wraps the contents of an http block in a complete nginx.conf
// whose pid, logs and temp paths all live under dir.
func NginxMainConf(dir, httpBlock string) string {
	return fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s
}
`, dir, httpBlock)
}

// StartNginx writes NginxMainConf(dir, httpBlock), checks it with `nginx -t`
// and starts nginx, waiting for its pid file. It is stopped when the test ends.
func StartNginx(t testing.TB, httpBlock string) *Nginx {
	t.Helper()
	bin := NginxBinary(t)
	dir := t.TempDir()
	n := &Nginx{Dir: dir, ConfPath: filepath.Join(dir, "nginx.conf"), t: t}
	if err := n.WriteConfig(httpBlock); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	n.proc = startProcess(t, "nginx", dir, nil, bin, "-p", dir, "-e", filepath.Join(dir, "error.log"), "-c", n.ConfPath)
	err := Poll(20*time.Second, func() error {
		if n.proc.Exited() {
			return errors.New("nginx exited")
		}
		_, err := os.Stat(filepath.Join(dir, "nginx.pid"))
		return err
	})
	if err != nil {
		t.Fatalf("testenv: nginx did not start: %v\n%s", err, n.proc.LogTail())
	}
	return n
}

// WriteConfig writes a new configuration and checks it with `nginx -t`;
// a failing check leaves the previous file in place.
func (n *Nginx) WriteConfig(httpBlock string) error {
	tmp := n.ConfPath + ".new"
	if err := os.WriteFile(tmp, []byte(NginxMainConf(n.Dir, httpBlock)), 0o644); err != nil {
		return err
	}
	if err := n.run("-t", "-c", tmp); err != nil {
		return err
	}
	return os.Rename(tmp, n.ConfPath)
}

// Reload runs `nginx -s reload`.
func (n *Nginx) Reload() error { return n.run("-s", "reload", "-c", n.ConfPath) }

// MasterPID is the pid of the nginx master.
func (n *Nginx) MasterPID() int { return n.proc.PID() }

// Process exposes the master process.
func (n *Nginx) Process() *Process { return n.proc }

func (n *Nginx) run(args ...string) error {
	argv := append([]string{"-p", n.Dir, "-e", filepath.Join(n.Dir, "error.log")}, args...)
	out, err := exec.Command(NginxBinary(n.t), argv...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("nginx %v: %v: %s", args, err, out)
	}
	return nil
}
