// Package status serves ledbridge's LAN status page: the page itself (embedded, no build step),
// /api/status (the same state as JSON), /api/events (live updates over Server-Sent Events),
// /metrics (Prometheus), /healthz, and the token-guarded controls.
//
// It knows nothing of rooms or devices: a Provider hands it Snapshots and strip previews, and a
// Controller carries out the controls. It answers only to Host names a LAN visitor uses (IP
// addresses, localhost, single-label and .local/.lan/.home.arpa/.internal names, and
// Config.AllowedHosts), so a web page that rebinds its domain to this machine cannot read it, and
// it caps live streams and connections per client as well as in total, so one host cannot take
// them all, and bounds how long a slow client holds a connection. A reload that removes a name
// (SetAccess) ends the live streams opened under it. A viewer on a slow link gets the newest
// state, never a backlog: each keeps one waiting status event and one preview, the newest, a
// preview waits while the kernel still holds an earlier one, and the send buffer is small. A client that sends wrong control tokens is made to wait
// (1 s after five, doubling up to a minute), and is logged and counted.
package status
