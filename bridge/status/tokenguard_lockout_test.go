package status

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ledbridge/ledbridge/bridge/testlog"
)

// TestRecentStaffOutlastASustainedAttack: 30 addresses, each sending a wrong token whenever it may
// (every 100 ms), keep the shared budget spent for 30 minutes: each settles at one failure per
// tokenBackoffMax, and together they refill the budget as fast as it empties. Staff who gave the
// right token shortly before are admitted on every try all along (each right token renews their
// trust), while the attackers' comparisons stay within the budget; staff on a fresh phone are
// refused for as long as the attack lasts, and so is the staff phone once its trust has lapsed.
func TestRecentStaffOutlastASustainedAttack(t *testing.T) {
	logs := &testlog.Buffer{}
	g, clock, _ := newTestGuard(t, logs)
	const staff, freshPhone = "192.168.1.20", "192.168.1.21"
	if wait, ok, _ := guardCheck(g, staff, true); wait != 0 || !ok {
		t.Fatalf("staff before the attack: wait %v, ok %v", wait, ok)
	}
	const addresses = 30
	var attackerComparedAt []time.Time
	staffOK, staffTries, freshOK := 0, 0, 0
	for step := range 30 * 60 * 10 { // 30 minutes in 100 ms steps
		clock.Advance(100 * time.Millisecond)
		for a := range addresses {
			if _, ok, compared := guardCheck(g, fmt.Sprint("fd00::", a), false); compared {
				attackerComparedAt = append(attackerComparedAt, clock.Now())
			} else if ok {
				t.Fatal("a wrong token was accepted")
			}
		}
		if step%100 == 50 { // staff every 10 s
			staffTries++
			if _, ok, _ := guardCheck(g, staff, true); ok {
				staffOK++
			}
			if _, ok, _ := guardCheck(g, freshPhone, true); ok && step > 600 {
				freshOK++
			}
		}
	}
	t.Logf("30 min, %d attacker addresses: %d attacker tokens compared; staff admitted %d of %d tries, a fresh phone %d after the first minute",
		addresses, len(attackerComparedAt), staffOK, staffTries, freshOK)
	if staffOK != staffTries {
		t.Errorf("staff who gave the right token before the attack admitted %d of %d tries, want all", staffOK, staffTries)
	}
	if freshOK != 0 {
		t.Errorf("a fresh phone was admitted %d times during the attack: its token would test a guess past the budget", freshOK)
	}
	checkBudget(t, attackerComparedAt)
	if !strings.Contains(logs.String(), "client="+freshPhone) || !strings.Contains(logs.String(), "only clients that gave the right token lately are admitted") {
		t.Error("the log never said why the fresh phone was refused")
	}

	// Staff who stop for longer than tokenForgetAfter lose their place, attack still on.
	for range int(tokenForgetAfter/time.Second) + 1 {
		clock.Advance(time.Second)
		for a := range addresses {
			guardCheck(g, fmt.Sprint("fd00::", a), false)
		}
	}
	if wait, ok, compared := guardCheck(g, staff, true); ok || compared || wait == 0 {
		t.Errorf("staff silent for %v during the attack: wait %v, ok %v, compared %v; want refused", tokenForgetAfter, wait, ok, compared)
	}
}

// TestTrustedClientsAreBoundedAndKeepTheirOwnBackoff: at most trustedTokenClients clients skip the
// shared wait, the ones that gave the right token most recently; a trusted client that sends
// wrong tokens waits out its own backoff like any other; a new token trusts nobody.
func TestTrustedClientsAreBoundedAndKeepTheirOwnBackoff(t *testing.T) {
	g, clock, srv := newTestGuard(t, io.Discard)
	for i := range trustedTokenClients + 1 {
		clock.Advance(time.Second)
		guardCheck(g, fmt.Sprint("staff-", i), true)
	}
	for i := range globalTokenFailures { // the budget is spent
		guardCheck(g, fmt.Sprint("guesser-", i), false)
	}
	if _, ok, _ := guardCheck(g, "staff-0", true); ok {
		t.Errorf("the oldest of %d trusted clients skipped the shared wait: want at most %d trusted", trustedTokenClients+1, trustedTokenClients)
	}
	for i := 1; i <= trustedTokenClients; i++ {
		if wait, ok, _ := guardCheck(g, fmt.Sprint("staff-", i), true); wait != 0 || !ok {
			t.Errorf("staff-%d, trusted, during the shared wait: wait %v, ok %v", i, wait, ok)
		}
	}
	for range freeTokenFailures {
		if wait, _, compared := guardCheck(g, "staff-1", false); wait != 0 || !compared {
			t.Fatalf("a trusted client's wrong token: wait %v, compared %v; want compared", wait, compared)
		}
	}
	if wait, _, compared := guardCheck(g, "staff-1", true); wait != tokenBackoffMin || compared {
		t.Errorf("a trusted client after %d wrong tokens: wait %v, compared %v; want its own %v", freeTokenFailures, wait, compared, tokenBackoffMin)
	}
	if err := srv.SetAccess("a-new-token-nobody-knows", nil); err != nil {
		t.Fatal(err)
	}
	if wait, ok, _ := guardCheck(g, "staff-2", true); ok || wait == 0 {
		t.Errorf("a client trusted under the old token, after a new one: wait %v, ok %v; want the shared wait", wait, ok)
	}
}

// TestEmptyTokensDoNotLockStaffOut: six page viewers without the token press Blackout five times
// each (the page sends an empty X-Ledbridge-Token, and a script may send none): each gets 401 and
// no failure is recorded, so staff with the right token, from a fresh address, are admitted.
func TestEmptyTokensDoNotLockStaffOut(t *testing.T) {
	const token = "correct-horse-battery"
	ctl := &fakeController{}
	_, base := startServerWith(t, Config{Provider: &fakeProvider{}, Controller: ctl, Token: token,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, func(*Server) {})
	for guest := range 6 {
		for range 5 {
			code, _, body := controlFrom(t, base, fmt.Sprint("127.0.9.", 10+guest), "")
			if code != http.StatusUnauthorized || !strings.Contains(body, "missing") {
				t.Fatalf("a guest without a token: HTTP %d %s, want 401 saying the token is missing", code, strings.TrimSpace(body))
			}
		}
	}
	// No header at all is the same.
	req, _ := http.NewRequest(http.MethodPost, base+"/api/control/blackout", strings.NewReader(`{"on":true}`))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token header: HTTP %d, want 401", res.StatusCode)
	}
	if got := metricValue(t, base, "ledbridge_status_token_failures_total"); got != "0" {
		t.Errorf("ledbridge_status_token_failures_total %s after empty tokens alone, want 0", got)
	}
	code, retry, body := controlFrom(t, base, "127.0.0.1", token)
	if code != http.StatusOK {
		t.Errorf("staff with the right token after guests pressed buttons without one: HTTP %d Retry-After %q %s, want 200", code, retry, strings.TrimSpace(body))
	}
	if len(ctl.calls) != 1 {
		t.Errorf("the controller ran %d times, want once (staff)", len(ctl.calls))
	}
}
