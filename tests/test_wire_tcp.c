/*
 * TCP header and TCP option codec (src/wire_tcp.c): every option kind we
 * decode, strict lengths, duplicates, unknown kinds, EOL, walker errors, the
 * conventional write layout against hand-written bytes, and truncation in
 * exactly-sized heap buffers (ASan).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mptcp.h"
#include "wire_tcp.h"

typedef struct seen {
    int n;
    uint8_t kind[20], len[20];
    size_t off[20];
} seen;

static void record(void *ctx, const uint8_t *opt, uint8_t optlen, size_t off)
{
    seen *s = ctx;
    ck_assert_int_lt(s->n, 20);
    s->kind[s->n] = opt[0];
    s->len[s->n] = optlen;
    s->off[s->n] = off;
    s->n++;
}

/* Parses |p| from an exactly-sized heap copy. */
static int parse(const uint8_t *p, size_t n, mptcp_tcp_opts *o, seen *s)
{
    uint8_t *q = malloc(n ? n : 1);
    if (n)
        memcpy(q, p, n);
    memset(o, 0, sizeof *o);
    if (s)
        memset(s, 0, sizeof *s);
    int rc = mptcp_wire_tcp_opts_parse(q, n, o, record, s);
    free(q);
    return rc;
}

START_TEST(parses_syn_options)
{
    /* RFC 9293 §3.2 MSS 1460, RFC 7323 SACK_PERM+TS, NOP WS 7 */
    const uint8_t in[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7 };
    mptcp_tcp_opts o;
    seen s;
    ck_assert_int_eq(parse(in, sizeof in, &o, &s), 0);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS |
                                     MPTCP_TCPO_WSCALE);
    ck_assert_uint_eq(o.bad, 0);
    ck_assert_uint_eq(o.mss, 1460);
    ck_assert_uint_eq(o.ts_val, 1);
    ck_assert_uint_eq(o.ts_ecr, 2);
    ck_assert_uint_eq(o.wscale, 7);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(parses_sack_1_to_4_blocks)
{
    for (int k = 1; k <= 4; k++) {
        uint8_t in[2 + 32] = { 5, (uint8_t)(2 + 8 * k) };
        for (int b = 0; b < k; b++) {
            in[2 + 8 * b + 3] = (uint8_t)(10 * b + 1);
            in[2 + 8 * b + 7] = (uint8_t)(10 * b + 5);
        }
        mptcp_tcp_opts o;
        ck_assert_int_eq(parse(in, (size_t)(2 + 8 * k), &o, NULL), 0);
        ck_assert_uint_eq(o.present, MPTCP_TCPO_SACK);
        ck_assert_uint_eq(o.sack_count, k);
        for (int b = 0; b < k; b++) {
            ck_assert_uint_eq(o.sack[b].left, 10 * b + 1);
            ck_assert_uint_eq(o.sack[b].right, 10 * b + 5);
        }
    }
}
END_TEST

START_TEST(parses_tfo_request_and_cookies)
{
    const uint8_t req[] = { 34, 2 };
    mptcp_tcp_opts o;
    ck_assert_int_eq(parse(req, sizeof req, &o, NULL), 0);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_TFO);
    ck_assert_uint_eq(o.tfo_cookie_len, 0);
    for (int c = MPTCP_TFO_COOKIE_MIN; c <= MPTCP_TFO_COOKIE_MAX; c++) {
        uint8_t in[18] = { 34, (uint8_t)(2 + c) };
        for (int i = 0; i < c; i++)
            in[2 + i] = (uint8_t)(0xa0 + i);
        ck_assert_int_eq(parse(in, (size_t)(2 + c), &o, NULL), 0);
        ck_assert_uint_eq(o.present, MPTCP_TCPO_TFO);
        ck_assert_uint_eq(o.tfo_cookie_len, c);
        ck_assert_mem_eq(o.tfo_cookie, in + 2, (size_t)c);
    }
}
END_TEST

