//go:build !unix

package server_test

import "time"

// processCPU is not measured here: the benchmark reports no CPU ratio.
func processCPU() time.Duration { return 0 }
