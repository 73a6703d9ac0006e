package peer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/audio"
	"github.com/ledbridge/ledbridge/bridge/room"
)

// A real Chromium musician switches codec without renegotiating, as a web app can with
// RTCRtpSender.setParameters and encodings[].codec: from Opus to PCMU, then to PCMA. The
// bridge's stream follows each switch, no packet of one codec reaches the other's decoder, and
// the musician's codec in the statistics follows too.
//
// Not back to Opus: Chromium 156 refuses any Opus codec there ("unsupported codec for layer
// 0", whatever sdpFmtpLine the page gives) once the answer's Opus fmtp differs from its offer's,
// as the bridge's does (opusBitrateAsk; cf. w3c/webrtc-pc#2987). The test logs what it says.
func TestChromiumCodecSwitchWithoutRenegotiation(t *testing.T) {
	requireLoopback(t)
	path := chromiumPath(t)
	srv := serveMusicianPage(t)

	r, s := newTestRoom(t), &sinks{}
	cfg := bridgeConfig(t, r, s)
	streams := streamSinks(t, &cfg)
	var page pageSink
	cfg.SendSignal = func(ctx context.Context, sig room.Signal) error {
		if err := r.sendFromBridge(ctx, sig); err != nil {
			return err
		}
		return page.send(ctx, sig)
	}
	var console pageConsole
	onBinding := func(payload string) {
		if sig, ok := decodePageSignal(t, payload); ok {
			r.mgr.HandleSignal(sig)
		}
	}
	m := startManager(t, cfg, r)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	browser := launchChromium(ctx, t, path, srv.URL+"/", onBinding, &console)
	defer page.page.Store(nil)
	page.page.Store(browser.page)

	const id = "chrome-codec"
	if err := m.MusicianJoined(id); err != nil {
		t.Fatal(err)
	}
	if v, err := browser.page.eval(ctx, fmt.Sprintf("start(%q, %q, true)", id, bridgeID), true); err != nil || v != "started" {
		t.Fatalf("start: %v, %v", v, err)
	}
	waitFor(t, "bridge connected to "+id, bridgeConnected(m, id))
	st := nextStream(t, "the musician's stream", streams)
	pcm := make([]float32, audio.SampleRate)
	waitFor(t, "1 s of Opus", func() bool { st.ReadPCM(pcm); return st.Stats().Packets >= 50 })

	switchTo := func(mime string) (any, error) {
		return browser.page.eval(ctx, fmt.Sprintf(`(async () => {
			const s = peers[%q].pc.getSenders().find(s => s.track);
			const params = s.getParameters();
			const codec = params.codecs.find(c => c.mimeType.toLowerCase() === %q);
			if (!codec) return 'not negotiated: ' + JSON.stringify(params.codecs);
			params.encodings[0].codec = codec;
			try { await s.setParameters(params); } catch (e) { return 'setParameters: ' + e; }
			return 'switched';
		})()`, id, lowerASCII(mime)), true)
	}
	for i, mime := range []string{"audio/PCMU", "audio/PCMA"} {
		v, err := switchTo(mime)
		if err != nil || v != "switched" {
			t.Fatalf("switch to %s: %v, %v\nconsole: %v", mime, v, err, console.all())
		}
		waitFor(t, "the stream switched to "+mime, func() bool { st.ReadPCM(pcm); return st.Codec() == mime })
		before := st.Stats().Packets
		waitFor(t, "1 s of "+mime, func() bool { st.ReadPCM(pcm); return st.Stats().Packets >= before+50 })
		stats := st.Stats()
		ms, _ := musicianStats(m, id)
		t.Logf("after the switch to %s: %+v; musician %+v", mime, stats, ms)
		if stats.DecodeErrors != 0 || stats.CodecSwitches != uint64(i+1) || ms.Codec != mime || ms.BadRTP != 0 {
			t.Fatalf("after the switch to %s: stream %+v, musician %+v", mime, stats, ms)
		}
		if ms.ConnectionState != webrtc.PeerConnectionStateConnected || stats.Resyncs != 0 {
			t.Fatalf("the connection or the stream restarted: stream %+v, musician %+v", stats, ms)
		}
		select {
		case <-streams:
			t.Fatal("the switch started a new track")
		default:
		}
	}
	v, err := switchTo(webrtc.MimeTypeOpus)
	t.Logf("switch back to Opus: %v, %v", v, err)
	if n := countSignals(r.bridgeSignals(), room.SignalAnswer, id); n != 1 {
		t.Fatalf("%d answers: the switches renegotiated", n)
	}
}

// lowerASCII lower-cases a MIME type for the page's comparison.
func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
