//go:build race

package facenet

// raceEnabled: the race detector slows the interpreter ~10×, so the
// slow variants are left out.
const raceEnabled = true
