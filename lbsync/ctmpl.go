package lbsync

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	ctconfig "github.com/hashicorp/consul-template/config"
	"github.com/hashicorp/consul-template/manager"
	"github.com/hashicorp/consul-template/renderer"
)

// TemplateSpec is one --nginx-template in.ctmpl:out.conf[:reload-cmd].
type TemplateSpec struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
	Reload      string `json:"reload"` // default DefaultNginxReload
}

// ParseTemplateSpec parses "in:out[:reload command]"; the command may
// itself contain colons.
func ParseTemplateSpec(s string) (TemplateSpec, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return TemplateSpec{}, fmt.Errorf("template %q: want in.ctmpl:out.conf[:reload-cmd]", s)
	}
	spec := TemplateSpec{Source: parts[0], Destination: parts[1], Reload: DefaultNginxReload}
	if len(parts) == 3 && strings.TrimSpace(parts[2]) != "" {
		spec.Reload = parts[2]
	}
	return spec, nil
}

// TemplateStatus is the last outcome of one consul-template template.
type TemplateStatus struct {
	TemplateSpec
	LastRender time.Time `json:"lastRender,omitzero"`
	LastError  string    `json:"lastError,omitempty"`
	Restarts   int       `json:"runnerRestarts"`
}

// TemplateRunnerConfig configures the consul-template runner.
type TemplateRunnerConfig struct {
	ConsulAddr string
	Token      string
	Templates  []TemplateSpec
	Check      string // nginx -t equivalent, run before every reload
	WaitMin    time.Duration
	WaitMax    time.Duration
	Logger     *slog.Logger
	// OnResult is called after each render attempt of a template (from the
	// runner's goroutine); err is nil on success.
	OnResult func(spec TemplateSpec, err error)
}

// TemplateRunner renders consul-template templates with the library's
// runner and keeps the runner alive: consul-template stops its runner when
// a command fails or Consul retries run out, so Run starts a new one.
type TemplateRunner struct {
	cfg      TemplateRunnerConfig
	mu       sync.Mutex
	restarts int
}

// NewTemplateRunner returns a runner; Run starts it.
func NewTemplateRunner(cfg TemplateRunnerConfig) *TemplateRunner {
	if cfg.Check == "" {
		cfg.Check = DefaultNginxCheck
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnResult == nil {
		cfg.OnResult = func(TemplateSpec, error) {}
	}
	return &TemplateRunner{cfg: cfg}
}

// Restarts is how often the consul-template runner had to be restarted.
func (r *TemplateRunner) Restarts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.restarts
}

// Run supervises consul-template runners until ctx ends.
func (r *TemplateRunner) Run(ctx context.Context) error {
	backoff := time.Second
	for {
		err := r.runOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		r.mu.Lock()
		r.restarts++
		r.mu.Unlock()
		r.cfg.Logger.Warn("consul-template runner stopped; restarting", "err", err, "retry_in", Dur(backoff))
		sleep(ctx, jitter(backoff))
		backoff = min(backoff*2, 30*time.Second)
	}
}

func (r *TemplateRunner) runOnce(ctx context.Context) error {
	cfg, err := r.config(ctx)
	if err != nil {
		return err
	}
	runner, err := manager.NewRunner(cfg, false)
	if err != nil {
		return fmt.Errorf("consul-template: new runner: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runner.Start()
	}()
	defer func() {
		runner.StopImmediately()
		for { // Start may be blocked sending a last error: unblock it
			select {
			case <-done:
				return
			case <-runner.ErrCh:
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-runner.ErrCh:
			return fmt.Errorf("consul-template: %w", err)
		case err := <-runner.ServerErrCh:
			r.cfg.Logger.Warn("consul-template: consul error", "err", err)
		case <-done:
			return fmt.Errorf("consul-template: runner finished")
		}
	}
}

func (r *TemplateRunner) config(ctx context.Context) (*ctconfig.Config, error) {
	c := ctconfig.DefaultConfig()
	if r.cfg.ConsulAddr != "" {
		c.Consul.Address = ctconfig.String(r.cfg.ConsulAddr)
	}
	if r.cfg.Token != "" {
		c.Consul.Token = ctconfig.String(r.cfg.Token)
	}
	c.Consul.Retry.Attempts = ctconfig.Int(0) // retry forever; Run restarts anyway
	if r.cfg.WaitMin > 0 {
		c.Wait = &ctconfig.WaitConfig{Min: ctconfig.TimeDuration(r.cfg.WaitMin), Max: ctconfig.TimeDuration(max(r.cfg.WaitMax, r.cfg.WaitMin))}
	}
	byDest := map[string]TemplateSpec{}
	tmpls := ctconfig.TemplateConfigs{}
	for _, spec := range r.cfg.Templates {
		if _, err := os.Stat(spec.Source); err != nil {
			return nil, fmt.Errorf("consul-template: template %s: %w", spec.Source, err)
		}
		t := ctconfig.DefaultTemplateConfig()
		t.Source = ctconfig.String(spec.Source)
		t.Destination = ctconfig.String(spec.Destination)
		tmpls = append(tmpls, t)
		byDest[spec.Destination] = spec
	}
	c.Templates = &tmpls
	c.RendererFunc = func(in *renderer.RenderInput) (*renderer.RenderResult, error) {
		spec, ok := byDest[in.Path]
		if !ok {
			return renderer.Render(in)
		}
		contents, filled := FillEmptyUpstreams(in.Contents)
		if len(filled) > 0 {
			r.cfg.Logger.Debug("nginx upstreams without instances got a placeholder server", "template", spec.Source, "upstreams", filled)
		}
		if cur, err := os.ReadFile(in.Path); err == nil && string(cur) == string(contents) {
			return &renderer.RenderResult{WouldRender: true, Contents: contents}, nil
		}
		err := swapChecked(ctx, "nginx:"+spec.Destination, in.Path, contents, r.cfg.Check, spec.Reload)
		r.cfg.OnResult(spec, err)
		if err != nil {
			r.cfg.Logger.Error("consul-template render not applied", "template", spec.Source, "err", err)
			// Not an error for the runner: it would stop. The file on
			// disk is unchanged, so the next change retries.
			return &renderer.RenderResult{WouldRender: true, Contents: contents}, nil
		}
		return &renderer.RenderResult{DidRender: true, WouldRender: true, Contents: contents}, nil
	}
	c.Finalize()
	return c, nil
}
