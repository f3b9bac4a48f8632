/*
 * The Check runner: one SRunner over every suite. Suites are found at build
 * time (tests/tests.mk greps "Suite *NAME_suite(void)" definitions in
 * the test files into suites.inc), so adding a test file needs no edit here.
 * CK_RUN_SUITE / CK_RUN_CASE narrow a run; CK_FORK=no for a debugger.
 */
#include <check.h>
#include <stdlib.h>

#define SUITE(name) Suite *name(void);
#include "suites.inc"
#undef SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, name());
#include "suites.inc"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
