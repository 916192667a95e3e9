package lbsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// Default nginx commands.
const (
	DefaultNginxCheck  = "nginx -t -q"
	DefaultNginxReload = "nginx -s reload"
)

// NginxTargetConfig configures the built-in nginx target, which renders
// templates/nginx.conf.tmpl over the routing model.
type NginxTargetConfig struct {
	Template    *template.Template // default: templates/nginx.conf.tmpl
	Port        int                // the port its server blocks listen on
	Destination string             // a file included from nginx's http {} block
	Check       string             // run after the swap; default DefaultNginxCheck
	Reload      string             // run after a good check; default DefaultNginxReload
	Logger      *slog.Logger
}

// NginxTarget keeps one nginx include file in step with the model.
type NginxTarget struct {
	cfg  NginxTargetConfig
	last []byte
}

// NewNginxTarget returns the built-in nginx target.
func NewNginxTarget(cfg NginxTargetConfig) *NginxTarget {
	if cfg.Template == nil {
		cfg.Template = DefaultNginxTemplate()
	}
	if cfg.Check == "" {
		cfg.Check = DefaultNginxCheck
	}
	if cfg.Reload == "" {
		cfg.Reload = DefaultNginxReload
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &NginxTarget{cfg: cfg}
}

// Name identifies the target in events and metrics.
func (n *NginxTarget) Name() string { return "nginx:" + n.cfg.Destination }

// Apply renders the model and, when it changed, swaps it in checked.
func (n *NginxTarget) Apply(ctx context.Context, m Model) (Outcome, error) {
	content, err := Render(n.cfg.Template, BuildNginxView(m, n.cfg.Port))
	if err != nil {
		return Outcome{}, err
	}
	if bytes.Equal(content, n.last) {
		return Outcome{Action: ActionNone, Why: "rendered config unchanged"}, nil
	}
	if err := swapChecked(ctx, n.Name(), n.cfg.Destination, content, n.cfg.Check, n.cfg.Reload); err != nil {
		return Outcome{}, err
	}
	n.last = content
	return Outcome{Action: ActionWrite, Why: "rendered config changed"}, nil
}

// swapChecked installs content at dest (keeping dest.bak), runs check —
// nginx can only check its whole configuration, which includes dest — and
// restores the previous file if the check fails; only then runs reload.
// nginx reads dest only on reload, so the candidate never serves unchecked.
func swapChecked(ctx context.Context, target, dest string, content []byte, check, reload string) error {
	if cur, err := os.ReadFile(dest); err == nil && bytes.Equal(cur, content) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(dest), ".lbsync-*")
	if err != nil {
		return fmt.Errorf("%s: temp file: %w", target, err)
	}
	_, err = f.Write(content)
	if err = errors.Join(err, f.Close()); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: write %s: %w", target, f.Name(), err)
	}
	_, statErr := os.Stat(dest)
	hadOld := statErr == nil
	if err := installFile(f.Name(), dest); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("%s: %w", target, err)
	}
	if err := runShell(ctx, check); err != nil {
		if hadOld {
			os.Rename(dest+".bak", dest)
		} else {
			os.Remove(dest)
		}
		return &ValidationError{Target: target, Err: err}
	}
	if err := runShell(ctx, reload); err != nil {
		return fmt.Errorf("%s: reload: %w", target, err)
	}
	return nil
}

// runShell runs an operator-given command line with /bin/sh -c, bounded
// by 30 s like consul-template's commands.
func runShell(ctx context.Context, cmdline string) error {
	if strings.TrimSpace(cmdline) == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/bin/sh", "-c", cmdline).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%q: %w: %s", cmdline, err, strings.TrimSpace(string(out)))
	}
	return nil
}
