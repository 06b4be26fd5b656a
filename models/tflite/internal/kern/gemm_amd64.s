#include "textflag.h"

// AVX2+FMA micro-kernel: a 6×16 tile of C = A·Wᵀ.
//
// Register allocation: the 6 rows × 2 ymm (16 floats) accumulators take
// Y0–Y11, the two halves of the packed weight row for step k take Y12/Y13,
// and Y14 holds the broadcast A value. That is all 16 ymm registers with no
// accumulator ever spilled; each k step issues 12 FMAs for 2 vector loads and
// 6 broadcasts, enough to keep both FMA pipes busy. A rows are read through
// six row pointers (R8–R13) with a shared index DX, so the rows of an M
// remainder can repeat a valid row; the epilogue neither reads nor stores
// past the valid rows, and a column mask limits an N remainder, so every
// tile, edge or not, finishes here.

// STEP does one k step. bo0/bo1 are the byte offsets of the two weight
// halves in the panel, ao the byte offset of the A element.
#define STEP(bo0, bo1, ao) \
	VMOVUPS bo0(SI), Y12 \
	VMOVUPS bo1(SI), Y13 \
	VBROADCASTSS ao(R8)(DX*4), Y14 \
	VFMADD231PS Y12, Y14, Y0 \
	VFMADD231PS Y13, Y14, Y1 \
	VBROADCASTSS ao(R9)(DX*4), Y14 \
	VFMADD231PS Y12, Y14, Y2 \
	VFMADD231PS Y13, Y14, Y3 \
	VBROADCASTSS ao(R10)(DX*4), Y14 \
	VFMADD231PS Y12, Y14, Y4 \
	VFMADD231PS Y13, Y14, Y5 \
	VBROADCASTSS ao(R11)(DX*4), Y14 \
	VFMADD231PS Y12, Y14, Y6 \
	VFMADD231PS Y13, Y14, Y7 \
	VBROADCASTSS ao(R12)(DX*4), Y14 \
	VFMADD231PS Y12, Y14, Y8 \
	VFMADD231PS Y13, Y14, Y9 \
	VBROADCASTSS ao(R13)(DX*4), Y14 \
	VFMADD231PS Y12, Y14, Y10 \
	VFMADD231PS Y13, Y14, Y11

// ROWS applies OP (a two-operand-plus-dest AVX op with a register source)
// to all 12 accumulators: even ones with src0, odd ones with src1.
#define ROWS(OP, src0, src1) \
	OP src0, Y0, Y0 \
	OP src1, Y1, Y1 \
	OP src0, Y2, Y2 \
	OP src1, Y3, Y3 \
	OP src0, Y4, Y4 \
	OP src1, Y5, Y5 \
	OP src0, Y6, Y6 \
	OP src1, Y7, Y7 \
	OP src0, Y8, Y8 \
	OP src1, Y9, Y9 \
	OP src0, Y10, Y10 \
	OP src1, Y11, Y11

// PRELU1 turns accumulator acc into max(acc,0) + alpha·min(acc,0), with Y15
// holding zeros and Y14 as scratch. For acc < 0 that is exactly acc·alpha
// (an FMA with a zero addend rounds once), for acc ≥ 0 it is acc.
#define PRELU1(alpha, acc) \
	VMINPS Y15, acc, Y14 \
	VMAXPS Y15, acc, acc \
	VFMADD231PS alpha, Y14, acc

