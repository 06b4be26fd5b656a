package kern

// gemmGo is the portable GEMM. It walks 4 rows of A at a time and, inside
// each packed panel, 4 output channels at a time: the 16 accumulators plus
// 4 A values and 4 weights fit the 32 FP registers of arm64 (and mostly the
// 16 of amd64), and each A row stays in L1 while every panel streams past
// it. Rows past m1 and columns past N are computed on duplicated/zero data
// and dropped at the store.
func gemmGo(c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	K, N := p.K, p.N
	panels := p.panels()
	for m := m0; m < m1; m += 4 {
		mr := min(4, m1-m)
		// Rows beyond mr alias the last valid one; their results are dropped.
		a0 := a[m*lda : m*lda+K]
		a1, a2, a3 := a0, a0, a0
		if mr > 1 {
			a1 = a[(m+1)*lda : (m+1)*lda+K]
		}
		if mr > 2 {
			a2 = a[(m+2)*lda : (m+2)*lda+K]
		}
		if mr > 3 {
			a3 = a[(m+3)*lda : (m+3)*lda+K]
		}
		for j := range panels {
			b := p.panel(j)
			wd, col0, own := p.width(j), p.panelCol(j), j*nr
			for jj := 0; jj < wd && col0+jj < N; jj += 4 {
				n0 := col0 + jj
				if n0+4 <= own {
					continue // columns of the previous panel
				}
				var acc [4][4]float32
				gemmGo4x4(&acc, a0, a1, a2, a3, b[jj:], wd)
				// Write only the columns this panel owns, so an in-place
				// residual is added exactly once.
				q0 := max(0, own-n0)
				for r := range mr {
					row := (m + r) * ldc
					for q := q0; q < min(4, N-n0); q++ {
						n := n0 + q
						c[row+n] = ep.apply(acc[r][q], resAt(ep, row+n), n)
					}
				}
			}
		}
	}
}

// gemmGo4x4 accumulates a 4×4 block: rows a0..a3 (each of length K) times
// the 4 packed weights at b[k·wd : k·wd+4] for every k (wd: panel width).
func gemmGo4x4(acc *[4][4]float32, a0, a1, a2, a3, b []float32, wd int) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	a1 = a1[:len(a0)]
	a2 = a2[:len(a0)]
	a3 = a3[:len(a0)]
	for k, x0 := range a0 {
		w := b[k*wd : k*wd+4 : k*wd+4]
		w0, w1, w2, w3 := w[0], w[1], w[2], w[3]
		c00 += x0 * w0
		c01 += x0 * w1
		c02 += x0 * w2
		c03 += x0 * w3
		x1 := a1[k]
		c10 += x1 * w0
		c11 += x1 * w1
		c12 += x1 * w2
		c13 += x1 * w3
		x2 := a2[k]
		c20 += x2 * w0
		c21 += x2 * w1
		c22 += x2 * w2
		c23 += x2 * w3
		x3 := a3[k]
		c30 += x3 * w0
		c31 += x3 * w1
		c32 += x3 * w2
		c33 += x3 * w3
	}
	*acc = [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
}
