/*
 * Whole segments (src/wire_seg.c): parse hand-written Linux-style segments,
 * write them back byte for byte, write -> parse round trips, the TCP
 * checksum, option space overflow, data offset and option length errors,
 * per-option errors that do not fail the parse, and the MPTCP form vs TCP
 * flags cross-check (MPTCP_EBADFORM).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mptcp.h"
#include "vectors/wire_golden.h"

static int parse_exact(const uint8_t *p, size_t n, mptcp_seg *s)
{
    uint8_t *q = malloc(n ? n : 1);
    if (n)
        memcpy(q, p, n);
    int rc = mptcp_seg_parse(q, n, s);
    free(q);
    return rc;
}

START_TEST(parses_linux_style_syn)
{
    mptcp_seg s;
    ck_assert_int_eq(parse_exact(g_seg_syn, sizeof g_seg_syn, &s), 0);
    ck_assert_uint_eq(s.hdr.sport, 40000);
    ck_assert_uint_eq(s.hdr.dport, 80);
    ck_assert_uint_eq(s.hdr.seq, 0x01020304);
    ck_assert_uint_eq(s.hdr.flags, MPTCP_TH_SYN);
    ck_assert_uint_eq(s.hdr.doff, 44);
    ck_assert_uint_eq(s.hdr.window, 64240);
    ck_assert_uint_eq(s.opts.present, MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS |
                                          MPTCP_TCPO_WSCALE);
    ck_assert_uint_eq(s.opts.mss, 1460);
    ck_assert_uint_eq(s.opts.wscale, 7);
    ck_assert_uint_eq(s.opts.ts_val, 0x11223344);
    ck_assert_uint_eq(s.n_mptcp, 1);
    ck_assert_int_eq(s.mptcp[0].err, 0);
    ck_assert_uint_eq(s.mptcp[0].offset, 40);
    ck_assert_uint_eq(s.mptcp[0].len, 4);
    ck_assert_uint_eq(s.mptcp[0].subtype, MPTCP_SUB_CAPABLE);
    ck_assert_int_eq(s.mptcp[0].opt.form, MPTCP_OPT_MPC_SYN);
    ck_assert_uint_eq(s.mptcp[0].opt.u.mpc.flags, MPTCP_MPC_H);
    ck_assert_uint_eq(s.n_unknown, 0);
    ck_assert_uint_eq(s.payload_off, 44);
    ck_assert_uint_eq(s.payload_len, 0);
}
END_TEST

START_TEST(parses_linux_style_data_segment)
{
    mptcp_seg s;
    ck_assert_int_eq(parse_exact(g_seg_data, sizeof g_seg_data, &s), 0);
    ck_assert_uint_eq(s.hdr.flags, MPTCP_TH_ACK | MPTCP_TH_PSH);
    ck_assert_uint_eq(s.hdr.doff, 60);
    ck_assert_uint_eq(s.opts.present, MPTCP_TCPO_TS);
    ck_assert_uint_eq(s.opts.ts_val, 5);
    ck_assert_uint_eq(s.opts.ts_ecr, 6);
    ck_assert_uint_eq(s.n_mptcp, 1);
    ck_assert_int_eq(s.mptcp[0].err, 0);
    const mptcp_opt_dss *d = &s.mptcp[0].opt.u.dss;
    ck_assert(d->has_ack && d->ack64 && d->has_map && d->dsn64 && !d->has_csum && !d->fin);
    ck_assert_uint_eq(d->data_ack, 0x100);
    ck_assert_uint_eq(d->dsn, 0x200);
    ck_assert_uint_eq(d->ssn, 1);
    ck_assert_uint_eq(d->data_len, 4);
    ck_assert_uint_eq(s.payload_off, 60);
    ck_assert_uint_eq(s.payload_len, 4);
    ck_assert_mem_eq(g_seg_data + s.payload_off, "abcd", 4);
}
END_TEST

/* The spec that g_seg_syn / g_seg_data were written from. */
static mptcp_seg_spec syn_spec(mptcp_opt *mpc)
{
    mptcp_seg_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.hdr = (mptcp_tcp_hdr){ .sport = 40000, .dport = 80, .seq = 0x01020304,
                              .flags = MPTCP_TH_SYN, .window = 64240 };
    sp.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS | MPTCP_TCPO_WSCALE;
    sp.opts.mss = 1460;
    sp.opts.wscale = 7;
    sp.opts.ts_val = 0x11223344;
    *mpc = (mptcp_opt){ .form = MPTCP_OPT_MPC_SYN, .u.mpc = { .version = 1, .flags = 0x01 } };
    sp.mptcp = mpc;
    sp.n_mptcp = 1;
    return sp;
}

