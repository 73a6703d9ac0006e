package audio

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

func loopbackAPI(t *testing.T) *webrtc.API {
	t.Helper()
	var me webrtc.MediaEngine
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	var se webrtc.SettingEngine
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	return webrtc.NewAPI(webrtc.WithMediaEngine(&me), webrtc.WithSettingEngine(se))
}

// TestStreamOverPionPeerConnection sends the A3 fixture from one pion PeerConnection to
// another over loopback and decodes the received track through a Stream, exactly as a
// musician's read loop does (one reused buffer and rtp.Packet, RTCP drained).
func TestStreamOverPionPeerConnection(t *testing.T) {
	payloads, _ := readOpusPackets(t, "a3_220hz.opus")
	api := loopbackAPI(t)
	sender, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	receiver, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = sender.Close()
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer func() {
		// Closing the PeerConnections ends every read loop; then wait for them.
		_ = sender.Close()
		_ = receiver.Close()
		wg.Wait()
	}()

	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "musician")
	if err != nil {
		t.Fatal(err)
	}
	rtpSender, err := sender.AddTrack(track)
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() { // sender-side RTCP must be read for pion's interceptors
		defer wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := rtpSender.Read(buf); err != nil {
				return
			}
		}
	}()

	streams := make(chan *Stream, 1)
	receiver.OnTrack(func(remote *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 1500)
			for {
				if _, _, err := r.Read(buf); err != nil {
					return
				}
			}
		}()
		defer wg.Done()
		codec := remote.Codec()
		s, err := NewStream(StreamConfig{Codec: codec.MimeType, ClockRate: codec.ClockRate, RingSamples: 4 * SampleRate})
		if err != nil {
			t.Errorf("NewStream(%s): %v", codec.MimeType, err)
			return
		}
		streams <- s
		buf := make([]byte, 1500)
		var pkt rtp.Packet
		for {
			n, _, err := remote.Read(buf)
			if err != nil {
				return
			}
			if pkt.Unmarshal(buf[:n]) == nil {
				s.WriteRTP(&pkt)
			}
		}
	})

	// Offer/answer with complete ICE gathering (no trickle needed on loopback).
	negotiate := func(from, to *webrtc.PeerConnection, offer bool) {
		var sdp webrtc.SessionDescription
		if offer {
			sdp, err = from.CreateOffer(nil)
		} else {
			sdp, err = from.CreateAnswer(nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		done := webrtc.GatheringCompletePromise(from)
		if err := from.SetLocalDescription(sdp); err != nil {
			t.Fatal(err)
		}
		<-done
		if err := to.SetRemoteDescription(*from.LocalDescription()); err != nil {
			t.Fatal(err)
		}
	}
	connected := make(chan struct{})
	var once sync.Once
	sender.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	negotiate(sender, receiver, true)
	negotiate(receiver, sender, false)
	select {
	case <-connected:
	case <-time.After(10 * time.Second):
		t.Fatal("PeerConnection did not connect over loopback")
	}

	// Send in real time, one 20 ms packet per tick, like a browser.
	ticker := time.NewTicker(20 * time.Millisecond)
	for _, p := range payloads {
		<-ticker.C
		if err := track.WriteSample(media.Sample{Data: p, Duration: 20 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
	}
	ticker.Stop()

	var s *Stream
	select {
	case s = <-streams:
	case <-time.After(10 * time.Second):
		t.Fatal("no track arrived over the PeerConnection")
	}
	var got []float32
	want := len(payloads) * 960
	tick := make([]float32, 4800)
	for deadline := time.Now().Add(10 * time.Second); len(got) < want && time.Now().Before(deadline); {
		n := s.ReadPCM(tick)
		got = append(got, tick[:n]...)
		if n == 0 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	st := s.Stats()
	t.Logf("%s: %d of %d samples; %+v", s, len(got), want, st)
	if st.Packets < uint64(len(payloads))*9/10 || len(got) < want*9/10 {
		t.Fatalf("received %d packets / %d samples of %d / %d", st.Packets, len(got), len(payloads), want)
	}
	// The decoded tone is A3: 220 Hz dominates every non-harmonic probe frequency.
	fundamental := goertzel(got, 220)
	for _, f := range []float64{130, 170, 196, 247, 262, 300, 370, 500, 700} {
		if p := goertzel(got, f); p*10 > fundamental {
			t.Fatalf("power at %.0f Hz (%.3g) is not 10× below 220 Hz (%.3g)", f, p, fundamental)
		}
	}
	if st.Packets == uint64(len(payloads)) && st.Lost == 0 && st.Late == 0 {
		// Nothing lost (the first packets can race the connection): the output must be exactly the direct decode.
		direct := decodeAll(t, payloads, 1, 0)
		if len(got) != len(direct) || snrDB(direct, got) < 100 {
			t.Fatalf("lossless transfer but output differs from a direct decode (%d vs %d samples)", len(got), len(direct))
		}
	}
	if time.Since(s.LastAudioArrival()) > time.Minute {
		t.Fatal("LastAudioArrival not updated")
	}
}

// goertzel is the power of pcm at freq (Hz, 48 kHz sampling).
func goertzel(pcm []float32, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/SampleRate)
	var s1, s2 float64
	for _, v := range pcm {
		s0 := float64(v) + k*s1 - s2
		s2, s1 = s1, s0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / float64(len(pcm))
}
