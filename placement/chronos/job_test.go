package chronos

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// seedJob is a real user's body: string numbers, Chronos' container form.
const seedJob = `{"name":"chronos-nginx","schedule":"R/2018-05-30T14:00:00.000Z/PT24H","cpus":"0.3","mem":"32",
 "container":{"type":"DOCKER","image":"docker.io/nginx","network":"HOST"},"uris":[],
 "command":"/usr/sbin/nginx -g 'daemon off;' -c /etc/nginx/nginx.conf"}`

func TestDecodeSeedJob(t *testing.T) {
	j, err := Decode([]byte(seedJob))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Normalize(DefaultDefaults, false, now); err != nil {
		t.Fatal(err)
	}
	if j.CPUs != 0.3 || j.Mem != 32 || j.Disk != 256 || j.Retries != 2 || !j.Shell || j.Epsilon != "PT60S" {
		t.Errorf("decoded %+v", j)
	}
	if j.Container.Image != "docker.io/nginx" || j.Container.Network != "HOST" || j.Container.Type != "DOCKER" {
		t.Errorf("container %+v", j.Container)
	}
	out, _ := json.Marshal(j)
	for _, want := range []string{`"cpus":0.3`, `"mem":32`, `"successCount":0`, `"lastSuccess":""`, `"constraints":[]`, `"environmentVariables":[]`, `"shell":true`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %s: %s", want, out)
		}
	}
	// Stored JSON decodes back to the same job.
	back, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Normalize(DefaultDefaults, false, now); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	if string(again) != string(out) {
		t.Errorf("round trip:\n%s\n%s", out, again)
	}
}

func TestDecodeForms(t *testing.T) {
	j, err := Decode([]byte(`{"name":"etl.daily_1","command":"run","parents":["a","b"],"retries":"3","disabled":"true",
	  "constraints":[["rack","equals","a"],["hostname","LIKE","node-[0-9]+"]],
	  "environmentVariables":[{"name":"STAGE","value":"prod"}],"shell":false,"arguments":["-x"],
	  "cpus":1,"mem":"", "unknownKey": {"kept": false}, "queue":"q11"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := j.Normalize(DefaultDefaults, true, now); err != nil {
		t.Fatal(err)
	}
	if j.Retries != 3 || !j.Disabled || j.Shell || j.Mem != 128 || j.Queue != "q11" ||
		j.Constraints[0] != (Constraint{"rack", "EQUALS", "a"}) || len(j.Parents) != 2 {
		t.Errorf("decoded %+v", j)
	}
	out, _ := json.Marshal(j)
	if !strings.Contains(string(out), `"constraints":[["rack","EQUALS","a"],["hostname","LIKE","node-[0-9]+"]]`) {
		t.Errorf("constraints on output: %s", out)
	}
}

func TestNormalizeErrors(t *testing.T) {
	for _, tc := range []struct {
		body      string
		dependent bool
		field     string
	}{
		{`{"name":"a b","command":"x","schedule":"R/2026-01-01T00:00:00Z/P1D"}`, false, "name"},
		{`{"name":"a","command":"x"}`, false, "schedule"},
		{`{"name":"a","command":"x","schedule":"R/2026-01-01T00:00:00Z/1D"}`, false, "schedule"},
		{`{"name":"a","command":"x","schedule":"R/2026-13-01T00:00:00Z/P1D"}`, false, "schedule"},
		{`{"name":"a","command":"x","schedule":"R/2026-01-01T00:00:00Z/P1D","scheduleTimeZone":"Nowhere/Land"}`, false, "scheduleTimeZone"},
		{`{"name":"a","command":"x","schedule":"R/2026-01-01T00:00:00Z/P1D","epsilon":"60"}`, false, "epsilon"},
		{`{"name":"a","command":"x","schedule":"R/2026-01-01T00:00:00Z/P1D","cpus":"-1"}`, false, "cpus"},
		{`{"name":"a","command":"x","schedule":"R/2026-01-01T00:00:00Z/P1D","mem":-5}`, false, "mem"},
		{`{"name":"a","command":"x","schedule":"R/2026-01-01T00:00:00Z/P1D","retries":-1}`, false, "retries"},
		{`{"name":"a","command":"x"}`, true, "parents"},
		{`{"name":"a","command":"x","parents":["b c"]}`, true, "parents[0]"},
		{`{"name":"a","command":"x","parents":["b"],"constraints":[["rack","CLUSTER","a"]]}`, true, "constraints[0]"},
		{`{"name":"a","command":"x","parents":["b"],"constraints":[["rack","EQUALS"]]}`, true, "constraints[0]"},
		{`{"name":"a","command":"x","parents":["b"],"container":{"image":"i","network":"USER2"}}`, true, "container.network"},
		{`{"name":"a","command":"x","parents":["b"],"uris":["u"],"fetch":[{"uri":"u"}]}`, true, "uris"},
		{`{"name":"a","parents":["b"]}`, true, "command"},
		{`{"name":"a","command":"x","parents":["b"],"cpus":"lots"}`, true, ""},
		{`{"name":"a","command":"x","parents":"b"}`, true, "parents"},
		{`{"name":"a","command":"x","parents":["b"],"container":{"image":"i","volumes":[{"containerPath":"/data","mode":"RW"}]}}`, true, "container.volumes[0].hostPath"},
		{`{"name":"a","command":"x","parents":["b"],"container":{"image":"i","volumes":[{"containerPath":"/d","hostPath":"/h"},{"containerPath":"/e","external":{"name":"v","provider":"dvdi"}}]}}`, true, "container.volumes[1].external"},
		{`{"name":"a","command":"x","parents":["b"],"container":{"image":"i","volumes":[{"hostPath":"/h"}]}}`, true, "container.volumes[0].containerPath"},
		{`{"name":"a","command":"x","parents":["b"],"container":{"image":"i","volumes":[{"containerPath":"/d","hostPath":"/h","mode":"RX"}]}}`, true, "container.volumes[0].mode"},
		{`{"name":"a","command":"x","parents":["b"],"container":{"image":"i","forcePullImage":"maybe"}}`, true, ""},
	} {
		j, err := Decode([]byte(tc.body))
		if err == nil {
			err = j.Normalize(DefaultDefaults, tc.dependent, now)
		}
		var e *Error
		if !errors.As(err, &e) || e.Field != tc.field {
			t.Errorf("%s: error %v, want field %q", tc.body, err, tc.field)
			continue
		}
		if !strings.Contains(string(e.Body()), `"status":"Bad Request"`) {
			t.Errorf("body %s", e.Body())
		}
	}
}
