package wled_test

import (
	"net"
	"testing"

	"github.com/ledbridge/ledbridge/wled"
)

// benchmarkSend sends a 1000-LED RGB frame to a loopback UDP socket per iteration. Nobody reads
// the socket, so the kernel drops what overflows its buffer; the write path is what is measured.
func benchmarkSend(b *testing.B, p wled.Protocol) {
	l, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	s, err := wled.NewSender(wled.SenderConfig{Protocol: p, Addr: l.LocalAddr().String(), LEDs: 1000})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	frame := make([]byte, 3000)
	for i := range frame {
		frame[i] = byte(i)
	}
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Send(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDDPSend1000(b *testing.B)   { benchmarkSend(b, wled.ProtocolDDP) }
func BenchmarkDNRGBSend1000(b *testing.B) { benchmarkSend(b, wled.ProtocolDNRGB) }
