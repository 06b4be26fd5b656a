#include "textflag.h"

// AVX2+FMA depthwise kernels. Both vectorise across channels: one ymm holds
// 8 consecutive channels of one pixel, which NHWC stores contiguously.
//
// dwArgs field offsets (see arch_amd64.go).
#define A_OUT 0
#define A_IN 8
#define A_W 16
#define A_BIAS 24
#define A_ALPHA 32
#define A_RES 40
#define A_N 48
#define A_CB 56
#define A_C4 64
#define A_ROW 72
#define A_PIX 80
#define A_FLAGS 88
#define A_TAPS 96
#define A_NTAPS 104
#define A_IN1 112
#define A_IN2 120

// Epilogue registers, loaded once per channel block: Y12 bias (or zeros),
// Y13 PReLU slope, Y14 upper and Y15 lower clamp. Without activation the
// clamps are ±Inf (also for PReLU), for ReLU 0/+Inf, for ReLU6 0/6; so none,
// ReLU and ReLU6 are the same two instructions and only PReLU takes a branch.

// EPILOAD loads the epilogue registers for the channel block at byte
// offset off (a register) from the args in DI. Clobbers AX.
#define EPILOAD(off) \
	VXORPS Y12, Y12, Y12 \
	MOVQ A_BIAS(DI), AX \
	TESTQ AX, AX \
	JZ 2(PC) \
	VMOVUPS (AX)(off*1), Y12 \
	MOVQ A_ALPHA(DI), AX \
	TESTQ AX, AX \
	JZ 2(PC) \
	VMOVUPS (AX)(off*1), Y13

