package audiofile

import (
	"bufio"
	"fmt"
)

// oggOpus is filled in below; until then Ogg files are refused clearly.
type oggOpus struct{ format Format }

func (o *oggOpus) Read(dst []float32) (int, error) { return 0, ErrUnsupported }

func openOggOpus(br *bufio.Reader) (*oggOpus, error) {
	return nil, fmt.Errorf("%w: Ogg Opus reading is not built yet", ErrUnsupported)
}
