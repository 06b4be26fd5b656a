//go:build !race

package facenet

const raceEnabled = false