typedef struct badlen {
    uint8_t in[20];
    uint8_t len;
    uint32_t bit;
} badlen;

/* Recognised kinds with a length their RFC does not allow: flagged bad,
 * not present, and the walk goes on to the next option (a NOP + MSS 536). */
static const badlen badlens[] = {
    { { 2, 3, 0 }, 3, MPTCP_TCPO_MSS },
    { { 2, 5, 0, 0, 0 }, 5, MPTCP_TCPO_MSS },
    { { 3, 2 }, 2, MPTCP_TCPO_WSCALE },
    { { 3, 4, 0, 0 }, 4, MPTCP_TCPO_WSCALE },
    { { 4, 3, 0 }, 3, MPTCP_TCPO_SACK_PERM },
    { { 5, 2 }, 2, MPTCP_TCPO_SACK },
    { { 5, 9 }, 9, MPTCP_TCPO_SACK },
    { { 5, 11 }, 11, MPTCP_TCPO_SACK },
    { { 8, 9 }, 9, MPTCP_TCPO_TS },
    { { 8, 11 }, 11, MPTCP_TCPO_TS },
    { { 34, 3 }, 3, MPTCP_TCPO_TFO },
    { { 34, 5 }, 5, MPTCP_TCPO_TFO },
    { { 34, 19 }, 19, MPTCP_TCPO_TFO },
};

START_TEST(bad_length_is_flagged_and_walk_continues)
{
    const badlen *b = &badlens[_i];
    uint8_t in[40];
    memcpy(in, b->in, b->len);
    const uint8_t tail[] = { 1, 2, 4, 0x02, 0x18 };
    uint32_t tail_bit = MPTCP_TCPO_MSS;
    memcpy(in + b->len, tail, sizeof tail);
    mptcp_tcp_opts o;
    ck_assert_int_eq(parse(in, b->len + sizeof tail, &o, NULL), 0);
    ck_assert(o.bad & b->bit);
    ck_assert(!(o.present & b->bit));
    if (b->bit != tail_bit) {
        ck_assert(o.present & tail_bit);
        ck_assert_uint_eq(o.mss, 536);
    }
}
END_TEST

START_TEST(sack_five_blocks_is_bad)
{
    /* 2 + 40 does not fit an option area, but the walker sees it if given */
    uint8_t in[42] = { 5, 42 };
    mptcp_tcp_opts o;
    ck_assert_int_eq(parse(in, sizeof in, &o, NULL), 0);
    ck_assert_uint_eq(o.bad, MPTCP_TCPO_SACK);
}
END_TEST

START_TEST(duplicate_option_is_bad)
{
    const uint8_t in[] = { 2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x18, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
    mptcp_tcp_opts o;
    ck_assert_int_eq(parse(in, sizeof in, &o, NULL), 0);
    ck_assert_uint_eq(o.bad, MPTCP_TCPO_MSS);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_TS);
    /* a third copy keeps it bad */
    const uint8_t three[] = { 3, 3, 1, 3, 3, 2, 3, 3, 4 };
    ck_assert_int_eq(parse(three, sizeof three, &o, NULL), 0);
    ck_assert_uint_eq(o.bad, MPTCP_TCPO_WSCALE);
    ck_assert_uint_eq(o.present, 0);
}
END_TEST

START_TEST(unknown_and_mptcp_kinds_go_to_the_hook)
{
    const uint8_t in[] = { 1, 30, 4, 0x01, 0x01, 254, 4, 0xf9, 0x89, 19, 2, 2, 4, 0x05, 0xb4 };
    mptcp_tcp_opts o;
    seen s;
    ck_assert_int_eq(parse(in, sizeof in, &o, &s), 0);
    ck_assert_int_eq(s.n, 3);
    ck_assert_uint_eq(s.kind[0], 30);
    ck_assert_uint_eq(s.len[0], 4);
    ck_assert_uint_eq(s.off[0], 1);
    ck_assert_uint_eq(s.kind[1], 254);
    ck_assert_uint_eq(s.off[1], 5);
    ck_assert_uint_eq(s.kind[2], 19);
    ck_assert_uint_eq(s.len[2], 2);
    ck_assert_uint_eq(s.off[2], 9);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_MSS);
    /* a NULL hook is allowed */
    ck_assert_int_eq(mptcp_wire_tcp_opts_parse(in, sizeof in, &o, NULL, NULL), 0);
}
END_TEST

