package board

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Facts are what the status page shows about the board.
type Facts struct {
	Model string  // e.g. "Raspberry Pi 5 Model B Rev 1.0"; "" when unknown
	TempC float64 // SoC temperature; 0 when unknown
}

// ReadFacts reads the board model (device tree, else DMI) and the first
// thermal zone's temperature. Missing files are not errors: a PC has no
// device tree, a VM has no thermal zone.
func ReadFacts(p Paths) Facts {
	p = p.withDefaults()
	var f Facts
	for _, path := range []string{
		filepath.Join(p.Proc, "device-tree", "model"),
		filepath.Join(p.Sys, "firmware", "devicetree", "base", "model"),
		filepath.Join(p.Sys, "class", "dmi", "id", "product_name"),
	} {
		if b, err := os.ReadFile(path); err == nil {
			if m := strings.TrimSpace(string(bytes.TrimRight(b, "\x00"))); m != "" {
				f.Model = m
				break
			}
		}
	}
	if t, err := readMilliC(filepath.Join(p.Sys, "class", "thermal", "thermal_zone0", "temp")); err == nil {
		f.TempC = t
	}
	return f
}

// readMilliC parses a sysfs temperature in millidegrees Celsius.
func readMilliC(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return float64(v) / 1000, nil
}
