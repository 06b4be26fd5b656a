//go:build !purego

package gallery

// dotAVX2 is the dot product of n floats (n a positive multiple of 32)
// with AVX2 and FMA.
//
//go:noescape
func dotAVX2(a, b *float32, n int) float32

func cpuid(leaf, sub uint32) (eax, ebx, ecx, edx uint32)

func xgetbv0() (eax uint32)

// haveAVX2 is decided once: the CPU has AVX2 and FMA and the OS saves the
// YMM registers.
var haveAVX2 = func() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	const fma, osxsave = 1 << 12, 1 << 27
	if c1&fma == 0 || c1&osxsave == 0 || xgetbv0()&6 != 6 {
		return false
	}
	_, b7, _, _ := cpuid(7, 0)
	return b7&(1<<5) != 0
}()

// dotFast is dot, vectorised where the CPU allows. The vector path sums in
// another order, so results may differ from dot in the last bits.
func dotFast(a, b []float32) float32 {
	n := len(a) &^ 31
	if !haveAVX2 || n == 0 {
		return dot(a, b)
	}
	b = b[:len(a)]
	s := dotAVX2(&a[0], &b[0], n)
	if n < len(a) {
		s += dot(a[n:], b[n:])
	}
	return s
}