START_TEST(eol_ends_the_list)
{
    /* RFC 9293 §3.2: after EOL comes padding, even if it looks like options */
    const uint8_t in[] = { 2, 4, 0x05, 0xb4, 0, 3, 3, 7, 0xff };
    mptcp_tcp_opts o;
    seen s;
    ck_assert_int_eq(parse(in, sizeof in, &o, &s), 0);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_MSS | MPTCP_TCPO_EOL);
    ck_assert_int_eq(s.n, 0);
}
END_TEST

START_TEST(walk_errors)
{
    mptcp_tcp_opts o;
    const uint8_t len0[] = { 1, 99, 0 }, len1[] = { 99, 1, 1, 1 }, past[] = { 2, 4, 5 };
    const uint8_t lone_kind[] = { 1, 1, 1, 2 }, mss_len0[] = { 2, 0, 1, 1 };
    ck_assert_int_eq(parse(len0, sizeof len0, &o, NULL), MPTCP_EBADLEN);
    ck_assert_int_eq(parse(len1, sizeof len1, &o, NULL), MPTCP_EBADLEN);
    ck_assert_int_eq(parse(past, sizeof past, &o, NULL), MPTCP_EBADLEN);
    ck_assert_int_eq(parse(lone_kind, sizeof lone_kind, &o, NULL), MPTCP_EBADLEN);
    ck_assert_int_eq(parse(mss_len0, sizeof mss_len0, &o, NULL), MPTCP_EBADLEN);
    ck_assert_int_eq(parse(NULL, 0, &o, NULL), 0);
    const uint8_t nops[] = { 1, 1, 1, 1 };
    ck_assert_int_eq(parse(nops, sizeof nops, &o, NULL), 0);
    ck_assert_uint_eq(o.present, 0);
}
END_TEST

START_TEST(every_truncation_of_a_full_area_stays_in_bounds)
{
    const uint8_t in[] = { 2, 4, 5, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7,
                           1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 34, 6, 1, 2, 3, 4, 1, 0 };
    mptcp_tcp_opts o;
    ck_assert_int_eq(parse(in, sizeof in, &o, NULL), 0);
    ck_assert_uint_eq(o.present, MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS |
                                     MPTCP_TCPO_WSCALE | MPTCP_TCPO_SACK | MPTCP_TCPO_TFO |
                                     MPTCP_TCPO_EOL);
    for (size_t n = 0; n < sizeof in; n++) {
        int rc = parse(in, n, &o, NULL);
        ck_assert(rc == 0 || rc == MPTCP_EBADLEN);
    }
}
END_TEST

/* ----------------------------------------------------------- writer */

