// SPDX-License-Identifier: MIT
/*
 * sys_clone.S - clone3() with a child function, for the vfork launcher.
 *
 * clone3 starts the child on a new stack at the instruction after the
 * syscall, where no C frame is valid; this stub calls fn(arg) there and exits
 * with its return value, so the child never returns into the caller's frame.
 *
 * long fl__clone3_run(struct clone_args *args, size_t size,
 *                     int (*fn)(void *), void *arg);
 *
 * (Where clone3 is refused the callers use clone(2): the vfork launcher
 * its own way, the spawn server glibc's clone().)
 *
 * Control-flow protection: a -fcf-protection build (__CET__) marks this
 * object with the same x86 feature property as the compiled ones, so the
 * linker keeps IBT and SHSTK for the library (it ANDs the property of every
 * object; one unmarked object would switch CET off for the whole process),
 * and the entry starts with endbr64.  The stub is shadow-stack clean:
 * the caller returns from the frame it called, the child calls fn on its
 * own stack and never returns.
 */
#if defined(__CET__) && defined(__x86_64__)
#define FL_ENDBR endbr64
#else
#define FL_ENDBR
#endif

#if defined(__x86_64__)
	.text
	.globl fl__clone3_run
	.hidden fl__clone3_run
	.type fl__clone3_run, @function
fl__clone3_run:
	.cfi_startproc
	FL_ENDBR
	mov %rdx, %r8		/* fn: r8/r9 survive the syscall (rcx, r11 do not) */
	mov %rcx, %r9		/* arg */
	mov $435, %eax		/* __NR_clone3 */
	syscall
	test %rax, %rax
	jnz 1f			/* caller (pid) or error (-errno) */
.Lchild_x86:			/* fn in r8, arg in r9 */
	.cfi_undefined rip	/* child: outermost frame */
	xor %ebp, %ebp
	and $-16, %rsp
	mov %r9, %rdi
	call *%r8
	mov %eax, %edi
	mov $60, %eax		/* __NR_exit */
	syscall
	hlt
1:	ret
	.cfi_endproc
	.size fl__clone3_run, .-fl__clone3_run
#elif defined(__aarch64__)
	.text
	.globl fl__clone3_run
	.hidden fl__clone3_run
	.type fl__clone3_run, %function
fl__clone3_run:
	mov x9, x2		/* fn: the kernel preserves x1-x30 */
	mov x10, x3		/* arg */
	mov x8, #435		/* __NR_clone3 */
	svc #0
	cbnz x0, 1f
.Lchild_a64:			/* fn in x9, arg in x10 */
	mov x29, #0
	mov x30, #0
	mov x0, x10
	blr x9
	mov x8, #93		/* __NR_exit */
	svc #0
	brk #0
1:	ret
	.size fl__clone3_run, .-fl__clone3_run
#endif
	.section .note.GNU-stack,"",%progbits

#if defined(__CET__) && defined(__x86_64__)
	/* NT_GNU_PROPERTY_TYPE_0: GNU_PROPERTY_X86_FEATURE_1_AND = __CET__
	 * (bit 0 IBT, bit 1 SHSTK), as gcc emits it for a C file */
	.section .note.gnu.property,"a"
	.p2align 3
	.long 4			/* n_namesz */
	.long 16		/* n_descsz */
	.long 5			/* n_type: NT_GNU_PROPERTY_TYPE_0 */
	.asciz "GNU"
	.long 0xc0000002	/* pr_type: GNU_PROPERTY_X86_FEATURE_1_AND */
	.long 4			/* pr_datasz */
	.long __CET__		/* pr_data */
	.p2align 3		/* pad the descriptor to 8 */
#elif defined(__CET__) && defined(__i386__)
	/* the same for i386 (no code here: that path uses clone(2) from libc) */
	.section .note.gnu.property,"a"
	.p2align 2
	.long 4
	.long 12
	.long 5
	.asciz "GNU"
	.long 0xc0000002
	.long 4
	.long __CET__
#endif
