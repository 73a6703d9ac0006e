package config

import (
	"strings"
	"testing"
	"time"
)

func TestChangedKeys(t *testing.T) {
	a := Default()
	if got := ChangedKeys(a, a); len(got) != 0 {
		t.Fatalf("a config against itself: %q", got)
	}
	b := Default()
	b.Output.FPS = 30
	b.Status.Token = "s3cret"
	b.WebRTC.OfferDelay = 3 * time.Second
	b.WebRTC.ICEServers = append([]ICEServer(nil), b.WebRTC.ICEServers...)
	b.WebRTC.ICEServers[0].Credential = "c"
	b.Output.SoundSync.Enabled = true
	b.Devices = nil // as absent from a file: the same as the default empty list
	b.Status.AllowedHosts = []string{}
	want := "output.fps,output.sound_sync.enabled,status.token,webrtc.ice_servers,webrtc.offer_delay"
	if got := strings.Join(ChangedKeys(a, b), ","); got != want {
		t.Fatalf("ChangedKeys = %s, want %s", got, want)
	}
}
