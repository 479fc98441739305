// Package stick implements HAProxy's stick tables: keyed entries with
// counters and rates ("freq counters"), bounded in size, expiring, that
// tracking rules (track-sc0..2), fetches (sc_*, src_*, table_*) and
// persistence rules (stick on/match/store) read and update.
//
// A Table is owned by whoever created it (the proxy runtime); nothing
// here is global. Every table has its own lock and its own clock, which
// tests replace with a fake one.
package stick

// Freq is a frequency counter over a period, as HAProxy's: the events
// of the current period and of the previous one. Its rate at a moment is
// the current count plus the previous period's count weighted by the
// part of the previous period still inside the sliding window, so that
// the rate decays smoothly instead of dropping to zero at each period
// boundary. Times are milliseconds of the table's clock.
type Freq struct {
	tick int64 // start of the current period (even: HAProxy keeps the low bit as a lock)
	curr uint64
	prev uint64
}

// Add counts inc events at now for a counter of the given period
// (milliseconds), rotating the periods first when the current one is
// over: one period over, the current count becomes the previous one;
// two or more, both restart from zero and the period starts now.
func (f *Freq) Add(now, period int64, inc uint64) {
	if period <= 0 {
		period = 1
	}
	if now-f.tick >= period {
		f.prev, f.curr = f.curr, 0
		f.tick += period
		if now-f.tick >= period {
			f.prev = 0
			f.tick = now &^ 1
		}
	}
	f.curr += inc
}

// Rate is the number of events over the last period at now: the
// current period's events plus the previous period's, in proportion of
// the time left in the current period (integer division, as HAProxy).
func (f *Freq) Rate(now, period int64) uint64 {
	if period <= 0 {
		period = 1
	}
	curr, past := f.curr, f.prev
	remain := f.tick + period - now
	if remain < 0 {
		// The current period is over: what was current is the past one,
		// still partly inside the window unless two periods passed.
		remain += period
		if remain < 0 {
			return 0
		}
		past, curr = curr, 0
	}
	return curr + past*uint64(remain)/uint64(period)
}