static mptcp_seg_spec data_spec(mptcp_opt *dss)
{
    mptcp_seg_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.hdr = (mptcp_tcp_hdr){ .sport = 40000, .dport = 80, .seq = 0x1000, .ack = 0x2000,
                              .flags = MPTCP_TH_ACK | MPTCP_TH_PSH, .window = 502 };
    sp.opts.present = MPTCP_TCPO_TS;
    sp.opts.ts_val = 5;
    sp.opts.ts_ecr = 6;
    *dss = (mptcp_opt){ .form = MPTCP_OPT_DSS,
                        .u.dss = { .has_ack = 1, .ack64 = 1, .data_ack = 0x100, .has_map = 1,
                                   .dsn64 = 1, .dsn = 0x200, .ssn = 1, .data_len = 4 } };
    sp.mptcp = dss;
    sp.n_mptcp = 1;
    sp.payload = (const uint8_t *)"abcd";
    sp.payload_len = 4;
    return sp;
}

START_TEST(writes_linux_style_segments_byte_for_byte)
{
    mptcp_opt o;
    uint8_t buf[128];
    mptcp_seg_spec sp = syn_spec(&o);
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), sizeof g_seg_syn);
    ck_assert_mem_eq(buf, g_seg_syn, sizeof g_seg_syn);
    sp = data_spec(&o);
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), sizeof g_seg_data);
    ck_assert_mem_eq(buf, g_seg_data, sizeof g_seg_data);
}
END_TEST

START_TEST(write_parse_write_is_identical)
{
    mptcp_opt m[4];
    memset(m, 0, sizeof m);
    m[0] = (mptcp_opt){ .form = MPTCP_OPT_DSS, .u.dss = { .has_ack = 1, .data_ack = 7 } };
    m[1] = (mptcp_opt){ .form = MPTCP_OPT_PRIO, .u.prio = { .backup = 1 } };
    m[2] = (mptcp_opt){ .form = MPTCP_OPT_REMOVE_ADDR, .u.rm_addr = { 2, { 3, 4 } } };
    m[3] = (mptcp_opt){ .form = MPTCP_OPT_EXPERIMENTAL, .u.exp = { 1, 1, { 9 } } };
    mptcp_seg_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.hdr = (mptcp_tcp_hdr){ .sport = 1, .dport = 2, .seq = 3, .ack = 4,
                              .flags = MPTCP_TH_ACK | MPTCP_TH_AE, .window = 5, .urg = 6 };
    sp.opts.present = MPTCP_TCPO_SACK;
    sp.opts.sack_count = 1;
    sp.opts.sack[0] = (mptcp_sack_block){ 100, 200 };
    sp.mptcp = m;
    sp.n_mptcp = 4;
    uint8_t a[80], b[80];
    mptcp_ssize n = mptcp_seg_write(a, sizeof a, &sp, NULL, NULL);
    /* 12 SACK + (8 + 3 + 5 + 4 = 20) MPTCP = 32 option bytes */
    ck_assert_int_eq(n, 20 + 32);
    mptcp_seg s;
    ck_assert_int_eq(parse_exact(a, (size_t)n, &s), 0);
    ck_assert_uint_eq(s.hdr.flags, MPTCP_TH_ACK | MPTCP_TH_AE);
    ck_assert_uint_eq(s.n_mptcp, 4);
    mptcp_opt back[4];
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(s.mptcp[i].err, 0);
        ck_assert_int_eq(s.mptcp[i].opt.form, m[i].form);
        back[i] = s.mptcp[i].opt;
    }
    mptcp_seg_spec sp2;
    memset(&sp2, 0, sizeof sp2);
    sp2.hdr = s.hdr;
    sp2.opts = s.opts;
    sp2.mptcp = back;
    sp2.n_mptcp = s.n_mptcp;
    ck_assert_int_eq(mptcp_seg_write(b, sizeof b, &sp2, NULL, NULL), n);
    ck_assert_mem_eq(a, b, (size_t)n);
}
END_TEST

