#include "textflag.h"

// NEON depthwise kernels: one Q register holds 4 consecutive channels of one
// pixel (NHWC keeps them contiguous). The structure mirrors dw_amd64.s.

// dwArgs field offsets (see asm_shared.go).
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

// Vector ops the Go assembler has no mnemonic for (register numbers).
// FADD/FMUL/FMAX/FMIN Vd.4S, Vn.4S, Vm.4S
#define FADD4(d, n, m) WORD $(0x4E20D400 | (m<<16) | (n<<5) | d)
#define FMUL4(d, n, m) WORD $(0x6E20DC00 | (m<<16) | (n<<5) | d)
#define FMAX4(d, n, m) WORD $(0x4E20F400 | (m<<16) | (n<<5) | d)
#define FMIN4(d, n, m) WORD $(0x4EA0F400 | (m<<16) | (n<<5) | d)

// Epilogue registers: V12 bias (or zeros), V13 PReLU slope, V14 upper and
// V15 lower clamp (±Inf without activation and for PReLU, 0/+Inf for ReLU,
// 0/6 for ReLU6), so only PReLU needs a branch per vector.

// CLAMPS sets V14/V15 from the activation in the flags at A_FLAGS(R0).
#define CLAMPS(done) \
	MOVD A_FLAGS(R0), R15 \
	LSR $2, R15, R15 \
	MOVW $0xff800000, R16 \
	MOVW $0x7f800000, R17 \
	CMP $1, R15 \
	BLT done \
	CMP $3, R15 \
	BEQ done \
	MOVW $0, R16 \
	CMP $2, R15 \
	BNE done \
	MOVW $0x40c00000, R17 \
done: \
	VMOV R16, V15.S4 \
	VMOV R17, V14.S4

// EPILOAD loads bias and slope of the channel block at byte offset R14.
#define EPILOAD \
	VEOR V12.B16, V12.B16, V12.B16 \
	MOVD A_BIAS(R0), R15 \
	CBZ R15, 3(PC) \
	ADD R14, R15, R15 \
	VLD1 (R15), [V12.S4] \
	MOVD A_ALPHA(R0), R15 \
	CBZ R15, 3(PC) \
	ADD R14, R15, R15 \
	VLD1 (R15), [V13.S4]

// FINISH applies bias, residual (R13, advanced by R11 when not nil) and
// activation to V9. Clobbers V16, V17, R15.
#define FINISH \
	FADD4(9, 9, 12) \
	CBZ R13, 3(PC) \
	VLD1 (R13), [V16.S4] \
	FADD4(9, 9, 16) \
	FMAX4(9, 9, 15) \
	FMIN4(9, 9, 14) \
	MOVD A_FLAGS(R0), R15 \
	CMP $12, R15 \
	BLT 5(PC) \
	VEOR V16.B16, V16.B16, V16.B16 \
	FMIN4(17, 9, 16) \
	FMAX4(9, 9, 16) \
	VFMLA V13.S4, V17.S4, V9.S4

// func dw3x3Asm(a *dwArgs)
//
// Run of a 3×3 depthwise convolution whose taps all lie inside the input
// columns; kernel rows come from A_IN, A_IN1, A_IN2 (a missing row points
// at the zero row). The
// channel-block loop is outermost so the block's 9 weight vectors stay in
// V0–V8 over the run; inputs are loaded with register post-increment (C·4)
// along each kernel row, and the three rows accumulate in V9–V11.
TEXT ·dw3x3Asm(SB), NOSPLIT, $0-8
	MOVD a+0(FP), R0
	MOVD A_C4(R0), R11
	MOVD A_ROW(R0), R12
	CLAMPS(clamps)
	// R19 = pix − 3·C·4: the step from the end of a kernel row to the next pixel.
	MOVD A_PIX(R0), R19
	SUB R11, R19, R19
	SUB R11, R19, R19
	SUB R11, R19, R19
	MOVD $0, R14                 // byte offset of the channel block

