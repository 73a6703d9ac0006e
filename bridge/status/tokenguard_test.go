package status

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// setTokenClock makes srv's token guard read clock.
func setTokenClock(srv *Server, clock *fakeClock) { srv.tokens.now = clock.Now }

// controlFrom posts a blackout with token from the loopback address from, and returns the
// answer's status, Retry-After and body.
func controlFrom(t *testing.T, base, from, token string) (int, string, string) {
	t.Helper()
	code, retry, body, err := tryControlFrom(base, from, token)
	if err != nil {
		t.Fatal(err)
	}
	return code, retry, body
}

// tryControlFrom is controlFrom for a goroutine other than the test's: it returns the error.
func tryControlFrom(base, from, token string) (code int, retryAfter, body string, err error) {
	tr := &http.Transport{
		DialContext:       (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}).DialContext,
		DisableKeepAlives: true,
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodPost, base+"/api/control/blackout", strings.NewReader(`{"on":true}`))
	req.Header.Set(TokenHeader, token)
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), string(b), err
}

// metricValue returns the value of an unlabelled series on the server's /metrics.
func metricValue(t *testing.T, base, name string) string {
	t.Helper()
	_, body := get(t, base+"/metrics")
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("/metrics has no %s:\n%s", name, body)
	return ""
}

// TestWrongTokensBackOffPerClient: after freeTokenFailures wrong tokens a client's control
// requests are refused (429, Retry-After) for a second, doubling with each further failure up to a
// minute, even with the right token; another client is not affected; the right token after the
// wait clears the record. Failures and refusals are counted on /metrics, and logged, at most one
// line per tokenWarnEvery.
func TestWrongTokensBackOffPerClient(t *testing.T) {
	const token = "correct-horse-battery"
	clock := &fakeClock{now: time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)}
	logs := &testlog.Buffer{}
	ctl := &fakeController{}
	_, base := startServerWith(t, Config{Provider: &fakeProvider{}, Controller: ctl, Token: token,
		Logger: testlog.NewLogger(logs, slog.LevelInfo)}, func(s *Server) { setTokenClock(s, clock) })
	const guesser, colleague = "127.0.0.1", "127.0.0.2"
	failures, throttled := 0, 0
	expect := func(from, tok string, wantCode int, wantRetry string) {
		t.Helper()
		code, retry, body := controlFrom(t, base, from, tok)
		if code != wantCode || retry != wantRetry {
			t.Fatalf("from %s with token %q: HTTP %d, Retry-After %q (%s), want %d, %q", from, tok, code, retry, strings.TrimSpace(body), wantCode, wantRetry)
		}
		switch code {
		case http.StatusUnauthorized:
			failures++
		case http.StatusTooManyRequests:
			throttled++
			if !strings.Contains(body, "too many wrong tokens") {
				t.Errorf("429 body %q does not say why", body)
			}
		}
	}

	for i := range freeTokenFailures {
		expect(guesser, fmt.Sprintf("guess-%d", i), http.StatusUnauthorized, "")
	}
	expect(guesser, token, http.StatusTooManyRequests, "1") // the right token waits too
	// No token tests no guess: 401, not counted, whatever the client's wait.
	if code, retry, _ := controlFrom(t, base, guesser, ""); code != http.StatusUnauthorized || retry != "" {
		t.Fatalf("no token from a client that waits: HTTP %d, Retry-After %q; want 401 and none", code, retry)
	}
	expect(colleague, token, http.StatusOK, "") // another address is its own client
	clock.Advance(time.Second)
	expect(guesser, "guess-again", http.StatusUnauthorized, "")
	expect(guesser, token, http.StatusTooManyRequests, "2")
	clock.Advance(2 * time.Second)
	expect(guesser, token, http.StatusOK, "")
	// The right token cleared the record: five free failures again.
	for i := range freeTokenFailures {
		expect(guesser, fmt.Sprintf("guess-%d", i), http.StatusUnauthorized, "")
	}
	// The wait doubles up to the cap.
	for _, want := range []string{"1", "2", "4", "8", "16", "32", "60", "60"} {
		expect(guesser, token, http.StatusTooManyRequests, want)
		clock.Advance(time.Minute)
		expect(guesser, "guess", http.StatusUnauthorized, "")
	}
	if calls := len(ctl.calls); calls != 2 {
		t.Errorf("the controller ran %d times, want 2 (the right tokens outside a wait)", calls)
	}

	if got, want := metricValue(t, base, "ledbridge_status_token_failures_total"), fmt.Sprint(failures); got != want {
		t.Errorf("ledbridge_status_token_failures_total %s, want %s", got, want)
	}
	if got, want := metricValue(t, base, "ledbridge_status_token_throttled_total"), fmt.Sprint(throttled); got != want {
		t.Errorf("ledbridge_status_token_throttled_total %s, want %s", got, want)
	}

	// The first failure was logged, the next ones of the first seconds were not; the minutes
	// the loop waited let one line through per failure.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	var warnings []string
	for _, l := range lines {
		if strings.Contains(l, "wrong control token") {
			warnings = append(warnings, l)
		}
	}
	if len(warnings) != 1+8 {
		t.Fatalf("%d warnings about wrong tokens, want 9 (the first, then one per minute the test waited):\n%s", len(warnings), strings.Join(lines, "\n"))
	}
	if w := warnings[0]; !strings.Contains(w, "level=WARN") || !strings.Contains(w, "client="+guesser) || !strings.Contains(w, "notLoggedSincePrevious=0") {
		t.Errorf("first warning %q", w)
	}
	// 4 + 1 + 5 failures came within tokenWarnEvery of the first.
	if w := warnings[1]; !strings.Contains(w, "notLoggedSincePrevious=10") || !strings.Contains(w, "refusedFor=2s") {
		t.Errorf("second warning %q: want the 10 failures not logged and the new wait", w)
	}
}

