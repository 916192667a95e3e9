package jobs

import (
	"bytes"
	"fmt"
	"math"
	"sort"

	"gopkg.in/yaml.v3"
)

// QueueConfig is one queue of the capacity tree, as written in the
// --job-queues file (YAML or JSON). Capacity and MaxCapacity are percent of
// the parent; a leaf holds runs.
type QueueConfig struct {
	Name string `yaml:"name" json:"name"`
	// Capacity is the guaranteed share of the parent, in percent; the
	// children of a queue sum to 100.
	Capacity float64 `yaml:"capacity" json:"capacity"`
	// MaxCapacity is the elastic limit, percent of the parent (0 = 100):
	// idle capacity of siblings is lent up to it.
	MaxCapacity float64 `yaml:"maxCapacity" json:"maxCapacity"`
	// Policy inside a leaf: "fifo" (default) or "priority" (highPriority
	// runs first, then FIFO).
	Policy string `yaml:"policy" json:"policy"`
	// Preemption lets the runs of this queue that exceed its guarantee be
	// killed to give lent capacity back to a starving sibling.
	Preemption bool          `yaml:"preemption" json:"preemption"`
	Queues     []QueueConfig `yaml:"queues" json:"queues"`
	// ClusterShare weighs apps against jobs for DRF (root only; default
	// 1:1).
	ClusterShare *ShareWeights `yaml:"clusterShare" json:"clusterShare"`
}

// Queue is a checked queue with its absolute (fraction of the whole job
// capacity) guarantee and maximum.
type Queue struct {
	Name, Policy       string
	Guarantee, Max     float64
	Capacity, MaxShare float64 // percent of parent, as configured
	Preemption         bool
	Parent             *Queue
	Children           []*Queue
}

// Tree is a checked queue tree; leaves are addressed by name.
type Tree struct {
	Root   *Queue
	Leaves map[string]*Queue
	// Weights weigh apps against jobs (clusterShare; 0 means 1).
	Weights ShareWeights
	all     []*Queue
}

// DefaultQueues is the tree without a --job-queues file: one leaf,
// "default", with everything.
func DefaultQueues() *Tree {
	t, _ := NewTree(QueueConfig{Name: "root", Queues: []QueueConfig{{Name: "default", Capacity: 100}}})
	return t
}

// ParseQueues reads a queue file: either the root queue ({"name":"root",
// "queues":[…]}) or just {"queues":[…]}. Unknown keys are errors.
func ParseQueues(data []byte) (*Tree, error) {
	var root QueueConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	if root.Name == "" {
		root.Name = "root"
	}
	return NewTree(root)
}

// NewTree checks a queue tree: names unique and non-empty, capacities in
// 0–100 summing to 100 among siblings, maxCapacity ≥ capacity, policy fifo
// or priority. Errors name the queue and the field.
func NewTree(root QueueConfig) (*Tree, error) {
	t := &Tree{Leaves: map[string]*Queue{}}
	if w := root.ClusterShare; w != nil {
		if w.Apps < 0 || w.Jobs < 0 {
			return nil, fmt.Errorf("queues: clusterShare: apps %v, jobs %v: weights must not be negative", w.Apps, w.Jobs)
		}
		t.Weights = *w
	}
	seen := map[string]bool{}
	r, err := t.build(root, nil, "root", seen)
	if err != nil {
		return nil, err
	}
	r.Guarantee, r.Max = 1, 1
	t.Root = r
	t.absolute(r)
	return t, nil
}

func (t *Tree) build(c QueueConfig, parent *Queue, path string, seen map[string]bool) (*Queue, error) {
	if c.Name == "" {
		return nil, fmt.Errorf("queues: %s: name: required", path)
	}
	if seen[c.Name] {
		return nil, fmt.Errorf("queues: %s: name: %q used twice", path, c.Name)
	}
	seen[c.Name] = true
	if parent != nil && c.ClusterShare != nil {
		return nil, fmt.Errorf("queues: %s.clusterShare: only the root queue weighs apps against jobs", c.Name)
	}
	if parent != nil && (c.Capacity <= 0 || c.Capacity > 100) {
		return nil, fmt.Errorf("queues: %s.capacity: %v, want a percent of the parent in (0, 100]", c.Name, c.Capacity)
	}
	if c.MaxCapacity == 0 {
		c.MaxCapacity = 100
	}
	if c.MaxCapacity < c.Capacity || c.MaxCapacity > 100 {
		return nil, fmt.Errorf("queues: %s.maxCapacity: %v, want between capacity (%v) and 100", c.Name, c.MaxCapacity, c.Capacity)
	}
	switch c.Policy {
	case "":
		c.Policy = "fifo"
	case "fifo", "priority":
	default:
		return nil, fmt.Errorf("queues: %s.policy: %q, want fifo or priority", c.Name, c.Policy)
	}
	q := &Queue{Name: c.Name, Policy: c.Policy, Capacity: c.Capacity, MaxShare: c.MaxCapacity, Preemption: c.Preemption, Parent: parent}
	t.all = append(t.all, q)
	sum := 0.0
	for _, cc := range c.Queues {
		ch, err := t.build(cc, q, c.Name, seen)
		if err != nil {
			return nil, err
		}
		q.Children = append(q.Children, ch)
		sum += cc.Capacity
	}
	if len(c.Queues) > 0 && math.Abs(sum-100) > 1e-6 {
		return nil, fmt.Errorf("queues: %s.queues: capacities sum to %v, want 100", c.Name, sum)
	}
	if len(c.Queues) == 0 {
		t.Leaves[q.Name] = q
	}
	return q, nil
}

func (t *Tree) absolute(q *Queue) {
	for _, c := range q.Children {
		c.Guarantee = q.Guarantee * c.Capacity / 100
		c.Max = q.Max * c.MaxShare / 100
		t.absolute(c)
	}
}

// Queues returns every queue, parents before children.
func (t *Tree) Queues() []*Queue { return t.all }

// LeafNames returns the leaf names, sorted.
func (t *Tree) LeafNames() []string {
	out := make([]string, 0, len(t.Leaves))
	for n := range t.Leaves {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Resolve returns the leaf for a job's queue ("" = "default"), or an error
// naming the field.
func (t *Tree) Resolve(name string) (string, error) {
	if name == "" {
		name = "default"
	}
	if _, ok := t.Leaves[name]; !ok {
		return "", fmt.Errorf("queue: unknown queue %q (leaf queues: %v)", name, t.LeafNames())
	}
	return name, nil
}