START_TEST(write_layout_matches_conventional_bytes)
{
    mptcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.mss = 1460;
    o.wscale = 7;
    o.ts_val = 0x11223344;
    o.ts_ecr = 0x55667788;
    o.sack[0] = (mptcp_sack_block){ 1, 2 };
    o.sack[1] = (mptcp_sack_block){ 3, 4 };
    o.tfo_cookie_len = 6;
    memcpy(o.tfo_cookie, "\xa1\xa2\xa3\xa4\xa5\xa6", 6);
    uint8_t out[64];

    /* MSS, SACK_PERM+TS, NOP WS (the Linux SYN layout) */
    uint32_t bits = MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS | MPTCP_TCPO_WSCALE;
    const uint8_t syn[] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0x11, 0x22, 0x33, 0x44,
                            0x55, 0x66, 0x77, 0x88, 1, 3, 3, 7 };
    ck_assert_uint_eq(mptcp_wire_tcp_opts_len(&o, bits, 0), sizeof syn);
    ck_assert_uint_eq(mptcp_wire_tcp_opts_write(out, &o, bits, 0), sizeof syn);
    ck_assert_mem_eq(out, syn, sizeof syn);

    /* NOP NOP TS, NOP NOP SACK x2 */
    bits = MPTCP_TCPO_TS | MPTCP_TCPO_SACK;
    const uint8_t ack[] = { 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                            1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4 };
    ck_assert_uint_eq(mptcp_wire_tcp_opts_len(&o, bits, 2), sizeof ack);
    ck_assert_uint_eq(mptcp_wire_tcp_opts_write(out, &o, bits, 2), sizeof ack);
    ck_assert_mem_eq(out, ack, sizeof ack);

    /* NOP NOP SACK_PERM alone; NOPs + TFO cookie 6 (8 bytes) */
    bits = MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TFO;
    const uint8_t sp[] = { 1, 1, 4, 2, 34, 8, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6 };
    ck_assert_uint_eq(mptcp_wire_tcp_opts_len(&o, bits, 0), sizeof sp);
    ck_assert_uint_eq(mptcp_wire_tcp_opts_write(out, &o, bits, 0), sizeof sp);
    ck_assert_mem_eq(out, sp, sizeof sp);

    /* TFO cookie request: NOP NOP 34 2; odd cookie 5: NOP 34 7 c c c c c */
    o.tfo_cookie_len = 0;
    const uint8_t rq[] = { 1, 1, 34, 2 };
    ck_assert_uint_eq(mptcp_wire_tcp_opts_write(out, &o, MPTCP_TCPO_TFO, 0), 4);
    ck_assert_mem_eq(out, rq, 4);
    o.tfo_cookie_len = 5;
    const uint8_t odd[] = { 1, 34, 7, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5 };
    ck_assert_uint_eq(mptcp_wire_tcp_opts_write(out, &o, MPTCP_TCPO_TFO, 0), 8);
    ck_assert_mem_eq(out, odd, 8);
}
END_TEST

START_TEST(write_then_parse_every_combination)
{
    mptcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.mss = 9000;
    o.wscale = 14;
    o.ts_val = 1;
    o.ts_ecr = 0xffffffff;
    for (int i = 0; i < 4; i++)
        o.sack[i] = (mptcp_sack_block){ (uint32_t)i * 100, (uint32_t)i * 100 + 50 };
    o.tfo_cookie_len = 16;
    memset(o.tfo_cookie, 0x7e, 16);
    for (uint32_t bits = 0; bits < 64; bits++)
        for (uint8_t k = 1; k <= 4; k++) {
            uint8_t sk = (bits & MPTCP_TCPO_SACK) ? k : 0;
            if (!sk && k > 1)
                continue;
            ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, bits, sk ? sk : 1), 0);
            size_t n = mptcp_wire_tcp_opts_len(&o, bits, sk);
            ck_assert_uint_eq(n % 4, 0);
            uint8_t buf[128];
            ck_assert_uint_eq(mptcp_wire_tcp_opts_write(buf, &o, bits, sk), n);
            mptcp_tcp_opts p;
            ck_assert_int_eq(parse(buf, n, &p, NULL), 0);
            ck_assert_uint_eq(p.present, bits);
            ck_assert_uint_eq(p.bad, 0);
            if (bits & MPTCP_TCPO_MSS) ck_assert_uint_eq(p.mss, 9000);
            if (bits & MPTCP_TCPO_WSCALE) ck_assert_uint_eq(p.wscale, 14);
            if (bits & MPTCP_TCPO_TS) ck_assert_uint_eq(p.ts_ecr, 0xffffffff);
            if (bits & MPTCP_TCPO_SACK) {
                ck_assert_uint_eq(p.sack_count, sk);
                ck_assert_uint_eq(p.sack[sk - 1].right, (sk - 1) * 100 + 50);
            }
            if (bits & MPTCP_TCPO_TFO) ck_assert_mem_eq(p.tfo_cookie, o.tfo_cookie, 16);
        }
}
END_TEST

