// Package ui is Berth's web console, served by the master at /ui/.
//
//	browser ──GET/POST /ui/…──► Handler ──► page handler: fetch over the public API
//	   ▲                                      │ (in process, with the caller's
//	   │ EventSource /ui/events               │  Authorization header)
//	   │ (the API's /v2/events)               ▼
//	   └── HTML ◄── html/template ◄── pure view-model function (golden-tested)
//
// Every page is rendered on the server from html/template files embedded
// in the binary; the read-only pages need no JavaScript, and every action
// is a plain HTML form that POSTs to a UI handler which calls the API and
// redirects back. A small hand-written script (static/ui.js) enhances the
// pages: it listens to the master's event stream and re-fetches the page
// to swap its live regions, and follows task logs as they are written.
//
// The UI never reads the master's state directly: it calls the public API
// through an http.Handler in the same process (handlerTransport), so the
// API's basic auth protects every page (an answer of 401 becomes the
// browser's login prompt) and a standby master's UI reads through the
// standby's forwarding to the leader.
package ui
