package ui_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/testenv"
	"github.com/berth-platform/berth/placement/master"
)

// TestUIThroughStandby: two masters share ZooKeeper; the console of the
// one that does not lead shows the leader's apps and its forms change
// them, through the standby's forwarding of the API.
func TestUIThroughStandby(t *testing.T) {
	zk := testenv.StartZooKeeper(t)
	zkURL := "zk://" + zk.Addr + "/berth-ui-test"
	ctx, cancel := context.WithCancel(context.Background())
	var dones []chan error
	t.Cleanup(func() {
		cancel()
		for _, d := range dones {
			<-d
		}
	})
	var urls []string
	for i := range 2 {
		port := testenv.FreePort(t)
		ready, done := make(chan string, 1), make(chan error, 1)
		dones = append(dones, done)
		go func() {
			done <- master.Serve(ctx, master.ServerConfig{
				Listen: fmt.Sprintf("127.0.0.1:%d", port), WorkDir: filepath.Join(t.TempDir(), fmt.Sprint(i)),
				ZK: zkURL, ZKSessionTimeout: 2 * time.Second, Ready: func(a string) { ready <- a },
				Master: master.Config{AgentTimeout: 15 * time.Second},
			})
		}()
		select {
		case a := <-ready:
			urls = append(urls, "http://"+a)
		case err := <-done:
			t.Fatalf("master %d: %v", i, err)
		case <-time.After(30 * time.Second):
			t.Fatalf("master %d did not start", i)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) (int, string, error) {
		resp, err := client.Get(u)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	var leader, standby string
	testenv.WaitFor(t, 30*time.Second, "a leader", func() error {
		_, body, err := get(urls[0] + "/v2/leader")
		if err != nil {
			return err
		}
		for i, u := range urls {
			if strings.Contains(body, strings.TrimPrefix(u, "http://")) {
				leader, standby = u, urls[1-i]
				return nil
			}
		}
		return fmt.Errorf("leader answer %s", body)
	})
	resp, err := client.Post(leader+"/v2/apps", "application/json",
		strings.NewReader(`{"id":"/via-standby","cmd":"sleep 1000","cpus":0.1,"mem":16,"instances":0}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create on the leader: %d", resp.StatusCode)
	}
	code, body, err := get(standby + "/ui/apps")
	if err != nil || code != http.StatusOK || !strings.Contains(body, `href="/ui/apps/via-standby"`) {
		t.Fatalf("standby's apps page: %d %v %.400s", code, err, body)
	}
	if code, body, _ := get(standby + "/ui/cluster"); code != http.StatusOK || !strings.Contains(body, "(standby)") ||
		!strings.Contains(body, "ZooKeeper "+zkURL) {
		t.Fatalf("standby's cluster page: %d %.2000s", code, body)
	}
	// A form posted to the standby's console changes the leader's app.
	form := url.Values{"action": {"scale"}, "instances": {"2"}}
	req, _ := http.NewRequest(http.MethodPost, standby+"/ui/apps/via-standby", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "msg=Scaling") {
		t.Fatalf("scale through the standby: %d %s", resp.StatusCode, loc)
	}
	if _, body, _ := get(leader + "/v2/apps/via-standby"); !strings.Contains(body, `"instances":2`) {
		t.Fatalf("the leader's app after scaling through the standby: %.300s", body)
	}
}
