// Package oggtest builds Ogg pages for the tests of the readers that take them (bridge/audio's
// OggOpusReader, `ledbridge analyze`).
package oggtest

import (
	"encoding/binary"
	"testing"

	"github.com/ledbridge/ledbridge/bridge/audio/ogg"
)

// Page is one Ogg page of stream serial holding whole packets, with its checksum set. flags are
// the header type bits (0x02 begins a stream, 0x04 ends it); granule -1 means no packet ends on
// the page.
func Page(tb testing.TB, serial uint32, flags byte, seq uint32, granule int64, packets ...[]byte) []byte {
	tb.Helper()
	var lacing, body []byte
	for _, p := range packets {
		n := len(p)
		for ; n >= 255; n -= 255 {
			lacing = append(lacing, 255)
		}
		lacing = append(lacing, byte(n))
		body = append(body, p...)
	}
	if len(lacing) > 255 {
		tb.Fatalf("%d lacing values do not fit a page", len(lacing))
	}
	p := make([]byte, 27, 27+len(lacing)+len(body))
	copy(p, "OggS")
	p[5] = flags
	binary.LittleEndian.PutUint64(p[6:], uint64(granule))
	binary.LittleEndian.PutUint32(p[14:], serial)
	binary.LittleEndian.PutUint32(p[18:], seq)
	p[26] = byte(len(lacing))
	p = append(append(p, lacing...), body...)
	binary.LittleEndian.PutUint32(p[22:], ogg.PageChecksum(p))
	return p
}
