package master

import (
	"context"
	"fmt"
	"net/http"

	"github.com/berth-platform/berth/jobs/service"
)

// initJobs loads the job service (jobs, counters, history and dependency
// edges live in the same store as the apps).
func (m *Master) initJobs(ctx context.Context) error {
	svc, err := service.New(ctx, service.Config{
		Store: m.cfg.Store, Queues: m.cfg.JobQueues, Now: m.cfg.Now, Logger: m.log,
		Leader: m.leader, Launcher: jobLauncher{m}, Tick: m.cfg.JobTick, RetryDelay: m.cfg.JobRetryDelay,
	})
	if err != nil {
		return fmt.Errorf("master: %w", err)
	}
	m.jobs = svc
	return nil
}

// mountJobs serves the Chronos API on the public mux, behind the master's
// basic auth and (with --zk) its leader forwarding.
func (m *Master) mountJobs(pub *http.ServeMux) {
	h := m.jobs.Handler()
	pub.Handle("/scheduler/", h)
	pub.Handle("/v1/scheduler/", h)
}
