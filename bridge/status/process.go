package status

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessSampler measures this process's CPU use (percent of one core, over the time between two
// samples) and resident memory, for the page's pipeline card.
type ProcessSampler struct {
	mu       sync.Mutex
	lastWall time.Time
	lastCPU  time.Duration
	percent  float64
}

// Sample returns CPU percent since the previous call (0 on the first), RSS bytes and goroutines.
func (p *ProcessSampler) Sample(now time.Time) (cpuPercent float64, rss uint64, goroutines int) {
	cpu := processCPU()
	p.mu.Lock()
	if !p.lastWall.IsZero() {
		if wall := now.Sub(p.lastWall); wall >= 500*time.Millisecond {
			p.percent = 100 * float64(cpu-p.lastCPU) / float64(wall)
			p.lastWall, p.lastCPU = now, cpu
		}
	} else {
		p.lastWall, p.lastCPU = now, cpu
	}
	cpuPercent = p.percent
	p.mu.Unlock()
	return cpuPercent, residentBytes(), runtime.NumGoroutine()
}

// processCPU is user plus system CPU time of the whole process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// residentBytes reads the current RSS from /proc/self/statm (0 where there is no /proc).
func residentBytes() uint64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(raw))
	if len(fields) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(fields[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}
