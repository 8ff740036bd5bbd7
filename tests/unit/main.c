/* main.c - runs every unit suite of the core in one SRunner.
 * Exit status 0 only if every test passed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>

#include "suites.h"

/* Every suite, in the order they run. */
static Suite *(*const suites[])(void) = {
	config_suite, table_suite, probe_suite, reconnect_suite, log_suite, real_suite, heal_suite,
	boundary_suite, left_alone_suite, tracking_suite, threads_suite, replay_suite, proto_suite,
	resp_suite, session_suite, reliability_suite, policy_suite, safe_suite, page_suite
};

int main(void)
{
	/* A test that writes into a connection the peer reset must see EPIPE,
	 * not die: the suites assert on return values, never on signals. */
	signal(SIGPIPE, SIG_IGN);

	SRunner *sr = srunner_create(NULL);
	for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
		srunner_add_suite(sr, suites[i]());
	/* CK_ENV: CK_NORMAL unless CK_VERBOSITY says otherwise (verbose lists every test). */
	srunner_run_all(sr, CK_ENV);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