START_TEST(checksum_filled_when_addresses_given)
{
    mptcp_addr s4 = { .family = MPTCP_AF_INET, .ip = { 10, 0, 0, 1 } };
    mptcp_addr d4 = { .family = MPTCP_AF_INET, .ip = { 10, 0, 0, 2 } };
    mptcp_addr s6 = { .family = MPTCP_AF_INET6, .ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
    mptcp_addr d6 = { .family = MPTCP_AF_INET6, .ip = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
    mptcp_opt o;
    mptcp_seg_spec sp = data_spec(&o);
    uint8_t buf[128];
    mptcp_ssize n = mptcp_seg_write(buf, sizeof buf, &sp, &s4, &d4);
    ck_assert_int_eq(n, sizeof g_seg_data);
    ck_assert(mptcp_tcp_csum_ok(buf, (size_t)n, &s4, &d4));
    ck_assert(buf[16] | buf[17]);
    buf[n - 1] ^= 1;
    ck_assert(!mptcp_tcp_csum_ok(buf, (size_t)n, &s4, &d4));
    n = mptcp_seg_write(buf, sizeof buf, &sp, &s6, &d6);
    ck_assert(mptcp_tcp_csum_ok(buf, (size_t)n, &s6, &d6));
    /* everything but the checksum is the unchecksummed segment */
    buf[16] = buf[17] = 0;
    ck_assert_mem_eq(buf, g_seg_data, sizeof g_seg_data);
}
END_TEST

START_TEST(bad_arguments_are_einval_and_write_nothing)
{
    mptcp_addr s4 = { .family = MPTCP_AF_INET };
    mptcp_addr d6 = { .family = MPTCP_AF_INET6 };
    mptcp_addr bad = { .family = 5 };
    mptcp_opt o;
    mptcp_seg_spec sp = data_spec(&o);
    uint8_t buf[128];
    memset(buf, 0xee, sizeof buf);
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, &s4, NULL), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, &s4), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, &s4, &d6), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, &bad, &bad), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_seg_write(NULL, sizeof buf, &sp, NULL, NULL), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, NULL, NULL, NULL), MPTCP_EINVAL);
    mptcp_seg_spec x = sp;
    x.hdr.flags = 0x200;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &x, NULL, NULL), MPTCP_EINVAL);
    x = sp;
    x.payload = NULL;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &x, NULL, NULL), MPTCP_EINVAL);
    x = sp;
    x.mptcp = NULL;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &x, NULL, NULL), MPTCP_EINVAL);
    x = sp;
    x.opts.present |= MPTCP_TCPO_SACK; /* sack_count 0 */
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &x, NULL, NULL), MPTCP_EINVAL);
    mptcp_opt inval = { .form = MPTCP_OPT_DSS, .u.dss = { .ack64 = 1 } };
    x = sp;
    x.mptcp = &inval;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &x, NULL, NULL), MPTCP_EINVAL);
    for (size_t k = 0; k < sizeof buf; k++)
        ck_assert_uint_eq(buf[k], 0xee);
}
END_TEST

START_TEST(option_overflow_is_enospace_and_exact_fit_works)
{
    mptcp_opt m[2];
    memset(m, 0, sizeof m);
    m[0] = (mptcp_opt){ .form = MPTCP_OPT_MPC_ACK, .u.mpc = { .version = 1, .flags = 1 } };
    m[1] = (mptcp_opt){ .form = MPTCP_OPT_JOIN_SYN };
    mptcp_seg_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.hdr.flags = MPTCP_TH_ACK;
    sp.mptcp = m;
    sp.n_mptcp = 2; /* 20 + 12 = 32 */
    sp.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_WSCALE; /* 8: exactly 40 */
    uint8_t buf[80];
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), 60);
    ck_assert_uint_eq(buf[12] >> 4, 15);
    memset(buf, 0xee, sizeof buf);
    sp.opts.present |= MPTCP_TCPO_SACK_PERM; /* 44 */
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), MPTCP_ENOSPACE);
    /* one byte over: 12 TCP + 20 + 9 = 41 (padded 44); with 8 data bytes 40 fits */
    mptcp_opt e = { .form = MPTCP_OPT_EXPERIMENTAL, .u.exp = { .len = 5 } };
    m[1] = e;
    sp.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_WSCALE | MPTCP_TCPO_SACK_PERM;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), 60);
    memset(buf, 0xee, sizeof buf);
    e.u.exp.len = 6;
    m[1] = e;
    sp.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_WSCALE | MPTCP_TCPO_SACK_PERM;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), MPTCP_ENOSPACE);
    for (size_t k = 0; k < sizeof buf; k++)
        ck_assert_uint_eq(buf[k], 0xee);
    /* 33 options of 3 bytes never overflow the sum */
    mptcp_opt many[33];
    for (int i = 0; i < 33; i++)
        many[i] = (mptcp_opt){ .form = MPTCP_OPT_PRIO };
    sp.opts.present = 0;
    sp.mptcp = many;
    sp.n_mptcp = 33;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), MPTCP_ENOSPACE);
}
END_TEST

