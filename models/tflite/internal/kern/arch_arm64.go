package kern

// nr is the panel width of Packed (output channels per panel): two NEON
// registers of 4 floats, the N side of the 8×8 tile.
const nr = 8

// The NEON kernel walks several row tiles per call and skips rows past
// the valid count; partial panels are finished in Go.
const (
	asmMultiTile = true
	asmRowEdges  = true
	asmColMask   = false
)

// mrAsm is the M side of the NEON GEMM tile (see gemm_arm64.s).
const mrAsm = 8

// haveAsm reports whether the NEON kernels run: Advanced SIMD is part of
// every arm64 (ARMv8-A) CPU Go supports.
const haveAsm = true

//go:noescape
func gemmTileAsm(k int, rows *[mrAsm]*float32, b *float32, c *float32, ldc int, ep *tileEp, lda int, ntiles int)

// asmRowKernel: M remainders of up to rowKernelMax rows (and M = 1) run
// the row kernels instead of a mostly duplicate 8-row tile.
const (
	asmRowKernel = true
	rowKernelMax = 4
)

//go:noescape
func gemmRow4Asm(k int, a *float32, b *float32, pstride int, c *float32, ep *tileEp)

//go:noescape
func gemmRow2Asm(k int, a *float32, b *float32, pstride int, c *float32, ep *tileEp)

//go:noescape
func gemmRow1Asm(k int, a *float32, b *float32, pstride int, c *float32, ep *tileEp)

// halfPanel: the 8-wide panels are narrow enough; no half-width tile.
const halfPanel = false

func gemmTile8Asm(k int, rows *[mrAsm]*float32, b *float32, c *float32, ldc int, ep *tileEp, lda int, ntiles int) {
	panic("kern: no half-width tile on arm64")
}

// dwBlock is the channel block of the depthwise kernels: one Q register.
const dwBlock = 4

//go:noescape
func dw3x3Asm(a *dwArgs)

//go:noescape
func dwTapsAsm(a *dwArgs)

//go:noescape
func dw3x3PtrAsm(a *dwArgs)

// dwPairMinC is the channel count from which 3×3 runs use the pixel-pair
// kernel (contiguous channels) instead of the block-outer one. Chosen by
// analogy with amd64 (not measured on an arm64 board): the block-outer
// walk strides C·4 bytes per access, which a 2-way L1 tolerates worse.
const (
	dwPairMinC  = 64
	dwHavePairs = true
)

//go:noescape
func dw3x3PairAsm(a *dwArgs)

// dwHaveNarrow: the NEON block is already 4 channels wide.
const dwHaveNarrow = false

func dwTaps4Asm(a *dwArgs) { panic("kern: no narrow tap kernel on arm64") }
