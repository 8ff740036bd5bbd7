/* suites.h - the Check suites of the core, one per module; main.c runs them all. */
#ifndef HC_TEST_SUITES_H
#define HC_TEST_SUITES_H

#include <check.h>

Suite *config_suite(void);
Suite *table_suite(void);
Suite *probe_suite(void);
Suite *reconnect_suite(void);
Suite *log_suite(void);
Suite *real_suite(void);
Suite *heal_suite(void);
Suite *boundary_suite(void);
Suite *left_alone_suite(void);
Suite *tracking_suite(void);
Suite *threads_suite(void);
Suite *replay_suite(void);
Suite *proto_suite(void);
Suite *resp_suite(void);
Suite *session_suite(void);
Suite *reliability_suite(void);
Suite *policy_suite(void);
Suite *safe_suite(void);
Suite *page_suite(void);

#endif
