package testregistry

import (
	"io"
	"log"
)

// nullLogger silences the registry's per-request log lines, which would bury test output.
func nullLogger() *log.Logger { return log.New(io.Discard, "", 0) }
