//go:build amd64 && !purego

#include "textflag.h"

// func unpackUYVYSSE2(y, u, v, src []byte)
// len(src) is a multiple of 64; y, u and v hold len(src)/2, /4, /4 octets.
// Each 64-octet block (16 pgroups Cb Y0 Cr Y1) becomes 32 Y, 16 Cb, 16 Cr.
TEXT ·unpackUYVYSSE2(SB), NOSPLIT, $0-96
	MOVQ y_base+0(FP), DI
	MOVQ u_base+24(FP), R8
	MOVQ v_base+48(FP), R9
	MOVQ src_base+72(FP), SI
	MOVQ src_len+80(FP), CX
	SHRQ $6, CX
	JZ   udone
	PCMPEQW X8, X8
	PSRLW   $8, X8 // 0x00ff in every word

uloop:
	MOVOU (SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	MOVOU 48(SI), X3

	// Y: the high octet of every word.
	MOVO     X0, X4
	PSRLW    $8, X4
	MOVO     X1, X5
	PSRLW    $8, X5
	PACKUSWB X5, X4
	MOVO     X2, X6
	PSRLW    $8, X6
	MOVO     X3, X7
	PSRLW    $8, X7
	PACKUSWB X7, X6
	MOVOU    X4, (DI)
	MOVOU    X6, 16(DI)

	// Cb Cr: the low octets, then split again.
	PAND     X8, X0
	PAND     X8, X1
	PACKUSWB X1, X0 // Cb0 Cr0 ... Cb7 Cr7
	PAND     X8, X2
	PAND     X8, X3
	PACKUSWB X3, X2 // Cb8 Cr8 ... Cb15 Cr15
	MOVO     X0, X1
	PAND     X8, X1
	MOVO     X2, X3
	PAND     X8, X3
	PACKUSWB X3, X1 // Cb0..Cb15
	PSRLW    $8, X0
	PSRLW    $8, X2
	PACKUSWB X2, X0 // Cr0..Cr15
	MOVOU    X1, (R8)
	MOVOU    X0, (R9)

	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $16, R8
	ADDQ $16, R9
	DECQ CX
	JNZ  uloop

udone:
	RET

// func packUYVYSSE2(dst, y, u, v []byte)
// len(dst) is a multiple of 64; y, u and v hold len(dst)/2, /4, /4 octets.
TEXT ·packUYVYSSE2(SB), NOSPLIT, $0-96
	MOVQ dst_base+0(FP), SI
	MOVQ dst_len+8(FP), CX
	MOVQ y_base+24(FP), DI
	MOVQ u_base+48(FP), R8
	MOVQ v_base+72(FP), R9
	SHRQ $6, CX
	JZ   pdone

ploop:
	MOVOU (DI), X0   // Y0..Y15
	MOVOU 16(DI), X1 // Y16..Y31
	MOVOU (R8), X2   // Cb0..Cb15
	MOVOU (R9), X3   // Cr0..Cr15

	MOVO      X2, X4
	PUNPCKLBW X3, X4 // Cb0 Cr0 ... Cb7 Cr7
	PUNPCKHBW X3, X2 // Cb8 Cr8 ... Cb15 Cr15
	MOVO      X4, X5
	PUNPCKLBW X0, X5 // Cb0 Y0 Cr0 Y1 ...
	PUNPCKHBW X0, X4
	MOVO      X2, X6
	PUNPCKLBW X1, X6
	PUNPCKHBW X1, X2
	MOVOU     X5, (SI)
	MOVOU     X4, 16(SI)
	MOVOU     X6, 32(SI)
	MOVOU     X2, 48(SI)

	ADDQ $64, SI
	ADDQ $32, DI
	ADDQ $16, R8
	ADDQ $16, R9
	DECQ CX
	JNZ  ploop

pdone:
	RET

// The PSHUFB masks of split3SSSE3: for output plane k (0..2) and input
// vector r (0..2), the octet of vector r that goes to each octet of plane
// k's 16, or 0x80 (zero) where another vector supplies it.
DATA split3<>+0x00(SB)/8, $0x80800f0c09060300
DATA split3<>+0x08(SB)/8, $0x8080808080808080
DATA split3<>+0x10(SB)/8, $0x0502808080808080
DATA split3<>+0x18(SB)/8, $0x80808080800e0b08
DATA split3<>+0x20(SB)/8, $0x8080808080808080
DATA split3<>+0x28(SB)/8, $0x0d0a070401808080
DATA split3<>+0x30(SB)/8, $0x8080800d0a070401
DATA split3<>+0x38(SB)/8, $0x8080808080808080
DATA split3<>+0x40(SB)/8, $0x0603008080808080
DATA split3<>+0x48(SB)/8, $0x80808080800f0c09
DATA split3<>+0x50(SB)/8, $0x8080808080808080
DATA split3<>+0x58(SB)/8, $0x0e0b080502808080
DATA split3<>+0x60(SB)/8, $0x8080800e0b080502
DATA split3<>+0x68(SB)/8, $0x8080808080808080
DATA split3<>+0x70(SB)/8, $0x0704018080808080
DATA split3<>+0x78(SB)/8, $0x8080808080800d0a
DATA split3<>+0x80(SB)/8, $0x8080808080808080
DATA split3<>+0x88(SB)/8, $0x0f0c090603008080
GLOBL split3<>(SB), RODATA|NOPTR, $144

// The masks of merge3SSSE3: for output vector o (0..2) and input plane p
// (0..2), the octet of plane p that goes to each octet of vector o.
DATA merge3<>+0x00(SB)/8, $0x8002808001808000
DATA merge3<>+0x08(SB)/8, $0x0580800480800380
DATA merge3<>+0x10(SB)/8, $0x0280800180800080
DATA merge3<>+0x18(SB)/8, $0x8080048080038080
DATA merge3<>+0x20(SB)/8, $0x8080018080008080
DATA merge3<>+0x28(SB)/8, $0x8004808003808002
DATA merge3<>+0x30(SB)/8, $0x8080078080068080
DATA merge3<>+0x38(SB)/8, $0x800a808009808008
DATA merge3<>+0x40(SB)/8, $0x8007808006808005
DATA merge3<>+0x48(SB)/8, $0x0a80800980800880
DATA merge3<>+0x50(SB)/8, $0x0780800680800580
DATA merge3<>+0x58(SB)/8, $0x8080098080088080
DATA merge3<>+0x60(SB)/8, $0x0d80800c80800b80
DATA merge3<>+0x68(SB)/8, $0x80800f80800e8080
DATA merge3<>+0x70(SB)/8, $0x80800c80800b8080
DATA merge3<>+0x78(SB)/8, $0x800f80800e80800d
DATA merge3<>+0x80(SB)/8, $0x800c80800b80800a
DATA merge3<>+0x88(SB)/8, $0x0f80800e80800d80
GLOBL merge3<>(SB), RODATA|NOPTR, $144

// SHUF3 sets X3 to the OR of X0, X1 and X2 shuffled by masks ma, mb, mc
// (X4 is scratch).
#define SHUF3(ma, mb, mc) \
	MOVO   X0, X3 \
	PSHUFB ma, X3 \
	MOVO   X1, X4 \
	PSHUFB mb, X4 \
	POR    X4, X3 \
	MOVO   X2, X4 \
	PSHUFB mc, X4 \
	POR    X4, X3

// MASKS9 loads the nine masks of a table into X6..X14.
#define MASKS9(tab) \
	MOVOU tab<>+0x00(SB), X6 \
	MOVOU tab<>+0x10(SB), X7 \
	MOVOU tab<>+0x20(SB), X8 \
	MOVOU tab<>+0x30(SB), X9 \
	MOVOU tab<>+0x40(SB), X10 \
	MOVOU tab<>+0x50(SB), X11 \
	MOVOU tab<>+0x60(SB), X12 \
	MOVOU tab<>+0x70(SB), X13 \
	MOVOU tab<>+0x80(SB), X14

// func split3SSSE3(d0, d1, d2, src []byte)
// len(src) is a multiple of 48; d0, d1 and d2 hold len(src)/3 octets each.
// Each 48-octet block (16 runs of three) becomes 16 octets of each plane.
TEXT ·split3SSSE3(SB), NOSPLIT, $0-96
	MOVQ d0_base+0(FP), DI
	MOVQ d1_base+24(FP), R8
	MOVQ d2_base+48(FP), R9
	MOVQ src_base+72(FP), SI
	MOVQ src_len+80(FP), AX
	XORL DX, DX
	MOVQ $48, CX
	DIVQ CX
	MOVQ AX, CX
	TESTQ CX, CX
	JZ    sdone
	MASKS9(split3)

sloop:
	MOVOU (SI), X0
	MOVOU 16(SI), X1
	MOVOU 32(SI), X2
	SHUF3(X6, X7, X8)
	MOVOU X3, (DI)
	SHUF3(X9, X10, X11)
	MOVOU X3, (R8)
	SHUF3(X12, X13, X14)
	MOVOU X3, (R9)
	ADDQ  $48, SI
	ADDQ  $16, DI
	ADDQ  $16, R8
	ADDQ  $16, R9
	DECQ  CX
	JNZ   sloop

sdone:
	RET

// func merge3SSSE3(dst, s0, s1, s2 []byte)
// len(dst) is a multiple of 48; s0, s1 and s2 hold len(dst)/3 octets each.
TEXT ·merge3SSSE3(SB), NOSPLIT, $0-96
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), AX
	MOVQ s0_base+24(FP), SI
	MOVQ s1_base+48(FP), R8
	MOVQ s2_base+72(FP), R9
	XORL DX, DX
	MOVQ $48, CX
	DIVQ CX
	MOVQ AX, CX
	TESTQ CX, CX
	JZ    mdone
	MASKS9(merge3)

