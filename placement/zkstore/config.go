package zkstore

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path"
	"strings"
	"time"
)

// Config configures a ZooKeeper store.
type Config struct {
	// Servers are the ZooKeeper servers, host:port (port defaults to 2181).
	Servers []string
	// Root is the znode under which Berth keeps everything (e.g. /berth);
	// the store uses Root/store.
	Root string
	// SessionTimeout is the ZooKeeper session timeout (default 10 s). The
	// store keeps no ephemeral nodes; it only bounds failure detection.
	SessionTimeout time.Duration
	// ConnectTimeout bounds Open's wait for a session when ctx has no
	// earlier deadline (default 15 s).
	ConnectTimeout time.Duration
	// RetryFor is how long Apply and Get keep retrying after a lost
	// connection before giving up (default 10 s, bounded by ctx).
	RetryFor time.Duration
	// CompressAbove: values at least this long are flate-compressed when it
	// makes them smaller (default 512 B).
	CompressAbove int
	// ChunkSize is the largest value payload kept inline in a key's znode,
	// and the size of each chunk of larger values (default 480 KiB).
	ChunkSize int
	// MaxRequest is the largest multi request Apply sends. It must stay
	// below the server's jute.maxbuffer (default 1 MiB - 1); default 900 KiB.
	MaxRequest int
	// Parallelism bounds concurrent reads in List and chunk transfers
	// (default 64).
	Parallelism int
	// Connections is the number of ZooKeeper sessions the store opens
	// (default 4): List spreads its reads over all of them, which is what
	// makes a cold start of a large state fast; everything else uses the
	// first.
	Connections int
	// Logger receives the client's connection messages at debug level.
	Logger *slog.Logger
}

func (c *Config) defaults() error {
	if len(c.Servers) == 0 {
		return errors.New("zkstore: config: no ZooKeeper servers")
	}
	root, err := cleanRoot(c.Root)
	if err != nil {
		return err
	}
	c.Root = root
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 15 * time.Second
	}
	if c.RetryFor <= 0 {
		c.RetryFor = 10 * time.Second
	}
	if c.CompressAbove <= 0 {
		c.CompressAbove = 512
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = 480 << 10
	}
	if c.MaxRequest <= 0 {
		c.MaxRequest = 900 << 10
	}
	if c.ChunkSize+4096 > c.MaxRequest {
		return fmt.Errorf("zkstore: config: ChunkSize %d must leave room in MaxRequest %d", c.ChunkSize, c.MaxRequest)
	}
	if c.Parallelism <= 0 {
		c.Parallelism = 64
	}
	if c.Connections <= 0 {
		c.Connections = 4
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// cleanRoot validates a root znode path: absolute, no trailing slash, no
// empty or dot segments.
func cleanRoot(root string) (string, error) {
	if root == "" {
		return "", errors.New("zkstore: config: empty root path")
	}
	if !strings.HasPrefix(root, "/") || path.Clean(root) != root {
		return "", fmt.Errorf("zkstore: config: root %q must be a clean absolute path like /berth", root)
	}
	return root, nil
}

// ParseURL parses zk://h1:2181,h2:2181/berth into Servers and Root (the
// rest of the Config keeps its zero values). Ports default to 2181; the
// path is required.
func ParseURL(s string) (Config, error) {
	var cfg Config
	rest, ok := strings.CutPrefix(s, "zk://")
	if !ok {
		return cfg, fmt.Errorf("zkstore: %q: want zk://host:port[,host:port…]/path", s)
	}
	hosts, p, _ := strings.Cut(rest, "/")
	if strings.Contains(hosts, "@") {
		return cfg, fmt.Errorf("zkstore: %q: credentials in ZooKeeper URLs are not supported", s)
	}
	if hosts == "" {
		return cfg, fmt.Errorf("zkstore: %q: no servers", s)
	}
	for _, h := range strings.Split(hosts, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			return cfg, fmt.Errorf("zkstore: %q: empty server in list", s)
		}
		host, port, err := net.SplitHostPort(h)
		if err != nil {
			host, port = h, "2181"
			if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
				return cfg, fmt.Errorf("zkstore: %q: bad server %q", s, h)
			}
			host = strings.Trim(host, "[]")
		}
		if host == "" || port == "" {
			return cfg, fmt.Errorf("zkstore: %q: bad server %q", s, h)
		}
		cfg.Servers = append(cfg.Servers, net.JoinHostPort(host, port))
	}
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if strings.TrimSuffix(p, "/") == "" {
		return cfg, fmt.Errorf("zkstore: %q: want a path after the servers, like /berth", s)
	}
	root, err := cleanRoot("/" + strings.TrimSuffix(p, "/"))
	if err != nil {
		return cfg, fmt.Errorf("zkstore: %q: %w", s, err)
	}
	cfg.Root = root
	return cfg, nil
}
