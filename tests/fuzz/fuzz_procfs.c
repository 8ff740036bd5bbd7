/* fuzz_procfs.c - libFuzzer target for the supervisor's parsers (tools/procfs.c):
 * the /proc texts it reads (status, fdinfo, an epoll's fdinfo, a task's
 * syscall) and the ELF headers the launcher classifies. The first byte picks
 * the parser, the rest is the text, in a heap block of exactly its size so that
 * ASan sees any read past its end; every promise procfs.h makes is checked. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ends the run: libFuzzer saves the input as a crash and prints the stack. */
static void fail(const char *what)
{
	fprintf(stderr, "fuzz_procfs: %s\n", what);
	abort();
}

static void check_tfds(const char *buf, size_t len)
{
	struct hc_procfs_tfd t;
	size_t pos = 0, last = 0;
	unsigned n = 0;

	while (hc_procfs_next_tfd(buf, len, &pos, &t)) {
		if (pos <= last && n > 0)
			fail("next_tfd did not move forward");
		if (pos > len)
			fail("next_tfd moved past the end");
		if (t.fd < 0)
			fail("next_tfd gave a negative fd");
		last = pos;
		if (++n > len)
			fail("next_tfd found more lines than bytes");
	}
	if (pos > len)
		fail("next_tfd left pos past the end");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	size_t len;
	pid_t tgid = -1;
	unsigned flags;
	uint64_t u;
	long nr = -1;
	enum hc_exe_kind k;

	if (size == 0)
		return 0;
	len = size - 1;
	buf = malloc(len ? len : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data + 1, len);
	switch (data[0] % 6) {
	case 0:
		if (hc_procfs_tgid(buf, len, &tgid) == 0 && tgid <= 0)
			fail("tgid accepted a pid <= 0");
		break;
	case 1:
		(void)hc_procfs_fdinfo_flags(buf, len, &flags);
		break;
	case 2:
		(void)hc_procfs_fdinfo_ino(buf, len, &u);
		break;
	case 3:
		check_tfds(buf, len);
		break;
	case 4:
		if (hc_procfs_syscall(buf, len, &nr, &u) == 0 && (nr < 0 || nr > 1023))
			fail("syscall accepted a number out of range");
		break;
	case 5:
		k = hc_exe_classify((const unsigned char *)buf, len);
		if (k != HC_EXE_DYNAMIC && k != HC_EXE_STATIC && k != HC_EXE_GO && k != HC_EXE_OTHER)
			fail("classify returned no kind");
		break;
	}
	free(buf);
	return 0;
}
