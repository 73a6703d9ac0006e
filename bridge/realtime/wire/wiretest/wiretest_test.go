package wiretest

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRecordingsParse(t *testing.T) {
	want := map[string]struct{ sent, received, binary int }{
		SessionV2:        {10, 16, 6},
		SessionV1:        {10, 16, 0},
		JoinErrorRejoin:  {4, 4, 0},
		HeartbeatTimeout: {4, 4, 0},
		ServerShutdown:   {2, 4, 0},
	}
	for _, name := range Names {
		rec, err := Load(name)
		if err != nil {
			t.Fatal(err)
		}
		bin := 0
		for _, f := range rec.Frames {
			if f.Binary {
				bin++
			}
			if len(f.Data) == 0 || f.At <= 0 || f.Line <= 0 {
				t.Errorf("%s: bad frame %+v", name, f)
			}
		}
		got := struct{ sent, received, binary int }{len(rec.Sent(ClientToServer)), len(rec.Sent(ServerToClient)), bin}
		if got != want[name] {
			t.Errorf("%s: %d sent, %d received, %d binary; want %+v", name, got.sent, got.received, got.binary, want[name])
		}
		if len(rec.Events) == 0 || !strings.HasPrefix(rec.Events[0].Text, "WS UPGRADE /realtime/v1/websocket?apikey=") {
			t.Errorf("%s: events %+v", name, rec.Events)
		}
	}
	if _, err := Load("nope"); err == nil {
		t.Error("missing recording loaded")
	}
	if _, err := Parse("x", []byte("1ms C->S BINARY zz\n")); err == nil {
		t.Error("bad hex accepted")
	}
}
