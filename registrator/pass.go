package registrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// pass brings Consul in step with the containers: refresh what is known
// about them (re-list everything when full, else re-inspect what events
// touched), compute the desired services, read what this registrator owns
// in Consul, plan, apply. Per-item failures are logged and skipped; the
// returned error (if any) makes the loop retry. listed reports a full pass
// whose Docker list succeeded.
func (r *Registrator) pass(ctx context.Context, full bool) (listed bool, err error) {
	var errs []error
	if full {
		// On failure the previous knowledge stays in use: Consul is still
		// kept in step with it, and the retry re-lists.
		listed, err = r.refreshAll(ctx)
	} else {
		err = r.refreshDirty(ctx)
	}
	if err != nil {
		errs = append(errs, err)
	}
	procs := r.processEntries()
	desired, keep, skips := r.desired(procs)
	registered, err := r.cfg.Registry.Owned(ctx, r.cfg.Naming.Owner)
	if err != nil {
		errs = append(errs, err)
		return listed, r.finish(errors.Join(errs...), skips)
	}
	unread := r.unreadAgents()
	hold := ""
	if unread > 0 {
		hold = fmt.Sprintf("-cleanup waits until every agent's task list was read (%d not yet): it may be a process task", unread)
	}
	changes := Plan(desired, registered, PlanOptions{
		Owner:       r.cfg.Naming.Owner,
		Cleanup:     r.cfg.Cleanup,
		Mine:        r.mine,
		Keep:        keep,
		HoldCleanup: hold,
	})
	err = r.apply(ctx, changes)
	if err != nil {
		errs = append(errs, err)
	}
	if unread == 0 && len(r.cfg.AgentURLs) > 0 && err == nil && !r.agentsInStep {
		r.agentsInStep = true
		r.log.Info("in step with every agent's task list", "agents", len(r.cfg.AgentURLs), "processes", len(procs))
	}
	r.forget(desired, registered)
	r.mu.Lock()
	r.snap.Desired = len(desired)
	r.snap.Processes = len(procs)
	r.snap.ClusterID = r.cfg.Naming.ClusterID
	r.mu.Unlock()
	return listed, r.finish(errors.Join(errs...), skips)
}

