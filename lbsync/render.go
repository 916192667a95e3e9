package lbsync

import (
	"bytes"
	"fmt"
	"text/template"

	"github.com/berth-platform/berth/templates"
)

// ParseTemplate parses a config template. Templates get no functions
// beyond text/template's built-ins: everything they show is computed in Go.
func ParseTemplate(name, text string) (*template.Template, error) {
	t, err := template.New(name).Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template %s: %w", name, err)
	}
	return t, nil
}

// DefaultHAProxyTemplate is templates/haproxy.cfg.tmpl, parsed.
func DefaultHAProxyTemplate() *template.Template {
	t, err := ParseTemplate("haproxy.cfg.tmpl", templates.HAProxy())
	if err != nil {
		panic(err) // the embedded template is tested
	}
	return t
}

// DefaultNginxTemplate is templates/nginx.conf.tmpl, parsed.
func DefaultNginxTemplate() *template.Template {
	t, err := ParseTemplate("nginx.conf.tmpl", templates.Nginx())
	if err != nil {
		panic(err) // the embedded template is tested
	}
	return t
}

// Render executes t over data. It is pure.
func Render(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return buf.Bytes(), nil
}
