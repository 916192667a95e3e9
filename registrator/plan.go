package registrator

import "sort"

// PlanOptions are the facts Plan needs beyond the two service lists.
type PlanOptions struct {
	// Owner is this registrator's owner marker; registered services with
	// another (or no) owner are never touched.
	Owner string
	// Cleanup is -cleanup: also remove owned services this process never
	// registered, i.e. left dangling by an earlier run.
	Cleanup bool
	// Mine holds the IDs this process registered or adopted; they are
	// removed once no running container wants them.
	Mine map[string]bool
	// Keep maps short container IDs to a reason their services must stay
	// registered although not desired (-deregister on-success after a
	// failed exit).
	Keep map[string]string
	// HoldCleanup, when set, is why -cleanup must not remove anything yet:
	// a service left by an earlier run may be a process task an agent has
	// not reported yet (its task list is not read yet). Such services are
	// Kept with this reason instead.
	HoldCleanup string
}

// Action is one change with the reason for it.
type Action struct {
	Service Service
	Reason  string
}

// Changes is what Plan decided. Kept lists registered services that stay
// as they are although not desired (or desired slightly differently),
// with the reason.
type Changes struct {
	Register   []Action
	Deregister []Action
	Kept       []Action
}

// Empty reports whether the plan changes nothing in Consul.
func (c Changes) Empty() bool { return len(c.Register) == 0 && len(c.Deregister) == 0 }

// Plan compares the desired services with those registered in Consul and
// returns what to register (missing, or registered with another
// fingerprint) and what to deregister (owned, not desired, and either
// registered by this process or -cleanup is on). It is pure; results are
// sorted by service ID.
func Plan(desired, registered []Service, opts PlanOptions) Changes {
	var ch Changes
	have := make(map[string]Service, len(registered))
	for _, s := range registered {
		if s.Meta[MetaOwner] != opts.Owner {
			continue
		}
		have[s.ID] = s
	}
	want := make(map[string]bool, len(desired))
	for _, s := range desired {
		want[s.ID] = true
		cur, ok := have[s.ID]
		switch {
		case !ok:
			ch.Register = append(ch.Register, Action{s, "not registered"})
		case cur.Meta[MetaFingerprint] == s.Meta[MetaFingerprint]:
		case registeredHealthy(cur, s):
			ch.Kept = append(ch.Kept, Action{s, "registered with its check passing when its agent reported it healthy; " +
				"Consul keeps the check's status, so registering it again without would change nothing"})
		default:
			ch.Register = append(ch.Register, Action{s, "registration differs"})
		}
	}
	for id, s := range have {
		if want[id] {
			continue
		}
		if why, ok := opts.Keep[s.Meta[MetaContainer]]; ok {
			ch.Kept = append(ch.Kept, Action{s, why})
			continue
		}
		switch {
		case opts.Mine[id]:
			ch.Deregister = append(ch.Deregister, Action{s, "no running container wants it"})
		case opts.Cleanup && opts.HoldCleanup != "":
			ch.Kept = append(ch.Kept, Action{s, opts.HoldCleanup})
		case opts.Cleanup:
			ch.Deregister = append(ch.Deregister, Action{s, "dangling from an earlier run (-cleanup)"})
		default:
			ch.Kept = append(ch.Kept, Action{s, "registered by an earlier run; -cleanup is off"})
		}
	}
	for _, list := range [][]Action{ch.Register, ch.Deregister, ch.Kept} {
		sort.Slice(list, func(i, j int) bool { return list[i].Service.ID < list[j].Service.ID })
	}
	return ch
}

// registeredHealthy reports whether cur is exactly s as registered while
// its agent reported the task healthy (the check's initial status
// passing). The agent's report goes away for a while when the agent
// restarts; re-registering then would only churn: Consul keeps an existing
// check's status.
func registeredHealthy(cur, s Service) bool {
	if s.Check == nil || s.Check.Status != "" || s.Meta[MetaTask] == "" {
		return false
	}
	c := *s.Check
	c.Status = "passing"
	s.Check = &c
	return Fingerprint(s) == cur.Meta[MetaFingerprint]
}
