//go:build !unix

package effect

import "time"

func processCPU() time.Duration { return 0 }
