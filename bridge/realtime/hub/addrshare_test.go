package hub

import (
	"testing"
	"time"
)

// newTestAddressBudgets are a default hub's client budgets.
func newTestAddressBudgets(t *testing.T) *addressBudgets {
	t.Helper()
	cfg, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	return newAddressBudgets(newRateLimits(cfg), cfg.MaxConnectionsPerAddress, cfg.MaxConnections, cfg.MaxFrameBytes)
}

// testSocket is one socket's hold on its client's budgets, as the hub's upgrade gives it.
type testSocket struct {
	client  *addressBudget
	reserve rateBudget
}

func openTestSocket(t *testing.T, a *addressBudgets, now time.Time, key string) *testSocket {
	t.Helper()
	e, ok := a.connect(now, key)
	if !ok || e == nil {
		t.Fatalf("connect %s: entry %v, ok %v", key, e, ok)
	}
	s := &testSocket{client: e}
	a.startReserve(now, e, &s.reserve)
	return s
}

// sendUntilRefused admits frames of n bytes from s at now until one is refused, and returns the
// bytes admitted.
func sendUntilRefused(a *addressBudgets, s *testSocket, now time.Time, n int64) int64 {
	var sent int64
	for sent < 1<<30 { // a budget that never runs out shows as a gibibyte
		if overMsgs, overBytes := a.admitFrame(now, s.client, &s.reserve, n); overMsgs || overBytes {
			return sent
		}
		sent += n
	}
	return sent
}

// A socket sending as fast as it may beside another of its client's sockets left the other
// nothing when the client's sockets shared one budget (review 309: ledbridge's own socket, beside
// another program on its machine, paid). Each socket now has a reserve no other can spend.
func TestAHeavySocketLeavesALightOneItsReserve(t *testing.T) {
	a := newTestAddressBudgets(t)
	now := time.Unix(1000, 0)
	light := openTestSocket(t, a, now, "127.0.0.3")
	heavy := openTestSocket(t, a, now, "127.0.0.3")
	now = now.Add(3 * time.Second) // both shares full
	// Frames as small as the light socket's, so that the heavy one spends every token the
	// client has beyond the light socket's share.
	const frame = 1 << 10
	sent := sendUntilRefused(a, heavy, now, frame)
	if sent == 0 {
		t.Fatal("the heavy socket sent nothing")
	}
	// Over the next 1.5 s the heavy socket keeps sending whatever it may, and the light one sends
	// a small broadcast every 100 ms, within its reserve: every one of those goes through.
	for i := range 15 {
		now = now.Add(100 * time.Millisecond)
		sendUntilRefused(a, heavy, now, frame)
		if overMsgs, overBytes := a.admitFrame(now, light.client, &light.reserve, frame); overMsgs || overBytes {
			t.Fatalf("the light socket's broadcast %d was refused (messages %v, bytes %v) after the heavy one sent %d bytes", i, overMsgs, overBytes, sent)
		}
	}
}

// Together a client's sockets burst at most one socket's budget, however many it holds, and
// little more when it opens and closes them in turn (review 307: eight sockets, each inside its
// own 2 MiB burst, sent a room 16 MiB at once and evicted a member that paused reading; a new
// socket started with a full budget).
func TestAClientsSocketsBurstOneSocketsBudget(t *testing.T) {
	cfg, _ := Config{}.withDefaults()
	oneSocket := burstCapacity(cfg.MaxBytesPerSecond, cfg.OutboundQueueBytes)
	const frame = 16 << 10 // bytes, not messages, run out first
	t.Run("held", func(t *testing.T) {
		a := newTestAddressBudgets(t)
		now := time.Unix(1000, 0)
		var sockets []*testSocket
		for range 8 {
			sockets = append(sockets, openTestSocket(t, a, now, "127.0.0.3"))
		}
		now = now.Add(10 * time.Second) // every share and the pool full
		var sent int64
		for _, s := range sockets {
			sent += sendUntilRefused(a, s, now, frame)
		}
		t.Logf("8 sockets sent %d KiB at once; one socket's burst is %.0f KiB", sent>>10, oneSocket/1024)
		if float64(sent) > oneSocket {
			t.Errorf("8 sockets of one client sent %d bytes at once, over one socket's burst of %.0f", sent, oneSocket)
		}
	})
	churn := func(t *testing.T, frame int64) (sent int64, frames int64) {
		a := newTestAddressBudgets(t)
		now := time.Unix(1000, 0)
		opened := 0
		for {
			e, ok := a.connect(now, "127.0.0.3")
			if !ok {
				break
			}
			s := &testSocket{client: e}
			a.startReserve(now, e, &s.reserve)
			sent += sendUntilRefused(a, s, now, frame)
			a.release(e, &s.reserve)
			opened++
		}
		t.Logf("%d sockets opened and closed in turn sent %d frames, %d KiB, at once", opened, sent/frame, sent>>10)
		if opened < 64 {
			t.Errorf("only %d sockets opened: the test shows nothing", opened)
		}
		return sent, sent / frame
	}
	// Sockets opened and closed in turn add a new socket's reserve each, at most as many as the
	// connect rate lets one client open at once: at the defaults 3 MiB and 768 frames in all,
	// under half a member's queue.
	connectBurst := connectRate(cfg.MaxConnectionsPerAddress).capacity
	t.Run("churned, bytes", func(t *testing.T) {
		most := oneSocket + connectBurst*newSocketReserveBytes
		if sent, _ := churn(t, frame); float64(sent) > most || float64(sent) > float64(cfg.OutboundQueueBytes)/2 {
			t.Errorf("sockets opened and closed in turn sent %d bytes at once, over %.0f or half a queue", sent, most)
		}
	})
	t.Run("churned, messages", func(t *testing.T) {
		most := burstCapacity(int64(cfg.MaxMessagesPerSecond), int64(cfg.OutboundQueueFrames)) + connectBurst*newSocketReserveMsgs
		if _, frames := churn(t, 100); float64(frames) > most || float64(frames) > float64(cfg.OutboundQueueFrames)/2 {
			t.Errorf("sockets opened and closed in turn sent %d frames at once, over %.0f or half a queue", frames, most)
		}
	})
}

