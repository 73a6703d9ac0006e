package peer_test

import (
	"context"
	"encoding/json"
	"log"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/ledbridge/ledbridge/bridge/peer"
	"github.com/ledbridge/ledbridge/bridge/room"
)

type discard struct{}

func (discard) WriteRTP(*rtp.Packet) {}

// How a room session wires the Manager: signals go out as webrtc-signal
// broadcasts and come in through HandleSignal; Presence drives
// MusicianJoined/MusicianAway; each audio track gets a sink.
func Example() {
	broadcast := func(ctx context.Context, event string, payload []byte) error { return nil } // the Realtime channel

	m, err := peer.NewManager(peer.Config{
		SelfID:     "ledbridge-7f3a",
		ICEServers: []peer.ICEServer{{URLs: []string{"stun:stun.l.google.com:19302"}}},
		SendSignal: func(ctx context.Context, sig room.Signal) error {
			b, err := json.Marshal(sig)
			if err != nil {
				return err
			}
			return broadcast(ctx, room.EventSignal, b)
		},
		OnTrack: func(id peer.MusicianID, codec webrtc.RTPCodecParameters) peer.RTPSink {
			log.Printf("%s sends %s", id, codec.MimeType)
			return discard{} // bridge/audio's per-musician stream
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	go func() {
		// For every webrtc-signal broadcast received:
		payload := []byte(`{"type":"ice-candidate","fromPeerId":"p1","targetPeerId":"ledbridge-7f3a","data":null}`)
		if sig, err := room.DecodeSignal(payload); err == nil {
			m.HandleSignal(sig)
		}
		// For every Presence join of a musician:
		_ = m.MusicianJoined("p1")
	}()
	if err := m.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
