package peer

import (
	"fmt"
	"testing"

	"github.com/pion/webrtc/v4"
)

// A musician's data channels are closed as they open (ledbridge reads none), and opening more
// than maxDataChannels on one PeerConnection closes it: pion keeps every channel it ever
// accepted until then, so channels opened and closed in a loop would grow the bridge.
func TestDataChannelsClosedAndBounded(t *testing.T) {
	requireLoopback(t)
	r, s := newTestRoom(t), &sinks{}
	m := startManager(t, bridgeConfig(t, r, s), r)
	ana := newTestMusician(t, r, "ana", musicianOpts{offerFirst: true, dataChannel: true})
	if err := m.MusicianJoined("ana"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bridge connected to ana", bridgeConnected(m, "ana"))
	waitFor(t, "ana's audio", func() bool { return s.fromMic("ana") >= 10 })
	waitFor(t, "the bridge to close ana's chat channel", func() bool {
		return ana.chat.ReadyState() == webrtc.DataChannelStateClosed
	})
	if st, _ := musicianStats(m, "ana"); st.DataChannels != 1 || st.ConnectionState != webrtc.PeerConnectionStateConnected {
		t.Fatalf("after one data channel: DataChannels = %d (want 1), state %v (want connected)", st.DataChannels, st.ConnectionState)
	}
	audio := s.fromMic("ana")
	waitFor(t, "ana's audio after the channel closed", func() bool { return s.fromMic("ana") >= audio+10 })

	for i := range maxDataChannels {
		if _, err := ana.pc.CreateDataChannel(fmt.Sprint("spam", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the bridge to drop the PeerConnection", func() bool {
		st, _ := musicianStats(m, "ana")
		return st.DataChannels > maxDataChannels && st.ConnectionState == webrtc.PeerConnectionStateClosed
	})
}
