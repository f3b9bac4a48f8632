/*
 * The option-space planner (src/wire_plan.c): priorities, Linux's sharing
 * rules, and a property over many generated requests: the plan always
 * writes (mptcp_seg_write) to exactly plan.len option bytes <= 40, always
 * holds every priority-1 item, and no left-out item would still fit.
 */
#include <check.h>
#include <string.h>

#include "mptcp.h"

static mptcp_opt dss_opt(bool ack64, bool map)
{
    mptcp_opt o = { .form = MPTCP_OPT_DSS };
    o.u.dss.has_ack = true;
    o.u.dss.ack64 = ack64;
    o.u.dss.data_ack = 1;
    if (map) {
        o.u.dss.has_map = o.u.dss.dsn64 = true;
        o.u.dss.dsn = 2;
        o.u.dss.ssn = 1;
        o.u.dss.data_len = 100;
    }
    return o;
}

static mptcp_opt add_opt(int family, uint16_t port)
{
    mptcp_opt o = { .form = MPTCP_OPT_ADD_ADDR };
    o.u.add_addr.addr.family = (uint8_t)family;
    o.u.add_addr.addr.port = port;
    o.u.add_addr.addr_id = 1;
    return o;
}

static mptcp_seg_spec spec(uint16_t flags, uint32_t tcp, const mptcp_opt *m, size_t n,
                           size_t payload)
{
    mptcp_seg_spec s;
    memset(&s, 0, sizeof s);
    s.hdr.flags = flags;
    s.opts.present = tcp;
    s.opts.mss = 1460;
    s.opts.wscale = 7;
    s.opts.sack_count = 4;
    s.mptcp = m;
    s.n_mptcp = n;
    s.payload_len = payload;
    return s;
}

#define SYN MPTCP_TH_SYN
#define ACK MPTCP_TH_ACK
#define RST MPTCP_TH_RST
#define TS MPTCP_TCPO_TS
#define SYN_TCP (MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS | MPTCP_TCPO_WSCALE)

START_TEST(syn_gets_everything_tfo_best_effort)
{
    mptcp_opt mpc = { .form = MPTCP_OPT_MPC_SYN, .u.mpc = { .version = 1, .flags = 1 } };
    mptcp_seg_spec s = spec(SYN, SYN_TCP | MPTCP_TCPO_TFO, &mpc, 1, 0);
    s.opts.tfo_cookie_len = 8; /* 12 bytes: 24 + 12 = 36 */
    mptcp_opt_plan p;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.tcp_fit, SYN_TCP | MPTCP_TCPO_TFO);
    ck_assert_uint_eq(p.mptcp_fit, 1);
    ck_assert_uint_eq(p.len, 36);
    s.opts.tfo_cookie_len = 16; /* 20 more: does not fit, dropped */
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.tcp_fit, SYN_TCP);
    ck_assert_uint_eq(p.mptcp_fit, 1);
    ck_assert_uint_eq(p.len, 24);
}
END_TEST

START_TEST(data_segment_ts_then_dss_then_sack_then_addr)
{
    mptcp_opt m[2] = { add_opt(MPTCP_AF_INET, 0), dss_opt(true, true) };
    mptcp_seg_spec s = spec(ACK, TS | MPTCP_TCPO_SACK, m, 2, 100);
    mptcp_opt_plan p;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    /* 12 TS + 26 DSS (28 padded) = 40: no SACK, no ADD_ADDR */
    ck_assert_uint_eq(p.tcp_fit, TS);
    ck_assert_uint_eq(p.sack_count, 0);
    ck_assert_uint_eq(p.mptcp_fit, 2);
    ck_assert_uint_eq(p.len, 40);
}
END_TEST

START_TEST(sack_blocks_as_many_as_fit)
{
    mptcp_opt m = dss_opt(true, false); /* 12 */
    mptcp_seg_spec s = spec(ACK, TS | MPTCP_TCPO_SACK, &m, 1, 0);
    mptcp_opt_plan p;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.sack_count, 1); /* 12 + 12 + 12 = 36; 2 blocks = 44 */
    ck_assert_uint_eq(p.len, 36);
    s.opts.present = MPTCP_TCPO_SACK;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.sack_count, 3); /* 28 + 12 = 40 */
    ck_assert_uint_eq(p.len, 40);
    s.n_mptcp = 0;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.sack_count, 4);
}
END_TEST