block:
	MOVD A_W(R0), R1
	ADD R14, R1, R1
	VLD1.P (R1)(R11), [V0.S4]
	VLD1.P (R1)(R11), [V1.S4]
	VLD1.P (R1)(R11), [V2.S4]
	VLD1.P (R1)(R11), [V3.S4]
	VLD1.P (R1)(R11), [V4.S4]
	VLD1.P (R1)(R11), [V5.S4]
	VLD1.P (R1)(R11), [V6.S4]
	VLD1.P (R1)(R11), [V7.S4]
	VLD1.P (R1)(R11), [V8.S4]
	EPILOAD

	MOVD A_IN(R0), R3
	ADD R14, R3, R3              // kernel row 0 of the first pixel
	MOVD A_IN1(R0), R4
	ADD R14, R4, R4              // row 1 (may be the zero row)
	MOVD A_IN2(R0), R5
	ADD R14, R5, R5              // row 2
	MOVD A_OUT(R0), R6
	ADD R14, R6, R6
	MOVD A_RES(R0), R13
	CBZ R13, 2(PC)
	ADD R14, R13, R13
	MOVD A_N(R0), R7

pixel:
	VLD1.P (R3)(R11), [V20.S4]
	VLD1.P (R3)(R11), [V21.S4]
	VLD1.P (R3)(R11), [V22.S4]
	VLD1.P (R4)(R11), [V23.S4]
	VLD1.P (R4)(R11), [V24.S4]
	VLD1.P (R4)(R11), [V25.S4]
	VLD1.P (R5)(R11), [V26.S4]
	VLD1.P (R5)(R11), [V27.S4]
	VLD1.P (R5)(R11), [V28.S4]
	FMUL4(9, 20, 0)
	FMUL4(10, 23, 3)
	FMUL4(11, 26, 6)
	VFMLA V1.S4, V21.S4, V9.S4
	VFMLA V4.S4, V24.S4, V10.S4
	VFMLA V7.S4, V27.S4, V11.S4
	VFMLA V2.S4, V22.S4, V9.S4
	VFMLA V5.S4, V25.S4, V10.S4
	VFMLA V8.S4, V28.S4, V11.S4
	FADD4(9, 9, 10)
	FADD4(9, 9, 11)
	FINISH
	VST1 [V9.S4], (R6)
	ADD R11, R6, R6
	CBZ R13, 2(PC)
	ADD R11, R13, R13
	ADD R19, R3, R3
	ADD R19, R4, R4
	ADD R19, R5, R5
	SUBS $1, R7, R7
	BNE pixel

	ADD $16, R14, R14
	MOVD A_CB(R0), R15
	LSL $4, R15, R15
	CMP R15, R14
	BLT block
	RET

// func dwTapsAsm(a *dwArgs)
//
// Any kernel shape: n pixels sharing one list of in-bounds taps (byte
// offsets into the input and the weights for the first pixel; each next
// pixel is A_PIX bytes further in the input). Taps are summed in list order.
TEXT ·dwTapsAsm(SB), NOSPLIT, $0-8
	MOVD a+0(FP), R0
	MOVD A_C4(R0), R11
	CLAMPS(tclamps)
	MOVD A_IN(R0), R1            // input of the current pixel
	MOVD A_OUT(R0), R2           // output of the current pixel
	MOVD A_RES(R0), R3           // residual of the current pixel, or nil
	MOVD A_N(R0), R7

tpixel:
	MOVD $0, R14
tblock:
	// Eight blocks (32 channels) at a time while they last: eight
	// accumulators per tap keep loads in flight and read each cache line
	// once per pass (taps lie C·4 bytes apart, so lines revisited block by
	// block tend to be evicted in between, all the more with a 2-way L1).
	MOVD A_CB(R0), R15
	LSL $4, R15, R15
	SUB R14, R15, R15
	CMP $128, R15
	BLT tsingle
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	MOVD A_TAPS(R0), R8
	MOVD A_NTAPS(R0), R9
	MOVD A_W(R0), R10
	ADD R14, R10, R10
	ADD R14, R1, R12
