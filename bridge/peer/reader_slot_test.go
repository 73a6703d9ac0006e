package peer

import "testing"

// A microphone switched by removeTrack/addTrack in one renegotiation: the
// new track starts while the old one is still being read. When the old one
// ends, the new one (started after the renegotiation) takes over, not an
// extra track the musician sent all along; before, the new track was
// discarded for good and the musician went silent (a rare failure of
// TestOnlyFirstAudioTrackReachesSink in CI).
func TestNewestWaitingTrackTakesOverTheMicrophone(t *testing.T) {
	h := &pcHandle{}
	start := func() (int, bool) { return startTestTrack(h) }
	old, isMic := start()
	if !isMic {
		t.Fatal("the first track is not the musician's")
	}
	extra, isMic := start()
	if isMic {
		t.Fatal("a second track took the microphone while the first is read")
	}
	h.markRenegotiation()         // the musician's offer that swaps the microphone
	replacement, isMic := start() // the new microphone, before the old one ended
	if isMic {
		t.Fatal("the replacement took the microphone before the old track ended")
	}
	if h.claimMic(replacement) {
		t.Fatal("claimed while the old track is still read")
	}
	h.endMic(old)
	if h.claimMic(extra) {
		t.Error("an extra track from before the renegotiation took the microphone")
	}
	if !h.claimMic(replacement) {
		t.Fatal("the replacement did not take the microphone once the old track ended")
	}
	h.endMic(extra) // an extra track ending frees nothing
	if h.mic != replacement {
		t.Errorf("mic = %d, want %d", h.mic, replacement)
	}
	h.endMic(replacement)
	if next, isMic := start(); !isMic {
		t.Errorf("track %d started with the slot free but is not the musician's", next)
	}
}

func TestClosedHandleGivesNoMicrophone(t *testing.T) {
	h := &pcHandle{}
	h.mu.Lock()
	h.tracks = 2
	h.mic, h.newestWaiting = 0, 2
	h.closed = true
	h.mu.Unlock()
	if h.claimMic(2) {
		t.Error("a closed PeerConnection's track took the microphone")
	}
}

// With no replacement waiting, an extra track the musician sent all along
// does not take over when the microphone's track ends: the next track to
// start does.
func TestOldExtraTrackStaysIgnored(t *testing.T) {
	h := &pcHandle{}
	start := func() (int, bool) { return startTestTrack(h) }
	old, _ := start()
	extra, _ := start()
	h.markRenegotiation()
	h.endMic(old)
	if h.claimMic(extra) {
		t.Error("the old extra track took the microphone")
	}
	if _, isMic := start(); !isMic {
		t.Error("the next track to start is not the musician's")
	}
}

// startTestTrack does what readTrack does when pion starts a track.
func startTestTrack(h *pcHandle) (seq int, isMic bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.tracks++
	return h.startTrack()
}
