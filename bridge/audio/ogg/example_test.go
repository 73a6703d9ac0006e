package ogg_test

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// Reading a fixture packet by packet, as an RTP sender does: each packet's duration is
// what the RTP timestamp advances by.
func ExampleNewPacketReader() {
	f, err := os.Open("../../../testdata/opus/a3_220hz.opus")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer f.Close()
	r, err := ogg.NewPacketReader(f)
	if err != nil {
		fmt.Println(err)
		return
	}
	head := r.Head()
	packets, samples := 0, 0
	var lastGranule int64
	for {
		pkt, granule, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		n, err := ogg.PacketSamples(pkt)
		if err != nil {
			fmt.Println(err)
			return
		}
		packets, samples = packets+1, samples+n
		if granule >= 0 {
			lastGranule = granule
		}
	}
	fmt.Printf("channels %d, pre-skip %d, %d packets, %d samples, audio %d samples\n",
		head.Channels, head.PreSkip, packets, samples, lastGranule-int64(head.PreSkip))
	// Output:
	// channels 1, pre-skip 312, 151 packets, 144960 samples, audio 144000 samples
}
