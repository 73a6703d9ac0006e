package peer

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/ledbridge/ledbridge/bridge/testenv"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// requireOrSkip skips a test that needs something this machine lacks, unless CI demands everything.
var requireOrSkip = testenv.RequireOrSkip
