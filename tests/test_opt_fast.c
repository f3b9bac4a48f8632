/*
 * The receive and send fast paths for the options of the common segment
 * (NOP NOP timestamps, then one DSS): each must give exactly what the
 * general code gives for the same bytes. The TCP option walk
 * (mptcp_tcp_parse_opts) against the same options in an order its fast
 * path does not take; the DSS parse (mptcp_wire_dss_parse) against
 * mptcp_opt_parse for every flag byte and length; the in-place DSS writers
 * against mptcp_opt_write. Inputs sit in exactly-sized heap buffers so that
 * ASan catches a read past the given length.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mptcp.h"
#include "tcp.h"
#include "wire_mptcp.h"

static uint8_t *exact_copy(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(q);
    if (n)
        memcpy(q, p, n);
    return q;
}

static void parse_exact(const uint8_t *p, size_t n, int *rc, mptcp_tcp_rx_opts *o)
{
    uint8_t *q = exact_copy(p, n);
    memset(o, 0xa5, sizeof *o);
    *rc = mptcp_tcp_parse_opts(q, n, o);
    free(q);
}

static void assert_rx_opts_eq(int rca, const mptcp_tcp_rx_opts *a, int rcb,
                              const mptcp_tcp_rx_opts *b)
{
    ck_assert_int_eq(rca, rcb);
    if (rca < 0)
        return;
    ck_assert_uint_eq(a->present, b->present);
    ck_assert_uint_eq(a->bad, b->bad);
    ck_assert_uint_eq(a->sack_count, b->sack_count);
    if (a->present & MPTCP_TCPO_TS) {
        ck_assert_uint_eq(a->ts_val, b->ts_val);
        ck_assert_uint_eq(a->ts_ecr, b->ts_ecr);
    }
    if (a->present & MPTCP_TCPO_MSS)
        ck_assert_uint_eq(a->mss, b->mss);
    if (a->present & MPTCP_TCPO_WSCALE)
        ck_assert_uint_eq(a->wscale, b->wscale);
    for (uint8_t k = 0; k < a->sack_count; k++) {
        ck_assert_uint_eq(a->sack[k].left, b->sack[k].left);
        ck_assert_uint_eq(a->sack[k].right, b->sack[k].right);
    }
}

/* NOP NOP TS, then an option of kind |kind| and length byte |olen| whose
 * body is filled with |fill|, then |tail| bytes of |pad| up to |len|: the
 * walk's fast path takes the first layout; the same options with the
 * timestamps first and the two NOPs after them take the walk. Both must
 * agree, including the errors (a length byte past the end, 0 or 1). */
START_TEST(tcp_walk_fast_path_agrees_with_the_walk)
{
    static const uint8_t kinds[] = {MPTCP_TCPOPT_MPTCP, 2, 8, 0x1f};
    static const uint8_t pads[] = {1, 0, 2, 8, 30, 0x55};
    static const uint8_t fills[] = {1, 0, 30, 0xff};
    size_t cases = 0;
    for (size_t ki = 0; ki < sizeof kinds; ki++)
        for (size_t len = 12; len <= 40; len++)
            for (unsigned olen = 0; olen <= 30; olen++)
                for (size_t pi = 0; pi < sizeof pads; pi++)
                    for (size_t fi = 0; fi < sizeof fills; fi++) {
                        uint8_t a[40], b[40];
                        a[0] = 1;
                        a[1] = 1;
                        a[2] = 8;
                        a[3] = 10;
                        for (int k = 0; k < 8; k++)
                            a[4 + k] = (uint8_t)(0x11 * (k + 1));
                        size_t i = 12;
                        if (len > 12)
                            a[i++] = kinds[ki];
                        if (len > 13)
                            a[i++] = (uint8_t)olen;
                        size_t body_end = 12 + (olen >= 2 ? olen : 2);
                        for (; i < len && i < body_end; i++)
                            a[i] = fills[fi];
                        /* the first padding byte may differ: NOP then pad */
                        for (; i < len; i++)
                            a[i] = i == body_end ? 1 : pads[pi];
                        memcpy(b, a + 2, 10); /* TS first ... */
                        b[10] = 1;            /* ... then the two NOPs */
                        b[11] = 1;
                        memcpy(b + 12, a + 12, len - 12);
                        int rca, rcb;
                        mptcp_tcp_rx_opts oa, ob;
                        parse_exact(a, len, &rca, &oa);
                        parse_exact(b, len, &rcb, &ob);
                        assert_rx_opts_eq(rca, &oa, rcb, &ob);
                        cases++;
                    }
    ck_assert_uint_gt(cases, 10000);
}
END_TEST

