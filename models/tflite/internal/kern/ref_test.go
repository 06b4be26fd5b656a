package kern

// The references below are the plain definitions every kernel is checked
// against: one output element at a time, no packing, no reordering.

func gemmRef(c []float32, ldc int, a []float32, lda int, m0, m1 int, w []float32, n, k int, ep *Epilogue) {
	for m := m0; m < m1; m++ {
		for j := range n {
			var s float32
			for kk := range k {
				s += a[m*lda+kk] * w[j*k+kk]
			}
			c[m*ldc+j] = ep.apply(s, resAt(ep, m*ldc+j), j)
		}
	}
}

func depthwiseRef(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) {
	C := p.C
	for oy := oy0; oy < oy1; oy++ {
		for ox := 0; ox < p.OW; ox++ {
			o := (oy*p.OW + ox) * C
			for c := range C {
				var s float32
				for ky := range p.KH {
					iy := oy*p.SH - p.PadT + ky
					if iy < 0 || iy >= p.H {
						continue
					}
					for kx := range p.KW {
						ix := ox*p.SW - p.PadL + kx
						if ix < 0 || ix >= p.W {
							continue
						}
						s += in[(iy*p.W+ix)*C+c] * w[(ky*p.KW+kx)*C+c]
					}
				}
				out[o+c] = ep.apply(s, resAt(ep, o+c), c)
			}
		}
	}
}
