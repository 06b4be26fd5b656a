//go:build race

package pipeline

// raceEnabled: the race detector slows pure-Go JPEG decoding tenfold, so
// video tests play a subset of frames.
const raceEnabled = true
