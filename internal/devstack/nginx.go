package devstack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// nginxMainConf is nginx.conf for the dev nginx: everything under dir, and
// the http block includes whatever lbsync renders into conf.d.
func nginxMainConf(dir string) string {
	return fmt.Sprintf(`daemon off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %[1]s/tmp/client_body;
    proxy_temp_path %[1]s/tmp/proxy;
    fastcgi_temp_path %[1]s/tmp/fastcgi;
    uwsgi_temp_path %[1]s/tmp/uwsgi;
    scgi_temp_path %[1]s/tmp/scgi;
    include %[1]s/conf.d/*.conf;
}
`, dir)
}

// nginxCmd is an nginx command line (check, reload) for the dev nginx.
func (s *Stack) nginxCmd(args string) string {
	dir := filepath.Join(s.cfg.WorkDir, "nginx")
	return fmt.Sprintf("%s -p %s/ -e %s/error.log -c %s %s", s.cfg.Nginx, dir, dir, s.nginxConf, args)
}

func (s *Stack) startNginx(ctx context.Context) (string, error) {
	dir := filepath.Join(s.cfg.WorkDir, "nginx")
	s.nginxConf = filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(s.nginxConf, []byte(nginxMainConf(dir)), 0o644); err != nil {
		return "", fmt.Errorf("nginx: %w", err)
	}
	// A config rendered by an earlier run may name instances that are gone.
	os.Remove(filepath.Join(dir, "conf.d", "classic.conf"))
	os.Remove(filepath.Join(dir, "nginx.pid"))
	argv := append([]string{s.cfg.Nginx}, strings.Fields(s.nginxCmd(""))[1:]...)
	c, err := startChild("nginx", s.logPath("nginx"), argv...)
	if err != nil {
		return "", err
	}
	s.nginx = c
	detail := "no classic template"
	if s.cfg.ClassicTemplate != "" {
		detail = fmt.Sprintf(":%d once service \"nginx\" has instances", s.cfg.ClassicPort)
	}
	return detail, c.waitReady(ctx, 20*time.Second, func(context.Context) error {
		b, err := os.ReadFile(filepath.Join(dir, "nginx.pid"))
		if err != nil {
			return err
		}
		if _, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			return fmt.Errorf("pid file: %w", err)
		}
		return nil
	})
}

// classicTemplate is the path of the classic template with its port: the
// file itself when it is 8085, else a copy in the work dir.
func (s *Stack) classicTemplate() (string, error) {
	src, err := filepath.Abs(s.cfg.ClassicTemplate)
	if err != nil {
		return "", err
	}
	if s.cfg.ClassicPort == 8085 {
		return src, nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("classic nginx template: %w", err)
	}
	text := strings.ReplaceAll(string(b), "listen 8085;", fmt.Sprintf("listen %d;", s.cfg.ClassicPort))
	dst := filepath.Join(s.cfg.WorkDir, "nginx", "classic.ctmpl")
	if err := os.WriteFile(dst, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("classic nginx template: %w", err)
	}
	return dst, nil
}