// TestTokenGuardFullTableSharesOneRecord: the guard remembers at most maxClients clients. A full
// table drops only forgotten records; while every record still counts (failures within
// tokenForgetAfter, or a wait not over), new clients share one overflow record, so that they are
// throttled together rather than each given free failures by pushing out a guesser's record.
func TestTokenGuardFullTableSharesOneRecord(t *testing.T) {
	g, clock, _ := newTestGuard(t, io.Discard)
	g.maxClients = 4
	fail := func(client string) {
		t.Helper()
		if wait, _, compared := guardCheck(g, client, false); wait != 0 || !compared {
			t.Fatalf("a wrong token from %s: wait %v, compared %v; want compared", client, wait, compared)
		}
	}
	fail("old")
	clock.Advance(time.Second)
	for range freeTokenFailures {
		fail("guesser")
	}
	fail("b")
	fail("c")
	fail("d") // full: d shares the overflow record; old, with the oldest failure, stays
	if _, ok := g.clients["old"]; !ok || len(g.clients) != 4 {
		t.Fatalf("after a fifth client: %d remembered, old kept: %v; want 4 and old kept", len(g.clients), ok)
	}
	if wait, _, compared := guardCheck(g, "guesser", false); wait == 0 || compared {
		t.Fatal("the guesser's wait was forgotten")
	}
	for _, c := range []string{"e", "f", "g", "h"} { // the overflow's fifth failure
		fail(c)
	}
	// Every client outside the table now waits, whatever token it sends.
	for _, c := range []string{"d", "staff"} {
		if wait, _, compared := guardCheck(g, c, true); wait != tokenBackoffMin || compared {
			t.Errorf("%s, outside a full table, with the right token: wait %v, compared %v; want %v, not compared", c, wait, compared, tokenBackoffMin)
		}
	}
	clock.Advance(tokenBackoffMin)
	if wait, ok, _ := guardCheck(g, "staff", true); wait != 0 || !ok {
		t.Errorf("staff with the right token after the shared wait: wait %v, ok %v", wait, ok)
	}
	// The right token did not clear the shared record: its next failure waits again.
	fail("i")
	if wait, _, _ := guardCheck(g, "j", false); wait != 2*tokenBackoffMin {
		t.Errorf("after a sixth shared failure a new client waits %v, want %v", wait, 2*tokenBackoffMin)
	}

	// Long after, every record is forgotten and makes room at once.
	clock.Advance(tokenForgetAfter + time.Minute)
	for i := range 100 {
		g.check(fmt.Sprint("host-", i), "", func() bool { return false })
		if len(g.clients) > 4 {
			t.Fatalf("%d clients remembered, want at most 4", len(g.clients))
		}
	}
	if _, ok := g.clients["guesser"]; ok {
		t.Error("the guesser's record outlived tokenForgetAfter in a full table")
	}
}

// TestConcurrentWrongTokensCannotSlipThrough: a client one failure short of waiting that sends
// many wrong tokens at once gets one more 401; every other request is refused (429) without its
// token being compared, however they interleave.
func TestConcurrentWrongTokensCannotSlipThrough(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)}
	_, base := startServerWith(t, Config{Provider: &fakeProvider{}, Controller: &fakeController{}, Token: "correct-horse-battery",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, func(s *Server) { setTokenClock(s, clock) })
	for range freeTokenFailures - 1 {
		if code, _, _ := controlFrom(t, base, "127.0.0.1", "guess"); code != http.StatusUnauthorized {
			t.Fatalf("a wrong token: HTTP %d, want 401", code)
		}
	}
	const burst = 20 // within the per-client connection cap (32)
	codes := make(chan int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() {
			code, _, _, err := tryControlFrom(base, "127.0.0.1", fmt.Sprint("guess-", i))
			if err != nil {
				t.Error(err)
			}
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	count := map[int]int{}
	for c := range codes {
		count[c]++
	}
	if count[http.StatusUnauthorized] != 1 || count[http.StatusTooManyRequests] != burst-1 {
		t.Errorf("%d wrong tokens at once after %d failures: %v by HTTP status, want one 401 and %d 429", burst, freeTokenFailures-1, count, burst-1)
	}
}

// newTestGuard is a status server's token guard on a fake clock, logging to logs, and the server.
func newTestGuard(t *testing.T, logs io.Writer) (*tokenGuard, *fakeClock, *Server) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)}
	srv, err := New(Config{Provider: &fakeProvider{}, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv.tokens.now = clock.Now
	return srv.tokens, clock, srv
}
