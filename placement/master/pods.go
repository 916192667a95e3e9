package master

import "net/http"

// podsUnsupported is the answer to every /v2/pods request: Berth runs
// apps, not pods. 501 with Marathon's message body; a client probing pod
// support (HEAD /v2/pods answers 204 on a Marathon with pods) sees a
// non-2xx status and falls back to apps.
const podsUnsupported = "Pods are not supported by Berth: deploy each container as an app (/v2/apps), " +
	"or several apps together as a group (/v2/groups)"

func handlePods(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusNotImplemented)
		return
	}
	writeMessage(w, http.StatusNotImplemented, podsUnsupported)
}