START_TEST(check_refuses_bad_values)
{
    mptcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, MPTCP_TCPO_SACK, 0), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, MPTCP_TCPO_SACK, 5), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, MPTCP_TCPO_EOL, 0), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, 1u << 20, 0), MPTCP_EINVAL);
    o.tfo_cookie_len = 3;
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, MPTCP_TCPO_TFO, 0), MPTCP_EINVAL);
    o.tfo_cookie_len = 17;
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, MPTCP_TCPO_TFO, 0), MPTCP_EINVAL);
    o.tfo_cookie_len = 4;
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, MPTCP_TCPO_TFO, 0), 0);
    /* the cookie length only matters when TFO is written */
    o.tfo_cookie_len = 17;
    ck_assert_int_eq(mptcp_wire_tcp_opts_check(&o, MPTCP_TCPO_MSS, 0), 0);
}
END_TEST

START_TEST(header_roundtrip_keeps_ae_and_drops_reserved)
{
    /* RFC 9293 §3.1 Figure 1: doff 5, reserved bits set, AE + CWR|ECE|SYN */
    const uint8_t in[20] = { 0x12, 0x34, 0x56, 0x78, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02,
                             0x03, 0x04, 0x5f, 0xc2, 0xff, 0xff, 0xab, 0xcd, 0x00, 0x07 };
    mptcp_tcp_hdr h;
    mptcp_wire_tcp_hdr_parse(in, &h);
    ck_assert_uint_eq(h.sport, 0x1234);
    ck_assert_uint_eq(h.dport, 0x5678);
    ck_assert_uint_eq(h.seq, 0xdeadbeef);
    ck_assert_uint_eq(h.ack, 0x01020304);
    ck_assert_uint_eq(h.doff, 20);
    ck_assert_uint_eq(h.flags, MPTCP_TH_AE | MPTCP_TH_CWR | MPTCP_TH_ECE | MPTCP_TH_SYN);
    ck_assert_uint_eq(h.window, 0xffff);
    ck_assert_uint_eq(h.csum, 0xabcd);
    ck_assert_uint_eq(h.urg, 7);
    uint8_t out[20];
    mptcp_wire_tcp_hdr_write(out, &h, 60);
    ck_assert_uint_eq(out[12], 0xf1); /* doff 15, reserved zero, AE */
    out[12] = 0x5f;
    ck_assert_mem_eq(out, in, 20);
}
END_TEST

Suite *wire_tcp_suite(void)
{
    Suite *s = suite_create("wire_tcp");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parses_syn_options);
    tcase_add_test(tc, parses_sack_1_to_4_blocks);
    tcase_add_test(tc, parses_tfo_request_and_cookies);
    tcase_add_loop_test(tc, bad_length_is_flagged_and_walk_continues, 0,
                        (int)(sizeof badlens / sizeof badlens[0]));
    tcase_add_test(tc, sack_five_blocks_is_bad);
    tcase_add_test(tc, duplicate_option_is_bad);
    tcase_add_test(tc, unknown_and_mptcp_kinds_go_to_the_hook);
    tcase_add_test(tc, eol_ends_the_list);
    tcase_add_test(tc, walk_errors);
    tcase_add_test(tc, every_truncation_of_a_full_area_stays_in_bounds);
    suite_add_tcase(s, tc);
    tc = tcase_create("write");
    tcase_add_test(tc, write_layout_matches_conventional_bytes);
    tcase_add_test(tc, write_then_parse_every_combination);
    tcase_add_test(tc, check_refuses_bad_values);
    tcase_add_test(tc, header_roundtrip_keeps_ae_and_drops_reserved);
    suite_add_tcase(s, tc);
    return s;
}