func (r *Registrator) finish(err error, skips []Skip) error {
	foreign := 0
	for _, s := range skips {
		if strings.HasPrefix(s.Reason, ForeignPrefix) {
			foreign++
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if skips != nil {
		r.snap.Foreign = foreign
	}
	r.snap.Passes++
	r.snap.LastPass = r.cfg.Now()
	r.snap.Containers = len(r.containers)
	if skips != nil {
		r.snap.Skips = skips
	}
	r.snap.LastError = ""
	if err != nil {
		r.snap.Failures++
		r.snap.LastError = err.Error()
	}
	return err
}

// refreshAll re-lists and re-inspects every container. A container whose
// inspect fails (other than "gone") keeps its previous state and is retried
// as if an event had touched it. listed is false when the list failed.
func (r *Registrator) refreshAll(ctx context.Context) (listed bool, err error) {
	dirty := r.takeDirty() // everything listed is re-inspected anyway
	ids, err := r.cfg.Docker.List(ctx, r.cfg.Deregister == DeregisterOnSuccess)
	if err != nil {
		for _, id := range dirty {
			r.markDirty(id)
		}
		return false, fmt.Errorf("docker: list containers: %w", err)
	}
	results := r.inspectAll(ctx, ids)
	next := make(map[string]*entry, len(ids))
	var errs []error
	for i, id := range ids {
		res := results[i]
		switch {
		case errors.Is(res.err, ErrNotFound):
		case res.err != nil:
			errs = append(errs, res.err)
			if old := r.containers[id]; old != nil {
				next[id] = old
			}
			r.markDirty(id)
		case r.worthKeeping(res.c):
			next[id] = r.newEntry(res.c, slog.LevelDebug)
		}
	}
	r.containers = next
	return true, errors.Join(errs...)
}

// refreshDirty re-inspects the containers events have touched.
func (r *Registrator) refreshDirty(ctx context.Context) error {
	ids := r.takeDirty()
	if len(ids) == 0 {
		return nil
	}
	results := r.inspectAll(ctx, ids)
	var errs []error
	for i, id := range ids {
		res := results[i]
		switch {
		case errors.Is(res.err, ErrNotFound):
			delete(r.containers, id)
		case res.err != nil:
			errs = append(errs, res.err)
			r.markDirty(id)
		case r.worthKeeping(res.c):
			r.containers[id] = r.newEntry(res.c, slog.LevelInfo)
		default:
			delete(r.containers, id)
		}
	}
	return errors.Join(errs...)
}

type inspectResult struct {
	c   Container
	err error
}

// inspectAll inspects ids with at most Workers requests in flight.
func (r *Registrator) inspectAll(ctx context.Context, ids []string) []inspectResult {
	out := make([]inspectResult, len(ids))
	r.parallel(len(ids), func(i int) {
		c, err := r.cfg.Docker.Inspect(ctx, ids[i])
		out[i] = inspectResult{c: c, err: err}
	})
	return out
}

// parallel runs fn(0..n-1) on at most Workers goroutines and waits for all.
func (r *Registrator) parallel(n int, fn func(i int)) {
	workers := min(r.cfg.Workers, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
}

// worthKeeping: running and paused containers, and — with -deregister
// on-success — those whose failed exit keeps their services registered.
func (r *Registrator) worthKeeping(c Container) bool {
	return c.Running || r.keepReason(c) != ""
}

// keepReason says why an exited container's services stay registered.
func (r *Registrator) keepReason(c Container) string {
	if c.Running || r.cfg.Deregister != DeregisterOnSuccess {
		return ""
	}
	// Exit code 0, or a signal (bit 128), counts as success.
	if c.ExitCode == 0 || c.ExitCode&128 != 0 {
		return ""
	}
	return "exited with code " + strconv.Itoa(c.ExitCode) + " and -deregister is on-success"
}

func (r *Registrator) newEntry(c Container, level slog.Level) *entry {
	svcs, skips := ServicesFor(c, r.cfg.Naming)
	for _, s := range skips {
		r.log.Log(context.Background(), level, "ignored", "container", shortID(c.ID), "name", c.Name, "port", s.Port, "reason", s.Reason)
	}
	return &entry{c: c, services: svcs, skips: skips}
}

// desired collects the services of all known containers (by container
// name, so a duplicate service ID is decided the same way every time), the
// containers whose services must be kept, and the skips.
func (r *Registrator) desired(procs []*entry) ([]Service, map[string]string, []Skip) {
	entries := make([]*entry, 0, len(r.containers)+len(procs))
	for _, e := range r.containers {
		entries = append(entries, e)
	}
	entries = append(entries, procs...)
	sort.Slice(entries, func(i, j int) bool { return entries[i].c.Name < entries[j].c.Name })
	var out []Service
	keep := map[string]string{}
	skips := []Skip{}
	seen := map[string]string{}
	for _, e := range entries {
		if why := r.keepReason(e.c); why != "" {
			keep[shortID(e.c.ID)] = why
		}
		skips = append(skips, e.skips...)
		for _, s := range e.services {
			if other, dup := seen[s.ID]; dup {
				skips = append(skips, Skip{Container: e.c.Name, Reason: "service ID " + s.ID + " already used by container " + other})
				continue
			}
			seen[s.ID] = e.c.Name
			out = append(out, s)
			r.mine[s.ID] = true
		}
	}
	return out, keep, skips
}

// forget drops IDs from mine that are neither desired nor registered.
func (r *Registrator) forget(desired, registered []Service) {
	live := make(map[string]bool, len(desired)+len(registered))
	for _, s := range desired {
		live[s.ID] = true
	}
	for _, s := range registered {
		live[s.ID] = true
	}
	for id := range r.mine {
		if !live[id] {
			delete(r.mine, id)
		}
	}
}

// apply deregisters, then registers, with at most Workers requests in
// flight; a failure is logged and skipped, and reported for a retry.
func (r *Registrator) apply(ctx context.Context, ch Changes) error {
	for _, k := range ch.Kept {
		r.log.Debug("kept", "service", k.Service.ID, "reason", k.Reason)
	}
	errs := make([]error, len(ch.Deregister)+len(ch.Register))
	r.parallel(len(ch.Deregister), func(i int) {
		a := ch.Deregister[i]
		if err := r.cfg.Registry.Deregister(ctx, a.Service.ID); err != nil {
			errs[i] = err
			return
		}
		r.log.Info("removed", "container", a.Service.Meta[MetaContainer], "service", a.Service.ID, "reason", a.Reason)
	})
	for i, a := range ch.Deregister {
		if errs[i] == nil {
			delete(r.mine, a.Service.ID)
		}
	}
	off := len(ch.Deregister)
	r.parallel(len(ch.Register), func(i int) {
		a := ch.Register[i]
		if err := r.cfg.Registry.Register(ctx, a.Service); err != nil {
			errs[off+i] = err
			return
		}
		r.log.Info("added", "container", a.Service.Meta[MetaContainer], "service", a.Service.ID, "name", a.Service.Name,
			"address", a.Service.Address, "port", a.Service.Port, "reason", a.Reason)
	})
	err := errors.Join(errs...)
	if err != nil {
		r.log.Warn("some changes failed", "err", err)
	}
	return err
}

func (r *Registrator) takeDirty() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, 0, len(r.dirty))
	for id := range r.dirty {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	clear(r.dirty)
	return ids
}

func (r *Registrator) markDirty(id string) {
	r.mu.Lock()
	r.dirty[id] = true
	r.mu.Unlock()
}

// unreadAgents is how many configured agents have never answered.
func (r *Registrator) unreadAgents() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, u := range r.cfg.AgentURLs {
		if !r.agents[u].synced {
			n++
		}
	}
	return n
}

// processEntries converts the agents' running process tasks (learning the
// cluster id from them first, when none is configured) into entries like
// inspected containers'. A newly learned cluster id re-derives the cached
// containers' services, so foreign ones drop out in this very pass.
func (r *Registrator) processEntries() []*entry {
	cs, learned, healthy := r.agentContainers()
	if !r.clusterFixed && learned != "" && learned != r.cfg.Naming.ClusterID {
		r.log.Info("cluster id learned from the agents; only its Berth tasks are registered", "cluster", learned, "was", r.cfg.Naming.ClusterID)
		r.cfg.Naming.ClusterID = learned
		for id, e := range r.containers {
			r.containers[id] = r.newEntry(e.c, slog.LevelInfo)
		}
	}
	// A container whose agent health changed gets its check's initial
	// status re-derived.
	for id, e := range r.containers {
		task := e.c.Labels[LabelTaskID]
		if task != "" && healthy[task] != e.c.AgentHealthy {
			c := e.c
			c.AgentHealthy = healthy[task]
			r.containers[id] = r.newEntry(c, slog.LevelDebug)
		}
	}
	out := make([]*entry, 0, len(cs))
	for _, c := range cs {
		prev := r.procs[c.Name]
		level := slog.LevelDebug
		if prev == nil {
			level = slog.LevelInfo
		}
		out = append(out, r.newEntry(c, level))
	}
	r.procs = make(map[string]*entry, len(out))
	for _, e := range out {
		r.procs[e.c.Name] = e
	}
	return out
}