START_TEST(short_buffer_is_enobuf_and_writes_nothing)
{
    mptcp_opt o;
    mptcp_seg_spec sp = data_spec(&o);
    uint8_t buf[80];
    for (size_t cap = 0; cap < sizeof g_seg_data; cap++) {
        memset(buf, 0xee, sizeof buf);
        ck_assert_int_eq(mptcp_seg_write(buf, cap, &sp, NULL, NULL), MPTCP_ENOBUF);
        for (size_t k = 0; k < sizeof buf; k++)
            ck_assert_uint_eq(buf[k], 0xee);
    }
}
END_TEST

START_TEST(payload_may_already_sit_in_place)
{
    uint8_t buf[128];
    memcpy(buf + 60, "abcd", 4);
    mptcp_opt o;
    mptcp_seg_spec sp = data_spec(&o);
    sp.payload = buf + 60;
    ck_assert_int_eq(mptcp_seg_write(buf, sizeof buf, &sp, NULL, NULL), sizeof g_seg_data);
    ck_assert_mem_eq(buf, g_seg_data, sizeof g_seg_data);
}
END_TEST

START_TEST(header_errors)
{
    mptcp_seg s;
    uint8_t seg[64];
    memcpy(seg, g_seg_syn, sizeof g_seg_syn);
    ck_assert_int_eq(parse_exact(seg, 19, &s), MPTCP_ETRUNCATED);
    ck_assert_int_eq(parse_exact(seg, 0, &s), MPTCP_ETRUNCATED);
    ck_assert_int_eq(mptcp_seg_parse(NULL, 20, &s), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_seg_parse(seg, 20, NULL), MPTCP_EINVAL);
    for (int d = 0; d < 5; d++) { /* data offset below 5 words */
        seg[12] = (uint8_t)(d << 4);
        ck_assert_int_eq(parse_exact(seg, sizeof g_seg_syn, &s), MPTCP_EBADDOFF);
    }
    seg[12] = 0xc0; /* 48 > 44 bytes given */
    ck_assert_int_eq(parse_exact(seg, sizeof g_seg_syn, &s), MPTCP_EBADDOFF);
    /* every cut of the SYN inside its header */
    for (size_t n = 20; n < sizeof g_seg_syn; n++)
        ck_assert_int_eq(parse_exact(g_seg_syn, n, &s), MPTCP_EBADDOFF);
    /* and of the data segment inside its payload: parses, shorter payload */
    for (size_t n = 60; n <= sizeof g_seg_data; n++) {
        ck_assert_int_eq(parse_exact(g_seg_data, n, &s), 0);
        ck_assert_uint_eq(s.payload_len, n - 60);
    }
}
END_TEST

START_TEST(option_running_past_the_header_is_ebadlen)
{
    mptcp_seg s;
    /* doff 6: four option bytes; MSS claims 4 but starts at byte 2 */
    uint8_t seg[24 + 8] = { 0, 1, 0, 2, [12] = 0x60, [13] = 0x10 };
    seg[20] = 1;
    seg[21] = 1;
    seg[22] = 2;
    seg[23] = 4;
    /* the payload would hold the rest, but options end at the data offset */
    ck_assert_int_eq(parse_exact(seg, sizeof seg, &s), MPTCP_EBADLEN);
    seg[22] = 30;
    seg[23] = 0; /* kind 30 with length 0 */
    ck_assert_int_eq(parse_exact(seg, sizeof seg, &s), MPTCP_EBADLEN);
    seg[22] = 1;
    seg[23] = 30; /* kind 30 as the last byte: no length byte */
    ck_assert_int_eq(parse_exact(seg, sizeof seg, &s), MPTCP_EBADLEN);
}
END_TEST

