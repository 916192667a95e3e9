package ui

import "time"

// agentJSON is one agent of GET /master/slaves (Mesos' shape).
type agentJSON struct {
	ID            string            `json:"id"`
	Hostname      string            `json:"hostname"`
	URL           string            `json:"url"`
	Attributes    map[string]string `json:"attributes"`
	Active        bool              `json:"active"`
	Version       string            `json:"version"`
	Resources     resourcesJSON     `json:"resources"`
	UsedResources resourcesJSON     `json:"used_resources"`
	LastSeen      string            `json:"last_seen"`
	// DrainInfo and Deactivated are Mesos' (1.9+) fields for an agent
	// being drained or taken out of placement; Berth's master does not
	// send them yet, the agents page shows them when it does.
	DrainInfo *struct {
		State string `json:"state"` // DRAINING or DRAINED
	} `json:"drain_info"`
	Deactivated bool `json:"deactivated"`
	Tasks       []struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		State string `json:"state"`
	} `json:"tasks"`
}

type resourcesJSON struct {
	CPUs  float64 `json:"cpus"`
	Mem   float64 `json:"mem"`
	Disk  float64 `json:"disk"`
	Ports string  `json:"ports"`
}

// masterStateJSON is the part of GET /master/state (Mesos' shape) the
// tasks page reads: the agents' hostnames and the ended tasks the master
// keeps (frameworks[].completed_tasks, newest first).
type masterStateJSON struct {
	Slaves []struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
	} `json:"slaves"`
	Frameworks []struct {
		CompletedTasks []completedTaskJSON `json:"completed_tasks"`
	} `json:"frameworks"`
}

// completedTaskJSON is one of Mesos' completed_tasks.
type completedTaskJSON struct {
	ID       string `json:"id"`
	Name     string `json:"name"` // the app id (chronos:<job> for a job run)
	SlaveID  string `json:"slave_id"`
	State    string `json:"state"`
	Statuses []struct {
		State     string  `json:"state"`
		Timestamp float64 `json:"timestamp"` // seconds since the epoch
		Message   string  `json:"message"`
	} `json:"statuses"`
}

// infoJSON is the part of GET /v2/info the cluster page shows.
type infoJSON struct {
	Name           string `json:"name"`
	Version        string `json:"version"`
	Elected        bool   `json:"elected"`
	Leader         string `json:"leader"`
	MarathonConfig struct {
		Hostname     string `json:"hostname"`
		HA           bool   `json:"ha"`
		LocalPortMin int    `json:"local_port_min"`
		LocalPortMax int    `json:"local_port_max"`
	} `json:"marathon_config"`
	ZookeeperConfig struct {
		ZK string `json:"zk"`
	} `json:"zookeeper_config"`
	// HTTPConfig: Marathon's ports are numbers (https_port with TLS).
	HTTPConfig struct {
		HTTPPort  int `json:"http_port"`
		HTTPSPort int `json:"https_port"`
	} `json:"http_config"`
	// Berth is Berth's own object: the group's masters, the leader
	// first (mastersError instead when the master could not list them;
	// neither from a master older than the list).
	Berth struct {
		Masters []struct {
			URL    string `json:"url"`
			Leader bool   `json:"leader"`
		} `json:"masters"`
		MastersError string `json:"mastersError"`
	} `json:"berth"`
}

// routesJSON is lbsync's status (GET <lbsync>/routes), the fields the
// routes page shows.
type routesJSON struct {
	LastRender  time.Time `json:"lastRender"`
	LastError   string    `json:"lastError"`
	LastErrorAt time.Time `json:"lastErrorAt"`
	HTTPPort    int       `json:"httpPort"`
	Default     string    `json:"default"`
	Services    []struct {
		Name        string   `json:"name"`
		ServicePort int      `json:"servicePort"`
		Mode        string   `json:"mode"`
		App         string   `json:"app"`
		Balance     string   `json:"balance"`
		VHosts      []string `json:"vhosts"`
		Paths       []string `json:"paths"`
		Backends    []struct {
			Address string `json:"address"`
			Port    int    `json:"port"`
			Task    string `json:"task"`
			Health  string `json:"health"`
			Weight  int    `json:"weight"`
			// InConsulAt and RoutedAt: when lbsync first saw the instance
			// passing in Consul, and first applied it to HAProxy (zero
			// from an lbsync older than them); the app's timeline uses them.
			InConsulAt time.Time `json:"inConsulAt"`
			RoutedAt   time.Time `json:"routedAt"`
		} `json:"backends"`
		Excluded []excludedJSON `json:"excluded"`
	} `json:"services"`
	Routes []struct {
		Host        string `json:"host"`
		Path        string `json:"path"`
		ServicePort int    `json:"servicePort"`
	} `json:"routes"`
	Unrouted []excludedJSON `json:"unrouted"`
	Warnings []string       `json:"warnings"`
	// ClusterID and Ownership: whose instances lbsync routes and who
	// decides a servicePort's app (master or instances).
	ClusterID string `json:"clusterId"`
	Ownership string `json:"ownership"`
	// Consul is lbsync's view of its Consul source and HAProxy its
	// HAProxy (nil from an lbsync older than them; the cluster page says
	// so).
	Consul *struct {
		Address      string    `json:"address"`
		LastSnapshot time.Time `json:"lastSnapshot"`
		LastIndex    uint64    `json:"lastIndex"`
		Error        string    `json:"error"`
	} `json:"consul"`
	HAProxy *struct {
		Version          string    `json:"version"`
		MasterPID        int       `json:"masterPid"`
		Workers          int       `json:"workers"`
		Reloads          int       `json:"reloads"`
		FailedReloads    int       `json:"failedReloads"`
		LastReload       time.Time `json:"lastReload"`
		LastReloadAction string    `json:"lastReloadAction"`
		LastReloadError  string    `json:"lastReloadError"`
	} `json:"haproxy"`
	Events []struct {
		Target string    `json:"target"`
		Action string    `json:"action"`
		Why    string    `json:"why"`
		Err    string    `json:"error"`
		At     time.Time `json:"at"`
	} `json:"events"`
}

// excludedJSON is an instance lbsync does not route, and why.
type excludedJSON struct {
	ServicePort int    `json:"servicePort"`
	App         string `json:"app"`
	Address     string `json:"address"`
	Port        int    `json:"port"`
	Task        string `json:"task"`
	Kind        string `json:"kind"`
	Reason      string `json:"reason"`
}
