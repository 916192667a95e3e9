package templates

import "embed"

//go:embed haproxy.cfg.tmpl nginx.conf.tmpl
var files embed.FS

// HAProxy returns the text of haproxy.cfg.tmpl.
func HAProxy() string { return mustRead("haproxy.cfg.tmpl") }

// Nginx returns the text of nginx.conf.tmpl.
func Nginx() string { return mustRead("nginx.conf.tmpl") }

func mustRead(name string) string {
	b, err := files.ReadFile(name)
	if err != nil {
		// Unreachable: the names are embedded at compile time.
		panic("templates: " + name + ": " + err.Error())
	}
	return string(b)
}