START_TEST(per_option_errors_do_not_fail_the_parse)
{
    /* MSS with length 3 (bad) + NOP, MPC length 13 (bad), MPTCP kind 30
     * length 2 (no subtype), DSS ack32 (good), unknown kind 253 length 2. */
    uint8_t seg[20 + 40] = { 0, 1, 0, 2, [12] = 0xf0, [13] = 0x10 };
    uint8_t *o = seg + 20;
    const uint8_t opts[] = { 2, 3, 0, 1, 30, 13, 0x01, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                             30, 2, 30, 8, 0x20, 0x01, 0, 0, 0, 9, 253, 2, 1, 1, 1, 1,
                             1, 1, 1, 1, 1, 1, 1 };
    ck_assert_uint_eq(sizeof opts, 40);
    memcpy(o, opts, sizeof opts);
    mptcp_seg s;
    ck_assert_int_eq(parse_exact(seg, sizeof seg, &s), 0);
    ck_assert_uint_eq(s.opts.bad, MPTCP_TCPO_MSS);
    ck_assert_uint_eq(s.opts.present, 0);
    ck_assert_uint_eq(s.n_mptcp, 3);
    ck_assert_int_eq(s.mptcp[0].err, MPTCP_EBADLEN);
    ck_assert_uint_eq(s.mptcp[0].subtype, MPTCP_SUB_CAPABLE);
    ck_assert_uint_eq(s.mptcp[0].offset, 24);
    ck_assert_int_eq(s.mptcp[1].err, MPTCP_EBADLEN);
    ck_assert_uint_eq(s.mptcp[1].subtype, 0xff);
    ck_assert_int_eq(s.mptcp[2].err, 0);
    ck_assert_uint_eq(s.mptcp[2].opt.u.dss.data_ack, 9);
    ck_assert_uint_eq(s.n_unknown, 1);
    ck_assert_uint_eq(s.unknown[0].kind, 253);
    ck_assert_uint_eq(s.unknown[0].len, 2);
    ck_assert_uint_eq(s.unknown[0].offset, 47);
}
END_TEST

START_TEST(twenty_two_byte_mptcp_options_are_all_recorded)
{
    uint8_t seg[60] = { [12] = 0xf0, [13] = 0x10 };
    for (int i = 0; i < 20; i++) {
        seg[20 + 2 * i] = 30;
        seg[21 + 2 * i] = 2;
    }
    mptcp_seg s;
    ck_assert_int_eq(parse_exact(seg, sizeof seg, &s), 0);
    ck_assert_uint_eq(s.n_mptcp, 20);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(s.mptcp[i].err, MPTCP_EBADLEN);
        ck_assert_uint_eq(s.mptcp[i].offset, 20 + 2 * i);
    }
    for (int i = 0; i < 20; i++)
        seg[20 + 2 * i] = (uint8_t)(200 + i);
    ck_assert_int_eq(parse_exact(seg, sizeof seg, &s), 0);
    ck_assert_uint_eq(s.n_unknown, 20);
    ck_assert_uint_eq(s.unknown[19].kind, 219);
}
END_TEST

/* ---------------------------------------------- form vs flags (EBADFORM) */

typedef struct formcase {
    const uint8_t *opt;
    size_t opt_len;
    uint16_t flags;
    size_t payload;
    int err;
} formcase;

