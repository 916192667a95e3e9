package lbsync

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// MasterClientConfig configures a MasterClient.
type MasterClientConfig struct {
	URL    string       // the master, e.g. http://127.0.0.1:8080
	Client *http.Client // default: 10 s timeout for fetches
	// User and Password, if set, are sent as HTTP basic auth (the
	// master's --http-credentials).
	User, Password string
	// Resync is the period of a full fetch even without events (default
	// 30s); events trigger one at once.
	Resync time.Duration
	Logger *slog.Logger
}

// MasterClient reads the master's routing record: the cluster id from
// GET /v2/info ("berth":{"clusterId":…}) and each app's servicePorts and
// labels from GET /v2/apps, refreshed on the master's events (GET
// /v2/events, server-sent) and every Resync.
type MasterClient struct {
	cfg    MasterClientConfig
	stream *http.Client  // no timeout: the event stream is long-lived
	seq    atomic.Uint64 // numbers fetches in the order they start
}

// NewMasterClient returns a client; Watch starts it.
func NewMasterClient(cfg MasterClientConfig) *MasterClient {
	cfg.URL = strings.TrimRight(cfg.URL, "/")
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Resync == 0 {
		cfg.Resync = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &MasterClient{cfg: cfg, stream: &http.Client{Transport: cfg.Client.Transport}}
}

// masterEvents are the event types after which the record may differ.
func masterEvents() []string {
	return []string{"api_post_event", "deployment_info", "deployment_step_success", "deployment_success",
		"deployment_failed", "app_terminated_event", "group_change_success"}
}

// Fetch reads the record once: the cluster id, and every app's
// servicePorts, labels, tasks and pending readiness checks.
func (c *MasterClient) Fetch(ctx context.Context) (*MasterRecord, error) {
	seq := c.seq.Add(1)
	var info struct {
		Berth struct {
			ClusterID string `json:"clusterId"`
		} `json:"berth"`
	}
	if err := c.getJSON(ctx, "/v2/info", &info); err != nil {
		return nil, err
	}
	var apps struct {
		Apps []struct {
			ID              string            `json:"id"`
			Ports           []int             `json:"ports"`
			Labels          map[string]string `json:"labels"`
			PortDefinitions []struct {
				Port int `json:"port"`
			} `json:"portDefinitions"`
			Container *struct {
				PortMappings []struct {
					ServicePort int `json:"servicePort"`
				} `json:"portMappings"`
			} `json:"container"`
			Readiness []struct {
				Name   string `json:"name"`
				TaskID string `json:"taskId"`
				Ready  bool   `json:"ready"`
			} `json:"readinessCheckResults"`
			Tasks []struct {
				ID string `json:"id"`
			} `json:"tasks"`
		} `json:"apps"`
	}
	if err := c.getJSON(ctx, "/v2/apps?embed=apps.readiness&embed=apps.tasks", &apps); err != nil {
		return nil, err
	}
	rec := &MasterRecord{ClusterID: info.Berth.ClusterID, Apps: []MasterApp{}, Tasks: map[string]string{}, seq: seq}
	for _, a := range apps.Apps {
		for _, t := range a.Tasks {
			rec.Tasks[t.ID] = a.ID
		}
		for _, r := range a.Readiness {
			if !r.Ready && r.TaskID != "" {
				if rec.NotReady == nil {
					rec.NotReady = map[string]string{}
				}
				rec.NotReady[r.TaskID] = r.Name
			}
		}
		ports := a.Ports // Marathon's read-only list of the servicePorts
		if len(ports) == 0 && a.Container != nil {
			for _, pm := range a.Container.PortMappings {
				ports = append(ports, pm.ServicePort)
			}
		}
		if len(ports) == 0 {
			for _, pd := range a.PortDefinitions {
				ports = append(ports, pd.Port)
			}
		}
		rec.Apps = append(rec.Apps, MasterApp{ID: a.ID, ServicePorts: ports, Labels: a.Labels})
	}
	slices.SortFunc(rec.Apps, func(a, b MasterApp) int { return strings.Compare(a.ID, b.ID) })
	return rec, nil
}

func (c *MasterClient) getJSON(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if c.cfg.User != "" {
		req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("master: GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("master: GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("master: GET %s: decode: %w", path, err)
	}
	return nil
}

// notReadyRecheck is how often the record is fetched while a task's
// readiness check is pending.
const notReadyRecheck = time.Second

// Watch sends the record of every fetch until ctx ends: a fetch at start,
// after every relevant event of the master's event stream, and every
// Resync; errors are retried with backoff (250 ms … 30 s).
func (c *MasterClient) Watch(ctx context.Context, out chan<- *MasterRecord) error {
	kick := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() { defer close(done); c.followEvents(ctx, kick) }()
	defer func() { <-done }()
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		rec, err := c.Fetch(ctx)
		wait := c.cfg.Resync
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait = jitter(backoff)
			c.cfg.Logger.Warn("master fetch failed; retrying", "master", c.cfg.URL, "err", err, "retry_in", Dur(wait))
			backoff = min(backoff*2, 30*time.Second)
		} else {
			backoff = 250 * time.Millisecond
			if len(rec.NotReady) > 0 {
				// The master sends no event when a readiness check
				// passes: look again soon while one is pending.
				wait = min(wait, notReadyRecheck)
			}
			// Every record goes out, changed or not: the receiver
			// (WithMaster) may have kept a newer re-read instead of the
			// last one sent, so only it can tell what changed.
			select {
			case out <- rec:
			case <-ctx.Done():
				return nil
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-kick:
		case <-t.C:
		}
		t.Stop()
	}
	return nil
}

// sameRecord compares two records regardless of when they were fetched.
func sameRecord(a, b *MasterRecord) bool {
	x, y := *a, *b
	x.seq, y.seq = 0, 0
	return reflect.DeepEqual(x, y)
}

// followEvents reads the master's event stream and kicks on every event
// of masterEvents (and on every reconnect), reconnecting with backoff.
func (c *MasterClient) followEvents(ctx context.Context, kick chan<- struct{}) {
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	backoff := 250 * time.Millisecond
	for ctx.Err() == nil {
		err := c.readEvents(ctx, func(string) { poke(); backoff = 250 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		d := jitter(backoff)
		c.cfg.Logger.Warn("master event stream ended; reconnecting", "master", c.cfg.URL, "err", err, "retry_in", Dur(d))
		sleep(ctx, d)
		backoff = min(backoff*2, 30*time.Second)
		poke() // events may have been missed
	}
}

func (c *MasterClient) readEvents(ctx context.Context, onEvent func(string)) error {
	q := "?event_type=" + strings.Join(masterEvents(), "&event_type=")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.cfg.URL+"/v2/events"+q, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	if c.cfg.User != "" {
		req.SetBasicAuth(c.cfg.User, c.cfg.Password)
	}
	resp, err := c.stream.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /v2/events: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event:"); ok {
			onEvent(strings.TrimSpace(ev))
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return io.EOF
}

// WithMaster is a Source that adds the master's record to every snapshot
// of Consul. The first snapshot waits for the master's first answer for
// at most FirstWait (default 10s); until then, and while the master has
// never answered, snapshots carry no record (today's rules apply). Once
// known, the last record is kept while the master is unreachable.
type WithMaster struct {
	Consul    Source
	Master    *MasterClient
	FirstWait time.Duration
	Logger    *slog.Logger
}

// ConsulStatus implements ConsulStatuser: the Consul source's.
func (w *WithMaster) ConsulStatus() (ConsulStatus, bool) {
	if cs, ok := w.Consul.(ConsulStatuser); ok {
		return cs.ConsulStatus()
	}
	return ConsulStatus{}, false
}

// Watch implements Source.
func (w *WithMaster) Watch(ctx context.Context, out chan<- Snapshot) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	snaps, recs := make(chan Snapshot), make(chan *MasterRecord)
	errc := make(chan error, 2)
	go func() { errc <- w.Consul.Watch(ctx, snaps) }()
	go func() { errc <- w.Master.Watch(ctx, recs) }()
	defer func() { cancel(); <-errc; <-errc }()
	first := w.FirstWait
	if first == 0 {
		first = 10 * time.Second
	}
	deadline := time.NewTimer(first)
	defer deadline.Stop()
	var snap *Snapshot
	var rec *MasterRecord
	waiting, dirty := true, false
	rechecked := map[string]bool{}
	for {
		var send chan<- Snapshot
		var merged Snapshot
		if dirty && snap != nil && rec != nil {
			rec = w.recheck(ctx, *snap, rec, rechecked)
		}
		if dirty && snap != nil && (!waiting || rec != nil) {
			merged = *snap
			merged.Master = rec
			send = out
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			errc <- nil // the deferred wait takes two results
			return err
		case s := <-snaps:
			snap, dirty = &s, true
		case r := <-recs:
			switch {
			case rec != nil && r.seq < rec.seq:
				// Fetched before the re-read that gave rec; the next
				// fetch brings whatever it knew that rec does not.
			case rec != nil && sameRecord(rec, r):
				rec = r // nothing changed
			default:
				rec, dirty = r, true
			}
			waiting = false
		case <-deadline.C:
			if waiting && rec == nil && w.Logger != nil {
				w.Logger.Warn("the master has not answered; routing without its record until it does")
			}
			waiting = false
		case send <- merged:
			dirty = false
		}
	}
}

// recheckTimeout bounds the master fetch a snapshot waits for.
const recheckTimeout = 5 * time.Second

// recheck re-reads the master when snap has instances whose task ids rec
// does not list (UnknownTasks) and that were not re-checked before, and
// returns the newer record (rec when nothing was fetched; rec without task
// lists when the master did not answer). A brand-new task is in Consul before the master's events make
// lbsync read the record again; this one round trip is all it waits. Each
// task id triggers at most one fetch (a stale claimant stays in done while
// it is unknown), and all unknown ids of one snapshot share it; Consul's
// source sends at most one snapshot per 50 ms.
func (w *WithMaster) recheck(ctx context.Context, snap Snapshot, rec *MasterRecord, done map[string]bool) *MasterRecord {
	snap.Master = rec
	unknown := UnknownTasks(snap)
	fresh := 0
	for _, id := range unknown {
		if !done[id] {
			fresh++
		}
	}
	for id := range done {
		if _, still := slices.BinarySearch(unknown, id); !still {
			delete(done, id) // known now, or gone: may be checked again later
		}
	}
	if fresh == 0 {
		return rec
	}
	for _, id := range unknown {
		done[id] = true
	}
	fctx, cancel := context.WithTimeout(ctx, recheckTimeout)
	defer cancel()
	r, err := w.Master.Fetch(fctx)
	if err != nil {
		// The record is as old as the master's last answer: it cannot
		// tell a new task from a stale one. Until the master answers
		// again, no task is judged by it (new tasks are routed; the
		// record's ownership and cluster id still apply).
		if w.Logger != nil && ctx.Err() == nil {
			w.Logger.Warn("re-reading the master for unknown tasks failed; routing without its task lists until it answers",
				"tasks", len(unknown), "err", err)
		}
		blind := *rec
		blind.Tasks = nil
		return &blind
	}
	if w.Logger != nil {
		w.Logger.Debug("re-read the master for tasks it did not list", "new", fresh, "still_unknown", len(UnknownTasks(Snapshot{Instances: snap.Instances, Master: r})))
	}
	if r.seq < rec.seq {
		return rec
	}
	return r
}
