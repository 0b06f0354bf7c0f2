package console_test

import (
	"os"
	"testing"

	"github.com/scimd/scimd/internal/storetest"
)

// TestMain reports the PostgreSQL tests skipped, if any, without -v (storetest.Main).
func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }
