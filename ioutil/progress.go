package ioutil

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// meterTick is how often a [Meter] redraws.
const meterTick = 200 * time.Millisecond

// Meter draws a live transfer meter on a terminal: bytes sent and received,
// their rates and the elapsed time, plus a bar and an ETA when the size of
// the input is known. It reads counters that the streams update, so the
// streams never wait for it.
type Meter struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	sent    *Counter
	recv    *Counter
	input   *Counter // how much of the known-size input was consumed
	start   time.Time
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	lastRcv int64
	lastAt  time.Time
	rate    float64
	unknown bool // no bar: the input size is not known
}

// StartMeter starts drawing on w. total is the input size (< 0 when
// unknown, which shows a spinner instead of a bar); input counts the
// consumed input for the bar and may be sent itself.
func StartMeter(w io.Writer, total int64, sent, recv, input *Counter) *Meter {
	max := total
	if max <= 0 {
		max = -1
	}
	bar := progressbar.NewOptions64(max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(max > 0),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionSetSpinnerChangeInterval(0), // redrawn by the meter's own ticker
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetDescription("↑ 0 B ↓ 0 B"),
	)
	m := &Meter{w: w, bar: bar, sent: sent, recv: recv, input: input, start: time.Now(),
		stop: make(chan struct{}), done: make(chan struct{})}
	m.lastAt = m.start
	m.unknown = max < 0
	go m.run()
	return m
}

// run redraws until Stop.
func (m *Meter) run() {
	defer close(m.done)
	t := time.NewTicker(meterTick)
	defer t.Stop()
	m.draw(false)
	for {
		select {
		case <-t.C:
			m.draw(false)
		case <-m.stop:
			return
		}
	}
}

func (m *Meter) draw(final bool) {
	now := time.Now()
	r := m.recv.Load()
	if final {
		m.rate = float64(r) / max(now.Sub(m.start).Seconds(), 1e-9) // the average, at the end
	} else if dt := now.Sub(m.lastAt).Seconds(); dt >= meterTick.Seconds()/2 {
		m.rate = float64(r-m.lastRcv) / dt
		m.lastRcv, m.lastAt = r, now
	}
	if !m.unknown {
		total := m.bar.GetMax64()
		n := m.input.Load()
		if n >= total && !final {
			n = total - 1 // the bar ends when the session does, not when input is read
		}
		m.bar.Set64(min(n, total))
	} else {
		m.bar.Set64(m.sent.Load())
	}
	m.bar.Describe(fmt.Sprintf("↑ %s ↓ %s (%s/s)", FormatSize(m.sent.Load()), FormatSize(r), FormatSize(int64(m.rate))))
}

// Stop draws the final state, ends the line and stops the meter. It is safe
// to call more than once.
func (m *Meter) Stop() {
	m.once.Do(func() {
		close(m.stop)
		<-m.done
		m.draw(true)
		fmt.Fprintln(m.w)
	})
}
