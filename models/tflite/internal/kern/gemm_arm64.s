#include "textflag.h"

// NEON micro-kernel: 8×8 tiles of C = A·Wᵀ.
//
// Register allocation (all 32 vector registers): accumulators V0–V15 (row r
// in V(2r), V(2r+1): 8 floats), packed weights for 4 k steps in V16–V23
// (two 64-byte loads), and 4 consecutive A values of each of the 8 rows in
// V24–V31. Each FMLA multiplies a weight vector by one lane of an A
// register (FMLA by element), so a 4-step block costs 10 loads for 64 FMLAs
// and no broadcasts: the FMA pipes, not the load port, set the pace. Rows
// are read through 8 row pointers (R3–R10), so an M remainder can repeat a
// valid row; the epilogue neither reads nor stores rows past the valid
// count.
//
// The Go assembler has no mnemonics for FMLA (by element), FADD, FMAX and
// FMIN on vectors, so they are spelled as WORDs by the macros below
// (arguments are register numbers).

// FMLA Vd.4S, Vn.4S, Vm.S[i]
#define FMLAE(d, n, m, i) WORD $(0x4F801000 | ((i&1)<<21) | (m<<16) | ((i>>1)<<11) | (n<<5) | d)
// FADD Vd.4S, Vn.4S, Vm.4S
#define FADD4(d, n, m) WORD $(0x4E20D400 | (m<<16) | (n<<5) | d)
// FMAX Vd.4S, Vn.4S, Vm.4S
#define FMAX4(d, n, m) WORD $(0x4E20F400 | (m<<16) | (n<<5) | d)
// FMIN Vd.4S, Vn.4S, Vm.4S
#define FMIN4(d, n, m) WORD $(0x4EA0F400 | (m<<16) | (n<<5) | d)

// func gemmTileAsm(k int, rows *[8]*float32, b *float32, c *float32, ldc int, ep *tileEp, lda int, ntiles int)
//
// Computes ntiles tiles down the rows (the row pointers move 8·lda floats,
// C and the residual 8·ldc), so one call covers a row block of a panel.
// R19 tiles left, R20 C of the tile, R21 its residual, R22/R23 the row and
// C steps between tiles, R25 the valid rows of the (last) tile.
TEXT ·gemmTileAsm(SB), NOSPLIT, $0-64
	MOVD rows+8(FP), R2
	MOVD 0(R2), R3
	MOVD 8(R2), R4
	MOVD 16(R2), R5
	MOVD 24(R2), R6
	MOVD 32(R2), R7
	MOVD 40(R2), R8
	MOVD 48(R2), R9
	MOVD 56(R2), R10
	MOVD ntiles+56(FP), R19
	MOVD c+24(FP), R20
	MOVD ep+40(FP), R13
	MOVD 16(R13), R21
	MOVD 40(R13), R25
	MOVD ldc+32(FP), R12
	LSL $3, R12, R23             // 8 rows of C in bytes
	MOVD lda+48(FP), R22
	LSL $5, R22, R22             // 8 rows of A in bytes...
	MOVD k+0(FP), R0
	SUB R0<<2, R22, R22          // ...less the K·4 the loads advanced

tile:
	MOVD k+0(FP), R0
	MOVD b+16(FP), R1
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	VEOR V8.B16, V8.B16, V8.B16
	VEOR V9.B16, V9.B16, V9.B16
	VEOR V10.B16, V10.B16, V10.B16
	VEOR V11.B16, V11.B16, V11.B16
	VEOR V12.B16, V12.B16, V12.B16
	VEOR V13.B16, V13.B16, V13.B16
	VEOR V14.B16, V14.B16, V14.B16
	VEOR V15.B16, V15.B16, V15.B16
	LSR $2, R0, R17              // 4-step blocks
	AND $3, R0, R0               // single steps left
	CBZ R17, tail