gtap:
	LDP.P 16(R8), (R21, R22)
	ADD R21, R12, R23
	ADD R22, R10, R24
	VLD1.P 64(R23), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1 (R23), [V20.S4, V21.S4, V22.S4, V23.S4]
	VLD1.P 64(R24), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1 (R24), [V28.S4, V29.S4, V30.S4, V31.S4]
	VFMLA V24.S4, V16.S4, V0.S4
	VFMLA V25.S4, V17.S4, V1.S4
	VFMLA V26.S4, V18.S4, V2.S4
	VFMLA V27.S4, V19.S4, V3.S4
	VFMLA V28.S4, V20.S4, V4.S4
	VFMLA V29.S4, V21.S4, V5.S4
	VFMLA V30.S4, V22.S4, V6.S4
	VFMLA V31.S4, V23.S4, V7.S4
	SUBS $1, R9, R9
	BNE gtap

	MOVD A_BIAS(R0), R15
	CBZ R15, gnobias
	ADD R14, R15, R15
	VLD1.P 64(R15), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1 (R15), [V20.S4, V21.S4, V22.S4, V23.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
	FADD4(2, 2, 18)
	FADD4(3, 3, 19)
	FADD4(4, 4, 20)
	FADD4(5, 5, 21)
	FADD4(6, 6, 22)
	FADD4(7, 7, 23)
gnobias:
	CBZ R3, gnores
	ADD R14, R3, R15
	VLD1.P 64(R15), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1 (R15), [V20.S4, V21.S4, V22.S4, V23.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
	FADD4(2, 2, 18)
	FADD4(3, 3, 19)
	FADD4(4, 4, 20)
	FADD4(5, 5, 21)
	FADD4(6, 6, 22)
	FADD4(7, 7, 23)
gnores:
	FMAX4(0, 0, 15)
	FMIN4(0, 0, 14)
	FMAX4(1, 1, 15)
	FMIN4(1, 1, 14)
	FMAX4(2, 2, 15)
	FMIN4(2, 2, 14)
	FMAX4(3, 3, 15)
	FMIN4(3, 3, 14)
	FMAX4(4, 4, 15)
	FMIN4(4, 4, 14)
	FMAX4(5, 5, 15)
	FMIN4(5, 5, 14)
	FMAX4(6, 6, 15)
	FMIN4(6, 6, 14)
	FMAX4(7, 7, 15)
	FMIN4(7, 7, 14)
	MOVD A_FLAGS(R0), R15
	CMP $12, R15
	BLT gstore
	MOVD A_ALPHA(R0), R15
	ADD R14, R15, R15
	VLD1.P 64(R15), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1 (R15), [V20.S4, V21.S4, V22.S4, V23.S4]
	VEOR V24.B16, V24.B16, V24.B16
	FMIN4(25, 0, 24)
	FMAX4(0, 0, 24)
	VFMLA V16.S4, V25.S4, V0.S4
	FMIN4(25, 1, 24)
	FMAX4(1, 1, 24)
	VFMLA V17.S4, V25.S4, V1.S4
	FMIN4(25, 2, 24)
	FMAX4(2, 2, 24)
	VFMLA V18.S4, V25.S4, V2.S4
	FMIN4(25, 3, 24)
	FMAX4(3, 3, 24)
	VFMLA V19.S4, V25.S4, V3.S4
	FMIN4(25, 4, 24)
	FMAX4(4, 4, 24)
	VFMLA V20.S4, V25.S4, V4.S4
	FMIN4(25, 5, 24)
	FMAX4(5, 5, 24)
	VFMLA V21.S4, V25.S4, V5.S4
	FMIN4(25, 6, 24)
	FMAX4(6, 6, 24)
	VFMLA V22.S4, V25.S4, V6.S4
	FMIN4(25, 7, 24)
	FMAX4(7, 7, 24)
	VFMLA V23.S4, V25.S4, V7.S4
gstore:
	ADD R14, R2, R15
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R15)
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R15)
	ADD $128, R14, R14
	B tblock

