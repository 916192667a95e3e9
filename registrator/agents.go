package registrator

import (
	"context"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/wire"
)

// Agents reads a Berth agent's task list (GET /v1/tasks). Its errors name
// the agent, e.g. "agent http://…: tasks: …".
type Agents interface {
	// Tasks returns the agent's task list; with index > 0 it waits (at
	// most wait) until the list's index differs from index.
	Tasks(ctx context.Context, agentURL string, index uint64, wait time.Duration) (wire.AgentTasks, error)
}

// agentWait is the long-poll wait of one task-list request.
const agentWait = 30 * time.Second

// ProcessContainer turns a process task of an agent's task list into the
// container-like input ServicesFor takes, so a process gets exactly the
// services, tags, Meta and check a container with the same labels would:
// host networking, each host port exposed, the task's labels and SERVICE_*
// environment. It is pure. ok is false for anything but a RUNNING process
// task (Docker tasks come from Docker itself).
//
// A process has no image; the service name defaults to the app id in
// Mesos-DNS form (/shop/web → web-shop), SERVICE_NAME overrides as usual.
func ProcessContainer(t wire.AgentTask) (Container, bool) {
	if t.Runtime != "process" || t.State != wire.TaskRunning || t.TaskID == "" {
		return Container{}, false
	}
	c := Container{
		ID:           processContainerID(t.TaskID),
		Name:         "berth-" + t.TaskID,
		Image:        ProcessServiceName(t.AppID),
		Env:          append([]string(nil), t.Env...),
		Labels:       t.Labels,
		Running:      true,
		NetworkMode:  "host",
		AgentHealthy: t.Healthy != nil && *t.Healthy,
	}
	if c.Labels == nil {
		c.Labels = map[string]string{}
	}
	for _, p := range t.HostPorts {
		if p > 0 {
			c.ExposedPorts = append(c.ExposedPorts, strconv.Itoa(p)+"/tcp")
		}
	}
	sort.Strings(c.ExposedPorts)
	// -tags templates are written over `docker inspect`; give them the
	// fields a process has in the same places.
	c.Inspect = map[string]any{
		"Id": c.ID, "Name": "/" + c.Name,
		"Config":     map[string]any{"Image": c.Image, "Env": c.Env, "Labels": c.Labels},
		"HostConfig": map[string]any{"NetworkMode": "host"},
	}
	return c, true
}

// ProcessServiceName is the default Consul name of a process app's
// services: the app id's path segments in reverse, joined by "-", as
// Mesos-DNS names Marathon apps.
func ProcessServiceName(appID string) string {
	parts := strings.FieldsFunc(appID, func(r rune) bool { return r == '/' })
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	if len(parts) == 0 {
		return "process"
	}
	return strings.Join(parts, "-")
}

// processContainerID is a stable stand-in container id: the task id's
// uuid part without dashes, so its 12-character short form (Meta
// berth_container) identifies the task.
func processContainerID(taskID string) string {
	i := strings.LastIndexByte(taskID, '.')
	if i < 0 || i == len(taskID)-1 {
		return taskID
	}
	return strings.ReplaceAll(taskID[i+1:], "-", "")
}

// agentState is the last task list read from one agent.
type agentState struct {
	tasks  wire.AgentTasks
	synced bool // at least one successful read
}

// pollAgent long-polls one agent's task list until ctx ends. Each new
// list pokes the owner goroutine; a failed read keeps the last list (its
// services stay registered while the agent restarts) and retries with
// backoff, and the first read after a failure is a full resync.
func (r *Registrator) pollAgent(ctx context.Context, url string) {
	bo := backoff{min: r.cfg.BackoffMin, max: r.cfg.BackoffMax}
	var index uint64
	failed := false
	for {
		t, err := r.cfg.Agents.Tasks(ctx, url, index, agentWait)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			level := slog.LevelWarn
			if bo.attempts > 0 {
				level = slog.LevelDebug // said once; repeated failures are noise
			}
			delay := bo.next()
			r.log.Log(ctx, level, "agent task list unavailable; keeping its last list", "agent", url, "retry_in", delay.String(), "err", err)
			failed, index = true, 0
			if !sleep(ctx, delay) {
				return
			}
			continue
		}
		bo.reset()
		if failed {
			r.log.Info("agent task list reachable again; full resync", "agent", url)
			signal(r.resync)
			failed = false
		}
		if t.Index == index && index != 0 {
			continue // the wait ended without a change
		}
		index = t.Index
		r.mu.Lock()
		r.agents[url] = agentState{tasks: t, synced: true}
		r.mu.Unlock()
		signal(r.poke)
	}
}

// agentContainers converts every agent's running process tasks, sorted by
// name, learns the cluster id from the agents when none is set, and
// returns the tasks the agents report healthy (by task id, any runtime).
func (r *Registrator) agentContainers() (cs []Container, learned string, healthy map[string]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	urls := make([]string, 0, len(r.agents))
	for u := range r.agents {
		urls = append(urls, u)
	}
	sort.Strings(urls)
	for _, u := range urls {
		st := r.agents[u]
		if learned == "" {
			learned = st.tasks.ClusterID
		}
		for _, t := range st.tasks.Tasks {
			if c, ok := ProcessContainer(t); ok {
				cs = append(cs, c)
			}
			if t.Healthy != nil && *t.Healthy && t.State == wire.TaskRunning {
				if healthy == nil {
					healthy = map[string]bool{}
				}
				healthy[t.TaskID] = true
			}
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs, learned, healthy
}
