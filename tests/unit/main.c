/* main.c - runs every unit suite of the core in one SRunner.
 * Exit status 0 only if every test passed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	/* A test that writes into a connection the peer reset must see EPIPE,
	 * not die: the suites assert on return values, never on signals. */
	signal(SIGPIPE, SIG_IGN);

	SRunner *sr = srunner_create(config_suite());
	srunner_add_suite(sr, table_suite());
	srunner_add_suite(sr, probe_suite());
	srunner_add_suite(sr, reconnect_suite());
	srunner_add_suite(sr, log_suite());
	srunner_add_suite(sr, real_suite());
	srunner_add_suite(sr, conn_suite());
	srunner_add_suite(sr, replay_suite());
	srunner_add_suite(sr, proto_suite());
	srunner_add_suite(sr, resp_suite());
	srunner_add_suite(sr, session_suite());
	srunner_add_suite(sr, reliability_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, safe_suite());
	srunner_add_suite(sr, page_suite());
	/* CK_ENV: CK_NORMAL unless CK_VERBOSITY says otherwise (verbose lists every test). */
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