loop4:
	VLD1.P 16(R3), [V24.S4]
	VLD1.P 16(R4), [V25.S4]
	VLD1.P 16(R5), [V26.S4]
	VLD1.P 16(R6), [V27.S4]
	VLD1.P 16(R7), [V28.S4]
	VLD1.P 16(R8), [V29.S4]
	VLD1.P 16(R9), [V30.S4]
	VLD1.P 16(R10), [V31.S4]
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]
	FMLAE(0, 16, 24, 0)
	FMLAE(1, 17, 24, 0)
	FMLAE(2, 16, 25, 0)
	FMLAE(3, 17, 25, 0)
	FMLAE(4, 16, 26, 0)
	FMLAE(5, 17, 26, 0)
	FMLAE(6, 16, 27, 0)
	FMLAE(7, 17, 27, 0)
	FMLAE(8, 16, 28, 0)
	FMLAE(9, 17, 28, 0)
	FMLAE(10, 16, 29, 0)
	FMLAE(11, 17, 29, 0)
	FMLAE(12, 16, 30, 0)
	FMLAE(13, 17, 30, 0)
	FMLAE(14, 16, 31, 0)
	FMLAE(15, 17, 31, 0)
	FMLAE(0, 18, 24, 1)
	FMLAE(1, 19, 24, 1)
	FMLAE(2, 18, 25, 1)
	FMLAE(3, 19, 25, 1)
	FMLAE(4, 18, 26, 1)
	FMLAE(5, 19, 26, 1)
	FMLAE(6, 18, 27, 1)
	FMLAE(7, 19, 27, 1)
	FMLAE(8, 18, 28, 1)
	FMLAE(9, 19, 28, 1)
	FMLAE(10, 18, 29, 1)
	FMLAE(11, 19, 29, 1)
	FMLAE(12, 18, 30, 1)
	FMLAE(13, 19, 30, 1)
	FMLAE(14, 18, 31, 1)
	FMLAE(15, 19, 31, 1)
	FMLAE(0, 20, 24, 2)
	FMLAE(1, 21, 24, 2)
	FMLAE(2, 20, 25, 2)
	FMLAE(3, 21, 25, 2)
	FMLAE(4, 20, 26, 2)
	FMLAE(5, 21, 26, 2)
	FMLAE(6, 20, 27, 2)
	FMLAE(7, 21, 27, 2)
	FMLAE(8, 20, 28, 2)
	FMLAE(9, 21, 28, 2)
	FMLAE(10, 20, 29, 2)
	FMLAE(11, 21, 29, 2)
	FMLAE(12, 20, 30, 2)
	FMLAE(13, 21, 30, 2)
	FMLAE(14, 20, 31, 2)
	FMLAE(15, 21, 31, 2)
	FMLAE(0, 22, 24, 3)
	FMLAE(1, 23, 24, 3)
	FMLAE(2, 22, 25, 3)
	FMLAE(3, 23, 25, 3)
	FMLAE(4, 22, 26, 3)
	FMLAE(5, 23, 26, 3)
	FMLAE(6, 22, 27, 3)
	FMLAE(7, 23, 27, 3)
	FMLAE(8, 22, 28, 3)
	FMLAE(9, 23, 28, 3)
	FMLAE(10, 22, 29, 3)
	FMLAE(11, 23, 29, 3)
	FMLAE(12, 22, 30, 3)
	FMLAE(13, 23, 30, 3)
	FMLAE(14, 22, 31, 3)
	FMLAE(15, 23, 31, 3)
	SUBS $1, R17, R17
	BNE loop4

tail:
	CBZ R0, epilogue

loop1:
	FMOVS.P 4(R3), F24
	FMOVS.P 4(R4), F25
	FMOVS.P 4(R5), F26
	FMOVS.P 4(R6), F27
	FMOVS.P 4(R7), F28
	FMOVS.P 4(R8), F29
	FMOVS.P 4(R9), F30
	FMOVS.P 4(R10), F31
	VLD1.P 32(R1), [V16.S4, V17.S4]
	FMLAE(0, 16, 24, 0)
	FMLAE(1, 17, 24, 0)
	FMLAE(2, 16, 25, 0)
	FMLAE(3, 17, 25, 0)
	FMLAE(4, 16, 26, 0)
	FMLAE(5, 17, 26, 0)
	FMLAE(6, 16, 27, 0)
	FMLAE(7, 17, 27, 0)
	FMLAE(8, 16, 28, 0)
	FMLAE(9, 17, 28, 0)
	FMLAE(10, 16, 29, 0)
	FMLAE(11, 17, 29, 0)
	FMLAE(12, 16, 30, 0)
	FMLAE(13, 17, 30, 0)
	FMLAE(14, 16, 31, 0)
	FMLAE(15, 17, 31, 0)
	SUBS $1, R0, R0
	BNE loop1

