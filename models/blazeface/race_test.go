//go:build race

package blazeface

// raceEnabled: the race detector slows the interpreter ~10×, so the
// photo comparison runs on a sample.
const raceEnabled = true