mloop:
	MOVOU (SI), X0
	MOVOU (R8), X1
	MOVOU (R9), X2
	SHUF3(X6, X7, X8)
	MOVOU X3, (DI)
	SHUF3(X9, X10, X11)
	MOVOU X3, 16(DI)
	SHUF3(X12, X13, X14)
	MOVOU X3, 32(DI)
	ADDQ  $48, DI
	ADDQ  $16, SI
	ADDQ  $16, R8
	ADDQ  $16, R9
	DECQ  CX
	JNZ   mloop

mdone:
	RET

// func unpackUYVYAVX2(y, u, v, src []byte)
// len(src) is a multiple of 128; y, u and v hold len(src)/2, /4, /4 octets.
// unpackUYVYSSE2 on 32-octet vectors. VPACKUSWB packs each 16-octet half
// of its operands apart, so each pack is followed by VPERMQ $0xD8 (64-bit
// quarters 0, 2, 1, 3) to put the halves back in order.
TEXT ·unpackUYVYAVX2(SB), NOSPLIT, $0-96
	MOVQ y_base+0(FP), DI
	MOVQ u_base+24(FP), R8
	MOVQ v_base+48(FP), R9
	MOVQ src_base+72(FP), SI
	MOVQ src_len+80(FP), CX
	SHRQ $7, CX
	JZ   adone
	VPCMPEQW Y8, Y8, Y8
	VPSRLW   $8, Y8, Y8 // 0x00ff in every word

