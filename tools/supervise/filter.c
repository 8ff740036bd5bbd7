/* filter.c - the seccomp filter the child installs before it execs the
 * program (SECCOMP_RET_USER_NOTIF: Linux 5.0): which system calls reach the
 * supervisor as notifications, and which the kernel runs without asking.
 * Pure: it builds instructions into a buffer and touches nothing else. What
 * it lets through unsupervised (every fd outside the reserved range, other
 * architectures) costs the program a few BPF instructions per system call. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/audit.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "supervise_int.h"

/* The low 32 bits of argument i (x86-64 is little-endian); fds are ints. */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

enum { L_NEXT = -1, L_ALLOW, L_NOTIFY, L_SOCKET, L_SOCKTYPE, L_FCNTL, L_FD0, L_DUP2, L_NEWFD, L_COUNT };

struct insn {
	struct sock_filter f;
	int label;    /* L_* this instruction starts, or L_NEXT */
	int jt, jf;   /* jump targets (labels), L_NEXT = the next instruction */
};

/* Builds the filter into out (room for cap instructions). Returns its length,
 * or 0 if it did not fit. BPF only jumps forward: the two verdicts come last.
 * Calls on other architectures (i386 through int 0x80) and x32 numbers
 * (>= 0x40000000) are allowed: not supervised, not refused. */
size_t sv_build_filter(struct sock_filter *out, size_t cap)
{
	/* The most frequent first: every write runs through this list. */
	static const int fd0_calls[] = { __NR_write,   __NR_sendto, __NR_writev,     __NR_sendmsg,
					 __NR_sendmmsg, __NR_connect, __NR_setsockopt, __NR_bind,
					 __NR_shutdown, __NR_dup };
	struct insn p[64];
	int pos[L_COUNT];
	size_t n = 0;

#define EMIT(lbl, code, k, t, f_) (p[n++] = (struct insn){ BPF_STMT((code), (k)), (lbl), (t), (f_) })
	EMIT(L_NEXT, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, L_NEXT, L_ALLOW);
	EMIT(L_NEXT, BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, L_ALLOW, L_NEXT);
	for (size_t i = 0; i < sizeof(fd0_calls) / sizeof(fd0_calls[0]); i++)
		EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, (unsigned)fd0_calls[i], L_FD0, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, L_SOCKET, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_fcntl, L_FCNTL, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_dup2, L_DUP2, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, __NR_dup3, L_DUP2, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JA, 0, L_ALLOW, L_ALLOW);
	/* socket(AF_INET or AF_INET6, SOCK_STREAM | flags, protocol) */
	EMIT(L_SOCKET, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, AF_INET, L_SOCKTYPE, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, AF_INET6, L_SOCKTYPE, L_ALLOW);
	EMIT(L_SOCKTYPE, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_ALU | BPF_AND | BPF_K, 0xf, L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, SOCK_STREAM, L_NOTIFY, L_ALLOW);
	/* fcntl(fd, F_DUPFD or F_DUPFD_CLOEXEC): a second reference to the socket.
	 * Its minimum (third argument) may point into the range while fd is
	 * outside it: not notified, since the kernel gives it the lowest free
	 * number from there, never one that holds a socket of ours (a number
	 * left by a close we did not see is forgotten by the inode check of the
	 * next notification). The danger is the other way: a socket() in
	 * another thread may have picked that same free number just before, and
	 * ADDFD (SETFD) then installs over the program's new fd. Notifying would
	 * not help: the call runs after our answer, unordered with that ADDFD. */
	EMIT(L_FCNTL, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, F_DUPFD, L_FD0, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_K, F_DUPFD_CLOEXEC, L_FD0, L_ALLOW);
	/* dup2/dup3(oldfd, newfd): oldfd in the range is a second reference to
	 * our socket; newfd in it replaces what that number holds, perhaps our
	 * socket (the program chose the number, not knowing we put its socket
	 * there), and must wait while a heal is about to install at it. dup2(fd,
	 * fd) changes nothing, dup3(fd, fd) fails: neither is notified. */
	EMIT(L_DUP2, BPF_LD | BPF_W | BPF_ABS, ARG_LO(1), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_MISC | BPF_TAX, 0, L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JEQ | BPF_X, 0, L_ALLOW, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, SV_FD_LO, L_NEXT, L_NEWFD);
	EMIT(L_NEXT, BPF_JMP | BPF_JGT | BPF_K, SV_FD_HI, L_NEWFD, L_NOTIFY);
	EMIT(L_NEWFD, BPF_MISC | BPF_TXA, 0, L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, SV_FD_LO, L_NEXT, L_ALLOW);
	EMIT(L_NEXT, BPF_JMP | BPF_JGT | BPF_K, SV_FD_HI, L_ALLOW, L_NOTIFY);
	/* the fd (first argument) in the reserved range */
	EMIT(L_FD0, BPF_LD | BPF_W | BPF_ABS, ARG_LO(0), L_NEXT, L_NEXT);
	EMIT(L_NEXT, BPF_JMP | BPF_JGE | BPF_K, SV_FD_LO, L_NEXT, L_ALLOW);
	EMIT(L_NEXT, BPF_JMP | BPF_JGT | BPF_K, SV_FD_HI, L_ALLOW, L_NOTIFY);
	EMIT(L_NOTIFY, BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF, L_NEXT, L_NEXT);
	EMIT(L_ALLOW, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, L_NEXT, L_NEXT);
#undef EMIT
	if (n > cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (p[i].label != L_NEXT)
			pos[p[i].label] = (int)i;
	for (size_t i = 0; i < n; i++) {
		out[i] = p[i].f;
		if (p[i].f.code == (BPF_JMP | BPF_JA)) {
			/* the one unconditional jump: its offset is k */
			out[i].k = (uint32_t)(pos[p[i].jt] - (int)i - 1);
		} else if (BPF_CLASS(p[i].f.code) == BPF_JMP) {
			int t = p[i].jt == L_NEXT ? (int)i + 1 : pos[p[i].jt];
			int f = p[i].jf == L_NEXT ? (int)i + 1 : pos[p[i].jf];
			if (t <= (int)i || f <= (int)i || t - (int)i - 1 > 255 || f - (int)i - 1 > 255)
				return 0; /* BPF only jumps forward, at most 255 */
			out[i].jt = (unsigned char)(t - (int)i - 1);
			out[i].jf = (unsigned char)(f - (int)i - 1);
		}
	}
	return n;
}
