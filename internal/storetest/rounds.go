package storetest

import (
	"slices"
	"testing"
)

// AlternateRounds runs a benchmark's two sides in rounds of per operations each, in the
// order off-on, on-off, … (a change of the machine's load within a pair falls on both
// alike, whichever runs first), with b's timer running, and returns the ratios on/off of
// the pairs, sorted. Each side returns its round's rate.
func AlternateRounds(b *testing.B, rounds int, off, on func(per int) float64) []float64 {
	per := max(b.N/rounds, 1)
	ratios := make([]float64, 0, rounds)
	b.ResetTimer()
	for i := range rounds {
		var offRate, onRate float64
		if i%2 == 0 {
			offRate = off(per)
			onRate = on(per)
		} else {
			onRate = on(per)
			offRate = off(per)
		}
		ratios = append(ratios, onRate/offRate)
	}
	b.StopTimer()
	slices.Sort(ratios)
	return ratios
}

// Median is the median of sorted values.
func Median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
