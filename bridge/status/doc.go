// Package status serves ledbridge's LAN status page: the page itself (embedded, no build step),
// /api/status (the same state as JSON), /api/events (live updates over Server-Sent Events),
// /metrics (Prometheus), /healthz, and the token-guarded controls.
//
// It knows nothing of rooms or devices: a Provider hands it Snapshots and strip previews, and a
// Controller carries out the controls.
package status