tsingle:
	CMP $0, R15
	BLE tnext
	EPILOAD
	VEOR V9.B16, V9.B16, V9.B16
	MOVD A_TAPS(R0), R8
	MOVD A_NTAPS(R0), R9
	MOVD A_W(R0), R10
	ADD R14, R10, R10
	ADD R14, R1, R12
ttap:
	LDP.P 16(R8), (R21, R22)
	ADD R21, R12, R23
	ADD R22, R10, R24
	VLD1 (R23), [V20.S4]
	VLD1 (R24), [V21.S4]
	VFMLA V21.S4, V20.S4, V9.S4
	SUBS $1, R9, R9
	BNE ttap

	MOVD $0, R13
	CBZ R3, 2(PC)
	ADD R14, R3, R13
	FINISH
	ADD R14, R2, R15
	VST1 [V9.S4], (R15)
	ADD $16, R14, R14
	B tblock

tnext:
	MOVD A_PIX(R0), R15
	ADD R15, R1, R1
	ADD R11, R2, R2
	CBZ R3, 2(PC)
	ADD R11, R3, R3
	SUBS $1, R7, R7
	BNE tpixel
	RET

// func dw3x3PtrAsm(a *dwArgs)
//
// One border pixel of a 3×3 convolution: A_TAPS points to 9 input pointers
// (channel c0 of each tap, or a zero buffer for taps outside the input), so
// the pixel runs unrolled, branch-free code with no per-tap bounds logic.
// The 9 pointers stay in R3–R7, R19–R22 for the whole channel loop.
TEXT ·dw3x3PtrAsm(SB), NOSPLIT, $0-8
	MOVD a+0(FP), R0
	MOVD A_C4(R0), R11
	CLAMPS(pclamps)
	MOVD A_TAPS(R0), R8
	LDP 0(R8), (R3, R4)
	LDP 16(R8), (R5, R6)
	LDP 32(R8), (R7, R19)
	LDP 48(R8), (R20, R21)
	MOVD 64(R8), R22
	MOVD A_W(R0), R9
	MOVD A_OUT(R0), R2
	MOVD A_RES(R0), R1
	MOVD $0, R14

pblock:
	EPILOAD
	MOVD R9, R24                 // the 9 weight vectors are C·4 bytes apart
	VLD1.P (R24)(R11), [V0.S4]
	VLD1.P (R24)(R11), [V1.S4]
	VLD1.P (R24)(R11), [V2.S4]
	VLD1.P (R24)(R11), [V3.S4]
	VLD1.P (R24)(R11), [V4.S4]
	VLD1.P (R24)(R11), [V5.S4]
	VLD1.P (R24)(R11), [V6.S4]
	VLD1.P (R24)(R11), [V7.S4]
	VLD1.P (R24)(R11), [V8.S4]
	ADD R14, R3, R23
	VLD1 (R23), [V20.S4]
	ADD R14, R4, R23
	VLD1 (R23), [V21.S4]
	ADD R14, R5, R23
	VLD1 (R23), [V22.S4]
	ADD R14, R6, R23
	VLD1 (R23), [V23.S4]
	ADD R14, R7, R23
	VLD1 (R23), [V24.S4]
	ADD R14, R19, R23
	VLD1 (R23), [V25.S4]
	ADD R14, R20, R23
	VLD1 (R23), [V26.S4]
	ADD R14, R21, R23
	VLD1 (R23), [V27.S4]
	ADD R14, R22, R23
	VLD1 (R23), [V28.S4]
	FMUL4(9, 20, 0)
	FMUL4(10, 23, 3)
	FMUL4(11, 26, 6)
	VFMLA V1.S4, V21.S4, V9.S4
	VFMLA V4.S4, V24.S4, V10.S4
	VFMLA V7.S4, V27.S4, V11.S4
	VFMLA V2.S4, V22.S4, V9.S4
	VFMLA V5.S4, V25.S4, V10.S4
	VFMLA V8.S4, V28.S4, V11.S4
	FADD4(9, 9, 10)
	FADD4(9, 9, 11)
	MOVD $0, R13
	CBZ R1, 2(PC)
	ADD R14, R1, R13
	FINISH
	ADD R14, R2, R25
	VST1 [V9.S4], (R25)
	ADD $16, R14, R14
	ADD $16, R9, R9
	MOVD A_CB(R0), R15
	LSL $4, R15, R15
	CMP R15, R14
	BLT pblock
	RET

