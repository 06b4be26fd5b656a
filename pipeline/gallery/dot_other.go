//go:build (!amd64 && !arm64) || purego

package gallery

// dotFast is dot on platforms without a vector version.
func dotFast(a, b []float32) float32 { return dot(a, b) }
