package testenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Children lists the process ids of this process's children (from
// /proc/self/task/*/children), skipping the test where the kernel does not
// offer that file.
func Children(t testing.TB) []string {
	t.Helper()
	tasks, err := filepath.Glob("/proc/self/task/*/children")
	if err != nil || len(tasks) == 0 {
		t.Skip("no /proc/self/task/*/children on this kernel")
	}
	var kids []string
	for _, p := range tasks {
		if b, err := os.ReadFile(p); err == nil {
			kids = append(kids, strings.Fields(string(b))...)
		}
	}
	return kids
}
