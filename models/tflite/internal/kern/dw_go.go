package kern

// depthwiseGo is the portable depthwise convolution. For each output pixel
// it finds the taps that fall inside the input once (so the interior runs
// without bounds tests per tap), then sweeps whole channel rows: every tap
// is a contiguous multiply-add over C values, which the compiler keeps free
// of bounds checks. The sum of each channel runs over the taps in (ky, kx)
// order, as in the definition.
func depthwiseGo(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) {
	C := p.C
	for oy := oy0; oy < oy1; oy++ {
		iy0 := oy*p.SH - p.PadT
		ky0, ky1 := max(0, -iy0), min(p.KH, p.H-iy0)
		for ox := range p.OW {
			ix0 := ox*p.SW - p.PadL
			kx0, kx1 := max(0, -ix0), min(p.KW, p.W-ix0)
			o := (oy*p.OW + ox) * C
			acc := out[o : o+C]
			clear(acc)
			for ky := ky0; ky < ky1; ky++ {
				for kx := kx0; kx < kx1; kx++ {
					src := in[((iy0+ky)*p.W+ix0+kx)*C:][:len(acc)]
					wt := w[(ky*p.KW+kx)*C:][:len(acc)]
					for c, v := range src {
						acc[c] += v * wt[c]
					}
				}
			}
			dwEpilogue(acc, ep, o, 0)
		}
	}
}

// dwEpilogue finishes the accumulators acc of channels [c0, c0+len(acc))
// stored at output offset o (the residual shares the output's layout).
func dwEpilogue(acc []float32, ep *Epilogue, o, c0 int) {
	if ep == nil {
		return
	}
	if ep.Bias != nil {
		for c, b := range ep.Bias[c0 : c0+len(acc)] {
			acc[c] += b
		}
	}
	if ep.Residual != nil {
		for c, r := range ep.Residual[o : o+len(acc)] {
			acc[c] += r
		}
	}
	switch ep.Act {
	case ActRelu:
		for c, v := range acc {
			acc[c] = max(v, 0)
		}
	case ActRelu6:
		for c, v := range acc {
			acc[c] = min(max(v, 0), 6)
		}
	case ActPRelu:
		for c, s := range ep.Alpha[c0 : c0+len(acc)] {
			if acc[c] < 0 {
				acc[c] *= s
			}
		}
	}
}
