/* procfs.c - pure parsers of /proc text and of an executable's ELF headers,
 * bounded by the length they are given (the kernel's formats may change; a
 * surprise is a parse failure, never a read past the buffer). */
#define _GNU_SOURCE
#include "procfs.h"

#include <elf.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* The value of the line starting with key (at the start of a line) in buf:
 * *val points at it (leading blanks skipped), *vlen its length up to the
 * newline. Returns 0, or -1 if there is no such line. */
static int find_line(const char *buf, size_t len, const char *key, const char **val, size_t *vlen)
{
	size_t klen = strlen(key), i = 0;

	while (i < len) {
		size_t end = i;
		while (end < len && buf[end] != '\n')
			end++;
		if (end - i >= klen && memcmp(buf + i, key, klen) == 0) {
			size_t v = i + klen;
			while (v < end && (buf[v] == ' ' || buf[v] == '\t'))
				v++;
			*val = buf + v;
			*vlen = end - v;
			return 0;
		}
		i = end + 1;
	}
	return -1;
}

/* Parses an unsigned number in base (8, 10 or 16) from s[0..n): at least one
 * digit, stops at the first non-digit; *used gets the digits consumed.
 * Returns 0, or -1 without digits or on overflow of uint64_t. */
static int parse_u64(const char *s, size_t n, unsigned base, uint64_t *out, size_t *used)
{
	uint64_t v = 0;
	size_t i = 0;

	for (; i < n; i++) {
		unsigned d;
		char c = s[i];
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (base == 16 && c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (base == 16 && c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			break;
		if (d >= base || v > (UINT64_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	if (i == 0)
		return -1;
	*out = v;
	*used = i;
	return 0;
}

/* A whole value: the number fills the value up to trailing blanks. */
static int parse_value(const char *s, size_t n, unsigned base, uint64_t *out)
{
	size_t used;

	if (parse_u64(s, n, base, out, &used) != 0)
		return -1;
	while (used < n && (s[used] == ' ' || s[used] == '\t' || s[used] == '\r'))
		used++;
	return used == n ? 0 : -1;
}

int hc_procfs_tgid(const char *buf, size_t len, pid_t *tgid)
{
	const char *v;
	size_t n;
	uint64_t x;

	if (find_line(buf, len, "Tgid:", &v, &n) != 0 || parse_value(v, n, 10, &x) != 0 || x == 0 ||
	    x > INT_MAX)
		return -1;
	*tgid = (pid_t)x;
	return 0;
}

int hc_procfs_fdinfo_flags(const char *buf, size_t len, unsigned *flags)
{
	const char *v;
	size_t n;
	uint64_t x;

	if (find_line(buf, len, "flags:", &v, &n) != 0 || parse_value(v, n, 8, &x) != 0 || x > UINT_MAX)
		return -1;
	*flags = (unsigned)x;
	return 0;
}

int hc_procfs_fdinfo_ino(const char *buf, size_t len, uint64_t *ino)
{
	const char *v;
	size_t n;

	return find_line(buf, len, "ino:", &v, &n) == 0 && parse_value(v, n, 10, ino) == 0 ? 0 : -1;
}

/* In line[0..n), the number after the token key (at the start or after a
 * blank), in base. Returns 0, or -1 if the key is missing or has no number. */
static int token_value(const char *line, size_t n, const char *key, unsigned base, uint64_t *out)
{
	size_t klen = strlen(key), used;

	for (size_t i = 0; i + klen <= n; i++) {
		if ((i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t') && memcmp(line + i, key, klen) == 0) {
			size_t v = i + klen;
			while (v < n && (line[v] == ' ' || line[v] == '\t'))
				v++;
			return parse_u64(line + v, n - v, base, out, &used);
		}
	}
	return -1;
}

int hc_procfs_next_tfd(const char *buf, size_t len, size_t *pos, struct hc_procfs_tfd *out)
{
	while (*pos < len) {
		size_t i = *pos, end = i;
		uint64_t fd, events, data, ino;

		while (end < len && buf[end] != '\n')
			end++;
		*pos = end < len ? end + 1 : len;
		if (end - i < 4 || memcmp(buf + i, "tfd:", 4) != 0)
			continue;
		if (token_value(buf + i, end - i, "tfd:", 10, &fd) != 0 || fd > INT_MAX ||
		    token_value(buf + i, end - i, "events:", 16, &events) != 0 || events > UINT32_MAX ||
		    token_value(buf + i, end - i, "data:", 16, &data) != 0 ||
		    token_value(buf + i, end - i, "ino:", 16, &ino) != 0)
			continue;
		out->fd = (int)fd;
		out->events = (uint32_t)events;
		out->data = data;
		out->ino = ino;
		return 1;
	}
	return 0;
}

int hc_procfs_syscall(const char *buf, size_t len, long *nr, uint64_t *arg0)
{
	uint64_t n, a;
	size_t used, i = 0;

	if (parse_u64(buf, len, 10, &n, &used) != 0 || n > 1023)
		return -1; /* "running", "-1 ...": no call to look at */
	i = used;
	if (i >= len || buf[i] != ' ')
		return -1;
	i++;
	if (len - i < 3 || buf[i] != '0' || buf[i + 1] != 'x' || parse_u64(buf + i + 2, len - i - 2, 16, &a, &used) != 0)
		return -1;
	*nr = (long)n;
	*arg0 = a;
	return 0;
}

/* True if buf holds the build ID the Go linker puts at the start of the text,
 * `\xff Go build ID: "ID"\n \xff`, with the ID printable and at most 200
 * bytes: the prefix alone also occurs in programs that look for it (this one). */
static bool has_go_text_id(const unsigned char *buf, size_t len)
{
	static const char prefix[] = "\xff Go build ID: \"";
	const size_t plen = sizeof(prefix) - 1;
	const unsigned char *p = buf;

	while ((size_t)(p - buf) < len) {
		size_t left = len - (size_t)(p - buf), i;
		const unsigned char *hit = memmem(p, left, prefix, plen);
		if (hit == NULL)
			return false;
		left = len - (size_t)(hit - buf) - plen;
		for (i = 0; i < left && i <= 200 && hit[plen + i] >= 0x20 && hit[plen + i] < 0x7f && hit[plen + i] != '"'; i++)
			;
		if (i > 0 && i <= 200 && left - i >= 4 && memcmp(hit + plen + i, "\"\n \xff", 4) == 0)
			return true;
		p = hit + 1;
	}
	return false;
}

/* True if the notes in buf[off..off+size) (clamped to len) hold a Go build ID
 * note: name "Go", type 4. */
static bool notes_have_go(const unsigned char *buf, size_t len, uint64_t off, uint64_t size)
{
	size_t p, end;

	if (off >= len)
		return false;
	end = size > len - off ? len : (size_t)(off + size);
	p = (size_t)off;
	while (end - p >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		size_t namesz, descsz;
		memcpy(&nh, buf + p, sizeof(nh));
		namesz = ((size_t)nh.n_namesz + 3) & ~(size_t)3;
		descsz = ((size_t)nh.n_descsz + 3) & ~(size_t)3;
		p += sizeof(nh);
		if (namesz > end - p)
			return false;
		/* The Go linker writes the name padded: n_namesz 4, "Go\0\0". */
		if (nh.n_type == 4 && (nh.n_namesz == 3 || nh.n_namesz == 4) && memcmp(buf + p, "Go\0", 3) == 0)
			return true;
		p += namesz;
		if (descsz > end - p)
			return false;
		p += descsz;
	}
	return false;
}

enum hc_exe_kind hc_exe_classify(const unsigned char *buf, size_t len)
{
	bool interp = false, go = false;
	Elf64_Ehdr eh;

	if (len >= 2 && buf[0] == '#' && buf[1] == '!')
		return HC_EXE_OTHER;
	/* 64-bit little-endian ELF only: the filter speaks x86-64 alone. */
	if (len < sizeof(eh) || memcmp(buf, ELFMAG, SELFMAG) != 0 || buf[EI_CLASS] != ELFCLASS64 ||
	    buf[EI_DATA] != ELFDATA2LSB)
		return HC_EXE_OTHER;
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff >= len)
		return HC_EXE_OTHER;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t at = eh.e_phoff + (uint64_t)i * sizeof(ph);
		if (at > len || len - at < sizeof(ph))
			break; /* headers beyond what we read: judge on what we have */
		memcpy(&ph, buf + at, sizeof(ph));
		if (ph.p_type == PT_INTERP)
			interp = true;
		else if (ph.p_type == PT_NOTE && notes_have_go(buf, len, ph.p_offset, ph.p_filesz))
			go = true;
	}
	if (go || has_go_text_id(buf, len))
		return HC_EXE_GO;
	return interp ? HC_EXE_DYNAMIC : HC_EXE_STATIC;
}
