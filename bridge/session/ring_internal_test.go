package session

import (
	"testing"
	"time"
)

// The tick and latency rings run for the daemon's whole uptime: a count of records indexing
// them reached its limit after 414 days of 60 fps ticks on 32-bit ARM (GOARCH=arm, the older
// Pis) and panicked in the frame loop with the ring's mutex held. Their cursor is bounded; these
// start it at its limit, the last slot of a ring that has come round, and record past it.
func TestTickStatsRecordPastTheCursorLimit(t *testing.T) {
	var s tickStats
	s.cursor = ringCursor{next: intervalWindow - 2, full: true}
	for i := range 5 {
		s.record(time.Duration(i+1)*time.Millisecond, time.Millisecond)
	}
	if s.cursor != (ringCursor{next: 3, full: true}) {
		t.Errorf("cursor %+v after 5 records from slot %d, want slot 3 of a full ring", s.cursor, intervalWindow-2)
	}
	iv, fr := s.summaries()
	if iv.Count != intervalWindow || fr.Count != intervalWindow {
		t.Fatalf("counts %d and %d after a full ring, want %d", iv.Count, fr.Count, intervalWindow)
	}
	if iv.Max != 5*time.Millisecond {
		t.Errorf("max interval %v, want the last recorded 5ms", iv.Max)
	}
}

func TestLatencyRingAddPastTheCursorLimit(t *testing.T) {
	var r latencyRing
	r.cursor = ringCursor{next: len(r.d) - 2, full: true}
	for i := range 5 {
		r.add(time.Duration(i+1) * time.Millisecond)
	}
	if s := r.summary(); s.Count != len(r.d) || s.Max != 5*time.Millisecond {
		t.Errorf("summary %+v after a full ring, want %d samples, max 5ms", s, len(r.d))
	}
}

// A ring that has come round more than once summarises exactly its last window of records.
func TestTickStatsSummariseTheLastWindow(t *testing.T) {
	var s tickStats
	if iv, _ := s.summaries(); iv.Count != 0 {
		t.Fatalf("empty ring summarised %+v", iv)
	}
	const records = 2*intervalWindow + intervalWindow/2
	for i := range records {
		s.record(time.Duration(i)*time.Microsecond, 0)
		if i == intervalWindow/3 {
			if iv, _ := s.summaries(); iv.Count != i+1 || iv.Max != time.Duration(i)*time.Microsecond {
				t.Fatalf("after %d records: %+v", i+1, iv)
			}
		}
	}
	iv, _ := s.summaries()
	first := records - intervalWindow // the oldest record still in the ring
	want := Summary{
		Count: intervalWindow,
		Mean:  time.Duration(first+records-1) * time.Microsecond / 2,
		P50:   time.Duration(first+intervalWindow/2) * time.Microsecond,
		P99:   time.Duration(first+intervalWindow*99/100) * time.Microsecond,
		Max:   time.Duration(records-1) * time.Microsecond,
	}
	if iv != want {
		t.Errorf("summary of the last %d of %d records = %+v, want %+v", intervalWindow, records, iv, want)
	}
}