// func dw3x3PairAsm(a *dwArgs)
//
// A run of n (even) pixels of a 3×3 convolution whose taps lie inside the
// input columns, walked pixel pair by pixel pair with the 4-channel blocks
// innermost, as on amd64: wide layers read each pixel's channels
// contiguously instead of striding C·4 bytes per access, which on a 2-way
// L1 (Cortex-A72) would keep evicting lines the next block needs.
//
// Registers: kernel rows of pixel 0 in R3, R4, R5 (pixel 1 is R10 = pix
// bytes further); weights R6 (9 taps C·4 apart, R11 = C·4); output R2,
// residual R13 (0 if none), bias R14 (zeroRow if none), slope R19, all
// advancing 16 bytes per block; R7 flags, R21 blocks left, R22 pairs left,
// R23/R24 the row and output steps between pairs, R25 = cb·16. Vectors:
// V20–V28 weights, V0–V5 inputs, V8–V10 and V11–V13 the per-row sums of the
// two pixels, V14/V15 clamps, V16–V19 scratch.
TEXT ·dw3x3PairAsm(SB), NOSPLIT, $0-8
	MOVD a+0(FP), R0
	CLAMPS(qclamps)
	MOVD A_C4(R0), R11
	MOVD A_PIX(R0), R10
	MOVD A_FLAGS(R0), R7
	MOVD A_CB(R0), R25
	LSL $4, R25, R25
	ADD R10, R10, R23
	SUB R25, R23, R23            // 2·pix − cb·16
	ADD R11, R11, R24
	SUB R25, R24, R24            // 2·C·4 − cb·16
	MOVD A_IN(R0), R3
	MOVD A_IN1(R0), R4
	MOVD A_IN2(R0), R5
	MOVD A_W(R0), R6
	MOVD A_OUT(R0), R2
	MOVD A_RES(R0), R13
	MOVD A_BIAS(R0), R14
	CBNZ R14, 2(PC)
	MOVD $·zeroRow(SB), R14      // no bias: add zeros, branch-free
	MOVD A_ALPHA(R0), R19
	MOVD A_N(R0), R22
	LSR $1, R22, R22

qpair:
	MOVD A_CB(R0), R21

