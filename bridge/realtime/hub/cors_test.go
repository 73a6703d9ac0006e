package hub

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// preflight sends the CORS preflight a browser sends before supabase-js's httpSend (or send's
// REST fallback) from a page of origin, with the headers it would add, and returns the answer.
func preflight(t *testing.T, h *testHub, path, origin string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodOptions, h.httpURL()+path+"?apikey="+h.apiKey()+"&vsn=2.0.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "apikey,authorization,content-type,x-client-info")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Sec-Fetch-Dest", "empty")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// corsPost sends the POST that follows an approved preflight, as supabase-js sends it from a page
// of origin, and returns the answer.
func corsPost(t *testing.T, h *testHub, path, origin, apikey, contentType, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.httpURL()+path+"?apikey="+apikey+"&vsn=2.0.0", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("apikey", apikey)
	req.Header.Set("Authorization", "Bearer "+apikey)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Client-Info", "supabase-js-web/2.119.1")
	req.Header.Set("Sec-Fetch-Mode", "cors")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// headerList splits a comma-separated header into lower-case items.
func headerList(resp *http.Response, name string) []string {
	var items []string
	for _, v := range resp.Header.Values(name) {
		for _, item := range strings.Split(v, ",") {
			items = append(items, strings.ToLower(strings.TrimSpace(item)))
		}
	}
	return items
}

// expectApproved checks a preflight answer as a browser does: a 2xx status, the page's origin
// allowed, POST and every header supabase-js sends allowed; and that caches key it on Origin.
func expectApproved(t *testing.T, resp *http.Response, origin string) {
	t.Helper()
	if resp.StatusCode/100 != 2 {
		t.Errorf("preflight from %s: HTTP %d, want 2xx", origin, resp.StatusCode)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("preflight from %s: Access-Control-Allow-Origin %q", origin, got)
	}
	if methods := headerList(resp, "Access-Control-Allow-Methods"); !slices.Contains(methods, "post") {
		t.Errorf("preflight: Access-Control-Allow-Methods %q, want POST", methods)
	}
	allowed := headerList(resp, "Access-Control-Allow-Headers")
	for _, h := range []string{"apikey", "authorization", "content-type", "x-client-info"} {
		if !slices.Contains(allowed, h) {
			t.Errorf("preflight: Access-Control-Allow-Headers %q lacks %s", allowed, h)
		}
	}
	if resp.Header.Get("Access-Control-Max-Age") == "" {
		t.Error("preflight: no Access-Control-Max-Age")
	}
	if !slices.Contains(headerList(resp, "Vary"), "origin") {
		t.Errorf("preflight: Vary %q, want Origin", resp.Header.Values("Vary"))
	}
}

// expectCORSAnswer checks that a page of origin may read resp (a POST's answer).
func expectCORSAnswer(t *testing.T, what string, resp *http.Response, status int, origin string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("%s: HTTP %d, want %d", what, resp.StatusCode, status)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
		t.Errorf("%s: Access-Control-Allow-Origin %q, want %q", what, got, origin)
	}
	if !slices.Contains(headerList(resp, "Vary"), "origin") {
		t.Errorf("%s: Vary %q, want Origin", what, resp.Header.Values("Vary"))
	}
}

// TestRESTCORSForAllowedOrigins: a page whose origin hub.allowed_origins admits (the WebSocket
// upgrade's rule) can use supabase-js's REST sends: the browser's preflight is approved and the
// POST's answer is readable. On the old code the preflight got 405 and no CORS header, so
// httpSend and send's fallback (every reconnect) failed in every browser. Other origins are
// still refused.
func TestRESTCORSForAllowedOrigins(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	const jam = "https://jam.example.org"
	const evil = "https://evil.example.net"
	single := BroadcastAPIPath + "/ABC123/events/led-update"
	h := startHub(t, Config{AllowedOrigins: []string{"jam.example.org"}, Secret: "anon"})
	member := dial(t, h, dialOpts{apikey: "anon", header: http.Header{"Origin": {jam}}})
	trackAsHost(member, member.join(topic, cfgJSON(false, false, "member"))) // REST led-update is the host's client's

	for _, path := range []string{BroadcastAPIPath, single} {
		expectApproved(t, preflight(t, h, path, jam), jam)
	}
	expectCORSAnswer(t, "batch POST", corsPost(t, h, BroadcastAPIPath, jam, "anon", "application/json", ledUpdateBatch), http.StatusAccepted, jam)
	if m := member.nextMsg(); m.Event != "broadcast" || !strings.Contains(string(m.Payload), `"led-update"`) {
		t.Fatalf("member got %s %s, want the batch led-update", m.Event, m.Payload)
	}
	expectCORSAnswer(t, "httpSend POST", corsPost(t, h, single, jam, "anon", "application/json", `{"colors":["#00ff00"]}`), http.StatusAccepted, jam)
	if f := member.next(); !f.binary || !strings.HasSuffix(string(f.data), `{"colors":["#00ff00"]}`) {
		t.Fatalf("member got %s, want the httpSend led-update", f)
	}
	// A refusal the page should be able to read (supabase-js reports the status).
	expectCORSAnswer(t, "POST with a wrong key", corsPost(t, h, single, jam, "wrong", "application/json", `{}`), http.StatusUnauthorized, jam)

	// An origin outside the list: the preflight is refused as before, and so is the POST.
	resp := preflight(t, h, BroadcastAPIPath, evil)
	if resp.StatusCode/100 == 2 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from %s: HTTP %d, Access-Control-Allow-Origin %q; want it refused", evil, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	resp = corsPost(t, h, BroadcastAPIPath, evil, "anon", "application/json", ledUpdateBatch)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("POST from %s: HTTP %d, Access-Control-Allow-Origin %q; want 403 without it", evil, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	member.barrier() // nothing from evil was delivered

	// A page served by the hub's own LAN address passes, as at upgrade.
	own := "http://" + h.addr
	expectApproved(t, preflight(t, h, single, own), own)
}

// TestRESTCORSWithNoOriginList: with no hub.allowed_origins every origin may open a WebSocket to
// the hub, so every origin's preflight is approved too (the REST endpoints give a page nothing a
// socket does not); a request that is not a preflight is answered as before.
func TestRESTCORSWithNoOriginList(t *testing.T) {
	t.Cleanup(http.DefaultClient.CloseIdleConnections)
	const page = "https://musician.example.com"
	h := startHub(t, Config{})
	host := dial(t, h, dialOpts{header: http.Header{"Origin": {page}}}) // the upgrade's rule admits it
	trackAsHost(host, host.join(topic, cfgJSON(false, false, "host")))  // REST led-update is the host's client's
	expectApproved(t, preflight(t, h, BroadcastAPIPath, page), page)
	expectCORSAnswer(t, "POST", corsPost(t, h, BroadcastAPIPath, page, h.apiKey(), "application/json", ledUpdateBatch), http.StatusAccepted, page)

	// OPTIONS that is no preflight (no Origin, or no requested method) keeps its 405.
	for _, hdr := range []http.Header{{}, {"Origin": {page}}} {
		req, _ := http.NewRequest(http.MethodOptions, h.httpURL()+BroadcastAPIPath, nil)
		req.Header = hdr
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("OPTIONS with %v: HTTP %d, Access-Control-Allow-Origin %q; want 405 without it", hdr, resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
	// A POST without an Origin (supabase-js in Node, ledbridge) gets no CORS headers.
	if resp := corsPost(t, h, BroadcastAPIPath, "", h.apiKey(), "application/json", ledUpdateBatch); resp.StatusCode != http.StatusAccepted || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("POST without Origin: HTTP %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
}
