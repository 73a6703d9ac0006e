//go:build measure

package hub

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/ledbridge/ledbridge/bridge/realtime/wire"
)

// TestLatencyLoopback measures broadcast delivery latency through the server on loopback: 4
// clients in one room, each sending 60 broadcasts per second (binary kind-3 pushes, as supabase-js
// sends them on vsn 2.0.0), every one delivered to the 3 others. Latency is from just before the
// sender's write to just after the receiver's read returns. It only reports figures (for
// docs/benchmarks/hub.md); it asserts no timing. Run it with
//
//	LEDBRIDGE_HUB_LATENCY=10s go test -tags measure -run TestLatencyLoopback -v ./bridge/realtime/hub/
func TestLatencyLoopback(t *testing.T) {
	dur, err := time.ParseDuration(os.Getenv("LEDBRIDGE_HUB_LATENCY"))
	if err != nil {
		t.Skip("a measurement, not a check: set LEDBRIDGE_HUB_LATENCY to a duration (e.g. 10s) to run it")
	}
	const clients, rate = 4, 60
	h := startHub(t, Config{})
	start := time.Now()
	conns := make([]*websocket.Conn, clients)
	ctx, cancel := context.WithTimeout(context.Background(), dur+testTimeout)
	defer cancel()
	for i := range conns {
		ws, _, err := websocket.Dial(ctx, "ws://"+h.addr+Path+"?apikey=k&vsn=2.0.0", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer ws.CloseNow()
		join := fmt.Sprintf(`["1","1",%q,"phx_join",{"config":{"broadcast":{"self":false,"ack":false},"presence":{"key":"c%d","enabled":false}}}]`, topic, i)
		if err := ws.Write(ctx, websocket.MessageText, []byte(join)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ws.Read(ctx); err != nil { // the join reply
			t.Fatal(err)
		}
		conns[i] = ws
	}

	perSender := int(dur.Seconds() * rate)
	want := perSender * (clients - 1) // deliveries per receiver
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for _, ws := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make([]time.Duration, 0, want)
			var b wire.UserBroadcast
			for len(got) < want {
				_, data, err := ws.Read(ctx)
				now := time.Since(start)
				if err != nil {
					t.Errorf("read after %d deliveries: %v", len(got), err)
					break
				}
				if wire.DecodeBinary(data, &b) != nil || len(b.Payload) != 8 {
					continue
				}
				got = append(got, now-time.Duration(binary.BigEndian.Uint64(b.Payload)))
			}
			mu.Lock()
			lat = append(lat, got...)
			mu.Unlock()
		}()
	}
	for i, ws := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Stagger the senders across the 16.7 ms period, as independent musicians would be.
			time.Sleep(time.Duration(i) * time.Second / rate / clients)
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			push := wire.UserBroadcast{Kind: wire.KindUserBroadcastPush, JoinRef: wire.RefOf("1"), Topic: topic,
				Event: "led-update", Encoding: wire.EncodingBinary, Payload: make([]byte, 8)}
			var buf []byte
			for n := 0; n < perSender; n++ {
				<-tick.C
				binary.BigEndian.PutUint64(push.Payload, uint64(time.Since(start)))
				buf, _ = wire.AppendBinary(buf[:0], &push)
				if err := ws.Write(ctx, websocket.MessageBinary, buf); err != nil {
					t.Errorf("write: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(lat) == 0 {
		t.Fatal("no deliveries")
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	t.Logf("%d clients x %d msg/s for %v: %d deliveries (want %d); latency p50 %v, p90 %v, p99 %v, max %v",
		clients, rate, dur, len(lat), want*clients, pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1])
	t.Logf("p99 <= 2ms: %s", strconv.FormatBool(pct(0.99) <= 2*time.Millisecond))
}