/* What the fast path must read: timestamps and nothing else, for the
 * DATA_ACK-only DSS (20 bytes) and the mapping DSS with its two NOPs. */
START_TEST(tcp_walk_reads_timestamps_beside_one_dss)
{
    static const uint8_t ack_only[20] = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9,
                                         30, 8, 0x20, MPTCP_DSS_A, 1, 2, 3, 4};
    static const uint8_t with_map[36] = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9, 30, 22, 0x20,
                                         MPTCP_DSS_A | MPTCP_DSS_M | MPTCP_DSS_m,
                                         1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1,
                                         5, 0xa0, 1, 1};
    int rc;
    mptcp_tcp_rx_opts o;
    parse_exact(ack_only, sizeof ack_only, &rc, &o);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_TS);
    ck_assert_uint_eq(o.bad, 0);
    ck_assert_uint_eq(o.ts_val, 7);
    ck_assert_uint_eq(o.ts_ecr, 9);
    parse_exact(with_map, sizeof with_map, &rc, &o);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_TS);
    ck_assert_uint_eq(o.ts_val, 7);
    /* A DSS whose length byte runs past the options: malformed, as in the
     * walk, not taken as timestamps alone. */
    uint8_t bad[20];
    memcpy(bad, ack_only, sizeof bad);
    bad[13] = 9;
    parse_exact(bad, sizeof bad, &rc, &o);
    ck_assert_int_eq(rc, MPTCP_EBADLEN);
}
END_TEST

static void assert_dss_eq(const mptcp_opt_dss *a, const mptcp_opt_dss *b)
{
    ck_assert_int_eq(a->has_ack, b->has_ack);
    ck_assert_int_eq(a->ack64, b->ack64);
    ck_assert_uint_eq(a->data_ack, b->data_ack);
    ck_assert_int_eq(a->has_map, b->has_map);
    ck_assert_int_eq(a->dsn64, b->dsn64);
    ck_assert_uint_eq(a->dsn, b->dsn);
    ck_assert_uint_eq(a->ssn, b->ssn);
    ck_assert_uint_eq(a->data_len, b->data_len);
    ck_assert_int_eq(a->has_csum, b->has_csum);
    ck_assert_uint_eq(a->csum, b->csum);
    ck_assert_int_eq(a->fin, b->fin);
}

/* Every flag byte, every length byte 4..40 and two fillings of the body
 * (a zero one makes a DATA_FIN on a length-0 mapping): the same verdict
 * and the same fields as the codec's parse. */
