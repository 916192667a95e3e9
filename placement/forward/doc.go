// Package forward lets a client talk to any master: an http.Handler
// middleware that serves requests on the leader (adding X-Marathon-Leader)
// and forwards them from a standby to the leader (adding X-Marathon-Via),
// streaming bodies both ways so /v2/events works through a standby.
//
// Some paths are answered by every master itself (Config.Local; by default
// /ping, GET /v2/leader and /v2/info, which report this master's own view:
// elected, leader). While no leader is known a request waits up to
// Config.Wait for one, then gets 503 {"message":"Could not determine the
// current leader"}. A leader that refuses the connection (it just died and
// the election has not noticed yet) is treated the same way: nothing of the
// request reached it, so it waits for the next leader, and gets 502 if none
// comes in time. Any other failure to reach the leader gives 502; a request
// that already passed through this master (a forwarding loop) gives 502
// "Detected proxying loop.".
package forward
