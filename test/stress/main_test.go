package stress

import (
	"testing"

	"github.com/nicflow/nicflow/test/daemontest"
)

func TestMain(m *testing.M) { daemontest.Main(m, "nicflowd") }