// aQuietSocket is a default hub's client budgets with one socket of 127.0.0.3 that has been open
// and quiet for 10 s (its reserve and the budget full) at now, and one socket's byte burst.
func aQuietSocket(t *testing.T) (cfg Config, oneSocket float64, a *addressBudgets, s *testSocket, now time.Time) {
	t.Helper()
	cfg, _ = Config{}.withDefaults()
	oneSocket = burstCapacity(cfg.MaxBytesPerSecond, cfg.OutboundQueueBytes)
	a = newTestAddressBudgets(t)
	now = time.Unix(1000, 0)
	s = openTestSocket(t, a, now, "127.0.0.3")
	return cfg, oneSocket, a, s, now.Add(10 * time.Second)
}

// A client's only socket, once it has been open a few seconds, bursts one socket's budget, as
// before the sockets shared their client's; and it sends one socket's rate.
func TestALoneSocketKeepsOneSocketsBudget(t *testing.T) {
	cfg, oneSocket, a, s, now := aQuietSocket(t)
	const frame = 16 << 10 // bytes, not messages, run out first
	if sent := sendUntilRefused(a, s, now, frame); float64(sent) < oneSocket-frame {
		t.Errorf("a lone socket burst %d bytes; one socket's budget is %.0f", sent, oneSocket)
	}
	now = now.Add(time.Second)
	if sent := sendUntilRefused(a, s, now, frame); float64(sent) < float64(cfg.MaxBytesPerSecond)-frame {
		t.Errorf("a lone socket sent %d bytes in the second after its burst; its rate is %d", sent, cfg.MaxBytesPerSecond)
	}
	// A closed socket's share goes with it: its client's entry is free to be pruned.
	a.release(s.client, &s.reserve)
	if s.client.open != 0 {
		t.Errorf("entry still held by %d sockets", s.client.open)
	}
}

// A client's REST broadcasts and its sockets' frames had a budget each, so one client burst twice
// a socket's budget into a room, and three such clients evicted a member that paused reading
// (review 317). They share the client's budget now; a request keeps the sockets' reserves.
func TestRESTAndSocketsShareTheClientsBudget(t *testing.T) {
	_, oneSocket, a, s, now := aQuietSocket(t)
	const body = 16 << 10
	var rest int64
	for {
		overMsgs, overBytes, found := a.charge(now, "127.0.0.3", 1, body)
		if !found {
			t.Fatal("no entry for the client")
		}
		if overMsgs || overBytes {
			break
		}
		rest += body
	}
	socket := sendUntilRefused(a, s, now, body)
	t.Logf("REST %d KiB, then the socket %d KiB; one socket's burst is %.0f KiB", rest>>10, socket>>10, oneSocket/1024)
	if float64(rest+socket) > oneSocket {
		t.Errorf("REST and a socket of one client sent %d bytes at once, over one socket's burst of %.0f", rest+socket, oneSocket)
	}
	if socket == 0 {
		t.Error("REST spent the socket's reserve")
	}
}

// With a low message rate and many sockets, each reserve's floor (a new socket's) summed past the
// budget, and neither REST nor a socket beyond its reserve was let through again (review 320: 5
// frames in 10 s, and no REST at all, at 10 messages a second with 32 sockets).
func TestReserveFloorsDoNotLockTheBudget(t *testing.T) {
	cfg, err := Config{MaxMessagesPerSecond: 10}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	a := newAddressBudgets(newRateLimits(cfg), cfg.MaxConnectionsPerAddress, cfg.MaxConnections, cfg.MaxFrameBytes)
	now := time.Unix(1000, 0)
	var sockets []*testSocket
	for range 32 {
		sockets = append(sockets, openTestSocket(t, a, now, "127.0.0.3"))
	}
	now = now.Add(60 * time.Second)
	busy, sent := sockets[0], 0
	for range 1000 { // every 10 ms for 10 s
		now = now.Add(10 * time.Millisecond)
		if overMsgs, overBytes := a.admitFrame(now, busy.client, &busy.reserve, 100); !overMsgs && !overBytes {
			sent++
		}
	}
	t.Logf("one of 32 sockets sent %d frames in 10 s at 10 messages a second", sent)
	if sent < 50 {
		t.Errorf("one of 32 sockets sent %d frames in 10 s; the client's rate is 10 a second", sent)
	}
	now = now.Add(60 * time.Second)
	if overMsgs, _, _ := a.charge(now, "127.0.0.3", 1, 100); overMsgs {
		t.Error("a REST message was refused by a full budget")
	}
}
