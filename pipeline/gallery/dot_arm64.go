//go:build !purego

package gallery

// dotNEON accumulates the products of n floats (n a positive multiple of
// 16) into 16 partial sums with NEON (every arm64 CPU has it).
//
//go:noescape
func dotNEON(a, b *float32, n int, acc *[16]float32)

// dotFast is dot, vectorised with NEON. It sums in another order than dot,
// so results may differ in the last bits.
func dotFast(a, b []float32) float32 {
	n := len(a) &^ 15
	if n == 0 {
		return dot(a, b)
	}
	b = b[:len(a)]
	var acc [16]float32
	dotNEON(&a[0], &b[0], n, &acc)
	var s float32
	for i := 0; i < 16; i += 4 {
		s += (acc[i] + acc[i+1]) + (acc[i+2] + acc[i+3])
	}
	if n < len(a) {
		s += dot(a[n:], b[n:])
	}
	return s
}
