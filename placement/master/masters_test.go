package master_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/master"
)

// infoMasters is /v2/info's berth.masters (and mastersError).
type infoMasters struct {
	Leader string `json:"leader"`
	Berth  struct {
		Masters []struct {
			URL    string `json:"url"`
			Leader bool   `json:"leader"`
		} `json:"masters"`
		MastersError string `json:"mastersError"`
	} `json:"berth"`
}

// startGroupMaster serves one master of a ZooKeeper group in-process until
// the returned stop is called (stop waits for it to end).
func startGroupMaster(t *testing.T, zkURL string) (url string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- master.Serve(ctx, master.ServerConfig{
			Listen: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), WorkDir: t.TempDir(),
			ZK: zkURL, ZKSessionTimeout: 2 * time.Second, Ready: func(a string) { ready <- a },
			Master: master.Config{AgentTimeout: 15 * time.Second},
		})
	}()
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("master %s: %v", url, err)
			}
		}
	}
	t.Cleanup(stop)
	select {
	case a := <-ready:
		return "http://" + a, stop
	case err := <-done:
		t.Fatalf("master: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("master did not start")
	}
	return "", nil
}

func getInfo(url string) (infoMasters, error) {
	var info infoMasters
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(url + "/v2/info")
	if err != nil {
		return info, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return info, fmt.Errorf("GET /v2/info: %s", resp.Status)
	}
	return info, json.NewDecoder(resp.Body).Decode(&info)
}

// TestInfoListsMasters: two masters on a real ZooKeeper; the leader's and
// the standby's /v2/info list both under berth.masters, the leader first
// and marked; once the standby stops, the leader lists only itself.
func TestInfoListsMasters(t *testing.T) {
	zk := testenv.StartZooKeeper(t)
	zkURL := "zk://" + zk.Addr + "/berth-masters-test"
	a, stopA := startGroupMaster(t, zkURL)
	b, stopB := startGroupMaster(t, zkURL)
	urls := map[string]func(){a: stopA, b: stopB}
	var leader, standby string
	testenv.WaitFor(t, 30*time.Second, "a leader", func() error {
		info, err := getInfo(a)
		if err != nil {
			return err
		}
		for u := range urls {
			if info.Leader != "" && "http://"+info.Leader == u {
				leader = u
			} else {
				standby = u
			}
		}
		if leader == "" {
			return fmt.Errorf("leader %q is none of %s, %s", info.Leader, a, b)
		}
		return nil
	})
	want := func(urls ...string) string {
		s := ""
		for i, u := range urls {
			s += fmt.Sprintf("%s leader=%v;", u, i == 0)
		}
		return s
	}
	lists := func(from string, wantList string) func() error {
		return func() error {
			info, err := getInfo(from)
			if err != nil {
				return err
			}
			if info.Berth.MastersError != "" {
				return fmt.Errorf("mastersError %s", info.Berth.MastersError)
			}
			got := ""
			for _, m := range info.Berth.Masters {
				got += fmt.Sprintf("%s leader=%v;", m.URL, m.Leader)
			}
			if got != wantList {
				return fmt.Errorf("%s lists %s", from, got)
			}
			return nil
		}
	}
	for _, from := range []string{leader, standby} {
		testenv.WaitFor(t, 10*time.Second, from+" lists both masters", lists(from, want(leader, standby)))
	}
	urls[standby]()
	testenv.WaitFor(t, 10*time.Second, "the leader lists only itself", lists(leader, want(leader)))
}
