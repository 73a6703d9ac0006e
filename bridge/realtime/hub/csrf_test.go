package hub

import (
	"net/http"
	"strings"
	"testing"
)

// browserPost sends a POST the way a browser sends a request that needs no CORS preflight (a
// no-cors fetch or a form), with the headers a browser adds, and returns the status.
func browserPost(t *testing.T, h *testHub, path, origin, contentType, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.httpURL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Mode", "no-cors")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// supabasePost sends a POST the way supabase-js's httpSend and batch fallback do (apikey and
// Authorization headers, the websocket query string on the URL) and returns the status.
func supabasePost(t *testing.T, h *testHub, path, origin, contentType, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.httpURL()+path+"?apikey="+h.apiKey()+"&vsn=2.0.0", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("apikey", h.apiKey())
	req.Header.Set("Authorization", "Bearer "+h.apiKey())
	req.Header.Set("Content-Type", contentType)
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

const ledUpdateBatch = `{"messages":[{"topic":"ABC123","event":"led-update","payload":{"colors":["#ff0000"],"seq":999999}}]}`

// TestRESTRefusesCrossSiteBrowserPosts: a web page a musician opens must not push broadcasts into
// a room through the REST endpoints with a request the browser sends without a preflight, nor
// with an Origin outside hub.allowed_origins; supabase-js's own REST calls keep working.
func TestRESTRefusesCrossSiteBrowserPosts(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	single := BroadcastAPIPath + "/ABC123/events/led-update"
	const evil = "https://evil.example.net"

	t.Run("allowed_origins", func(t *testing.T) {
		h := startHub(t, Config{AllowedOrigins: []string{"jam.example.org"}, Secret: "anon"})
		member := dial(t, h, dialOpts{apikey: "anon", header: http.Header{"Origin": {"https://jam.example.org"}}})
		trackAsHost(member, member.join(topic, cfgJSON(false, false, "host-peer"))) // REST led-update is the host's client's
		// The reviewer's request: text/plain, the key in the query string.
		if code := browserPost(t, h, BroadcastAPIPath+"?apikey=anon", evil, "text/plain;charset=UTF-8", ledUpdateBatch); code != http.StatusForbidden {
			t.Errorf("text/plain from %s: HTTP %d, want 403", evil, code)
		}
		// Even with a JSON type (which a browser sends only after a preflight), the origin decides.
		if code := supabasePost(t, h, single, evil, "application/json", `{"colors":["#ff0000"]}`); code != http.StatusForbidden {
			t.Errorf("JSON from %s: HTTP %d, want 403", evil, code)
		}
		member.barrier() // nothing was delivered
		if code := supabasePost(t, h, BroadcastAPIPath, "https://jam.example.org", "application/json", ledUpdateBatch); code != http.StatusAccepted {
			t.Fatalf("JSON from the allowed origin: HTTP %d, want 202", code)
		}
		if m := member.nextMsg(); m.Event != "broadcast" || !strings.Contains(string(m.Payload), `"led-update"`) {
			t.Fatalf("member got %s %s, want the led-update", m.Event, m.Payload)
		}
		if st := h.Stats(); st.RESTRefused != 2 {
			t.Errorf("RESTRefused = %d, want 2", st.RESTRefused)
		}
	})

	t.Run("any_origin", func(t *testing.T) {
		h := startHub(t, Config{})
		member := dial(t, h, dialOpts{})
		trackAsHost(member, member.join(topic, cfgJSON(false, false, "host-peer"))) // REST led-update is the host's client's
		for _, tc := range []struct{ path, ctype, body string }{
			{BroadcastAPIPath + "?apikey=x", "text/plain;charset=UTF-8", ledUpdateBatch},
			{BroadcastAPIPath, "application/x-www-form-urlencoded", ledUpdateBatch},
			{BroadcastAPIPath, "multipart/form-data; boundary=x", ledUpdateBatch},
			{BroadcastAPIPath, "", ledUpdateBatch}, // fetch with a Blob body of no type
			{single, "text/plain", `{"colors":["#ff0000"]}`},
			{single, "", `{"colors":["#ff0000"]}`},
			{BroadcastAPIPath, "application/octet-stream", ledUpdateBatch}, // a batch is JSON
		} {
			if code := browserPost(t, h, tc.path, evil, tc.ctype, tc.body); code != http.StatusUnsupportedMediaType {
				t.Errorf("POST %s with Content-Type %q: HTTP %d, want 415", tc.path, tc.ctype, code)
			}
		}
		member.barrier() // nothing was delivered

		// With no allowed_origins a page's CORS preflight is approved, as its WebSocket upgrade
		// is (TestRESTCORSWithNoOriginList): it is the requests above, which a browser sends
		// without one, that a page must not get through.

		// supabase-js (and any non-browser client) keeps working: JSON on both endpoints, and
		// application/octet-stream for a binary payload.
		if code := supabasePost(t, h, BroadcastAPIPath, "", "application/json; charset=utf-8", ledUpdateBatch); code != http.StatusAccepted {
			t.Fatalf("batch JSON: HTTP %d, want 202", code)
		}
		if m := member.nextMsg(); m.Event != "broadcast" {
			t.Fatalf("member got %s, want the batch broadcast", m.Event)
		}
		if code := supabasePost(t, h, single, "", "application/json", `{"colors":["#00ff00"]}`); code != http.StatusAccepted {
			t.Fatalf("single JSON: HTTP %d, want 202", code)
		}
		if f := member.next(); !f.binary || !strings.HasSuffix(string(f.data), `{"colors":["#00ff00"]}`) {
			t.Fatalf("member got %s, want the single broadcast", f)
		}
		if code := supabasePost(t, h, BroadcastAPIPath+"/ABC123/events/raw", "", "application/octet-stream", "\x01\x02"); code != http.StatusAccepted {
			t.Fatalf("single binary: HTTP %d, want 202", code)
		}
		if f := member.next(); !f.binary || !strings.HasSuffix(string(f.data), "raw\x01\x02") {
			t.Fatalf("member got %s, want the binary broadcast", f)
		}
	})
}