qblock:
	MOVD R6, R16
	VLD1.P (R16)(R11), [V20.S4]
	VLD1.P (R16)(R11), [V21.S4]
	VLD1.P (R16)(R11), [V22.S4]
	VLD1.P (R16)(R11), [V23.S4]
	VLD1.P (R16)(R11), [V24.S4]
	VLD1.P (R16)(R11), [V25.S4]
	VLD1.P (R16)(R11), [V26.S4]
	VLD1.P (R16)(R11), [V27.S4]
	VLD1.P (R16)(R11), [V28.S4]
	MOVD R3, R16
	VLD1.P (R16)(R11), [V0.S4]
	VLD1.P (R16)(R11), [V1.S4]
	VLD1 (R16), [V2.S4]
	ADD R10, R3, R17
	VLD1.P (R17)(R11), [V3.S4]
	VLD1.P (R17)(R11), [V4.S4]
	VLD1 (R17), [V5.S4]
	FMUL4(8, 0, 20)
	FMUL4(11, 3, 20)
	VFMLA V21.S4, V1.S4, V8.S4
	VFMLA V21.S4, V4.S4, V11.S4
	VFMLA V22.S4, V2.S4, V8.S4
	VFMLA V22.S4, V5.S4, V11.S4
	MOVD R4, R16
	VLD1.P (R16)(R11), [V0.S4]
	VLD1.P (R16)(R11), [V1.S4]
	VLD1 (R16), [V2.S4]
	ADD R10, R4, R17
	VLD1.P (R17)(R11), [V3.S4]
	VLD1.P (R17)(R11), [V4.S4]
	VLD1 (R17), [V5.S4]
	FMUL4(9, 0, 23)
	FMUL4(12, 3, 23)
	VFMLA V24.S4, V1.S4, V9.S4
	VFMLA V24.S4, V4.S4, V12.S4
	VFMLA V25.S4, V2.S4, V9.S4
	VFMLA V25.S4, V5.S4, V12.S4
	MOVD R5, R16
	VLD1.P (R16)(R11), [V0.S4]
	VLD1.P (R16)(R11), [V1.S4]
	VLD1 (R16), [V2.S4]
	ADD R10, R5, R17
	VLD1.P (R17)(R11), [V3.S4]
	VLD1.P (R17)(R11), [V4.S4]
	VLD1 (R17), [V5.S4]
	FMUL4(10, 0, 26)
	FMUL4(13, 3, 26)
	VFMLA V27.S4, V1.S4, V10.S4
	VFMLA V27.S4, V4.S4, V13.S4
	VFMLA V28.S4, V2.S4, V10.S4
	VFMLA V28.S4, V5.S4, V13.S4
	FADD4(8, 8, 9)
	FADD4(11, 11, 12)
	FADD4(8, 8, 10)
	FADD4(11, 11, 13)
	VLD1 (R14), [V16.S4]
	FADD4(8, 8, 16)
	FADD4(11, 11, 16)
	CBZ R13, qnores
	VLD1 (R13), [V16.S4]
	ADD R11, R13, R17
	VLD1 (R17), [V17.S4]
	FADD4(8, 8, 16)
	FADD4(11, 11, 17)
	ADD $16, R13, R13
qnores:
	FMAX4(8, 8, 15)
	FMAX4(11, 11, 15)
	FMIN4(8, 8, 14)
	FMIN4(11, 11, 14)
	CMP $12, R7
	BLT qstore
	VEOR V16.B16, V16.B16, V16.B16
	VLD1 (R19), [V17.S4]
	FMIN4(18, 8, 16)
	FMIN4(19, 11, 16)
	FMAX4(8, 8, 16)
	FMAX4(11, 11, 16)
	VFMLA V17.S4, V18.S4, V8.S4
	VFMLA V17.S4, V19.S4, V11.S4
qstore:
	VST1 [V8.S4], (R2)
	ADD R11, R2, R17
	VST1 [V11.S4], (R17)
	ADD $16, R3, R3
	ADD $16, R4, R4
	ADD $16, R5, R5
	ADD $16, R6, R6
	ADD $16, R2, R2
	ADD $16, R14, R14
	ADD $16, R19, R19
	SUBS $1, R21, R21
	BNE qblock

	ADD R23, R3, R3
	ADD R23, R4, R4
	ADD R23, R5, R5
	ADD R24, R2, R2
	CBZ R13, 2(PC)
	ADD R24, R13, R13
	SUB R25, R6, R6
	SUB R25, R14, R14
	SUB R25, R19, R19
	SUBS $1, R22, R22
	BNE qpair
	RET
