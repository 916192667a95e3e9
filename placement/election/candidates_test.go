package election_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/election"
)

// describe is a candidate list as "url(L) url …", sorted by URL.
func describe(cs []election.Candidate) string {
	var parts []string
	for _, c := range cs {
		if c.Leader {
			parts = append(parts, c.URL+"(L)")
		} else {
			parts = append(parts, c.URL)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// TestCandidates: every candidate and an observer list the same members,
// the leader first and marked; a candidate that stops leaves the list;
// a stopped elector has no session to read with.
func TestCandidates(t *testing.T) {
	z := testenv.StartZooKeeper(t)
	c := newCluster(t, z.Addr, "/berth-candidates", 3)
	obs, err := election.New(election.Config{Servers: []string{z.Addr}, Root: "/berth-candidates"})
	if err != nil {
		t.Fatal(err)
	}
	octx, ocancel := context.WithCancel(context.Background())
	odone := make(chan error, 1)
	go func() { odone <- obs.Run(octx) }()
	defer func() { ocancel(); <-odone }()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	leader := c.leader(obs)
	want := func(stopped *candidate) string {
		var cs []election.Candidate
		for _, cand := range c.cands {
			if cand != stopped {
				cs = append(cs, election.Candidate{URL: cand.el.Self(), Leader: cand == leader})
			}
		}
		return describe(cs)
	}
	check := func(stopped *candidate) {
		t.Helper()
		readers := []*election.Elector{obs}
		for _, cand := range c.cands {
			if cand != stopped {
				readers = append(readers, cand.el)
			}
		}
		testenv.WaitFor(t, 10*time.Second, "every member lists "+want(stopped), func() error {
			for _, r := range readers {
				got, err := r.Candidates(ctx)
				if err != nil {
					return err
				}
				if len(got) == 0 || !got[0].Leader || got[0].URL != leader.el.Self() {
					return fmt.Errorf("%q: the leader is not first: %+v", r.Self(), got)
				}
				if describe(got) != want(stopped) {
					return fmt.Errorf("%q lists %s", r.Self(), describe(got))
				}
			}
			return nil
		})
	}
	check(nil)

	var follower *candidate
	for _, cand := range c.cands {
		if cand != leader {
			follower = cand
		}
	}
	follower.cancel()
	if err := <-follower.done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	follower.done <- nil // stopped() and the cluster's cleanup read it again
	check(follower)
	if _, err := follower.el.Candidates(ctx); !errors.Is(err, election.ErrNoSession) {
		t.Fatalf("Candidates after Run ended = %v, want ErrNoSession", err)
	}
}
