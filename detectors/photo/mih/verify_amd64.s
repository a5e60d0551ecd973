#include "textflag.h"

// nibble popcounts, replicated into each 128-bit lane by VBROADCASTI32X4
DATA popLUT<>+0(SB)/8, $0x0302020102010100
DATA popLUT<>+8(SB)/8, $0x0403030203020201
GLOBL popLUT<>(SB), RODATA|NOPTR, $16

// mask of the first n lanes, n = 0..8
DATA laneMask<>+0(SB)/8, $0x7f3f1f0f07030100
DATA laneMask<>+8(SB)/8, $0x00000000000000ff
GLOBL laneMask<>(SB), RODATA|NOPTR, $16

#define PFDIST 16
#define PFCODES 128

// func verifyAVX512(codes *uint64, spans []span, q, mask uint64, r int, out []uint32) (done, n int)
TEXT ·verifyAVX512(SB), NOSPLIT, $0-96
	MOVQ codes+0(FP), SI
	MOVQ spans_base+8(FP), DI
	MOVQ spans_len+16(FP), CX
	VPBROADCASTQ q+32(FP), Z1
	VPBROADCASTQ mask+40(FP), Z7
	VPBROADCASTQ r+48(FP), Z2
	MOVQ out_base+56(FP), R8
	MOVQ out_len+64(FP), R9
	VBROADCASTI32X4 popLUT<>(SB), Z3
	MOVQ $0x0f0f0f0f0f0f0f0f, AX
	VPBROADCASTQ AX, Z4
	VPXORQ Z5, Z5, Z5
	LEAQ laneMask<>(SB), R13
	XORQ BX, BX                  // span index
	XORQ R10, R10                // positions written

	// prefetch the first PFDIST spans
	XORQ AX, AX
pro:
	CMPQ AX, CX
	JAE loop
	CMPQ AX, $PFDIST
	JAE loop
	MOVL 0(DI)(AX*8), DX
	MOVL 4(DI)(AX*8), R14
	LEAQ PFCODES(DX), R12
	CMPQ R12, R14
	CMOVQLT R12, R14
pro1:
	PREFETCHT0 (SI)(DX*8)
	ADDQ $8, DX
	CMPQ DX, R14
	JB pro1
	PREFETCHT0 -8(SI)(R14*8)
	INCQ AX
	JMP pro

loop:
	CMPQ BX, CX
	JAE done
	MOVL 0(DI)(BX*8), R11        // lo
	MOVL 4(DI)(BX*8), R12        // hi
	MOVQ R12, AX
	SUBQ R11, AX
	MOVQ R9, DX
	SUBQ R10, DX
	CMPQ AX, DX
	JA done                      // this span's hits might not fit in out

	// prefetch span BX+PFDIST: every line, up to PFCODES codes (the
	// hardware prefetcher follows longer runs)
	LEAQ PFDIST(BX), AX
	CMPQ AX, CX
	JAE inner
	MOVL 0(DI)(AX*8), DX
	MOVL 4(DI)(AX*8), R14
	LEAQ PFCODES(DX), AX
	CMPQ AX, R14
	CMOVQLT AX, R14
pf:
	PREFETCHT0 (SI)(DX*8)
	ADDQ $8, DX
	CMPQ DX, R14
	JB pf
	PREFETCHT0 -8(SI)(R14*8)

inner:
	MOVQ R12, AX
	SUBQ R11, AX                 // codes left in the span
	CMPQ AX, $8
	JB partial
	MOVQ $8, AX
partial:
	MOVBLZX (R13)(AX*1), DX
	KMOVB DX, K1
	VMOVDQU64.Z (SI)(R11*8), K1, Z0
	VPXORQ Z1, Z0, Z0
	VPANDQ Z7, Z0, Z0
	VPSRLQ $4, Z0, Z6
	VPANDQ Z4, Z0, Z0
	VPANDQ Z4, Z6, Z6
	VPSHUFB Z0, Z3, Z0
	VPSHUFB Z6, Z3, Z6
	VPADDB Z6, Z0, Z0
	VPSADBW Z5, Z0, Z0
	VPCMPUQ $2, Z2, Z0, K1, K2   // popcount <= r, live lanes only
	KMOVB K2, DX
	TESTL DX, DX
	JNE hits
next:
	ADDQ $8, R11
	CMPQ R11, R12
	JB inner
	INCQ BX
	JMP loop

hits:
	BSFL DX, AX
	LEAQ (R11)(AX*1), AX
	MOVL AX, (R8)(R10*4)
	INCQ R10
	LEAL -1(DX), AX
	ANDL AX, DX
	JNE hits
	JMP next

done:
	VZEROUPPER
	MOVQ BX, done+80(FP)
	MOVQ R10, n+88(FP)
	RET