START_TEST(pure_ack_ipv6_add_addr_with_port_drops_timestamps_and_dss)
{
    mptcp_opt m[2] = { dss_opt(true, false), add_opt(MPTCP_AF_INET6, 443) };
    mptcp_seg_spec s = spec(ACK, TS, m, 2, 0);
    mptcp_opt_plan p;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 2); /* ADD_ADDR only */
    ck_assert_uint_eq(p.tcp_fit, 0);
    ck_assert_uint_eq(p.len, 32);
    /* without port: 28 + 12 = 40, timestamps stay; DSS still left out */
    m[1] = add_opt(MPTCP_AF_INET6, 0);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 2);
    ck_assert_uint_eq(p.tcp_fit, TS);
    ck_assert_uint_eq(p.len, 40);
    /* IPv4: 16 + 12 + 12 = 40, all three */
    m[1] = add_opt(MPTCP_AF_INET, 0);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 3);
    ck_assert_uint_eq(p.tcp_fit, TS);
    /* on a data segment the ADD_ADDR waits behind TS and DSS */
    m[0] = dss_opt(true, true);
    s.payload_len = 10;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 1);
    ck_assert_uint_eq(p.tcp_fit, TS);
}
END_TEST

START_TEST(handshake_options_admit_only_remove_addr)
{
    mptcp_opt m[4] = {
        { .form = MPTCP_OPT_MPC_ACK, .u.mpc = { .version = 1, .flags = 1 } },
        dss_opt(false, false),
        { .form = MPTCP_OPT_REMOVE_ADDR, .u.rm_addr = { 1, { 2 } } },
        { .form = MPTCP_OPT_PRIO },
    };
    mptcp_seg_spec s = spec(ACK, 0, m, 4, 0);
    mptcp_opt_plan p;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 1 | 4);
    ck_assert_uint_eq(p.len, 24);
    m[0] = (mptcp_opt){ .form = MPTCP_OPT_JOIN_ACK };
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 1 | 4);
}
END_TEST

START_TEST(rst_and_fastclose_and_fail_rules)
{
    mptcp_opt m[4] = {
        dss_opt(false, false),
        { .form = MPTCP_OPT_FASTCLOSE, .u.fastclose = { 9 } },
        { .form = MPTCP_OPT_TCPRST, .u.tcprst = { 0, 1 } },
        { .form = MPTCP_OPT_REMOVE_ADDR, .u.rm_addr = { 1, { 2 } } },
    };
    mptcp_seg_spec s = spec(RST | ACK, TS, m, 4, 0);
    mptcp_opt_plan p;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 2 | 4);
    ck_assert_uint_eq(p.tcp_fit, TS);
    /* MP_FASTCLOSE on an ACK: alone */
    m[2] = (mptcp_opt){ .form = MPTCP_OPT_PRIO };
    s.hdr.flags = ACK;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 2);
    /* MP_FAIL on an ACK: with its DSS, nothing else */
    m[1] = (mptcp_opt){ .form = MPTCP_OPT_FAIL, .u.fail = { 5 } };
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.mptcp_fit, 1 | 2);
}
END_TEST

START_TEST(contradictions_are_einval)
{
    mptcp_opt_plan p;
    mptcp_opt two_dss[2] = { dss_opt(false, false), dss_opt(true, false) };
    mptcp_seg_spec s = spec(ACK, 0, two_dss, 2, 0);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_EINVAL);
    mptcp_opt hs[2] = { { .form = MPTCP_OPT_MPC_ACK, .u.mpc = { .version = 1, .flags = 1 } },
                        { .form = MPTCP_OPT_JOIN_ACK } };
    s = spec(ACK, 0, hs, 2, 0);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_EINVAL);
    mptcp_opt rst = { .form = MPTCP_OPT_TCPRST };
    s = spec(ACK, 0, &rst, 1, 0); /* MP_TCPRST needs RST */
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_EINVAL);
    mptcp_opt syn = { .form = MPTCP_OPT_MPC_SYN, .u.mpc = { .version = 1, .flags = 1 } };
    s = spec(ACK, 0, &syn, 1, 0);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_EINVAL);
    mptcp_opt bad = { .form = MPTCP_OPT_DSS, .u.dss = { .fin = 1 } };
    s = spec(ACK, 0, &bad, 1, 0);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_EINVAL);
    mptcp_opt many[33];
    for (int i = 0; i < 33; i++)
        many[i] = (mptcp_opt){ .form = MPTCP_OPT_PRIO };
    s = spec(ACK, 0, many, 33, 0);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_EINVAL);
    s.n_mptcp = 32;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.len, 40); /* 13 x 3 = 39 -> 40 */
    ck_assert_uint_eq(__builtin_popcount(p.mptcp_fit), 13);
    s = spec(ACK, MPTCP_TCPO_SACK, NULL, 0, 0);
    s.opts.sack_count = 0;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_opt_plan_fit(NULL, &p), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, NULL), MPTCP_EINVAL);
}
END_TEST

