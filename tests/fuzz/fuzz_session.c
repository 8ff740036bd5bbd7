/* fuzz_session.c - libFuzzer target for the protocol code (shim/proto.c,
 * shim/resp*.c, shim/safe.c): the input is a conversation, cut into chunks
 * the client writes and the server answers; the class of its first write,
 * the HTTP head scan, the RESP session and the safe-request check are run
 * over it, and every promise resp.h makes is checked on the result.
 *
 * Input: the first byte seeds the cuts; then what the client writes, a NUL,
 * and what the server answers (without a NUL, the client's alone). The two
 * streams are fed in turn, each in chunks of 1 to 24 bytes. Seeds in
 * tests/fuzz/corpus_session are readable RESP exchanges. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "resp.h"
#include "safe.h"

#define MAX 512 /* a small HALFCLOSE_SESSION_MAX: the bounds are reached often */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stderr, "fuzz_session: %s\n", what);
	abort();
}

/* A heap copy of n bytes, so that ASan sees a read past either end. */
static unsigned char *copy(const uint8_t *p, size_t n)
{
	unsigned char *b = malloc(n ? n : 1);
	if (b == NULL)
		abort();
	memcpy(b, p, n);
	return b;
}

/* The record's promises: within the bound, its entries contiguous and in
 * order, and parsing it again as a client's writes gives the same record. */
static void check_record(const struct hc_resp *r)
{
	size_t len, off = 0, again_len;
	const unsigned char *rec = hc_resp_record(r, &len);
	struct hc_resp again;
	char d[128];

	if (len > MAX || r->nrec > HC_RESP_ENTRIES || r->npend > HC_RESP_PENDING)
		fail("a bound was passed");
	for (unsigned i = 0; i < r->nrec; i++) {
		if (r->rec[i].off != off)
			fail("record entries are not contiguous");
		off += r->rec[i].len;
	}
	if (off != len)
		fail("record entries do not add up to the record");
	hc_resp_init(&again, false, MAX);
	if (len > 0) {
		unsigned char *b = copy(rec, len);
		if (!hc_resp_wrote(&again, b, len))
			fail("the record does not parse as the commands it holds");
		free(b);
	}
	const unsigned char *rec2 = hc_resp_record(&again, &again_len);
	if (again_len != len || (len > 0 && memcmp(rec, rec2, len) != 0) || again.nrec != r->nrec)
		fail("the record parsed again is another record");
	if (hc_resp_swappable(&again) != HC_RESP_SWAP_OK)
		fail("the record leaves a session half way through something");
	hc_resp_free(&again);
	hc_resp_describe(r, d, sizeof d);
	if (memchr(d, '\0', sizeof d) == NULL)
		fail("describe left no NUL");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hc_resp lib, sv, whole;
	struct hc_http_scan http;
	struct hc_resp_check k;
	uint32_t seed;
	bool first = true, ok_lib = true, ok_sv = true, ok_whole;
	size_t pos = 1, wrote_len = 0;
	unsigned char *wrote_all;

	if (size < 1)
		return 0;
	seed = data[0] * 2654435761u;
	hc_resp_init(&lib, true, MAX);
	hc_resp_init(&sv, false, MAX);
	memset(&http, 0, sizeof http);
	wrote_all = malloc(size);
	if (wrote_all == NULL)
		abort();
	const uint8_t *nul = memchr(data + 1, '\0', size - 1);
	size_t cend = nul != NULL ? (size_t)(nul - data) : size, rpos = cend + 1;
	while (pos < cend || rpos < size) {
		size_t n = 1 + (seed >> 8) % 24;
		bool client = pos < cend && ((seed & 3) != 0 || rpos >= size);
		size_t *at = client ? &pos : &rpos, end_at = client ? cend : size;
		seed = seed * 1103515245u + 12345u;
		if (n > end_at - *at)
			n = end_at - *at;
		unsigned char *b = copy(data + *at, n);
		if (client) {
			if (first) {
				enum hc_proto p = hc_proto_classify(b, n, false);
				if (hc_proto_name(p) == NULL)
					fail("a class without a name");
				if (hc_proto_kind(p) == HC_KIND_NEVER &&
				    hc_proto_kind(hc_proto_reclassify(p, b, n)) != HC_KIND_NEVER)
					fail("a never-swapped class became swappable");
				first = false;
			}
			hc_http_scan(&http, b, n, (seed & 16) != 0);
			if (ok_lib)
				ok_lib = hc_resp_wrote(&lib, b, n);
			if (ok_sv)
				ok_sv = hc_resp_wrote(&sv, b, n);
			memcpy(wrote_all + wrote_len, b, n);
			wrote_len += n;
		} else if (ok_lib && hc_resp_watching(&lib)) {
			ok_lib = hc_resp_read(&lib, b, n);
		}
		if (ok_lib != (lib.end == HC_RESP_END_NONE) || ok_sv != (sv.end == HC_RESP_END_NONE))
			fail("a false return and r->end disagree");
		if (ok_lib)
			check_record(&lib);
		if (ok_sv)
			check_record(&sv);
		free(b);
		*at += n;
	}
	/* Where the writes are cut does not matter, for the supervisor's kind of
	 * session (no replies): all of them at once give the same record. */
	hc_resp_init(&whole, false, MAX);
	ok_whole = wrote_len == 0 || hc_resp_wrote(&whole, wrote_all, wrote_len);
	if (ok_whole != ok_sv)
		fail("the same writes cut otherwise end management otherwise");
	if (ok_sv) {
		size_t a, b2;
		const unsigned char *ra = hc_resp_record(&sv, &a), *rb = hc_resp_record(&whole, &b2);
		if (a != b2 || (a > 0 && memcmp(ra, rb, a) != 0))
			fail("the same writes cut otherwise give another record");
	}
	/* A safe redis request (safe.h) changes no session: parsed as the
	 * writes of a fresh connection it records nothing and opens nothing. */
	if (hc_request_safe(HC_PROTO_RESP, wrote_all, wrote_len)) {
		struct hc_resp fresh;
		hc_resp_init(&fresh, false, MAX);
		if (!hc_resp_wrote(&fresh, wrote_all, wrote_len) || hc_resp_record_count(&fresh) != 0 ||
		    hc_resp_swappable(&fresh) != HC_RESP_SWAP_OK)
			fail("a safe redis request touched the session");
		hc_resp_free(&fresh);
	}
	hc_request_safe(HC_PROTO_HTTP1, wrote_all, wrote_len);
	hc_request_safe(HC_PROTO_MEMCACHED, wrote_all, wrote_len);
	/* The check of a record against replies never reads past them. */
	hc_resp_check_begin(&k, &lib);
	if (size > 1) {
		unsigned char *b = copy(data + 1, size - 1);
		hc_resp_check_feed(&k, b, size - 1);
		free(b);
	}
	hc_resp_free(&whole);
	hc_resp_free(&lib);
	hc_resp_free(&sv);
	free(wrote_all);
	return 0;
}
