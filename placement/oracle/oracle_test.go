package oracle

import (
	"strings"
	"testing"
)

const deployment = `{"id":"5b0c7e3a-1f0d-4a44-9a6b-0b9f3d2c1e11","version":"2019-05-02T08:00:00.000Z",
	"affectedApps":["/shop/web"],"affectedPods":[],
	"steps":[{"actions":[{"action":"RestartApplication","app":"/shop/web"}]}],
	"currentActions":[{"action":"RestartApplication","app":"/shop/web","readinessCheckResults":[
		{"name":"readinessCheck","taskId":"shop_web.1","ready":false,
		 "lastResponse":{"status":503,"contentType":"text/plain","body":"no"}}]}],
	"currentStep":1,"totalSteps":1}`

const queue = `{"queue":[{"app":{"id":"/a","cmd":"x"},"count":1,"role":"*",
	"delay":{"timeLeftSeconds":0,"overdue":true},"since":"2019-05-02T08:00:00.000Z",
	"processedOffersSummary":{"processedOffersCount":3,"unusedOffersCount":3,
		"rejectSummaryLastOffers":[{"reason":"InsufficientMemory","declined":3,"processed":3}],
		"rejectSummaryLaunchAttempt":[]}}]}`

// TestCheckNewSchemas: Check validates /v2/deployments items, /v2/queue
// and the version lists, accepts Marathon's documented examples and
// names what drifts.
func TestCheckNewSchemas(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, body, bad string // bad: "" = valid, else a part of the complaint
	}{
		{"deployment", "/v2/deployments", "[" + deployment + "]", ""},
		{"no deployments", "/v2/deployments", "[]", ""},
		{"unknown action", "/v2/deployments", "[" + strings.Replace(deployment, `"RestartApplication","app"`, `"Rollout","app"`, 1) + "]", "deployment[0]"},
		{"no readinessCheckResults", "/v2/deployments", "[" + strings.Replace(deployment, `,"readinessCheckResults":[`, `,"x":[`, 1) + "]", "deployment[0]"},
		{"ready as string", "/v2/deployments", "[" + strings.Replace(deployment, `"ready":false`, `"ready":"false"`, 1) + "]", "deployment[0]"},
		{"currentStep as string", "/v2/deployments", "[" + strings.Replace(deployment, `"currentStep":1`, `"currentStep":"1"`, 1) + "]", "deployment[0]"},
		{"extra key", "/v2/deployments", "[" + strings.Replace(deployment, `"totalSteps":1`, `"totalSteps":1,"state":"running"`, 1) + "]", "deployment[0]"},
		{"queue", "/v2/queue", queue, ""},
		{"queue without delay", "/v2/queue", strings.Replace(queue, `"delay":{"timeLeftSeconds":0,"overdue":true},`, "", 1), "the queue"},
		{"overdue as string", "/v2/queue", strings.Replace(queue, `"overdue":true`, `"overdue":"true"`, 1), "the queue"},
		{"declined as string", "/v2/queue", strings.Replace(queue, `"declined":3`, `"declined":"3"`, 1), "the queue"},
		{"queue app with a foreign key", "/v2/queue", strings.Replace(queue, `"cmd":"x"`, `"cmd":"x","agentTimeout":1`, 1), "the queue"},
		{"group versions", "/v2/groups/shop/versions", `["2019-05-02T08:00:00.000Z","2019-05-01T08:00:00.000Z"]`, ""},
		{"group versions not timestamps", "/v2/groups/shop/versions", `["v2"]`, "version list"},
		{"duplicate group versions", "/v2/groups/shop/versions", `["2019-05-02T08:00:00.000Z","2019-05-02T08:00:00.000Z"]`, "version list"},
		{"group version", "/v2/groups/shop/versions/2019-05-02T08:00:00.000Z", `{"id":"/shop","apps":[],"groups":[],"pods":[],"dependencies":[],"version":"2019-05-02T08:00:00.000Z"}`, ""},
		{"group version, foreign key", "/v2/groups/shop/versions/2019-05-02T08:00:00.000Z", `{"id":"/shop","owner":"x"}`, "group"},
		{"app versions", "/v2/apps/a/versions", `{"versions":["2019-05-02T08:00:00.000Z"]}`, ""},
		{"app versions, bare list", "/v2/apps/a/versions", `{"versions":[1]}`, "version list"},
	} {
		got := Check(s, "GET", tc.path, 200, []byte(tc.body))
		switch {
		case tc.bad == "" && len(got) != 0:
			t.Errorf("%s: valid answer refused: %v", tc.name, got)
		case tc.bad != "" && (len(got) == 0 || !strings.Contains(got[0], tc.bad)):
			t.Errorf("%s: drift not named (want %q): %v", tc.name, tc.bad, got)
		}
	}
}