START_TEST(dss_parse_agrees_with_opt_parse)
{
    size_t ok = 0;
    for (unsigned f = 0; f < 256; f++)
        for (unsigned n = 4; n <= MPTCP_TCP_OPT_SPACE; n++)
            for (int fill = 0; fill < 2; fill++) {
                uint8_t raw[MPTCP_TCP_OPT_SPACE];
                raw[0] = MPTCP_TCPOPT_MPTCP;
                raw[1] = (uint8_t)n;
                raw[2] = (uint8_t)(MPTCP_SUB_DSS << 4);
                raw[3] = (uint8_t)f;
                for (unsigned k = 4; k < n; k++)
                    raw[k] = fill ? (uint8_t)(k * 37 + 1) : 0;
                uint8_t *p = exact_copy(raw, n);
                mptcp_opt o;
                mptcp_opt_dss d;
                mptcp_ssize rc = mptcp_opt_parse(p, n, &o);
                int rd = mptcp_wire_dss_parse(p, (uint8_t)n, &d);
                free(p);
                if (rc < 0) {
                    ck_assert_int_eq(rd, (int)rc);
                    continue;
                }
                ck_assert_int_eq(rc, (mptcp_ssize)n);
                ck_assert_int_eq(rd, 0);
                ck_assert_int_eq(o.form, MPTCP_OPT_DSS);
                assert_dss_eq(&d, &o.u.dss);
                ok++;
            }
    ck_assert_uint_gt(ok, 30); /* every valid form, both fillings */
}
END_TEST

/* The in-place writers put the bytes mptcp_opt_write puts for the same
 * fields, refuse what it refuses (too small, a DATA_FIN on length 0) and
 * write nothing then. */
START_TEST(dss_writers_agree_with_opt_write)
{
    static const uint32_t acks[] = {0, 1, 0x80000000u, UINT32_MAX};
    static const uint64_t dsns[] = {0, 1, 0x123456789abcdef0ull, UINT64_MAX};
    static const uint16_t lens[] = {0, 1, 1440, 65535};
    for (size_t ai = 0; ai < 4; ai++) {
        mptcp_opt o;
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_DSS;
        o.u.dss.has_ack = true;
        o.u.dss.data_ack = acks[ai];
        for (size_t cap = 0; cap <= 12; cap++) {
            uint8_t want[12], got[12];
            memset(want, 0xee, sizeof want);
            memset(got, 0xee, sizeof got);
            mptcp_ssize w = mptcp_opt_write(want, cap, &o);
            size_t g = mptcp_wire_dss_ack_write(got, cap, acks[ai]);
            ck_assert_uint_eq(g, w > 0 ? (size_t)w : 0);
            ck_assert_mem_eq(got, want, sizeof got);
        }
        for (size_t di = 0; di < 4; di++)
            for (size_t li = 0; li < 4; li++)
                for (int bits = 0; bits < 4; bits++) {
                    bool fin = bits & 1, csum = (bits & 2) != 0;
                    mptcp_opt m = o;
                    m.u.dss.has_map = true;
                    m.u.dss.dsn64 = true;
                    m.u.dss.dsn = dsns[di];
                    m.u.dss.ssn = (uint32_t)(dsns[di] >> 7);
                    m.u.dss.data_len = lens[li];
                    m.u.dss.fin = fin;
                    m.u.dss.has_csum = csum;
                    m.u.dss.csum = csum ? (uint16_t)(0xbeef + li) : 0;
                    for (size_t cap = 20; cap <= 28; cap++) {
                        uint8_t want[28], got[28];
                        memset(want, 0xee, sizeof want);
                        memset(got, 0xee, sizeof got);
                        mptcp_ssize w = mptcp_opt_write(want, cap, &m);
                        size_t g = mptcp_wire_dss_map_write(got, cap, acks[ai], m.u.dss.dsn,
                                                            m.u.dss.ssn, m.u.dss.data_len, fin,
                                                            csum, m.u.dss.csum);
                        ck_assert_uint_eq(g, w > 0 ? (size_t)w : 0);
                        ck_assert_mem_eq(got, want, sizeof got);
                    }
                }
    }
}
END_TEST

Suite *opt_fast_suite(void)
{
    Suite *s = suite_create("opt_fast");
    TCase *tc = tcase_create("rx");
    tcase_add_test(tc, tcp_walk_fast_path_agrees_with_the_walk);
    tcase_add_test(tc, tcp_walk_reads_timestamps_beside_one_dss);
    tcase_add_test(tc, dss_parse_agrees_with_opt_parse);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("tx");
    tcase_add_test(tc, dss_writers_agree_with_opt_write);
    suite_add_tcase(s, tc);
    return s;
}