aloop:
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU 64(SI), Y2
	VMOVDQU 96(SI), Y3

	// Y: the high octet of every word.
	VPSRLW    $8, Y0, Y4
	VPSRLW    $8, Y1, Y5
	VPACKUSWB Y5, Y4, Y4
	VPERMQ    $0xd8, Y4, Y4
	VPSRLW    $8, Y2, Y5
	VPSRLW    $8, Y3, Y6
	VPACKUSWB Y6, Y5, Y5
	VPERMQ    $0xd8, Y5, Y5
	VMOVDQU   Y4, (DI)
	VMOVDQU   Y5, 32(DI)

	// Cb Cr: the low octets (the 16 pairs of Y0 and Y1, then of Y2 and
	// Y3), then split again.
	VPAND     Y8, Y0, Y0
	VPAND     Y8, Y1, Y1
	VPACKUSWB Y1, Y0, Y0
	VPERMQ    $0xd8, Y0, Y0
	VPAND     Y8, Y2, Y2
	VPAND     Y8, Y3, Y3
	VPACKUSWB Y3, Y2, Y2
	VPERMQ    $0xd8, Y2, Y2
	VPAND     Y8, Y0, Y1
	VPAND     Y8, Y2, Y3
	VPACKUSWB Y3, Y1, Y1
	VPERMQ    $0xd8, Y1, Y1 // Cb0..Cb31
	VPSRLW    $8, Y0, Y0
	VPSRLW    $8, Y2, Y2
	VPACKUSWB Y2, Y0, Y0
	VPERMQ    $0xd8, Y0, Y0 // Cr0..Cr31
	VMOVDQU   Y1, (R8)
	VMOVDQU   Y0, (R9)

	ADDQ $128, SI
	ADDQ $64, DI
	ADDQ $32, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  aloop

adone:
	VZEROUPPER
	RET
