/* Error codes: every code has its own name and the fatal band is right. */
#include <check.h>
#include <string.h>

#include "mptcp.h"

static const int all_codes[] = {
    MPTCP_EINVAL, MPTCP_ESTATE, MPTCP_EAGAIN, MPTCP_ENOBUF, MPTCP_EADDRINUSE,
    MPTCP_ENOTFOUND, MPTCP_ELIMIT, MPTCP_ECLOSED, MPTCP_EBUSY, MPTCP_EMALFORMED,
    MPTCP_ETRUNCATED, MPTCP_EBADLEN, MPTCP_EBADFLAGS, MPTCP_EBADVERSION, MPTCP_EBADDOFF,
    MPTCP_ENOSPACE, MPTCP_EBADFORM, MPTCP_EBADVALUE, MPTCP_ENOMEM, MPTCP_EINTERNAL,
};
#define N_CODES (sizeof(all_codes) / sizeof(all_codes[0]))

START_TEST(strerror_names_every_code_distinctly)
{
    const char *unknown = mptcp_strerror(-12345);
    for (size_t i = 0; i < N_CODES; i++) {
        const char *s = mptcp_strerror(all_codes[i]);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, unknown);
        ck_assert_ptr_nonnull(strstr(s, "MPTCP_E"));
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(s, mptcp_strerror(all_codes[j]));
    }
}
END_TEST

START_TEST(fatal_band_is_below_efatal)
{
    for (size_t i = 0; i < N_CODES; i++)
        ck_assert(mptcp_err_is_fatal(all_codes[i]) == (all_codes[i] < MPTCP_EFATAL));
    ck_assert(mptcp_err_is_fatal(MPTCP_ENOMEM));
    ck_assert(!mptcp_err_is_fatal(MPTCP_EAGAIN));
    ck_assert(!mptcp_err_is_fatal(0));
}
END_TEST

Suite *err_suite(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("codes");
    tcase_add_test(tc, strerror_names_every_code_distinctly);
    tcase_add_test(tc, fatal_band_is_below_efatal);
    suite_add_tcase(s, tc);
    return s;
}