epilogue:
	// tileEp: 0 bias, 8 alpha, 16 res, 24 flags, 32 mask (unused here:
	// partial panels are finished in Go), 40 rows.
	MOVD ep+40(FP), R13
	MOVD 24(R13), R14            // flags: bit 0 bias, bit 1 residual, bits 2-3 activation
	TBZ $0, R14, nobias
	MOVD 0(R13), R15
	VLD1 (R15), [V16.S4, V17.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
	FADD4(2, 2, 16)
	FADD4(3, 3, 17)
	FADD4(4, 4, 16)
	FADD4(5, 5, 17)
	FADD4(6, 6, 16)
	FADD4(7, 7, 17)
	FADD4(8, 8, 16)
	FADD4(9, 9, 17)
	FADD4(10, 10, 16)
	FADD4(11, 11, 17)
	FADD4(12, 12, 16)
	FADD4(13, 13, 17)
	FADD4(14, 14, 16)
	FADD4(15, 15, 17)

nobias:
	TBZ $1, R14, nores
	MOVD R21, R15
	VLD1 (R15), [V16.S4, V17.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
	CMP $1, R25
	BLE nores
	ADD R12, R15, R15
	VLD1 (R15), [V18.S4, V19.S4]
	FADD4(2, 2, 18)
	FADD4(3, 3, 19)
	CMP $2, R25
	BLE nores
	ADD R12, R15, R15
	VLD1 (R15), [V20.S4, V21.S4]
	FADD4(4, 4, 20)
	FADD4(5, 5, 21)
	CMP $3, R25
	BLE nores
	ADD R12, R15, R15
	VLD1 (R15), [V22.S4, V23.S4]
	FADD4(6, 6, 22)
	FADD4(7, 7, 23)
	CMP $4, R25
	BLE nores
	ADD R12, R15, R15
	VLD1 (R15), [V24.S4, V25.S4]
	FADD4(8, 8, 24)
	FADD4(9, 9, 25)
	CMP $5, R25
	BLE nores
	ADD R12, R15, R15
	VLD1 (R15), [V26.S4, V27.S4]
	FADD4(10, 10, 26)
	FADD4(11, 11, 27)
	CMP $6, R25
	BLE nores
	ADD R12, R15, R15
	VLD1 (R15), [V28.S4, V29.S4]
	FADD4(12, 12, 28)
	FADD4(13, 13, 29)
	CMP $7, R25
	BLE nores
	ADD R12, R15, R15
	VLD1 (R15), [V30.S4, V31.S4]
	FADD4(14, 14, 30)
	FADD4(15, 15, 31)

nores:
	LSR $2, R14, R14
	VEOR V31.B16, V31.B16, V31.B16
	CMP $1, R14
	BEQ relu
	CMP $2, R14
	BEQ relu6
	CMP $3, R14
	BEQ prelu
	B store

relu6:
	MOVW $0x40c00000, R15        // 6.0
	VMOV R15, V30.S4
	FMIN4(0, 0, 30)
	FMIN4(1, 1, 30)
	FMIN4(2, 2, 30)
	FMIN4(3, 3, 30)
	FMIN4(4, 4, 30)
	FMIN4(5, 5, 30)
	FMIN4(6, 6, 30)
	FMIN4(7, 7, 30)
	FMIN4(8, 8, 30)
	FMIN4(9, 9, 30)
	FMIN4(10, 10, 30)
	FMIN4(11, 11, 30)
	FMIN4(12, 12, 30)
	FMIN4(13, 13, 30)
	FMIN4(14, 14, 30)
	FMIN4(15, 15, 30)

relu:
	FMAX4(0, 0, 31)
	FMAX4(1, 1, 31)
	FMAX4(2, 2, 31)
	FMAX4(3, 3, 31)
	FMAX4(4, 4, 31)
	FMAX4(5, 5, 31)
	FMAX4(6, 6, 31)
	FMAX4(7, 7, 31)
	FMAX4(8, 8, 31)
	FMAX4(9, 9, 31)
	FMAX4(10, 10, 31)
	FMAX4(11, 11, 31)
	FMAX4(12, 12, 31)
	FMAX4(13, 13, 31)
	FMAX4(14, 14, 31)
	FMAX4(15, 15, 31)
	B store

prelu:
	// x = max(x,0) + slope·min(x,0): exactly x·slope for x < 0.
	MOVD 8(R13), R15
	VLD1 (R15), [V16.S4, V17.S4]
	FMIN4(20, 0, 31)
	FMAX4(0, 0, 31)
	VFMLA V16.S4, V20.S4, V0.S4
	FMIN4(21, 1, 31)
	FMAX4(1, 1, 31)
	VFMLA V17.S4, V21.S4, V1.S4
	FMIN4(22, 2, 31)
	FMAX4(2, 2, 31)
	VFMLA V16.S4, V22.S4, V2.S4
	FMIN4(23, 3, 31)
	FMAX4(3, 3, 31)
	VFMLA V17.S4, V23.S4, V3.S4
	FMIN4(24, 4, 31)
	FMAX4(4, 4, 31)
	VFMLA V16.S4, V24.S4, V4.S4
	FMIN4(25, 5, 31)
	FMAX4(5, 5, 31)
	VFMLA V17.S4, V25.S4, V5.S4
	FMIN4(26, 6, 31)
	FMAX4(6, 6, 31)
	VFMLA V16.S4, V26.S4, V6.S4
	FMIN4(27, 7, 31)
	FMAX4(7, 7, 31)
	VFMLA V17.S4, V27.S4, V7.S4
	FMIN4(20, 8, 31)
	FMAX4(8, 8, 31)
	VFMLA V16.S4, V20.S4, V8.S4
	FMIN4(21, 9, 31)
	FMAX4(9, 9, 31)
	VFMLA V17.S4, V21.S4, V9.S4
	FMIN4(22, 10, 31)
	FMAX4(10, 10, 31)
	VFMLA V16.S4, V22.S4, V10.S4
	FMIN4(23, 11, 31)
	FMAX4(11, 11, 31)
	VFMLA V17.S4, V23.S4, V11.S4
	FMIN4(24, 12, 31)
	FMAX4(12, 12, 31)
	VFMLA V16.S4, V24.S4, V12.S4
	FMIN4(25, 13, 31)
	FMAX4(13, 13, 31)
	VFMLA V17.S4, V25.S4, V13.S4
	FMIN4(26, 14, 31)
	FMAX4(14, 14, 31)
	VFMLA V16.S4, V26.S4, V14.S4
	FMIN4(27, 15, 31)
	FMAX4(15, 15, 31)
	VFMLA V17.S4, V27.S4, V15.S4

store:
	MOVD R20, R11
	VST1 [V0.S4, V1.S4], (R11)
	CMP $1, R25
	BLE done
	ADD R12, R11, R11
	VST1 [V2.S4, V3.S4], (R11)
	CMP $2, R25
	BLE done
	ADD R12, R11, R11
	VST1 [V4.S4, V5.S4], (R11)
	CMP $3, R25
	BLE done
	ADD R12, R11, R11
	VST1 [V6.S4, V7.S4], (R11)
	CMP $4, R25
	BLE done
	ADD R12, R11, R11
	VST1 [V8.S4, V9.S4], (R11)
	CMP $5, R25
	BLE done
	ADD R12, R11, R11
	VST1 [V10.S4, V11.S4], (R11)
	CMP $6, R25
	BLE done
	ADD R12, R11, R11
	VST1 [V12.S4, V13.S4], (R11)
	CMP $7, R25
	BLE done
	ADD R12, R11, R11
	VST1 [V14.S4, V15.S4], (R11)

done:
	SUBS $1, R19, R19
	BEQ finish
	ADD R22, R3, R3
	ADD R22, R4, R4
	ADD R22, R5, R5
	ADD R22, R6, R6
	ADD R22, R7, R7
	ADD R22, R8, R8
	ADD R22, R9, R9
	ADD R22, R10, R10
	ADD R23, R20, R20
	ADD R23, R21, R21            // harmless without a residual: it is not read
	B tile

finish:
	RET

// Row kernels: one row of A against np = 4, 2 or 1 consecutive full panels
// (gemmRow4Asm, gemmRow2Asm, gemmRow1Asm), for M remainders and M = 1
// (fully connected layers), where an 8-row tile would compute mostly
// duplicate rows. Each output accumulates in one register over k in order
// from zero with the same FMLA (by element) as the tile kernel, so a row
// gives the same bits whichever kernel computed it. Accumulators V0–V7
// (panel p in V2p, V2p+1), weights V16–V23, 4 A values in V31.
//
// func gemmRowNAsm(k int, a *float32, b *float32, pstride int, c *float32, ep *tileEp)

TEXT ·gemmRow4Asm(SB), NOSPLIT, $0-48
	MOVD k+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD pstride+24(FP), R3
	ADD R3, R2, R4
	ADD R3, R4, R5
	ADD R3, R5, R6
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	VEOR V4.B16, V4.B16, V4.B16
	VEOR V5.B16, V5.B16, V5.B16
	VEOR V6.B16, V6.B16, V6.B16
	VEOR V7.B16, V7.B16, V7.B16
	LSR $2, R0, R17
	AND $3, R0, R0
	CBZ R17, r4_tail
r4_loop4:
	VLD1.P 16(R1), [V31.S4]
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	VLD1.P 32(R5), [V20.S4, V21.S4]
	VLD1.P 32(R6), [V22.S4, V23.S4]
	FMLAE(0, 16, 31, 0)
	FMLAE(1, 17, 31, 0)
	FMLAE(2, 18, 31, 0)
	FMLAE(3, 19, 31, 0)
	FMLAE(4, 20, 31, 0)
	FMLAE(5, 21, 31, 0)
	FMLAE(6, 22, 31, 0)
	FMLAE(7, 23, 31, 0)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	VLD1.P 32(R5), [V20.S4, V21.S4]
	VLD1.P 32(R6), [V22.S4, V23.S4]
	FMLAE(0, 16, 31, 1)
	FMLAE(1, 17, 31, 1)
	FMLAE(2, 18, 31, 1)
	FMLAE(3, 19, 31, 1)
	FMLAE(4, 20, 31, 1)
	FMLAE(5, 21, 31, 1)
	FMLAE(6, 22, 31, 1)
	FMLAE(7, 23, 31, 1)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	VLD1.P 32(R5), [V20.S4, V21.S4]
	VLD1.P 32(R6), [V22.S4, V23.S4]
	FMLAE(0, 16, 31, 2)
	FMLAE(1, 17, 31, 2)
	FMLAE(2, 18, 31, 2)
	FMLAE(3, 19, 31, 2)
	FMLAE(4, 20, 31, 2)
	FMLAE(5, 21, 31, 2)
	FMLAE(6, 22, 31, 2)
	FMLAE(7, 23, 31, 2)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	VLD1.P 32(R5), [V20.S4, V21.S4]
	VLD1.P 32(R6), [V22.S4, V23.S4]
	FMLAE(0, 16, 31, 3)
	FMLAE(1, 17, 31, 3)
	FMLAE(2, 18, 31, 3)
	FMLAE(3, 19, 31, 3)
	FMLAE(4, 20, 31, 3)
	FMLAE(5, 21, 31, 3)
	FMLAE(6, 22, 31, 3)
	FMLAE(7, 23, 31, 3)
	SUBS $1, R17, R17
	BNE r4_loop4
r4_tail:
	CBZ R0, r4_epi
r4_loop1:
	FMOVS.P 4(R1), F31
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	VLD1.P 32(R5), [V20.S4, V21.S4]
	VLD1.P 32(R6), [V22.S4, V23.S4]
	FMLAE(0, 16, 31, 0)
	FMLAE(1, 17, 31, 0)
	FMLAE(2, 18, 31, 0)
	FMLAE(3, 19, 31, 0)
	FMLAE(4, 20, 31, 0)
	FMLAE(5, 21, 31, 0)
	FMLAE(6, 22, 31, 0)
	FMLAE(7, 23, 31, 0)
	SUBS $1, R0, R0
	BNE r4_loop1
r4_epi:
	MOVD ep+40(FP), R13
	MOVD 24(R13), R14
	TBZ $0, R14, r4_nobias
	MOVD 0(R13), R15
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
r4_nobias:
	TBZ $1, R14, r4_nores
	MOVD 16(R13), R15
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
r4_nores:
	LSR $2, R14, R14
	VEOR V29.B16, V29.B16, V29.B16
	CMP $1, R14
	BEQ r4_relu
	CMP $2, R14
	BEQ r4_relu6
	CMP $3, R14
	BEQ r4_prelu
	B r4_store
r4_relu6:
	MOVW $0x40c00000, R15
	VMOV R15, V30.S4
	FMIN4(0, 0, 30)
	FMIN4(1, 1, 30)
	FMIN4(2, 2, 30)
	FMIN4(3, 3, 30)
	FMIN4(4, 4, 30)
	FMIN4(5, 5, 30)
	FMIN4(6, 6, 30)
	FMIN4(7, 7, 30)
r4_relu:
	FMAX4(0, 0, 29)
	FMAX4(1, 1, 29)
	FMAX4(2, 2, 29)
	FMAX4(3, 3, 29)
	FMAX4(4, 4, 29)
	FMAX4(5, 5, 29)
	FMAX4(6, 6, 29)
	FMAX4(7, 7, 29)
	B r4_store
r4_prelu:
	MOVD 8(R13), R15
	VLD1.P 64(R15), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1 (R15), [V20.S4, V21.S4, V22.S4, V23.S4]
	FMIN4(24, 0, 29)
	FMAX4(0, 0, 29)
	VFMLA V16.S4, V24.S4, V0.S4
	FMIN4(24, 1, 29)
	FMAX4(1, 1, 29)
	VFMLA V17.S4, V24.S4, V1.S4
	FMIN4(24, 2, 29)
	FMAX4(2, 2, 29)
	VFMLA V18.S4, V24.S4, V2.S4
	FMIN4(24, 3, 29)
	FMAX4(3, 3, 29)
	VFMLA V19.S4, V24.S4, V3.S4
	FMIN4(24, 4, 29)
	FMAX4(4, 4, 29)
	VFMLA V20.S4, V24.S4, V4.S4
	FMIN4(24, 5, 29)
	FMAX4(5, 5, 29)
	VFMLA V21.S4, V24.S4, V5.S4
	FMIN4(24, 6, 29)
	FMAX4(6, 6, 29)
	VFMLA V22.S4, V24.S4, V6.S4
	FMIN4(24, 7, 29)
	FMAX4(7, 7, 29)
	VFMLA V23.S4, V24.S4, V7.S4
r4_store:
	MOVD c+32(FP), R15
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R15)
	VST1 [V4.S4, V5.S4, V6.S4, V7.S4], (R15)
	RET

TEXT ·gemmRow2Asm(SB), NOSPLIT, $0-48
	MOVD k+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD pstride+24(FP), R3
	ADD R3, R2, R4
	ADD R3, R4, R5
	ADD R3, R5, R6
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16
	LSR $2, R0, R17
	AND $3, R0, R0
	CBZ R17, r2_tail
r2_loop4:
	VLD1.P 16(R1), [V31.S4]
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	FMLAE(0, 16, 31, 0)
	FMLAE(1, 17, 31, 0)
	FMLAE(2, 18, 31, 0)
	FMLAE(3, 19, 31, 0)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	FMLAE(0, 16, 31, 1)
	FMLAE(1, 17, 31, 1)
	FMLAE(2, 18, 31, 1)
	FMLAE(3, 19, 31, 1)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	FMLAE(0, 16, 31, 2)
	FMLAE(1, 17, 31, 2)
	FMLAE(2, 18, 31, 2)
	FMLAE(3, 19, 31, 2)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	FMLAE(0, 16, 31, 3)
	FMLAE(1, 17, 31, 3)
	FMLAE(2, 18, 31, 3)
	FMLAE(3, 19, 31, 3)
	SUBS $1, R17, R17
	BNE r2_loop4
r2_tail:
	CBZ R0, r2_epi
r2_loop1:
	FMOVS.P 4(R1), F31
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VLD1.P 32(R4), [V18.S4, V19.S4]
	FMLAE(0, 16, 31, 0)
	FMLAE(1, 17, 31, 0)
	FMLAE(2, 18, 31, 0)
	FMLAE(3, 19, 31, 0)
	SUBS $1, R0, R0
	BNE r2_loop1
r2_epi:
	MOVD ep+40(FP), R13
	MOVD 24(R13), R14
	TBZ $0, R14, r2_nobias
	MOVD 0(R13), R15
	VLD1 (R15), [V16.S4, V17.S4, V18.S4, V19.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
	FADD4(2, 2, 18)
	FADD4(3, 3, 19)
r2_nobias:
	TBZ $1, R14, r2_nores
	MOVD 16(R13), R15
	VLD1 (R15), [V16.S4, V17.S4, V18.S4, V19.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
	FADD4(2, 2, 18)
	FADD4(3, 3, 19)
r2_nores:
	LSR $2, R14, R14
	VEOR V29.B16, V29.B16, V29.B16
	CMP $1, R14
	BEQ r2_relu
	CMP $2, R14
	BEQ r2_relu6
	CMP $3, R14
	BEQ r2_prelu
	B r2_store
r2_relu6:
	MOVW $0x40c00000, R15
	VMOV R15, V30.S4
	FMIN4(0, 0, 30)
	FMIN4(1, 1, 30)
	FMIN4(2, 2, 30)
	FMIN4(3, 3, 30)
r2_relu:
	FMAX4(0, 0, 29)
	FMAX4(1, 1, 29)
	FMAX4(2, 2, 29)
	FMAX4(3, 3, 29)
	B r2_store
r2_prelu:
	MOVD 8(R13), R15
	VLD1 (R15), [V16.S4, V17.S4, V18.S4, V19.S4]
	FMIN4(24, 0, 29)
	FMAX4(0, 0, 29)
	VFMLA V16.S4, V24.S4, V0.S4
	FMIN4(24, 1, 29)
	FMAX4(1, 1, 29)
	VFMLA V17.S4, V24.S4, V1.S4
	FMIN4(24, 2, 29)
	FMAX4(2, 2, 29)
	VFMLA V18.S4, V24.S4, V2.S4
	FMIN4(24, 3, 29)
	FMAX4(3, 3, 29)
	VFMLA V19.S4, V24.S4, V3.S4
r2_store:
	MOVD c+32(FP), R15
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R15)
	RET

TEXT ·gemmRow1Asm(SB), NOSPLIT, $0-48
	MOVD k+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD pstride+24(FP), R3
	ADD R3, R2, R4
	ADD R3, R4, R5
	ADD R3, R5, R6
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	LSR $2, R0, R17
	AND $3, R0, R0
	CBZ R17, r1_tail
r1_loop4:
	VLD1.P 16(R1), [V31.S4]
	VLD1.P 32(R2), [V16.S4, V17.S4]
	FMLAE(0, 16, 31, 0)
	FMLAE(1, 17, 31, 0)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	FMLAE(0, 16, 31, 1)
	FMLAE(1, 17, 31, 1)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	FMLAE(0, 16, 31, 2)
	FMLAE(1, 17, 31, 2)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	FMLAE(0, 16, 31, 3)
	FMLAE(1, 17, 31, 3)
	SUBS $1, R17, R17
	BNE r1_loop4
r1_tail:
	CBZ R0, r1_epi
r1_loop1:
	FMOVS.P 4(R1), F31
	VLD1.P 32(R2), [V16.S4, V17.S4]
	FMLAE(0, 16, 31, 0)
	FMLAE(1, 17, 31, 0)
	SUBS $1, R0, R0
	BNE r1_loop1
r1_epi:
	MOVD ep+40(FP), R13
	MOVD 24(R13), R14
	TBZ $0, R14, r1_nobias
	MOVD 0(R13), R15
	VLD1 (R15), [V16.S4, V17.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
r1_nobias:
	TBZ $1, R14, r1_nores
	MOVD 16(R13), R15
	VLD1 (R15), [V16.S4, V17.S4]
	FADD4(0, 0, 16)
	FADD4(1, 1, 17)
r1_nores:
	LSR $2, R14, R14
	VEOR V29.B16, V29.B16, V29.B16
	CMP $1, R14
	BEQ r1_relu
	CMP $2, R14
	BEQ r1_relu6
	CMP $3, R14
	BEQ r1_prelu
	B r1_store
r1_relu6:
	MOVW $0x40c00000, R15
	VMOV R15, V30.S4
	FMIN4(0, 0, 30)
	FMIN4(1, 1, 30)
r1_relu:
	FMAX4(0, 0, 29)
	FMAX4(1, 1, 29)
	B r1_store
r1_prelu:
	MOVD 8(R13), R15
	VLD1 (R15), [V16.S4, V17.S4]
	FMIN4(24, 0, 29)
	FMAX4(0, 0, 29)
	VFMLA V16.S4, V24.S4, V0.S4
	FMIN4(24, 1, 29)
	FMAX4(1, 1, 29)
	VFMLA V17.S4, V24.S4, V1.S4
r1_store:
	MOVD c+32(FP), R15
	VST1 [V0.S4, V1.S4], (R15)
	RET