START_TEST(critical_items_that_do_not_fit_are_enospace)
{
    mptcp_opt m[2] = { { .form = MPTCP_OPT_JOIN_ACK },
                       { .form = MPTCP_OPT_FASTCLOSE } };
    /* 24 + 12 + MSS 4 = 40 fits; + WS 4 does not */
    mptcp_seg_spec s = spec(ACK, MPTCP_TCPO_MSS, m, 2, 0);
    mptcp_opt_plan p;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), 0);
    ck_assert_uint_eq(p.len, 40);
    s.opts.present |= MPTCP_TCPO_WSCALE;
    ck_assert_int_eq(mptcp_opt_plan_fit(&s, &p), MPTCP_ENOSPACE);
}
END_TEST

/* ----------------------------------------------------------- property */

static uint32_t rng_next(uint32_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static mptcp_opt random_opt(uint32_t *r, uint16_t flags)
{
    mptcp_opt o;
    memset(&o, 0, sizeof o);
    switch (rng_next(r) % 8) {
    case 0: return dss_opt(rng_next(r) & 1, rng_next(r) & 1);
    case 1: return add_opt(rng_next(r) & 1 ? MPTCP_AF_INET : MPTCP_AF_INET6,
                           rng_next(r) & 1 ? 80 : 0);
    case 2: o.form = MPTCP_OPT_REMOVE_ADDR; o.u.rm_addr.count = (uint8_t)(1 + rng_next(r) % 8);
            return o;
    case 3: o.form = MPTCP_OPT_PRIO; return o;
    case 4: o.form = MPTCP_OPT_EXPERIMENTAL; o.u.exp.len = (uint8_t)(rng_next(r) % 20); return o;
    case 5: o.form = MPTCP_OPT_FAIL; return o;
    case 6: o.form = (flags & RST) ? MPTCP_OPT_TCPRST : MPTCP_OPT_FASTCLOSE; return o;
    default: o.form = MPTCP_OPT_MPC_ACK; o.u.mpc.version = 1; o.u.mpc.flags = 1; return o;
    }
}

static bool is_crit(mptcp_opt_form f)
{
    return f == MPTCP_OPT_MPC_ACK || f == MPTCP_OPT_JOIN_ACK || f == MPTCP_OPT_FASTCLOSE ||
           f == MPTCP_OPT_FAIL || f == MPTCP_OPT_TCPRST;
}

/* Writes |s| restricted to the plan (plus optionally one more item) and
 * returns the option length, or a negative code. */
static int written_len(const mptcp_seg_spec *s, uint32_t tcp, uint8_t sack, uint32_t mp)
{
    mptcp_opt sel[32];
    size_t n = 0;
    for (size_t i = 0; i < s->n_mptcp; i++)
        if (mp & (1u << i))
            sel[n++] = s->mptcp[i];
    mptcp_seg_spec w = *s;
    w.opts.present = tcp;
    w.opts.sack_count = sack;
    w.mptcp = sel;
    w.n_mptcp = n;
    w.payload_len = 0;
    uint8_t buf[100];
    mptcp_ssize r = mptcp_seg_write(buf, sizeof buf, &w, NULL, NULL);
    return r < 0 ? (int)r : (int)r - 20;
}

START_TEST(plans_write_exactly_and_are_maximal)
{
    uint32_t r = 0x9e3779b9u + (uint32_t)_i;
    int ok = 0;
    for (int iter = 0; iter < 400; iter++) {
        static const uint16_t fl[] = { ACK, ACK, ACK | MPTCP_TH_PSH, RST | ACK, ACK | MPTCP_TH_FIN };
        uint16_t flags = fl[rng_next(&r) % 5];
        mptcp_opt m[6];
        size_t n = rng_next(&r) % 6;
        for (size_t i = 0; i < n; i++)
            m[i] = random_opt(&r, flags);
        uint32_t tcp = rng_next(&r) & (TS | MPTCP_TCPO_SACK);
        mptcp_seg_spec s = spec(flags, tcp, m, n, rng_next(&r) % 2 ? 100 : 0);
        s.opts.sack_count = (uint8_t)(1 + rng_next(&r) % 4);
        for (int k = 0; k < 4; k++)
            s.opts.sack[k] = (mptcp_sack_block){ (uint32_t)k, (uint32_t)k + 1 };
        mptcp_opt_plan p;
        int rc = mptcp_opt_plan_fit(&s, &p);
        if (rc == MPTCP_EINVAL || rc == MPTCP_ENOSPACE)
            continue; /* contradictory or oversized random request */
        ck_assert_int_eq(rc, 0);
        ok++;
        ck_assert_uint_le(p.len, 40);
        ck_assert_int_eq(written_len(&s, p.tcp_fit, p.sack_count, p.mptcp_fit), p.len);
        for (size_t i = 0; i < n; i++)
            if (is_crit(m[i].form))
                ck_assert(p.mptcp_fit & (1u << i));
        /* maximal: each left-out item that the sharing rules allow would not fit */
        bool hs = false, fc = false, fail = false, rst = flags & RST;
        for (size_t i = 0; i < n; i++) {
            hs |= m[i].form == MPTCP_OPT_MPC_ACK;
            fc |= m[i].form == MPTCP_OPT_FASTCLOSE;
            fail |= m[i].form == MPTCP_OPT_FAIL;
        }
        for (size_t i = 0; i < n; i++) {
            if (p.mptcp_fit & (1u << i))
                continue;
            mptcp_opt_form f = m[i].form;
            bool excluded = (hs && f != MPTCP_OPT_REMOVE_ADDR) || rst || fc ||
                            (fail && f != MPTCP_OPT_DSS);
            if (excluded)
                continue;
            if (f == MPTCP_OPT_DSS && !m[i].u.dss.has_map && !s.payload_len &&
                !(flags & MPTCP_TH_FIN))
                continue; /* may be left out beside an IPv6 ADD_ADDR */
            ck_assert_int_eq(written_len(&s, p.tcp_fit, p.sack_count, p.mptcp_fit | (1u << i)),
                             MPTCP_ENOSPACE);
        }
        if ((tcp & MPTCP_TCPO_SACK) && p.sack_count < s.opts.sack_count)
            ck_assert_int_eq(written_len(&s, p.tcp_fit | MPTCP_TCPO_SACK,
                                         (uint8_t)(p.sack_count + 1), p.mptcp_fit),
                             MPTCP_ENOSPACE);
        if ((tcp & TS) && !(p.tcp_fit & TS))
            ck_assert_int_eq(written_len(&s, p.tcp_fit | TS, p.sack_count, p.mptcp_fit),
                             MPTCP_ENOSPACE);
    }
    ck_assert_int_gt(ok, 100);
}
END_TEST

Suite *wire_plan_suite(void)
{
    Suite *s = suite_create("wire_plan");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, syn_gets_everything_tfo_best_effort);
    tcase_add_test(tc, data_segment_ts_then_dss_then_sack_then_addr);
    tcase_add_test(tc, sack_blocks_as_many_as_fit);
    tcase_add_test(tc, pure_ack_ipv6_add_addr_with_port_drops_timestamps_and_dss);
    tcase_add_test(tc, handshake_options_admit_only_remove_addr);
    tcase_add_test(tc, rst_and_fastclose_and_fail_rules);
    tcase_add_test(tc, contradictions_are_einval);
    tcase_add_test(tc, critical_items_that_do_not_fit_are_enospace);
    suite_add_tcase(s, tc);
    tc = tcase_create("property");
    tcase_add_loop_test(tc, plans_write_exactly_and_are_maximal, 0, 8);
    suite_add_tcase(s, tc);
    return s;
}
