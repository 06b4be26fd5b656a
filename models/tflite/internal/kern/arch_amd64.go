package kern

import "golang.org/x/sys/cpu"

// nr is the panel width of Packed (output channels per panel): two ymm
// registers of 8 floats, the N side of the 6×16 AVX2 tile.
const nr = 16

// The AVX2 kernel walks several row tiles per call, skips rows past the
// valid count and takes a column mask (VMASKMOVPS).
const (
	asmMultiTile = true
	asmRowEdges  = true
	asmColMask   = true
)

// mrAsm is the M side of the AVX2 GEMM tile (see gemm_amd64.s).
const mrAsm = 6

// haveAsm reports whether the AVX2+FMA kernels run on this CPU. It is
// decided once at start-up and never changes.
var haveAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func gemmTileAsm(k int, rows *[mrAsm]*float32, b *float32, c *float32, ldc int, ep *tileEp, lda int, ntiles int)

// asmRowKernel: M remainders of up to rowKernelMax rows (and M = 1) run
// the row kernels instead of a mostly duplicate 6-row tile.
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

// halfPanel: a last panel of N mod 16 ≤ 8 columns is packed 8 wide and run
// by the 6×8 kernel.
const halfPanel = true

//go:noescape
func gemmTile8Asm(k int, rows *[mrAsm]*float32, b *float32, c *float32, ldc int, ep *tileEp, lda int, ntiles int)

// dwBlock is the channel block of the depthwise kernels: one ymm.
const dwBlock = 8

//go:noescape
func dw3x3Asm(a *dwArgs)

//go:noescape
func dwTapsAsm(a *dwArgs)

//go:noescape
func dw3x3PtrAsm(a *dwArgs)

// dwPairMinC is the channel count from which 3×3 runs use the pixel-pair
// kernel (contiguous channels) instead of the block-outer one, whose
// strided walk thrashes L1 sets once a pixel spans several cache lines.
const dwPairMinC = 64

// dwHavePairs: dw3x3PairAsm exists here.
const dwHavePairs = true

//go:noescape
func dw3x3PairAsm(a *dwArgs)

// dwHaveNarrow: layers of 4 to 7 channels (full-range BlazeFace has a
// 4-channel one) run dwTaps4Asm, an xmm tap-list kernel, not the Go path.
const dwHaveNarrow = true

//go:noescape
func dwTaps4Asm(a *dwArgs)
