/* resp_cmd.h - what a RESP (redis) command does to its connection's session:
 * the settings it makes (SELECT, AUTH, HELLO, CLIENT SETNAME...), the modes
 * that cannot be rebuilt (SUBSCRIBE, MONITOR...), transactions; and a
 * record of session commands described for a log line. Pure. */
#ifndef HC_RESP_CMD_H
#define HC_RESP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resp_wire.h"

enum hc_resp_kind {
	HC_RESP_K_PLAIN,   /* nothing of the session */
	HC_RESP_K_SESSION, /* makes settings (groups) */
	HC_RESP_K_RESET,   /* RESET: the session as new */
	HC_RESP_K_MULTI,
	HC_RESP_K_EXEC,    /* EXEC or DISCARD */
	HC_RESP_K_WATCH,
	HC_RESP_K_UNWATCH,
	HC_RESP_K_END,     /* a mode that cannot be rebuilt: management ends */
};

/* What the complete command q (its bytes b, len; NULL if they were not kept)
 * does. *groups: the settings it makes, one bit each; *expect: the reply that
 * means it succeeded (HC_RESP_EXPECT_*). */
enum hc_resp_kind hc_resp_command_kind(const struct hc_resp_req *q, const unsigned char *b, size_t len,
				       uint16_t *groups, uint8_t *expect);

/* False once the arguments of the command being parsed show it is not a
 * session command (its bytes need not be kept). */
bool hc_resp_may_be_session(const struct hc_resp_req *q);

/* True if a RESET leaves these settings as they were. */
bool hc_resp_kept_by_reset(uint16_t groups);

/* One recorded (or pending) session command: its bytes at off in its buffer,
 * the settings it makes, the reply that means success. */
struct hc_resp_cmd {
	uint32_t off, len;
	uint16_t groups;
	uint8_t expect; /* HC_RESP_EXPECT_* */
	uint64_t idx;   /* pending: which reply (counted from the connect) is its own */
};

/* What the n commands (bytes in rec) set, for a log line: "db 2, auth,
 * resp3, name". Never a password or a user name. Returns buf. */
const char *hc_resp_describe_record(const unsigned char *rec, const struct hc_resp_cmd *cmds, unsigned n, char *buf,
				    size_t len);

#endif