// func dw3x3Asm(a *dwArgs)
//
// A run of a 3×3 depthwise convolution whose taps all lie inside the input
// columns. The three kernel rows are read through A_IN, A_IN1 and A_IN2,
// so a row above or below the input can point at the read-only zero row. The channel-block loop is outermost so the
// 9 weight vectors of the block stay in Y0–Y8 for the whole run, and each
// tap is one FMA with a memory operand; the three kernel rows accumulate
// into Y9–Y11 independently to shorten the dependency chain. Adjacent
// channel blocks share cache lines, so the second pass over a run hits L1.
TEXT ·dw3x3Asm(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	MOVQ A_C4(DI), R11
	MOVQ A_ROW(DI), R12
	XORQ R14, R14                // byte offset of the channel block

	// Clamp values (constant for the call).
	MOVQ A_FLAGS(DI), AX
	SHRQ $2, AX
	MOVL $0xff800000, BX         // -Inf
	MOVL $0x7f800000, CX         // +Inf
	CMPQ AX, $1
	JLT  clamps                 // none: ±Inf
	CMPQ AX, $3
	JEQ  clamps                 // PReLU: ±Inf, the slope does the work
	MOVL $0, BX
	CMPQ AX, $2
	JNE  clamps
	MOVL $0x40c00000, CX         // 6.0
clamps:
	MOVQ BX, X15
	VBROADCASTSS X15, Y15
	MOVQ CX, X14
	VBROADCASTSS X14, Y14

block:
	// Weights of this block: rows at w, w+3·C, w+6·C; taps at +0, +C, +2C.
	MOVQ A_W(DI), R8
	ADDQ R14, R8
	LEAQ (R8)(R11*2), R9
	ADDQ R11, R9
	LEAQ (R9)(R11*2), R10
	ADDQ R11, R10
	VMOVUPS (R8), Y0
	VMOVUPS (R8)(R11*1), Y1
	VMOVUPS (R8)(R11*2), Y2
	VMOVUPS (R9), Y3
	VMOVUPS (R9)(R11*1), Y4
	VMOVUPS (R9)(R11*2), Y5
	VMOVUPS (R10), Y6
	VMOVUPS (R10)(R11*1), Y7
	VMOVUPS (R10)(R11*2), Y8
	EPILOAD(R14)

	MOVQ A_IN(DI), SI
	ADDQ R14, SI                 // kernel row 0 of the first pixel
	MOVQ A_IN1(DI), R8
	ADDQ R14, R8                 // row 1
	MOVQ A_IN2(DI), R9
	ADDQ R14, R9                 // row 2
	MOVQ A_OUT(DI), DX
	ADDQ R14, DX
	MOVQ A_RES(DI), R13
	TESTQ R13, R13
	JZ   2(PC)
	ADDQ R14, R13
	MOVQ A_PIX(DI), R10
	MOVQ A_N(DI), CX

pixel:
	VMULPS (SI), Y0, Y9
	VMULPS (R8), Y3, Y10
	VMULPS (R9), Y6, Y11
	VFMADD231PS (SI)(R11*1), Y1, Y9
	VFMADD231PS (R8)(R11*1), Y4, Y10
	VFMADD231PS (R9)(R11*1), Y7, Y11
	VFMADD231PS (SI)(R11*2), Y2, Y9
	VFMADD231PS (R8)(R11*2), Y5, Y10
	VFMADD231PS (R9)(R11*2), Y8, Y11
	VADDPS Y10, Y9, Y9
	VADDPS Y11, Y9, Y9
	VADDPS Y12, Y9, Y9
	TESTQ R13, R13
	JZ   nores3
	VADDPS (R13), Y9, Y9
	ADDQ R11, R13
nores3:
	VMAXPS Y15, Y9, Y9
	VMINPS Y14, Y9, Y9
	MOVQ A_FLAGS(DI), AX
	CMPQ AX, $12
	JL   store3
	// PReLU: x = max(x,0) + slope·min(x,0).
	VXORPS Y10, Y10, Y10
	VMINPS Y10, Y9, Y11
	VMAXPS Y10, Y9, Y9
	VFMADD231PS Y13, Y11, Y9
store3:
	VMOVUPS Y9, (DX)
	ADDQ R11, DX
	ADDQ R10, SI
	ADDQ R10, R8
	ADDQ R10, R9
	DECQ CX
	JNZ  pixel

	ADDQ $32, R14
	MOVQ A_CB(DI), AX
	SHLQ $5, AX
	CMPQ R14, AX
	JL   block
	VZEROUPPER
	RET

// func dwTapsAsm(a *dwArgs)
//
// Any kernel shape: n pixels that share one list of in-bounds taps (pairs
// of byte offsets into the input and the weights, for the first pixel; the
// next pixel is a_pix bytes further in the input). Used for borders and for
// kernels other than 3×3 (e.g. the 7×7 VALID one of MobileFaceNet). Taps
// are summed in list order, one FMA each.
TEXT ·dwTapsAsm(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	MOVQ A_C4(DI), R11

	MOVQ A_FLAGS(DI), AX
	SHRQ $2, AX
	MOVL $0xff800000, BX
	MOVL $0x7f800000, CX
	CMPQ AX, $1
	JLT  tclamps                 // none: ±Inf
	CMPQ AX, $3
	JEQ  tclamps                 // PReLU: ±Inf, the slope does the work
	MOVL $0, BX
	CMPQ AX, $2
	JNE  tclamps
	MOVL $0x40c00000, CX         // 6.0
tclamps:
	MOVQ BX, X15
	VBROADCASTSS X15, Y15
	MOVQ CX, X14
	VBROADCASTSS X14, Y14

	MOVQ A_IN(DI), SI            // input of the current pixel
	MOVQ A_OUT(DI), DX           // output of the current pixel
	MOVQ A_RES(DI), R13
	MOVQ A_N(DI), CX

tpixel:
	XORQ R14, R14                // byte offset of the channel block
tblock:
	// Eight blocks at a time while they last: eight independent
	// accumulators per tap keep eight loads in flight, and the two blocks
	// sharing a cache line are read back to back (with taps C·4 bytes
	// apart, a line read once per block would likely be evicted before the
	// next block comes back to it).
	MOVQ A_CB(DI), AX
	SHLQ $5, AX
	SUBQ R14, AX
	CMPQ AX, $256
	JL   tsingle
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ A_TAPS(DI), R8
	MOVQ A_NTAPS(DI), R9
	MOVQ A_W(DI), R10
	ADDQ R14, R10
	LEAQ (SI)(R14*1), R12
gtap:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	VMOVUPS 0(R10)(BX*1), Y8
	VFMADD231PS 0(R12)(AX*1), Y8, Y0
	VMOVUPS 32(R10)(BX*1), Y9
	VFMADD231PS 32(R12)(AX*1), Y9, Y1
	VMOVUPS 64(R10)(BX*1), Y8
	VFMADD231PS 64(R12)(AX*1), Y8, Y2
	VMOVUPS 96(R10)(BX*1), Y9
	VFMADD231PS 96(R12)(AX*1), Y9, Y3
	VMOVUPS 128(R10)(BX*1), Y8
	VFMADD231PS 128(R12)(AX*1), Y8, Y4
	VMOVUPS 160(R10)(BX*1), Y9
	VFMADD231PS 160(R12)(AX*1), Y9, Y5
	VMOVUPS 192(R10)(BX*1), Y8
	VFMADD231PS 192(R12)(AX*1), Y8, Y6
	VMOVUPS 224(R10)(BX*1), Y9
	VFMADD231PS 224(R12)(AX*1), Y9, Y7
	ADDQ $16, R8
	DECQ R9
	JNZ  gtap

	MOVQ A_BIAS(DI), AX
	TESTQ AX, AX
	JZ   gnobias
	VADDPS 0(AX)(R14*1), Y0, Y0
	VADDPS 32(AX)(R14*1), Y1, Y1
	VADDPS 64(AX)(R14*1), Y2, Y2
	VADDPS 96(AX)(R14*1), Y3, Y3
	VADDPS 128(AX)(R14*1), Y4, Y4
	VADDPS 160(AX)(R14*1), Y5, Y5
	VADDPS 192(AX)(R14*1), Y6, Y6
	VADDPS 224(AX)(R14*1), Y7, Y7
gnobias:
	TESTQ R13, R13
	JZ   gnores
	VADDPS 0(R13)(R14*1), Y0, Y0
	VADDPS 32(R13)(R14*1), Y1, Y1
	VADDPS 64(R13)(R14*1), Y2, Y2
	VADDPS 96(R13)(R14*1), Y3, Y3
	VADDPS 128(R13)(R14*1), Y4, Y4
	VADDPS 160(R13)(R14*1), Y5, Y5
	VADDPS 192(R13)(R14*1), Y6, Y6
	VADDPS 224(R13)(R14*1), Y7, Y7
gnores:
	VMAXPS Y15, Y0, Y0
	VMINPS Y14, Y0, Y0
	VMAXPS Y15, Y1, Y1
	VMINPS Y14, Y1, Y1
	VMAXPS Y15, Y2, Y2
	VMINPS Y14, Y2, Y2
	VMAXPS Y15, Y3, Y3
	VMINPS Y14, Y3, Y3
	VMAXPS Y15, Y4, Y4
	VMINPS Y14, Y4, Y4
	VMAXPS Y15, Y5, Y5
	VMINPS Y14, Y5, Y5
	VMAXPS Y15, Y6, Y6
	VMINPS Y14, Y6, Y6
	VMAXPS Y15, Y7, Y7
	VMINPS Y14, Y7, Y7
	MOVQ A_FLAGS(DI), AX
	CMPQ AX, $12
	JL   gstore
	MOVQ A_ALPHA(DI), AX
	VXORPS Y10, Y10, Y10
	VMINPS Y10, Y0, Y11
	VMAXPS Y10, Y0, Y0
	VFMADD231PS 0(AX)(R14*1), Y11, Y0
	VMINPS Y10, Y1, Y11
	VMAXPS Y10, Y1, Y1
	VFMADD231PS 32(AX)(R14*1), Y11, Y1
	VMINPS Y10, Y2, Y11
	VMAXPS Y10, Y2, Y2
	VFMADD231PS 64(AX)(R14*1), Y11, Y2
	VMINPS Y10, Y3, Y11
	VMAXPS Y10, Y3, Y3
	VFMADD231PS 96(AX)(R14*1), Y11, Y3
	VMINPS Y10, Y4, Y11
	VMAXPS Y10, Y4, Y4
	VFMADD231PS 128(AX)(R14*1), Y11, Y4
	VMINPS Y10, Y5, Y11
	VMAXPS Y10, Y5, Y5
	VFMADD231PS 160(AX)(R14*1), Y11, Y5
	VMINPS Y10, Y6, Y11
	VMAXPS Y10, Y6, Y6
	VFMADD231PS 192(AX)(R14*1), Y11, Y6
	VMINPS Y10, Y7, Y11
	VMAXPS Y10, Y7, Y7
	VFMADD231PS 224(AX)(R14*1), Y11, Y7
gstore:
	VMOVUPS Y0, 0(DX)(R14*1)
	VMOVUPS Y1, 32(DX)(R14*1)
	VMOVUPS Y2, 64(DX)(R14*1)
	VMOVUPS Y3, 96(DX)(R14*1)
	VMOVUPS Y4, 128(DX)(R14*1)
	VMOVUPS Y5, 160(DX)(R14*1)
	VMOVUPS Y6, 192(DX)(R14*1)
	VMOVUPS Y7, 224(DX)(R14*1)
	ADDQ $256, R14
	JMP  tblock

tsingle:
	CMPQ AX, $0
	JLE  tnext
	EPILOAD(R14)
	VXORPS Y9, Y9, Y9
	MOVQ A_TAPS(DI), R8
	MOVQ A_NTAPS(DI), R9
	MOVQ A_W(DI), R10
	ADDQ R14, R10
	LEAQ (SI)(R14*1), R12
ttap:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	VMOVUPS (R10)(BX*1), Y0
	VFMADD231PS (R12)(AX*1), Y0, Y9
	ADDQ $16, R8
	DECQ R9
	JNZ  ttap

	VADDPS Y12, Y9, Y9
	TESTQ R13, R13
	JZ   tnores
	VADDPS (R13)(R14*1), Y9, Y9
tnores:
	VMAXPS Y15, Y9, Y9
	VMINPS Y14, Y9, Y9
	MOVQ A_FLAGS(DI), AX
	CMPQ AX, $12
	JL   tstore
	VXORPS Y10, Y10, Y10
	VMINPS Y10, Y9, Y11
	VMAXPS Y10, Y9, Y9
	VFMADD231PS Y13, Y11, Y9
tstore:
	VMOVUPS Y9, (DX)(R14*1)
	ADDQ $32, R14
	JMP  tblock

tnext:
	ADDQ A_PIX(DI), SI
	ADDQ R11, DX
	TESTQ R13, R13
	JZ   2(PC)
	ADDQ R11, R13
	DECQ CX
	JNZ  tpixel
	VZEROUPPER
	RET

// func dw3x3PtrAsm(a *dwArgs)
//
// One border pixel of a 3×3 convolution: A_TAPS points to 9 input pointers
// (channel c0 of each tap, or a zero buffer for taps outside the input), so
// the pixel runs the same unrolled, branch-free code as the interior with
// no per-tap bounds logic. The weights stream from L1 through three row
// pointers that step one block at a time.
TEXT ·dw3x3PtrAsm(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	MOVQ A_C4(DI), R11

	MOVQ A_FLAGS(DI), AX
	SHRQ $2, AX
	MOVL $0xff800000, BX
	MOVL $0x7f800000, CX
	CMPQ AX, $1
	JLT  pclamps
	CMPQ AX, $3
	JEQ  pclamps
	MOVL $0, BX
	CMPQ AX, $2
	JNE  pclamps
	MOVL $0x40c00000, CX
pclamps:
	MOVQ BX, X15
	VBROADCASTSS X15, Y15
	MOVQ CX, X14
	VBROADCASTSS X14, Y14

	MOVQ A_TAPS(DI), R8
	MOVQ A_W(DI), R9             // weight row 0
	LEAQ (R9)(R11*2), R10
	ADDQ R11, R10                // row 1
	LEAQ (R10)(R11*2), R12
	ADDQ R11, R12                // row 2
	MOVQ A_OUT(DI), DX
	MOVQ A_RES(DI), R13
	XORQ R14, R14                // byte offset of the channel block

pblock:
	EPILOAD(R14)
	MOVQ 0(R8), AX
	VMOVUPS (R9), Y0
	VMULPS (AX)(R14*1), Y0, Y9
	MOVQ 24(R8), AX
	VMOVUPS (R10), Y3
	VMULPS (AX)(R14*1), Y3, Y10
	MOVQ 48(R8), AX
	VMOVUPS (R12), Y6
	VMULPS (AX)(R14*1), Y6, Y11
	MOVQ 8(R8), AX
	VMOVUPS (R9)(R11*1), Y1
	VFMADD231PS (AX)(R14*1), Y1, Y9
	MOVQ 32(R8), AX
	VMOVUPS (R10)(R11*1), Y4
	VFMADD231PS (AX)(R14*1), Y4, Y10
	MOVQ 56(R8), AX
	VMOVUPS (R12)(R11*1), Y7
	VFMADD231PS (AX)(R14*1), Y7, Y11
	MOVQ 16(R8), AX
	VMOVUPS (R9)(R11*2), Y2
	VFMADD231PS (AX)(R14*1), Y2, Y9
	MOVQ 40(R8), AX
	VMOVUPS (R10)(R11*2), Y5
	VFMADD231PS (AX)(R14*1), Y5, Y10
	MOVQ 64(R8), AX
	VMOVUPS (R12)(R11*2), Y8
	VFMADD231PS (AX)(R14*1), Y8, Y11
	VADDPS Y10, Y9, Y9
	VADDPS Y11, Y9, Y9
	VADDPS Y12, Y9, Y9
	TESTQ R13, R13
	JZ   pnores
	VADDPS (R13)(R14*1), Y9, Y9
pnores:
	VMAXPS Y15, Y9, Y9
	VMINPS Y14, Y9, Y9
	MOVQ A_FLAGS(DI), AX
	CMPQ AX, $12
	JL   pstore
	VXORPS Y10, Y10, Y10
	VMINPS Y10, Y9, Y11
	VMAXPS Y10, Y9, Y9
	VFMADD231PS Y13, Y11, Y9
pstore:
	VMOVUPS Y9, (DX)(R14*1)
	ADDQ $32, R14
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R12
	MOVQ A_CB(DI), AX
	SHLQ $5, AX
	CMPQ R14, AX
	JL   pblock
	VZEROUPPER
	RET


// func dw3x3PairAsm(a *dwArgs)
//
// A run of n (even) pixels of a 3×3 convolution whose taps lie inside the
// input columns, walked pixel pair by pixel pair with the channel blocks
// innermost. For wide layers the block-outer order of dw3x3Asm strides
// through memory by C·4·stride bytes, and with NHWC rows a multiple of
// 4 KB apart most of those accesses land in the same few L1 sets and evict
// each other; here each pixel's channels are read contiguously. The
// weights (9·C floats) stay in L1 and each is loaded once for both pixels.
//
// Registers: kernel rows of pixel 0 in SI, R8, R9 (pixel 1 is R10 = pix
// bytes further, its kx taps via R12 = pix+C·4 and R15 = pix+2·C·4);
// weight rows BX, CX, AX (taps at +0, +C·4, +2·C·4 via R11 = C·4); DX
// output, R13 residual (0 if none), R14 bias (zeroRow if none), DI slope,
// all advancing 32 bytes per block. Accumulators Y0–Y2 (pixel 0, one per
// kernel row) and Y3–Y5 (pixel 1); Y6–Y8 weights; Y9, Y10 scratch; Y13
// zero; Y14/Y15 the clamps.
// Locals: 0(SP) blocks left, 8(SP) pairs left, 16(SP) flags, 24(SP) cb,
// 32(SP) row step to the next pair (2·pix − cb·32), 40(SP) output step
// (2·C·4 − cb·32), 48(SP) weights, 56(SP) bias, 64(SP) slope.
TEXT ·dw3x3PairAsm(SB), NOSPLIT, $72-8
	MOVQ a+0(FP), DI
	MOVQ A_BIAS(DI), AX
	TESTQ AX, AX
	JNZ  2(PC)
	LEAQ ·zeroRow(SB), AX        // no bias: add zeros, branch-free
	MOVQ AX, 56(SP)
	MOVQ A_C4(DI), R11
	MOVQ A_PIX(DI), R10
	LEAQ (R10)(R11*1), R12
	LEAQ (R12)(R11*1), R15
	MOVQ A_FLAGS(DI), AX
	MOVQ AX, 16(SP)
	MOVQ A_CB(DI), AX
	MOVQ AX, 24(SP)
	SHLQ $5, AX
	LEAQ (R10)(R10*1), BX
	SUBQ AX, BX
	MOVQ BX, 32(SP)
	LEAQ (R11)(R11*1), BX
	SUBQ AX, BX
	MOVQ BX, 40(SP)
	MOVQ A_W(DI), AX
	MOVQ AX, 48(SP)
	MOVQ A_ALPHA(DI), AX
	MOVQ AX, 64(SP)
	MOVQ A_N(DI), AX
	SHRQ $1, AX
	MOVQ AX, 8(SP)

	MOVQ 16(SP), AX
	SHRQ $2, AX
	MOVL $0xff800000, BX
	MOVL $0x7f800000, CX
	CMPQ AX, $1
	JLT  qclamps
	CMPQ AX, $3
	JEQ  qclamps
	MOVL $0, BX
	CMPQ AX, $2
	JNE  qclamps
	MOVL $0x40c00000, CX
qclamps:
	MOVQ BX, X15
	VBROADCASTSS X15, Y15
	MOVQ CX, X14
	VBROADCASTSS X14, Y14
	VXORPS Y13, Y13, Y13

	MOVQ A_IN(DI), SI
	MOVQ A_IN1(DI), R8
	MOVQ A_IN2(DI), R9
	MOVQ A_OUT(DI), DX
	MOVQ A_RES(DI), R13

qpair:
	MOVQ 24(SP), AX
	MOVQ AX, 0(SP)
	MOVQ 48(SP), BX              // weight row 0 of block 0
	LEAQ (BX)(R11*2), CX
	ADDQ R11, CX                 // row 1
	LEAQ (CX)(R11*2), AX
	ADDQ R11, AX                 // row 2
	MOVQ 56(SP), R14
	MOVQ 64(SP), DI

qblock:
	VMOVUPS (BX), Y6
	VMOVUPS (BX)(R11*1), Y7
	VMOVUPS (BX)(R11*2), Y8
	VMULPS (SI), Y6, Y0
	VMULPS (SI)(R10*1), Y6, Y3
	VFMADD231PS (SI)(R11*1), Y7, Y0
	VFMADD231PS (SI)(R12*1), Y7, Y3
	VFMADD231PS (SI)(R11*2), Y8, Y0
	VFMADD231PS (SI)(R15*1), Y8, Y3
	VMOVUPS (CX), Y6
	VMOVUPS (CX)(R11*1), Y7
	VMOVUPS (CX)(R11*2), Y8
	VMULPS (R8), Y6, Y1
	VMULPS (R8)(R10*1), Y6, Y4
	VFMADD231PS (R8)(R11*1), Y7, Y1
	VFMADD231PS (R8)(R12*1), Y7, Y4
	VFMADD231PS (R8)(R11*2), Y8, Y1
	VFMADD231PS (R8)(R15*1), Y8, Y4
	VMOVUPS (AX), Y6
	VMOVUPS (AX)(R11*1), Y7
	VMOVUPS (AX)(R11*2), Y8
	VMULPS (R9), Y6, Y2
	VMULPS (R9)(R10*1), Y6, Y5
	VFMADD231PS (R9)(R11*1), Y7, Y2
	VFMADD231PS (R9)(R12*1), Y7, Y5
	VFMADD231PS (R9)(R11*2), Y8, Y2
	VFMADD231PS (R9)(R15*1), Y8, Y5
	VADDPS Y1, Y0, Y0
	VADDPS Y4, Y3, Y3
	VADDPS Y2, Y0, Y0
	VADDPS Y5, Y3, Y3
	VADDPS (R14), Y0, Y0
	VADDPS (R14), Y3, Y3
	TESTQ R13, R13
	JZ   qnores
	VADDPS (R13), Y0, Y0
	VADDPS (R13)(R11*1), Y3, Y3
	ADDQ $32, R13
qnores:
	VMAXPS Y15, Y0, Y0
	VMAXPS Y15, Y3, Y3
	VMINPS Y14, Y0, Y0
	VMINPS Y14, Y3, Y3
	CMPQ 16(SP), $12
	JL   qstore
	VMINPS Y13, Y0, Y9
	VMINPS Y13, Y3, Y10
	VMAXPS Y13, Y0, Y0
	VMAXPS Y13, Y3, Y3
	VFMADD231PS (DI), Y9, Y0
	VFMADD231PS (DI), Y10, Y3
qstore:
	VMOVUPS Y0, (DX)
	VMOVUPS Y3, (DX)(R11*1)
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, BX
	ADDQ $32, CX
	ADDQ $32, AX
	ADDQ $32, DX
	ADDQ $32, R14
	ADDQ $32, DI
	DECQ 0(SP)
	JNZ  qblock

	MOVQ 32(SP), BX
	ADDQ BX, SI
	ADDQ BX, R8
	ADDQ BX, R9
	MOVQ 40(SP), BX
	ADDQ BX, DX
	TESTQ R13, R13
	JZ   2(PC)
	ADDQ BX, R13
	DECQ 8(SP)
	JNZ  qpair
	VZEROUPPER
	RET

// func dwTaps4Asm(a *dwArgs)
//
// The tap-list kernel for layers of 4 to 7 channels: blocks of 4 channels
// in xmm registers (A_CB counts 4-channel blocks), otherwise as the
// single-block path of dwTapsAsm.
TEXT ·dwTaps4Asm(SB), NOSPLIT, $0-8
	MOVQ a+0(FP), DI
	MOVQ A_C4(DI), R11

	MOVQ A_FLAGS(DI), AX
	SHRQ $2, AX
	MOVL $0xff800000, BX
	MOVL $0x7f800000, CX
	CMPQ AX, $1
	JLT  nclamps
	CMPQ AX, $3
	JEQ  nclamps
	MOVL $0, BX
	CMPQ AX, $2
	JNE  nclamps
	MOVL $0x40c00000, CX
nclamps:
	MOVQ BX, X15
	VBROADCASTSS X15, X15
	MOVQ CX, X14
	VBROADCASTSS X14, X14

	MOVQ A_IN(DI), SI
	MOVQ A_OUT(DI), DX
	MOVQ A_RES(DI), R13
	MOVQ A_N(DI), CX

npixel:
	XORQ R14, R14
nblock:
	VXORPS X12, X12, X12
	MOVQ A_BIAS(DI), AX
	TESTQ AX, AX
	JZ   2(PC)
	VMOVUPS (AX)(R14*1), X12
	VXORPS X9, X9, X9
	MOVQ A_TAPS(DI), R8
	MOVQ A_NTAPS(DI), R9
	MOVQ A_W(DI), R10
	ADDQ R14, R10
	LEAQ (SI)(R14*1), R12
ntap:
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	VMOVUPS (R10)(BX*1), X0
	VFMADD231PS (R12)(AX*1), X0, X9
	ADDQ $16, R8
	DECQ R9
	JNZ  ntap

	VADDPS X12, X9, X9
	TESTQ R13, R13
	JZ   nnores
	VADDPS (R13)(R14*1), X9, X9
nnores:
	VMAXPS X15, X9, X9
	VMINPS X14, X9, X9
	MOVQ A_FLAGS(DI), AX
	CMPQ AX, $12
	JL   nstore
	MOVQ A_ALPHA(DI), AX
	VXORPS X10, X10, X10
	VMINPS X10, X9, X11
	VMAXPS X10, X9, X9
	VFMADD231PS (AX)(R14*1), X11, X9
nstore:
	VMOVUPS X9, (DX)(R14*1)
	ADDQ $16, R14
	MOVQ A_CB(DI), AX
	SHLQ $4, AX
	CMPQ R14, AX
	JL   nblock

	ADDQ A_PIX(DI), SI
	ADDQ R11, DX
	TESTQ R13, R13
	JZ   2(PC)
	ADDQ R11, R13
	DECQ CX
	JNZ  npixel
	VZEROUPPER
	RET