#define SYN MPTCP_TH_SYN
#define ACK MPTCP_TH_ACK
#define RST MPTCP_TH_RST
#define FC(o, f, p, e) { o, sizeof(o), f, p, e }
static const formcase formcases[] = {
    FC(g_mpc_syn, SYN, 0, 0),
    FC(g_mpc_syn, SYN | ACK, 0, MPTCP_EBADFORM),
    FC(g_mpc_syn, ACK, 0, MPTCP_EBADFORM),
    FC(g_mpc_synack, SYN | ACK, 0, 0),
    FC(g_mpc_synack, SYN, 0, MPTCP_EBADFORM),
    FC(g_mpc_synack, ACK, 0, MPTCP_EBADFORM),
    FC(g_mpc_ack, ACK, 0, 0),
    FC(g_mpc_ack, ACK, 10, 0),
    FC(g_mpc_ack, SYN | ACK, 0, MPTCP_EBADFORM),
    FC(g_mpc_ack, 0, 0, MPTCP_EBADFORM),
    FC(g_mpc_data, ACK, 100, 0),
    FC(g_mpc_data_csum, ACK | MPTCP_TH_PSH, 1, 0),
    FC(g_mpc_data, ACK, 0, MPTCP_EBADFORM),
    FC(g_mpc_data, SYN | ACK, 100, MPTCP_EBADFORM),
    FC(g_mpc_v0_syn, SYN, 0, 0),
    FC(g_mpc_v0_syn, SYN | ACK, 0, 0),
    FC(g_mpc_v0_syn, ACK, 0, MPTCP_EBADFORM),
    FC(g_mpc_v0_ack, ACK, 0, 0),
    FC(g_mpc_v0_ack, SYN | ACK, 0, MPTCP_EBADFORM),
    FC(g_join_syn, SYN, 0, 0),
    FC(g_join_syn, SYN | ACK, 0, MPTCP_EBADFORM),
    FC(g_join_syn, ACK, 0, MPTCP_EBADFORM),
    FC(g_join_synack, SYN | ACK, 0, 0),
    FC(g_join_synack, SYN, 0, MPTCP_EBADFORM),
    FC(g_join_ack, ACK, 0, 0),
    FC(g_join_ack, SYN | ACK, 0, MPTCP_EBADFORM),
    FC(g_dss_map32, ACK, 100, 0),
    FC(g_dss_map32, SYN, 0, MPTCP_EBADFORM),
    FC(g_dss_ack32, SYN | ACK, 0, MPTCP_EBADFORM),
    FC(g_add_v4, ACK, 0, 0),
    FC(g_add_v4, SYN, 0, MPTCP_EBADFORM),
    FC(g_rm_one, SYN | ACK, 0, MPTCP_EBADFORM),
    FC(g_prio, SYN, 0, MPTCP_EBADFORM),
    FC(g_prio, ACK, 0, 0),
    FC(g_fail, ACK, 0, 0),
    FC(g_fail, SYN, 0, MPTCP_EBADFORM),
    FC(g_fastclose, ACK, 0, 0),
    FC(g_fastclose, RST | ACK, 0, 0),
    FC(g_fastclose, SYN, 0, MPTCP_EBADFORM),
    FC(g_tcprst, RST, 0, 0),
    FC(g_tcprst, RST | ACK, 0, 0),
    FC(g_tcprst, ACK, 0, MPTCP_EBADFORM),
    FC(g_tcprst, SYN | RST, 0, MPTCP_EBADFORM),
    FC(g_exp, SYN, 0, 0),
    FC(g_exp, ACK, 0, 0),
};

START_TEST(form_is_checked_against_tcp_flags)
{
    const formcase *c = &formcases[_i];
    uint8_t seg[20 + 40 + 200] = { 0 };
    size_t optlen = (c->opt_len + 3) & ~(size_t)3;
    memcpy(seg + 20, c->opt, c->opt_len);
    memset(seg + 20 + c->opt_len, 1, optlen - c->opt_len);
    seg[12] = (uint8_t)(((20 + optlen) / 4) << 4);
    seg[13] = (uint8_t)c->flags;
    mptcp_seg s;
    ck_assert_int_eq(parse_exact(seg, 20 + optlen + c->payload, &s), 0);
    ck_assert_uint_eq(s.n_mptcp, 1);
    ck_assert_msg(s.mptcp[0].err == c->err, "case %d: %s flags %#x: got %d", _i,
                  mptcp_opt_form_name(s.mptcp[0].opt.form), c->flags, s.mptcp[0].err);
    ck_assert_uint_eq(s.mptcp[0].len, c->opt_len);
}
END_TEST

/* Linux as a peer (WIRE-NOTES): MP_FASTCLOSE together with MP_TCPRST on a
 * RST; MP_PRIO padded with one NOP; ADD_ADDR IPv6+port on a pure ACK with
 * no timestamps. Bytes written by hand from those facts and the figures. */
