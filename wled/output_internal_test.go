package wled

import (
	"net"
	"testing"
)

func TestOutputHotPathAllocatesNothing(t *testing.T) {
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tg, _ := ParseTarget("ddp://" + l.LocalAddr().String() + "?leds=1000")
	o, err := NewOutput(OutputConfig{Target: tg})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	frame := make([]byte, 3000)
	preview := make([]byte, 3000)
	allocs := testing.AllocsPerRun(200, func() {
		o.Submit(frame)
		o.sendPending()
		o.CopyLastSent(preview)
	})
	if allocs != 0 {
		t.Errorf("%v allocs per Submit+send+preview", allocs)
	}
	if st := o.Stats(); st.FramesSent < 200 || st.SendErrors != 0 {
		t.Errorf("stats %+v", st)
	}
}
