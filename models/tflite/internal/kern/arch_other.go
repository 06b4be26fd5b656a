//go:build !amd64 && !arm64

package kern

// nr is the panel width of Packed (output channels per panel).
const nr = 8

// halfPanel: the portable kernel uses full panels only.
const halfPanel = false

// haveAsm reports whether an assembly kernel family runs on this CPU.
const haveAsm = false

func gemmAsm(c []float32, ldc int, a []float32, lda int, m0, m1 int, p *Packed, ep *Epilogue) {
	panic("kern: no assembly kernels")
}

func depthwiseAsm(out, in, w []float32, p *DWParams, ep *Epilogue, oy0, oy1 int) bool {
	return false
}