START_TEST(parses_linux_peer_control_segments)
{
    const uint8_t rst[] = { 0x00, 0x50, 0x9c, 0x40, 0, 0, 0x20, 0, 0, 0, 0x10, 0,
                            0x90, 0x14, 0, 0, 0, 0, 0, 0,
                            0x1e, 0x0c, 0x70, 0x00, 0x11, 0x22, 0x33, 0x44,
                            0x55, 0x66, 0x77, 0x88, 0x1e, 0x04, 0x80, 0x01 };
    mptcp_seg s;
    ck_assert_int_eq(parse_exact(rst, sizeof rst, &s), 0);
    ck_assert_uint_eq(s.hdr.flags, MPTCP_TH_RST | MPTCP_TH_ACK);
    ck_assert_uint_eq(s.n_mptcp, 2);
    ck_assert_int_eq(s.mptcp[0].err, 0);
    ck_assert_int_eq(s.mptcp[0].opt.form, MPTCP_OPT_FASTCLOSE);
    ck_assert_uint_eq(s.mptcp[0].opt.u.fastclose.rcv_key, G_KEY_B);
    ck_assert_int_eq(s.mptcp[1].err, 0);
    ck_assert_int_eq(s.mptcp[1].opt.form, MPTCP_OPT_TCPRST);
    ck_assert_uint_eq(s.mptcp[1].opt.u.tcprst.reason, MPTCP_RSTCODE_MPTCP);

    const uint8_t prio[] = { 0x00, 0x50, 0x9c, 0x40, 0, 0, 0x20, 0, 0, 0, 0x10, 0,
                             0x60, 0x10, 0, 0, 0, 0, 0, 0, 0x1e, 0x03, 0x51, 0x01 };
    ck_assert_int_eq(parse_exact(prio, sizeof prio, &s), 0);
    ck_assert_uint_eq(s.n_mptcp, 1);
    ck_assert_int_eq(s.mptcp[0].err, 0);
    ck_assert(s.mptcp[0].opt.u.prio.backup);
    ck_assert(!s.mptcp[0].opt.u.prio.has_addr_id);

    uint8_t add[20 + 32] = { 0x00, 0x50, 0x9c, 0x40, [12] = 0xd0, [13] = 0x10 };
    memcpy(add + 20, g_add_v6_port, sizeof g_add_v6_port);
    add[50] = add[51] = 1;
    ck_assert_int_eq(parse_exact(add, sizeof add, &s), 0);
    ck_assert_uint_eq(s.opts.present, 0);
    ck_assert_int_eq(s.mptcp[0].err, 0);
    ck_assert_uint_eq(s.mptcp[0].opt.u.add_addr.addr.port, 443);
    ck_assert_uint_eq(s.mptcp[0].opt.u.add_addr.addr.family, MPTCP_AF_INET6);
}
END_TEST

Suite *wire_seg_suite(void)
{
    Suite *s = suite_create("wire_seg");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, parses_linux_style_syn);
    tcase_add_test(tc, parses_linux_style_data_segment);
    tcase_add_test(tc, header_errors);
    tcase_add_test(tc, option_running_past_the_header_is_ebadlen);
    tcase_add_test(tc, per_option_errors_do_not_fail_the_parse);
    tcase_add_test(tc, twenty_two_byte_mptcp_options_are_all_recorded);
    tcase_add_test(tc, parses_linux_peer_control_segments);
    tcase_add_loop_test(tc, form_is_checked_against_tcp_flags, 0,
                        (int)(sizeof formcases / sizeof formcases[0]));
    suite_add_tcase(s, tc);
    tc = tcase_create("write");
    tcase_add_test(tc, writes_linux_style_segments_byte_for_byte);
    tcase_add_test(tc, write_parse_write_is_identical);
    tcase_add_test(tc, checksum_filled_when_addresses_given);
    tcase_add_test(tc, bad_arguments_are_einval_and_write_nothing);
    tcase_add_test(tc, option_overflow_is_enospace_and_exact_fit_works);
    tcase_add_test(tc, short_buffer_is_enobuf_and_writes_nothing);
    tcase_add_test(tc, payload_may_already_sit_in_place);
    suite_add_tcase(s, tc);
    return s;
}
