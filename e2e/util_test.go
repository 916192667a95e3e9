package e2e

import (
	"net/http"
	"strings"
)

func newRequest(method, url, body string) (*http.Request, error) {
	return http.NewRequest(method, url, strings.NewReader(body))
}