// func gemmTileAsm(k int, rows *[6]*float32, b *float32, c *float32, ldc int, ep *tileEp, lda int, ntiles int)
//
// Computes ntiles tiles down the rows: after each tile the row pointers move
// 6·lda floats and C (and the residual) 6·ldc, so one call covers a whole
// row block of a panel and the call overhead does not weigh on small K.
// Locals: 0(SP) tiles left, 8(SP) C of the tile, 16(SP) its residual.
TEXT ·gemmTileAsm(SB), NOSPLIT, $24-64
	MOVQ rows+8(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ ntiles+56(FP), AX
	MOVQ AX, 0(SP)
	MOVQ c+24(FP), AX
	MOVQ AX, 8(SP)
	MOVQ ep+40(FP), DI
	MOVQ 16(DI), AX
	MOVQ AX, 16(SP)

tile:
	MOVQ k+0(FP), CX
	MOVQ b+16(FP), SI
	XORQ DX, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ CX, BX
	SUBQ $4, BX      // BX = k-4: the 4-step loop runs while DX <= k-4
	JL   tail

loop4:
	STEP(0, 32, 0)
	STEP(64, 96, 4)
	STEP(128, 160, 8)
	STEP(192, 224, 12)
	ADDQ $256, SI
	ADDQ $4, DX
	CMPQ DX, BX
	JLE  loop4

tail:
	CMPQ DX, CX
	JGE  epilogue

loop1:
	STEP(0, 32, 0)
	ADDQ $64, SI
	INCQ DX
	CMPQ DX, CX
	JL   loop1

epilogue:
	// The tile's epilogue (tileEp): 0 bias, 8 alpha, 16 res, 24 flags,
	// 32 mask, 40 rows. Rows past `rows` are neither read from the residual
	// nor stored; with a mask (16 int32 lanes, −1 = column inside N) the
	// residual is read and C written with VMASKMOVPS, which neither faults
	// nor writes on masked-off lanes. Bias and slope always hold 16 values
	// (the Go side pads a partial panel's), so they load unmasked.
	MOVQ ep+40(FP), DI
	MOVQ ldc+32(FP), R14
	MOVQ 24(DI), BX  // flags: bit 0 bias, bit 1 residual, bits 2-3 activation
	MOVQ 32(DI), SI  // column mask or nil (SI is free once the K loop is done)
	MOVQ 40(DI), CX  // valid rows, 1..6
	TESTQ $1, BX
	JZ   nobias
	MOVQ 0(DI), AX
	VMOVUPS (AX), Y12
	VMOVUPS 32(AX), Y13
	ROWS(VADDPS, Y12, Y13)

nobias:
	TESTQ $2, BX
	JZ   nores
	MOVQ 16(SP), AX
	TESTQ SI, SI
	JNZ  resmasked
	VADDPS (AX), Y0, Y0
	VADDPS 32(AX), Y1, Y1
	CMPQ CX, $1
	JLE  nores
	ADDQ R14, AX
	VADDPS (AX), Y2, Y2
	VADDPS 32(AX), Y3, Y3
	CMPQ CX, $2
	JLE  nores
	ADDQ R14, AX
	VADDPS (AX), Y4, Y4
	VADDPS 32(AX), Y5, Y5
	CMPQ CX, $3
	JLE  nores
	ADDQ R14, AX
	VADDPS (AX), Y6, Y6
	VADDPS 32(AX), Y7, Y7
	CMPQ CX, $4
	JLE  nores
	ADDQ R14, AX
	VADDPS (AX), Y8, Y8
	VADDPS 32(AX), Y9, Y9
	CMPQ CX, $5
	JLE  nores
	ADDQ R14, AX
	VADDPS (AX), Y10, Y10
	VADDPS 32(AX), Y11, Y11
	JMP  nores

resmasked:
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y0, Y0
	VMASKMOVPS 32(AX), Y13, Y14
	VADDPS Y14, Y1, Y1
	CMPQ CX, $1
	JLE  nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y2, Y2
	VMASKMOVPS 32(AX), Y13, Y14
	VADDPS Y14, Y3, Y3
	CMPQ CX, $2
	JLE  nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y4, Y4
	VMASKMOVPS 32(AX), Y13, Y14
	VADDPS Y14, Y5, Y5
	CMPQ CX, $3
	JLE  nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y6, Y6
	VMASKMOVPS 32(AX), Y13, Y14
	VADDPS Y14, Y7, Y7
	CMPQ CX, $4
	JLE  nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y8, Y8
	VMASKMOVPS 32(AX), Y13, Y14
	VADDPS Y14, Y9, Y9
	CMPQ CX, $5
	JLE  nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y10, Y10
	VMASKMOVPS 32(AX), Y13, Y14
	VADDPS Y14, Y11, Y11

nores:
	SHRQ $2, BX
	CMPQ BX, $1
	JEQ  relu
	CMPQ BX, $2
	JEQ  relu6
	CMPQ BX, $3
	JEQ  prelu
	JMP  store

relu:
	VXORPS Y15, Y15, Y15
	ROWS(VMAXPS, Y15, Y15)
	JMP  store

relu6:
	VXORPS Y15, Y15, Y15
	MOVL $0x40c00000, AX // 6.0
	MOVQ AX, X14
	VBROADCASTSS X14, Y14
	ROWS(VMAXPS, Y15, Y15)
	ROWS(VMINPS, Y14, Y14)
	JMP  store

prelu:
	MOVQ 8(DI), AX
	VMOVUPS (AX), Y12
	VMOVUPS 32(AX), Y13
	VXORPS Y15, Y15, Y15
	PRELU1(Y12, Y0)
	PRELU1(Y13, Y1)
	PRELU1(Y12, Y2)
	PRELU1(Y13, Y3)
	PRELU1(Y12, Y4)
	PRELU1(Y13, Y5)
	PRELU1(Y12, Y6)
	PRELU1(Y13, Y7)
	PRELU1(Y12, Y8)
	PRELU1(Y13, Y9)
	PRELU1(Y12, Y10)
	PRELU1(Y13, Y11)

store:
	MOVQ 8(SP), AX
	TESTQ SI, SI
	JNZ  storemasked
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	CMPQ CX, $1
	JLE  done
	ADDQ R14, AX
	VMOVUPS Y2, (AX)
	VMOVUPS Y3, 32(AX)
	CMPQ CX, $2
	JLE  done
	ADDQ R14, AX
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, 32(AX)
	CMPQ CX, $3
	JLE  done
	ADDQ R14, AX
	VMOVUPS Y6, (AX)
	VMOVUPS Y7, 32(AX)
	CMPQ CX, $4
	JLE  done
	ADDQ R14, AX
	VMOVUPS Y8, (AX)
	VMOVUPS Y9, 32(AX)
	CMPQ CX, $5
	JLE  done
	ADDQ R14, AX
	VMOVUPS Y10, (AX)
	VMOVUPS Y11, 32(AX)
	JMP  done

storemasked:
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VMASKMOVPS Y0, Y12, (AX)
	VMASKMOVPS Y1, Y13, 32(AX)
	CMPQ CX, $1
	JLE  done
	ADDQ R14, AX
	VMASKMOVPS Y2, Y12, (AX)
	VMASKMOVPS Y3, Y13, 32(AX)
	CMPQ CX, $2
	JLE  done
	ADDQ R14, AX
	VMASKMOVPS Y4, Y12, (AX)
	VMASKMOVPS Y5, Y13, 32(AX)
	CMPQ CX, $3
	JLE  done
	ADDQ R14, AX
	VMASKMOVPS Y6, Y12, (AX)
	VMASKMOVPS Y7, Y13, 32(AX)
	CMPQ CX, $4
	JLE  done
	ADDQ R14, AX
	VMASKMOVPS Y8, Y12, (AX)
	VMASKMOVPS Y9, Y13, 32(AX)
	CMPQ CX, $5
	JLE  done
	ADDQ R14, AX
	VMASKMOVPS Y10, Y12, (AX)
	VMASKMOVPS Y11, Y13, 32(AX)

done:
	DECQ 0(SP)
	JZ   finish
	MOVQ lda+48(FP), AX
	LEAQ (AX)(AX*2), AX
	SHLQ $3, AX      // 6 rows of A in bytes
	ADDQ AX, R8
	ADDQ AX, R9
	ADDQ AX, R10
	ADDQ AX, R11
	ADDQ AX, R12
	ADDQ AX, R13
	LEAQ (R14)(R14*2), AX
	SHLQ $1, AX      // 6 rows of C in bytes
	ADDQ AX, 8(SP)
	ADDQ AX, 16(SP)  // harmless without a residual: it is not read
	JMP  tile

finish:
	VZEROUPPER
	RET

// func gemmTile8Asm(k int, rows *[6]*float32, b *float32, c *float32, ldc int, ep *tileEp, lda int, ntiles int)
//
// The 6×8 variant for a half-width last panel (N mod 16 ≤ 8: BlazeFace's
// 8-, 24- and 4-channel outputs), which the 6×16 tile would compute half
// empty. One ymm per row gives only 6 independent FMA chains, too few to
// cover the FMA latency on two pipes, so even and odd k accumulate
// separately (Y0–Y5 and Y6–Y11) and are added before the epilogue. Y12/Y13
// hold the weights of k and k+1, Y14/Y15 the broadcasts. Same arguments,
// epilogue rules and multi-tile walk as gemmTileAsm (mask: 8 lanes).
TEXT ·gemmTile8Asm(SB), NOSPLIT, $24-64
	MOVQ rows+8(FP), AX
	MOVQ 0(AX), R8
	MOVQ 8(AX), R9
	MOVQ 16(AX), R10
	MOVQ 24(AX), R11
	MOVQ 32(AX), R12
	MOVQ 40(AX), R13
	MOVQ ntiles+56(FP), AX
	MOVQ AX, 0(SP)
	MOVQ c+24(FP), AX
	MOVQ AX, 8(SP)
	MOVQ ep+40(FP), DI
	MOVQ 16(DI), AX
	MOVQ AX, 16(SP)

h_tile:
	MOVQ k+0(FP), CX
	MOVQ b+16(FP), SI
	XORQ DX, DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ CX, BX
	SUBQ $2, BX      // the 2-step loop runs while DX <= k-2
	JL   h_tail

h_loop2:
	VMOVUPS (SI), Y12
	VMOVUPS 32(SI), Y13
	VBROADCASTSS (R8)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y0
	VBROADCASTSS 4(R8)(DX*4), Y15
	VFMADD231PS Y13, Y15, Y6
	VBROADCASTSS (R9)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y1
	VBROADCASTSS 4(R9)(DX*4), Y15
	VFMADD231PS Y13, Y15, Y7
	VBROADCASTSS (R10)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y2
	VBROADCASTSS 4(R10)(DX*4), Y15
	VFMADD231PS Y13, Y15, Y8
	VBROADCASTSS (R11)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y3
	VBROADCASTSS 4(R11)(DX*4), Y15
	VFMADD231PS Y13, Y15, Y9
	VBROADCASTSS (R12)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y4
	VBROADCASTSS 4(R12)(DX*4), Y15
	VFMADD231PS Y13, Y15, Y10
	VBROADCASTSS (R13)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y5
	VBROADCASTSS 4(R13)(DX*4), Y15
	VFMADD231PS Y13, Y15, Y11
	ADDQ $64, SI
	ADDQ $2, DX
	CMPQ DX, BX
	JLE  h_loop2

h_tail:
	CMPQ DX, CX
	JGE  h_sum
	VMOVUPS (SI), Y12
	VBROADCASTSS (R8)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y0
	VBROADCASTSS (R9)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y1
	VBROADCASTSS (R10)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y2
	VBROADCASTSS (R11)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y3
	VBROADCASTSS (R12)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y4
	VBROADCASTSS (R13)(DX*4), Y14
	VFMADD231PS Y12, Y14, Y5

h_sum:
	VADDPS Y6, Y0, Y0
	VADDPS Y7, Y1, Y1
	VADDPS Y8, Y2, Y2
	VADDPS Y9, Y3, Y3
	VADDPS Y10, Y4, Y4
	VADDPS Y11, Y5, Y5

	MOVQ ep+40(FP), DI
	MOVQ ldc+32(FP), R14
	MOVQ 24(DI), BX
	MOVQ 32(DI), SI  // lane mask or nil
	MOVQ 40(DI), CX  // valid rows
	TESTQ $1, BX
	JZ   h_nobias
	MOVQ 0(DI), AX
	VMOVUPS (AX), Y12
	VADDPS Y12, Y0, Y0
	VADDPS Y12, Y1, Y1
	VADDPS Y12, Y2, Y2
	VADDPS Y12, Y3, Y3
	VADDPS Y12, Y4, Y4
	VADDPS Y12, Y5, Y5

h_nobias:
	TESTQ $2, BX
	JZ   h_nores
	MOVQ 16(SP), AX
	TESTQ SI, SI
	JNZ  h_resmasked
	VADDPS (AX), Y0, Y0
	CMPQ CX, $1
	JLE  h_nores
	ADDQ R14, AX
	VADDPS (AX), Y1, Y1
	CMPQ CX, $2
	JLE  h_nores
	ADDQ R14, AX
	VADDPS (AX), Y2, Y2
	CMPQ CX, $3
	JLE  h_nores
	ADDQ R14, AX
	VADDPS (AX), Y3, Y3
	CMPQ CX, $4
	JLE  h_nores
	ADDQ R14, AX
	VADDPS (AX), Y4, Y4
	CMPQ CX, $5
	JLE  h_nores
	ADDQ R14, AX
	VADDPS (AX), Y5, Y5
	JMP  h_nores

h_resmasked:
	VMOVUPS (SI), Y12
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y0, Y0
	CMPQ CX, $1
	JLE  h_nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y1, Y1
	CMPQ CX, $2
	JLE  h_nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y2, Y2
	CMPQ CX, $3
	JLE  h_nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y3, Y3
	CMPQ CX, $4
	JLE  h_nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y4, Y4
	CMPQ CX, $5
	JLE  h_nores
	ADDQ R14, AX
	VMASKMOVPS (AX), Y12, Y14
	VADDPS Y14, Y5, Y5

h_nores:
	SHRQ $2, BX
	VXORPS Y15, Y15, Y15
	CMPQ BX, $1
	JEQ  h_relu
	CMPQ BX, $2
	JEQ  h_relu6
	CMPQ BX, $3
	JEQ  h_prelu
	JMP  h_store

h_relu6:
	MOVL $0x40c00000, AX // 6.0
	MOVQ AX, X14
	VBROADCASTSS X14, Y14
	VMINPS Y14, Y0, Y0
	VMINPS Y14, Y1, Y1
	VMINPS Y14, Y2, Y2
	VMINPS Y14, Y3, Y3
	VMINPS Y14, Y4, Y4
	VMINPS Y14, Y5, Y5
h_relu:
	VMAXPS Y15, Y0, Y0
	VMAXPS Y15, Y1, Y1
	VMAXPS Y15, Y2, Y2
	VMAXPS Y15, Y3, Y3
	VMAXPS Y15, Y4, Y4
	VMAXPS Y15, Y5, Y5
	JMP  h_store

h_prelu:
	MOVQ 8(DI), AX
	VMOVUPS (AX), Y12
	VMINPS Y15, Y0, Y6
	VMAXPS Y15, Y0, Y0
	VFMADD231PS Y12, Y6, Y0
	VMINPS Y15, Y1, Y7
	VMAXPS Y15, Y1, Y1
	VFMADD231PS Y12, Y7, Y1
	VMINPS Y15, Y2, Y8
	VMAXPS Y15, Y2, Y2
	VFMADD231PS Y12, Y8, Y2
	VMINPS Y15, Y3, Y9
	VMAXPS Y15, Y3, Y3
	VFMADD231PS Y12, Y9, Y3
	VMINPS Y15, Y4, Y10
	VMAXPS Y15, Y4, Y4
	VFMADD231PS Y12, Y10, Y4
	VMINPS Y15, Y5, Y11
	VMAXPS Y15, Y5, Y5
	VFMADD231PS Y12, Y11, Y5

h_store:
	MOVQ 8(SP), AX
	TESTQ SI, SI
	JNZ  h_storemasked
	VMOVUPS Y0, (AX)
	CMPQ CX, $1
	JLE  h_done
	ADDQ R14, AX
	VMOVUPS Y1, (AX)
	CMPQ CX, $2
	JLE  h_done
	ADDQ R14, AX
	VMOVUPS Y2, (AX)
	CMPQ CX, $3
	JLE  h_done
	ADDQ R14, AX
	VMOVUPS Y3, (AX)
	CMPQ CX, $4
	JLE  h_done
	ADDQ R14, AX
	VMOVUPS Y4, (AX)
	CMPQ CX, $5
	JLE  h_done
	ADDQ R14, AX
	VMOVUPS Y5, (AX)
	JMP  h_done

h_storemasked:
	VMOVUPS (SI), Y12
	VMASKMOVPS Y0, Y12, (AX)
	CMPQ CX, $1
	JLE  h_done
	ADDQ R14, AX
	VMASKMOVPS Y1, Y12, (AX)
	CMPQ CX, $2
	JLE  h_done
	ADDQ R14, AX
	VMASKMOVPS Y2, Y12, (AX)
	CMPQ CX, $3
	JLE  h_done
	ADDQ R14, AX
	VMASKMOVPS Y3, Y12, (AX)
	CMPQ CX, $4
	JLE  h_done
	ADDQ R14, AX
	VMASKMOVPS Y4, Y12, (AX)
	CMPQ CX, $5
	JLE  h_done
	ADDQ R14, AX
	VMASKMOVPS Y5, Y12, (AX)

h_done:
	DECQ 0(SP)
	JZ   h_finish
	MOVQ lda+48(FP), AX
	LEAQ (AX)(AX*2), AX
	SHLQ $3, AX      // 6 rows of A in bytes
	ADDQ AX, R8
	ADDQ AX, R9
	ADDQ AX, R10
	ADDQ AX, R11
	ADDQ AX, R12
	ADDQ AX, R13
	LEAQ (R14)(R14*2), AX
	SHLQ $1, AX      // 6 rows of C in bytes
	ADDQ AX, 8(SP)
	ADDQ AX, 16(SP)
	JMP  h_tile

h_finish:
	VZEROUPPER
	RET

// Row kernels: one row of A against np = 4, 2 or 1 consecutive full panels
// (gemmRow4Asm, gemmRow2Asm, gemmRow1Asm), for M remainders and M = 1
// (fully connected layers), where a 6-row tile would compute mostly
// duplicate rows. Each output still accumulates in one register over k in
// order from zero, exactly as in the tile kernels, so a row gives the same
// bits whichever kernel computed it. With np = 4 there are 8 independent
// FMA chains for 1 broadcast and 8 weight loads per k.
//
// func gemmRowNAsm(k int, a *float32, b *float32, pstride int, c *float32, ep *tileEp)
// pstride is the byte distance between panels; c, the bias/slope and the
// residual of ep address the first panel's columns.

TEXT ·gemmRow4Asm(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ b+16(FP), SI
	MOVQ pstride+24(FP), R9
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10                 // panel 3
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ DX, DX
	MOVQ CX, BX
	SUBQ $4, BX
	JL   r4_tail
r4_loop4:
	VBROADCASTSS 0(R8)(DX*4), Y15
	VFMADD231PS 0(SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 0(SI)(R9*1), Y15, Y2
	VFMADD231PS 32(SI)(R9*1), Y15, Y3
	VFMADD231PS 0(SI)(R9*2), Y15, Y4
	VFMADD231PS 32(SI)(R9*2), Y15, Y5
	VFMADD231PS 0(R10), Y15, Y6
	VFMADD231PS 32(R10), Y15, Y7
	VBROADCASTSS 4(R8)(DX*4), Y15
	VFMADD231PS 64(SI), Y15, Y0
	VFMADD231PS 96(SI), Y15, Y1
	VFMADD231PS 64(SI)(R9*1), Y15, Y2
	VFMADD231PS 96(SI)(R9*1), Y15, Y3
	VFMADD231PS 64(SI)(R9*2), Y15, Y4
	VFMADD231PS 96(SI)(R9*2), Y15, Y5
	VFMADD231PS 64(R10), Y15, Y6
	VFMADD231PS 96(R10), Y15, Y7
	VBROADCASTSS 8(R8)(DX*4), Y15
	VFMADD231PS 128(SI), Y15, Y0
	VFMADD231PS 160(SI), Y15, Y1
	VFMADD231PS 128(SI)(R9*1), Y15, Y2
	VFMADD231PS 160(SI)(R9*1), Y15, Y3
	VFMADD231PS 128(SI)(R9*2), Y15, Y4
	VFMADD231PS 160(SI)(R9*2), Y15, Y5
	VFMADD231PS 128(R10), Y15, Y6
	VFMADD231PS 160(R10), Y15, Y7
	VBROADCASTSS 12(R8)(DX*4), Y15
	VFMADD231PS 192(SI), Y15, Y0
	VFMADD231PS 224(SI), Y15, Y1
	VFMADD231PS 192(SI)(R9*1), Y15, Y2
	VFMADD231PS 224(SI)(R9*1), Y15, Y3
	VFMADD231PS 192(SI)(R9*2), Y15, Y4
	VFMADD231PS 224(SI)(R9*2), Y15, Y5
	VFMADD231PS 192(R10), Y15, Y6
	VFMADD231PS 224(R10), Y15, Y7
	ADDQ $256, SI
	ADDQ $256, R10
	ADDQ $4, DX
	CMPQ DX, BX
	JLE  r4_loop4
r4_tail:
	CMPQ DX, CX
	JGE  r4_epi
r4_loop1:
	VBROADCASTSS 0(R8)(DX*4), Y15
	VFMADD231PS 0(SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 0(SI)(R9*1), Y15, Y2
	VFMADD231PS 32(SI)(R9*1), Y15, Y3
	VFMADD231PS 0(SI)(R9*2), Y15, Y4
	VFMADD231PS 32(SI)(R9*2), Y15, Y5
	VFMADD231PS 0(R10), Y15, Y6
	VFMADD231PS 32(R10), Y15, Y7
	ADDQ $64, SI
	ADDQ $64, R10
	INCQ DX
	CMPQ DX, CX
	JL   r4_loop1
r4_epi:
	MOVQ ep+40(FP), DI
	MOVQ 24(DI), BX
	TESTQ $1, BX
	JZ   r4_nobias
	MOVQ 0(DI), AX
	VADDPS 0(AX), Y0, Y0
	VADDPS 32(AX), Y1, Y1
	VADDPS 64(AX), Y2, Y2
	VADDPS 96(AX), Y3, Y3
	VADDPS 128(AX), Y4, Y4
	VADDPS 160(AX), Y5, Y5
	VADDPS 192(AX), Y6, Y6
	VADDPS 224(AX), Y7, Y7
r4_nobias:
	TESTQ $2, BX
	JZ   r4_nores
	MOVQ 16(DI), AX
	VADDPS 0(AX), Y0, Y0
	VADDPS 32(AX), Y1, Y1
	VADDPS 64(AX), Y2, Y2
	VADDPS 96(AX), Y3, Y3
	VADDPS 128(AX), Y4, Y4
	VADDPS 160(AX), Y5, Y5
	VADDPS 192(AX), Y6, Y6
	VADDPS 224(AX), Y7, Y7
r4_nores:
	SHRQ $2, BX
	VXORPS Y15, Y15, Y15
	CMPQ BX, $1
	JEQ  r4_relu
	CMPQ BX, $2
	JEQ  r4_relu6
	CMPQ BX, $3
	JEQ  r4_prelu
	JMP  r4_store
r4_relu6:
	MOVL $0x40c00000, AX
	MOVQ AX, X14
	VBROADCASTSS X14, Y14
	VMINPS Y14, Y0, Y0
	VMINPS Y14, Y1, Y1
	VMINPS Y14, Y2, Y2
	VMINPS Y14, Y3, Y3
	VMINPS Y14, Y4, Y4
	VMINPS Y14, Y5, Y5
	VMINPS Y14, Y6, Y6
	VMINPS Y14, Y7, Y7
r4_relu:
	VMAXPS Y15, Y0, Y0
	VMAXPS Y15, Y1, Y1
	VMAXPS Y15, Y2, Y2
	VMAXPS Y15, Y3, Y3
	VMAXPS Y15, Y4, Y4
	VMAXPS Y15, Y5, Y5
	VMAXPS Y15, Y6, Y6
	VMAXPS Y15, Y7, Y7
	JMP  r4_store
r4_prelu:
	MOVQ 8(DI), AX
	VMINPS Y15, Y0, Y14
	VMAXPS Y15, Y0, Y0
	VFMADD231PS 0(AX), Y14, Y0
	VMINPS Y15, Y1, Y14
	VMAXPS Y15, Y1, Y1
	VFMADD231PS 32(AX), Y14, Y1
	VMINPS Y15, Y2, Y14
	VMAXPS Y15, Y2, Y2
	VFMADD231PS 64(AX), Y14, Y2
	VMINPS Y15, Y3, Y14
	VMAXPS Y15, Y3, Y3
	VFMADD231PS 96(AX), Y14, Y3
	VMINPS Y15, Y4, Y14
	VMAXPS Y15, Y4, Y4
	VFMADD231PS 128(AX), Y14, Y4
	VMINPS Y15, Y5, Y14
	VMAXPS Y15, Y5, Y5
	VFMADD231PS 160(AX), Y14, Y5
	VMINPS Y15, Y6, Y14
	VMAXPS Y15, Y6, Y6
	VFMADD231PS 192(AX), Y14, Y6
	VMINPS Y15, Y7, Y14
	VMAXPS Y15, Y7, Y7
	VFMADD231PS 224(AX), Y14, Y7
r4_store:
	MOVQ c+32(FP), AX
	VMOVUPS Y0, 0(AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, 64(AX)
	VMOVUPS Y3, 96(AX)
	VMOVUPS Y4, 128(AX)
	VMOVUPS Y5, 160(AX)
	VMOVUPS Y6, 192(AX)
	VMOVUPS Y7, 224(AX)
	VZEROUPPER
	RET

TEXT ·gemmRow2Asm(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ b+16(FP), SI
	MOVQ pstride+24(FP), R9
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10                 // panel 3
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ DX, DX
	MOVQ CX, BX
	SUBQ $4, BX
	JL   r2_tail
r2_loop4:
	VBROADCASTSS 0(R8)(DX*4), Y15
	VFMADD231PS 0(SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 0(SI)(R9*1), Y15, Y2
	VFMADD231PS 32(SI)(R9*1), Y15, Y3
	VBROADCASTSS 4(R8)(DX*4), Y15
	VFMADD231PS 64(SI), Y15, Y0
	VFMADD231PS 96(SI), Y15, Y1
	VFMADD231PS 64(SI)(R9*1), Y15, Y2
	VFMADD231PS 96(SI)(R9*1), Y15, Y3
	VBROADCASTSS 8(R8)(DX*4), Y15
	VFMADD231PS 128(SI), Y15, Y0
	VFMADD231PS 160(SI), Y15, Y1
	VFMADD231PS 128(SI)(R9*1), Y15, Y2
	VFMADD231PS 160(SI)(R9*1), Y15, Y3
	VBROADCASTSS 12(R8)(DX*4), Y15
	VFMADD231PS 192(SI), Y15, Y0
	VFMADD231PS 224(SI), Y15, Y1
	VFMADD231PS 192(SI)(R9*1), Y15, Y2
	VFMADD231PS 224(SI)(R9*1), Y15, Y3
	ADDQ $256, SI
	ADDQ $256, R10
	ADDQ $4, DX
	CMPQ DX, BX
	JLE  r2_loop4
r2_tail:
	CMPQ DX, CX
	JGE  r2_epi
r2_loop1:
	VBROADCASTSS 0(R8)(DX*4), Y15
	VFMADD231PS 0(SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VFMADD231PS 0(SI)(R9*1), Y15, Y2
	VFMADD231PS 32(SI)(R9*1), Y15, Y3
	ADDQ $64, SI
	ADDQ $64, R10
	INCQ DX
	CMPQ DX, CX
	JL   r2_loop1
r2_epi:
	MOVQ ep+40(FP), DI
	MOVQ 24(DI), BX
	TESTQ $1, BX
	JZ   r2_nobias
	MOVQ 0(DI), AX
	VADDPS 0(AX), Y0, Y0
	VADDPS 32(AX), Y1, Y1
	VADDPS 64(AX), Y2, Y2
	VADDPS 96(AX), Y3, Y3
r2_nobias:
	TESTQ $2, BX
	JZ   r2_nores
	MOVQ 16(DI), AX
	VADDPS 0(AX), Y0, Y0
	VADDPS 32(AX), Y1, Y1
	VADDPS 64(AX), Y2, Y2
	VADDPS 96(AX), Y3, Y3
r2_nores:
	SHRQ $2, BX
	VXORPS Y15, Y15, Y15
	CMPQ BX, $1
	JEQ  r2_relu
	CMPQ BX, $2
	JEQ  r2_relu6
	CMPQ BX, $3
	JEQ  r2_prelu
	JMP  r2_store
r2_relu6:
	MOVL $0x40c00000, AX
	MOVQ AX, X14
	VBROADCASTSS X14, Y14
	VMINPS Y14, Y0, Y0
	VMINPS Y14, Y1, Y1
	VMINPS Y14, Y2, Y2
	VMINPS Y14, Y3, Y3
r2_relu:
	VMAXPS Y15, Y0, Y0
	VMAXPS Y15, Y1, Y1
	VMAXPS Y15, Y2, Y2
	VMAXPS Y15, Y3, Y3
	JMP  r2_store
r2_prelu:
	MOVQ 8(DI), AX
	VMINPS Y15, Y0, Y14
	VMAXPS Y15, Y0, Y0
	VFMADD231PS 0(AX), Y14, Y0
	VMINPS Y15, Y1, Y14
	VMAXPS Y15, Y1, Y1
	VFMADD231PS 32(AX), Y14, Y1
	VMINPS Y15, Y2, Y14
	VMAXPS Y15, Y2, Y2
	VFMADD231PS 64(AX), Y14, Y2
	VMINPS Y15, Y3, Y14
	VMAXPS Y15, Y3, Y3
	VFMADD231PS 96(AX), Y14, Y3
r2_store:
	MOVQ c+32(FP), AX
	VMOVUPS Y0, 0(AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, 64(AX)
	VMOVUPS Y3, 96(AX)
	VZEROUPPER
	RET

TEXT ·gemmRow1Asm(SB), NOSPLIT, $0-48
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), R8
	MOVQ b+16(FP), SI
	MOVQ pstride+24(FP), R9
	LEAQ (SI)(R9*2), R10
	ADDQ R9, R10                 // panel 3
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	XORQ DX, DX
	MOVQ CX, BX
	SUBQ $4, BX
	JL   r1_tail
r1_loop4:
	VBROADCASTSS 0(R8)(DX*4), Y15
	VFMADD231PS 0(SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	VBROADCASTSS 4(R8)(DX*4), Y15
	VFMADD231PS 64(SI), Y15, Y0
	VFMADD231PS 96(SI), Y15, Y1
	VBROADCASTSS 8(R8)(DX*4), Y15
	VFMADD231PS 128(SI), Y15, Y0
	VFMADD231PS 160(SI), Y15, Y1
	VBROADCASTSS 12(R8)(DX*4), Y15
	VFMADD231PS 192(SI), Y15, Y0
	VFMADD231PS 224(SI), Y15, Y1
	ADDQ $256, SI
	ADDQ $256, R10
	ADDQ $4, DX
	CMPQ DX, BX
	JLE  r1_loop4
r1_tail:
	CMPQ DX, CX
	JGE  r1_epi
r1_loop1:
	VBROADCASTSS 0(R8)(DX*4), Y15
	VFMADD231PS 0(SI), Y15, Y0
	VFMADD231PS 32(SI), Y15, Y1
	ADDQ $64, SI
	ADDQ $64, R10
	INCQ DX
	CMPQ DX, CX
	JL   r1_loop1
r1_epi:
	MOVQ ep+40(FP), DI
	MOVQ 24(DI), BX
	TESTQ $1, BX
	JZ   r1_nobias
	MOVQ 0(DI), AX
	VADDPS 0(AX), Y0, Y0
	VADDPS 32(AX), Y1, Y1
r1_nobias:
	TESTQ $2, BX
	JZ   r1_nores
	MOVQ 16(DI), AX
	VADDPS 0(AX), Y0, Y0
	VADDPS 32(AX), Y1, Y1
r1_nores:
	SHRQ $2, BX
	VXORPS Y15, Y15, Y15
	CMPQ BX, $1
	JEQ  r1_relu
	CMPQ BX, $2
	JEQ  r1_relu6
	CMPQ BX, $3
	JEQ  r1_prelu
	JMP  r1_store
r1_relu6:
	MOVL $0x40c00000, AX
	MOVQ AX, X14
	VBROADCASTSS X14, Y14
	VMINPS Y14, Y0, Y0
	VMINPS Y14, Y1, Y1
r1_relu:
	VMAXPS Y15, Y0, Y0
	VMAXPS Y15, Y1, Y1
	JMP  r1_store
r1_prelu:
	MOVQ 8(DI), AX
	VMINPS Y15, Y0, Y14
	VMAXPS Y15, Y0, Y0
	VFMADD231PS 0(AX), Y14, Y0
	VMINPS Y15, Y1, Y14
	VMAXPS Y15, Y1, Y1
	VFMADD231PS 32(AX), Y14, Y1
r1_store:
	MOVQ c+32(FP), AX
	VMOVUPS Y0, 0(AX)
	VMOVUPS Y1, 32(AX)
	VZEROUPPER
	RET
