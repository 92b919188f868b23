package bench

import (
	"sync"
	"time"
)

// TimeEach runs warmup calls untimed, then calls calls one at a time, and
// returns each one's duration in nanoseconds.
func TimeEach(call func() error, warmup, calls int) ([]int64, error) {
	for i := 0; i < warmup; i++ {
		if err := call(); err != nil {
			return nil, err
		}
	}
	samples := make([]int64, calls)
	for i := range samples {
		start := time.Now()
		if err := call(); err != nil {
			return nil, err
		}
		samples[i] = int64(time.Since(start))
	}
	return samples, nil
}

// Throughput is what KeepInFlight counted, and each call's duration when asked.
type Throughput struct {
	Calls   int64
	Elapsed time.Duration
	Samples []int64
}

// KeepInFlight keeps inFlight calls going (each worker starts its next call
// when its last one answers) until duration has passed, after warmup of the
// same untimed. Calls still running at the deadline finish and count; the
// elapsed time includes them.
func KeepInFlight(call func() error, inFlight int, duration, warmup time.Duration, record bool) (Throughput, error) {
	if warmup > 0 {
		if _, err := keepInFlight(call, inFlight, warmup, false); err != nil {
			return Throughput{}, err
		}
	}
	return keepInFlight(call, inFlight, duration, record)
}

func keepInFlight(call func() error, inFlight int, duration time.Duration, record bool) (Throughput, error) {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		total    Throughput
		firstErr error
	)
	start := time.Now()
	end := start.Add(duration)
	for w := 0; w < inFlight; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var calls int64
			var samples []int64
			var err error
			for now := start; now.Before(end); {
				if err = call(); err != nil {
					break
				}
				done := time.Now()
				if record {
					samples = append(samples, int64(done.Sub(now)))
				}
				calls++
				now = done
			}
			mu.Lock()
			defer mu.Unlock()
			total.Calls += calls
			total.Samples = append(total.Samples, samples...)
			if err != nil && firstErr == nil {
				firstErr = err
			}
		}()
	}
	wg.Wait()
	total.Elapsed = time.Since(start)
	return total, firstErr
}
