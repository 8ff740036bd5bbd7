/* procfs.h - pure parsers of the /proc text the supervisor (and, for an epoll
 * instance's registrations, the library) reads: a task's Tgid, an fd's flags,
 * an epoll instance's registrations; and an executable's kind. They take a buffer
 * and its length (no terminating NUL needed), never read past it, and never
 * allocate, so tests/fuzz/fuzz_procfs.c can drive them with anything. */
#ifndef HC_PROCFS_H
#define HC_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The "Tgid:" of a /proc/PID/status text into *tgid. Returns 0, or -1 if the
 * line is missing or its value is not a positive decimal that fits a pid_t. */
int hc_procfs_tgid(const char *buf, size_t len, pid_t *tgid);

/* The "flags:" of a /proc/PID/fdinfo/N text (octal; O_CLOEXEC set when the
 * fd is close-on-exec) into *flags. Returns 0, or -1 if missing or malformed. */
int hc_procfs_fdinfo_flags(const char *buf, size_t len, unsigned *flags);

/* The "ino:" of a /proc/PID/fdinfo/N text (decimal) into *ino. Returns 0 or -1. */
int hc_procfs_fdinfo_ino(const char *buf, size_t len, uint64_t *ino);

/* One registration of an epoll instance, from its fdinfo line
 * "tfd: %8d events: %8x data: %16llx  pos:%lli ino:%lx sdev:%x". */
struct hc_procfs_tfd {
	int fd;          /* the number it was added under */
	uint32_t events; /* as registered (EPOLLET, EPOLLONESHOT... included) */
	uint64_t data;
	uint64_t ino; /* the inode of the file registered */
};

/* The next well-formed "tfd:" line of an epoll fdinfo text at or after *pos
 * into *out; *pos moves past it. Returns 1, or 0 when there is none left.
 * Malformed tfd lines are skipped. */
int hc_procfs_next_tfd(const char *buf, size_t len, size_t *pos, struct hc_procfs_tfd *out);

/* The system call a task is blocked in, from /proc/PID/task/TID/syscall
 * ("NR ARG0 ARG1 ... SP PC", numbers after NR in hex with 0x): *nr and *arg0.
 * Returns 0; -1 for "running", a task outside any call ("-1 SP PC") or a
 * malformed text. */
int hc_procfs_syscall(const char *buf, size_t len, long *nr, uint64_t *arg0);

/* How a program file is to be run under halfclose, from its first bytes. */
enum hc_exe_kind {
	HC_EXE_DYNAMIC, /* ELF with PT_INTERP, no Go build ID: LD_PRELOAD reaches it */
	HC_EXE_STATIC,  /* ELF without PT_INTERP: raw system calls only */
	HC_EXE_GO,      /* ELF with a Go build ID: the runtime makes raw system calls */
	HC_EXE_OTHER,   /* a script ("#!") or anything else: the interpreter decides; preload */
};

/* Classifies an executable from its first len bytes (the ELF header, program
 * headers and notes are near the start; 64 KiB is plenty). A Go build ID is a
 * PT_NOTE entry named "Go" of type 4, or the linker's `\xff Go build ID: "..."\n \xff`. */
enum hc_exe_kind hc_exe_classify(const unsigned char *buf, size_t len);

#endif
