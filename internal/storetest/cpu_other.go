//go:build !unix

package storetest

import "time"

// ProcessCPU is not measured here (0): benchmarks report no CPU ratio.
func ProcessCPU() time.Duration { return 0 }
