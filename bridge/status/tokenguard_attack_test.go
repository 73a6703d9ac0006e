package status

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

// guardCheck asks g about one request from client, and tells whether its token was compared.
func guardCheck(g *tokenGuard, client string, right bool) (wait time.Duration, ok, compared bool) {
	wait, _, ok = g.check(client, client, func() bool { compared = true; return right })
	return wait, ok, compared
}

// checkBudget fails t if more than globalTokenFailures of the comparisons made at times (in
// order) fall within one globalTokenWindow.
func checkBudget(t *testing.T, times []time.Time) {
	t.Helper()
	for i := 0; i+globalTokenFailures < len(times); i++ {
		if span := times[i+globalTokenFailures].Sub(times[i]); span < globalTokenWindow {
			t.Fatalf("%d tokens compared within %v (from the %dth on), want at most %d a %v",
				globalTokenFailures+1, span, i, globalTokenFailures, globalTokenWindow)
		}
	}
}

// TestTokenGuardRotationAttackIsBudgeted: a host cycling wrong tokens through more addresses than
// the guard remembers gets 429s, and at most globalTokenFailures of its tokens are compared in
// any globalTokenWindow; the table stays bounded. Once the attack stops, staff at an address
// with no failures of its own are admitted again after the backoff.
func TestTokenGuardRotationAttackIsBudgeted(t *testing.T) {
	for _, tc := range []struct{ addresses, maxClients int }{
		{1100, maxTokenClients}, {4096, maxTokenClients},
		{1100, 16}, // a table smaller than the budget fills: new clients share the overflow record
	} {
		addresses := tc.addresses
		t.Run(fmt.Sprint(addresses, " addresses, table ", tc.maxClients), func(t *testing.T) {
			g, clock, _ := newTestGuard(t, io.Discard)
			g.maxClients = tc.maxClients
			clients := make([]string, addresses)
			for i := range clients {
				clients[i] = fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)
			}
			const requests = 20000
			var comparedAt []time.Time
			refused := 0
			for i := range requests {
				clock.Advance(10 * time.Millisecond) // 200 s of guessing in all
				wait, ok, compared := guardCheck(g, clients[i%addresses], false)
				if ok {
					t.Fatal("a wrong token was accepted")
				}
				if compared {
					comparedAt = append(comparedAt, clock.Now())
				}
				if wait > 0 {
					refused++
					if compared {
						t.Fatal("a refused request's token was compared")
					}
				}
			}
			t.Logf("%d wrong tokens from %d addresses: %d compared, %d refused 429, table %d",
				requests, addresses, len(comparedAt), refused, len(g.clients))
			if refused+len(comparedAt) != requests {
				t.Errorf("%d refused + %d compared, want %d in all", refused, len(comparedAt), requests)
			}
			checkBudget(t, comparedAt)
			if len(g.clients) > g.maxClients {
				t.Errorf("%d clients remembered, want at most %d", len(g.clients), g.maxClients)
			}

			// The attack stops; after the longest backoff, staff get in, from a fresh address
			// and from one the attacker used.
			clock.Advance(tokenBackoffMax)
			for _, staff := range []string{"192.168.1.20", clients[0]} {
				if wait, ok, _ := guardCheck(g, staff, true); wait != 0 || !ok {
					t.Errorf("staff at %s with the right token after the attack: wait %v, ok %v", staff, wait, ok)
				}
			}
		})
	}
}

// TestRotatingAddressesGet429: over HTTP, wrong tokens from 1100 rotating loopback addresses get
// 429s, at most globalTokenFailures of them 401 (their token compared) in any globalTokenWindow;
// meanwhile staff with the right token are refused too (429, saying that every address waits);
// after the attack and the backoff they are admitted.
func TestRotatingAddressesGet429(t *testing.T) {
	const token = "correct-horse-battery"
	clock := &fakeClock{now: time.Date(2026, 11, 26, 21, 0, 0, 0, time.UTC)}
	ctl := &fakeController{}
	_, base := startServerWith(t, Config{Provider: &fakeProvider{}, Controller: ctl, Token: token,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, func(s *Server) { setTokenClock(s, clock) })
	const addresses, requests = 1100, 2200
	var unauthorizedAt []time.Time
	tooMany := 0
	for i := range requests {
		clock.Advance(50 * time.Millisecond) // 110 s of guessing in all
		from := fmt.Sprintf("127.1.%d.%d", i%addresses>>8, i%addresses&255)
		switch code, _, body := controlFrom(t, base, from, fmt.Sprint("guess-", i)); code {
		case http.StatusUnauthorized:
			unauthorizedAt = append(unauthorizedAt, clock.Now())
		case http.StatusTooManyRequests:
			tooMany++
		default:
			t.Fatalf("a wrong token from %s: HTTP %d (%s)", from, code, strings.TrimSpace(body))
		}
	}
	t.Logf("%d wrong tokens from %d addresses: %d answered 401, %d 429", requests, addresses, len(unauthorizedAt), tooMany)
	checkBudget(t, unauthorizedAt)
	if tooMany == 0 {
		t.Fatal("no request was refused with 429")
	}

	const staff = "127.0.0.1"
	code, retry, body := controlFrom(t, base, staff, token)
	if code != http.StatusTooManyRequests || retry == "" || !strings.Contains(body, "every address") {
		t.Errorf("staff with the right token during the attack: HTTP %d, Retry-After %q, %s; want 429 saying every address waits", code, retry, strings.TrimSpace(body))
	}
	clock.Advance(tokenBackoffMax)
	if code, _, body := controlFrom(t, base, staff, token); code != http.StatusOK {
		t.Errorf("staff with the right token after the attack: HTTP %d (%s), want 200", code, strings.TrimSpace(body))
	}
	if len(ctl.calls) != 1 {
		t.Errorf("the controller ran %d times, want once (staff after the attack)", len(ctl.calls))
	}
}

// TestTokenGuardChecksAllocateNothing: a request refused, and a right token from a client with no
// record, cost no allocation.
func TestTokenGuardChecksAllocateNothing(t *testing.T) {
	g, _, _ := newTestGuard(t, io.Discard) // its clock stands still
	wrong, right := func() bool { return false }, func() bool { return true }
	if n := testing.AllocsPerRun(100, func() { g.check("staff", "", right) }); n != 0 {
		t.Errorf("a right token: %v allocations, want 0", n)
	}
	for range freeTokenFailures {
		g.check("guesser", "", wrong)
	}
	if n := testing.AllocsPerRun(100, func() { g.check("guesser", "", wrong) }); n != 0 {
		t.Errorf("a client made to wait: %v allocations, want 0", n)
	}
	for i := range globalTokenFailures {
		g.check(fmt.Sprint("host-", i), "", wrong)
	}
	if n := testing.AllocsPerRun(100, func() { g.check("staff", "", right) }); n != 0 {
		t.Errorf("a request past the global budget: %v allocations, want 0", n)
	}
}
