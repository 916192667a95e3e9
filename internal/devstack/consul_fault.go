package devstack

import (
	"context"
	"errors"
)

// KillConsul kills the stack's Consul dev agent with SIGKILL, a crash for
// the fault tests (chaos/). A dev agent keeps its catalog in memory, so
// StartConsul brings it back empty on the same ports.
func (s *Stack) KillConsul() error {
	s.mu.Lock()
	c := s.consul
	s.consul = nil
	s.mu.Unlock()
	if c == nil {
		return errors.New("consul: not started by this stack")
	}
	c.kill()
	return nil
}

// StartConsul starts the dev agent again after KillConsul, with the same
// ports, and waits until it has a leader.
func (s *Stack) StartConsul(ctx context.Context) (string, error) {
	if s.cfg.ExternalConsul != "" {
		return "", errors.New("consul: external, not restartable")
	}
	return s.startConsul(ctx)
}
