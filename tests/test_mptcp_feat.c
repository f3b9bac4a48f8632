/* RFC 8684 features around the edges of a connection, over two in-process
 * stacks (fixture pair) and the simulator: MP_TCPRST with the right reason
 * on the RST that refuses an MP_JOIN SYN (3.6), MP_EXPERIMENTAL handed to
 * the host (3.8), MP_FASTCLOSE on an ACK with its retransmissions and the
 * peer's RST (3.5), and coupled congestion control (RFC 6356) wired to the
 * subflows: LIA over a shared bottleneck takes no more than the TCP flow
 * beside it, where uncoupled subflows take more. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "helpers/fixture.h"
#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"
#include "sim/sim_host.h"

#define SEC 1000000ull
#define MS 1000ull

static bool both_connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static bool two_up(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_SUBFLOW_UP] >= 2 && p->e[1].n_ev[MPTCP_EV_SUBFLOW_UP] >= 2;
}

static bool both_closed(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CLOSED] == 1 && p->e[1].n_ev[MPTCP_EV_CLOSED] == 1;
}

static void log_on(fx_pair *p)
{
    p->log = calloc(4096, sizeof *p->log);
    p->log_cap = 4096;
    p->n_log = 0;
}

static void log_off(fx_pair *p)
{
    free(p->log);
    p->log = NULL;
}

static bool seg_has(const uint8_t *seg, size_t len, mptcp_opt_form form, mptcp_opt *out)
{
    mptcp_seg s;
    if (mptcp_seg_parse(seg, len, &s) != 0)
        return false;
    for (uint8_t i = 0; i < s.n_mptcp; i++)
        if (s.mptcp[i].err == 0 && s.mptcp[i].opt.form == form) {
            if (out)
                *out = s.mptcp[i].opt;
            return true;
        }
    return false;
}

static uint16_t seg_flags(const fx_cap *c)
{
    mptcp_seg s;
    ck_assert_int_eq(mptcp_seg_parse(c->data, c->len, &s), 0);
    return s.hdr.flags;
}

static size_t seg_n_mptcp(const fx_cap *c)
{
    mptcp_seg s;
    ck_assert_int_eq(mptcp_seg_parse(c->data, c->len, &s), 0);
    return s.n_mptcp;
}

static void connect_mp(fx_pair *p, uint64_t seed, const mptcp_config *c0, const mptcp_config *c1)
{
    fx_pair_init_mp(p, c0, c1, seed, 5000);
    fx_pair_connect(p);
    ck_assert(fx_pair_run_until(p, both_connected, p->now + 1000000));
    fx_pair_run(p, p->now + 50000);
}

static void mp_cfg(mptcp_config *c)
{
    mptcp_config_init(c);
    c->mptcp = true;
}

/* ------------------------------------------------------------ MP_TCPRST */

START_TEST(join_syn_with_an_unknown_token_is_refused_with_mp_tcprst_mptcp_error)
{
    /* RFC 8684 3.2/3.6: a token that names no connection: RST, and the
     * MP_TCPRST on it says "MPTCP-specific error" (as Linux's EMPTCP). */
    fx_single f;
    mptcp_config c;
    mp_cfg(&c);
    fx_single_init_mp(&f, &c, 7);
    mptcp_addr srv = fx_addr(2, 80), cli = fx_addr(1, 40000);
    ck_assert_int_eq(mptcp_listen(f.st, &srv), 0);
    mptcp_opt j;
    memset(&j, 0, sizeof j);
    j.form = MPTCP_OPT_JOIN_SYN;
    j.u.join.addr_id = 3;
    j.u.join.token = 0x01020304u;
    j.u.join.nonce = 0xa0b0c0d0u;
    uint8_t opt[12];
    ck_assert_int_eq(mptcp_opt_write(opt, sizeof opt, &j), 12);
    fx_segspec s = {.sport = 40000, .dport = 80, .seq = 1000, .flags = MPTCP_TH_SYN,
                    .window = 65535, .opts = opt, .opts_len = sizeof opt};
    fx_single_input(&f, &cli, &srv, &s);
    ck_assert_uint_eq(f.n_out, 1);
    const fx_cap *rst = fx_single_last(&f, 0);
    mptcp_seg sg;
    fx_seg_decode(rst, &sg);
    ck_assert_uint_eq(sg.hdr.flags, MPTCP_TH_RST | MPTCP_TH_ACK);
    ck_assert_uint_eq(sg.hdr.ack, 1001);
    ck_assert_uint_eq(sg.n_mptcp, 1);
    ck_assert_int_eq(sg.mptcp[0].err, 0);
    ck_assert_int_eq(sg.mptcp[0].opt.form, MPTCP_OPT_TCPRST);
    ck_assert_uint_eq(sg.mptcp[0].opt.u.tcprst.reason, MPTCP_RSTCODE_MPTCP);
    ck_assert_uint_eq(sg.mptcp[0].opt.u.tcprst.flags, 0);
    /* the checksum covers the option too */
    ck_assert(mptcp_tcp_csum_ok(rst->data, rst->len, &rst->src, &rst->dst));
    /* a plain SYN to a closed port still gets a bare RST (no subflow) */
    fx_segspec s2 = {.sport = 40001, .dport = 81, .seq = 5, .flags = MPTCP_TH_SYN,
                     .window = 65535};
    fx_single_input(&f, &cli, &(mptcp_addr){.family = MPTCP_AF_INET, .port = 81,
                                            .ip = {10, 0, 0, 2}},
                    &s2);
    fx_seg_decode(fx_single_last(&f, 0), &sg);
    ck_assert_uint_eq(sg.hdr.flags & MPTCP_TH_RST, MPTCP_TH_RST);
    ck_assert_uint_eq(sg.n_mptcp, 0);
    fx_single_fini(&f);
}
END_TEST

START_TEST(join_over_the_subflow_limit_is_refused_with_mp_tcprst_prohibited)
{
    /* The server takes no additional subflow: the joiner's SYN gets a RST
     * with MP_TCPRST "administratively prohibited" (Linux: EPROHIBIT), and
     * the joiner reports the subflow down with that reason (3.6). */
    mptcp_config c0, c1;
    mp_cfg(&c0);
    mp_cfg(&c1);
    c1.max_subflows = 0;
    fx_pair p;
    connect_mp(&p, 81, &c0, &c1);
    log_on(&p);
    mptcp_addr l = fx_addr(3, 0), r = fx_addr(2, 80);
    ck_assert_int_gt(mptcp_subflow_open(p.e[0].conn, &l, &r, false, p.now), 0);
    fx_pair_run(&p, p.now + 300000);
    size_t rsts = 0;
    for (size_t i = 0; i < p.n_log; i++) {
        mptcp_opt o;
        if (p.log_from[i] != 1 || !(seg_flags(&p.log[i]) & MPTCP_TH_RST))
            continue;
        rsts++;
        ck_assert(seg_has(p.log[i].data, p.log[i].len, MPTCP_OPT_TCPRST, &o));
        ck_assert_uint_eq(o.u.tcprst.reason, MPTCP_RSTCODE_PROHIBITED);
    }
    ck_assert_uint_eq(rsts, 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN], 1);
    const mptcp_event *ev = &p.e[0].last_ev[MPTCP_EV_SUBFLOW_DOWN];
    ck_assert(ev->u.subflow.has_rst_code);
    ck_assert_uint_eq(ev->u.subflow.rst_code, MPTCP_RSTCODE_PROHIBITED);
    mptcp_mp_stats m;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[0].conn, &m), 0);
    ck_assert_uint_eq(m.rst_in_code[MPTCP_RSTCODE_PROHIBITED], 1);
    ck_assert_uint_eq(m.n_subflows, 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    log_off(&p);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(reset_of_the_last_subflow_reports_its_reason)
{
    /* The server resets the only subflow with MP_TCPRST "unacceptable
     * performance": the client's CLOSED says MPTCP_RST with that code
     * (3.6: the reason of every reset received is reported). */
    fx_pair p;
    connect_mp(&p, 87, NULL, NULL);
    log_on(&p);
    mptcp_conn_sf_reset(&p.e[1].conn->mp->sf[0], MPTCP_RSTCODE_BADPERF, p.now);
    fx_pair_run(&p, p.now + 200000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    const mptcp_event *ev = &p.e[0].last_ev[MPTCP_EV_CLOSED];
    ck_assert_int_eq(ev->u.closed.reason, MPTCP_CLOSE_MPTCP_RST);
    ck_assert(ev->u.closed.has_rst_code);
    ck_assert_uint_eq(ev->u.closed.rst_code, MPTCP_RSTCODE_BADPERF);
    mptcp_opt o;
    size_t n = 0;
    for (size_t i = 0; i < p.n_log; i++)
        if (p.log_from[i] == 1 && seg_has(p.log[i].data, p.log[i].len, MPTCP_OPT_TCPRST, &o)) {
            ck_assert_uint_eq(o.u.tcprst.reason, MPTCP_RSTCODE_BADPERF);
            n++;
        }
    ck_assert_uint_eq(n, 1);
    log_off(&p);
    fx_pair_run(&p, p.now + 3000000);
    fx_pair_fini(&p);
}
END_TEST

/* ------------------------------------------------------------ MP_EXPERIMENTAL */

/* The latest segment |from| sent (a pure ACK with timestamps), copied with
 * an MP_EXPERIMENTAL option added, fed to the other end. */
static void inject_exp(fx_pair *p, int from, const uint8_t *exp, size_t exp_len)
{
    const fx_cap *last = NULL;
    for (size_t i = 0; i < p->n_log; i++)
        if (p->log_from[i] == from)
            last = &p->log[i];
    ck_assert_ptr_nonnull(last);
    size_t doff = (size_t)(last->data[12] >> 4) * 4;
    ck_assert_uint_eq(last->len, doff); /* no payload */
    ck_assert_uint_le(doff + exp_len, 60);
    ck_assert_uint_eq(exp_len % 4, 0);
    uint8_t seg[60];
    memcpy(seg, last->data, doff);
    memcpy(seg + doff, exp, exp_len);
    size_t len = doff + exp_len;
    seg[12] = (uint8_t)((len / 4) << 4);
    ck_assert_int_eq(mptcp_tcp_csum_fill(seg, len, &last->src, &last->dst), 0);
    ck_assert_int_eq(mptcp_input(p->e[1 - from].st, &last->src, &last->dst, seg, len, p->now), 0);
}

START_TEST(mp_experimental_is_handed_to_the_host_and_changes_nothing)
{
    fx_pair p;
    connect_mp(&p, 82, NULL, NULL);
    log_on(&p);
    static uint8_t data[4000];
    fx_fill(data, sizeof data, 5);
    /* client data: the server's latest segment is then a pure ACK */
    fx_pair_send(&p, 0, data, 1000, 0);
    p.e[1].auto_read = true;
    fx_pair_run(&p, p.now + 200000);
    /* kind 30, length 8, subtype 0xf with nibble 0x5, five opaque bytes */
    const uint8_t exp[8] = {30, 8, 0xf5, 1, 2, 3, 4, 5};
    inject_exp(&p, 1, exp, sizeof exp);
    fx_pair_run(&p, p.now + 1000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_EXPERIMENTAL], 1);
    const mptcp_event *ev = &p.e[0].last_ev[MPTCP_EV_EXPERIMENTAL];
    ck_assert_int_eq(ev->subflow_id, 0);
    ck_assert_uint_eq(ev->u.exp.nibble, 5);
    ck_assert_uint_eq(ev->u.exp.len, 5);
    ck_assert_mem_eq(ev->u.exp.data, exp + 3, 5);
    /* two in one segment, the shortest form (no data) among them */
    const uint8_t two[8] = {30, 3, 0xf0, 30, 4, 0xff, 0xee, 1};
    inject_exp(&p, 1, two, sizeof two);
    fx_pair_run(&p, p.now + 1000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_EXPERIMENTAL], 3);
    ev = &p.e[0].last_ev[MPTCP_EV_EXPERIMENTAL];
    ck_assert_uint_eq(ev->u.exp.nibble, 0xf);
    ck_assert_uint_eq(ev->u.exp.len, 1);
    ck_assert_uint_eq(ev->u.exp.data[0], 0xee);
    /* no reset, no fallback; the stream goes on and closes normally */
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    fx_pair_send(&p, 0, data + 1000, sizeof data - 1000, 2);
    p.e[1].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 5000000));
    ck_assert_uint_eq(p.e[1].rx_len, sizeof data);
    ck_assert_mem_eq(p.e[1].rx, data, sizeof data);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    log_off(&p);
    fx_pair_fini(&p);
}
END_TEST

/* ------------------------------------------------------------ MP_FASTCLOSE on an ACK */

static void join(fx_pair *p, uint8_t last)
{
    mptcp_addr l = fx_addr(last, 0), r = fx_addr(2, 80);
    ck_assert_int_gt(mptcp_subflow_open(p->e[0].conn, &l, &r, false, p->now), 0);
    ck_assert(fx_pair_run_until(p, two_up, p->now + 1000000));
}

START_TEST(fastclose_on_an_ack_is_answered_by_rst_and_closes_both)
{
    mptcp_config c;
    mp_cfg(&c);
    c.fastclose_ack = true;
    fx_pair p;
    connect_mp(&p, 83, &c, &c);
    join(&p, 3);
    uint64_t server_key = p.e[1].conn->mp->lkey;
    log_on(&p);
    ck_assert_int_eq(mptcp_abort(p.e[0].conn, p.now), 0);
    /* FASTCLOSE_WAIT: nothing reported yet */
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 1000000));
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_ABORTED);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_FASTCLOSE);
    /* client: one ACK with MP_FASTCLOSE alone (the server's key); a RST
     * with MP_TCPRST and no MP_FASTCLOSE on the other subflow */
    size_t fc_acks = 0, fc_rsts = 0, plain_rsts = 0, srv_rsts = 0;
    uint16_t fc_port = 0, rst_port = 0;
    for (size_t i = 0; i < p.n_log; i++) {
        const fx_cap *k = &p.log[i];
        uint16_t fl = seg_flags(k);
        mptcp_opt o;
        bool fc = seg_has(k->data, k->len, MPTCP_OPT_FASTCLOSE, &o);
        if (p.log_from[i] == 0) {
            if (fc) {
                ck_assert_uint_eq(o.u.fastclose.rcv_key, server_key);
                if (fl & MPTCP_TH_RST) {
                    fc_rsts++;
                } else {
                    ck_assert_uint_eq(fl, MPTCP_TH_ACK);
                    ck_assert_uint_eq(seg_n_mptcp(k), 1);
                    fc_acks++;
                    fc_port = (uint16_t)(k->data[0] << 8 | k->data[1]);
                }
            } else if ((fl & MPTCP_TH_RST) && seg_n_mptcp(k) == 0) {
                /* a reply to a segment that was still on its way to a
                 * subflow already reset: no subflow, no MP_TCPRST (as Linux) */
                ck_assert_uint_eq(fl, MPTCP_TH_RST);
            } else if (fl & MPTCP_TH_RST) {
                ck_assert(seg_has(k->data, k->len, MPTCP_OPT_TCPRST, NULL));
                plain_rsts++;
                rst_port = (uint16_t)(k->data[0] << 8 | k->data[1]);
            }
        } else if (fl & MPTCP_TH_RST) {
            ck_assert(seg_has(k->data, k->len, MPTCP_OPT_TCPRST, NULL));
            ck_assert(!fc);
            /* the answer goes out on the subflow that carried MP_FASTCLOSE */
            if ((uint16_t)(k->data[2] << 8 | k->data[3]) == fc_port)
                srv_rsts++;
        }
    }
    ck_assert_uint_eq(fc_acks, 1);
    ck_assert_uint_eq(fc_rsts, 0);
    ck_assert_uint_eq(plain_rsts, 1);
    ck_assert_uint_ne(fc_port, rst_port);
    ck_assert_uint_ge(srv_rsts, 1);
    log_off(&p);
    fx_pair_run(&p, p.now + 5000000);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[0].st), UINT64_MAX);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    fx_pair_fini(&p);
}
END_TEST

static int drop_from_server(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                            uint64_t *extra)
{
    (void)p;
    (void)idx;
    (void)seg;
    (void)len;
    (void)extra;
    return from == 1 ? FX_DROP : FX_PASS;
}

START_TEST(fastclose_on_an_ack_is_retransmitted_then_sent_on_a_rst)
{
    /* The peer's RST never arrives: MP_FASTCLOSE goes again after the
     * subflow's RTO, 3 times, then on a RST (RFC 8684 3.5). */
    mptcp_config c;
    mp_cfg(&c);
    c.fastclose_ack = true;
    fx_pair p;
    connect_mp(&p, 84, &c, &c);
    log_on(&p);
    p.filter = drop_from_server;
    uint64_t t0 = p.now;
    ck_assert_int_eq(mptcp_abort(p.e[0].conn, p.now), 0);
    fx_pair_run(&p, p.now + 20000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_ABORTED);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_FASTCLOSE);
    size_t acks = 0, rsts = 0;
    uint64_t last_at = t0, gap = 0;
    for (size_t i = 0; i < p.n_log; i++) {
        const fx_cap *k = &p.log[i];
        if (p.log_from[i] != 0 || !seg_has(k->data, k->len, MPTCP_OPT_FASTCLOSE, NULL))
            continue;
        if (seg_flags(k) & MPTCP_TH_RST) {
            ck_assert_uint_eq(acks, 4);
            ck_assert(seg_has(k->data, k->len, MPTCP_OPT_TCPRST, NULL));
            rsts++;
        } else {
            acks++;
        }
        /* each wait at least as long as the one before (RTO, backed off) */
        ck_assert_uint_ge(k->at - last_at, gap);
        gap = k->at - last_at;
        last_at = k->at;
    }
    ck_assert_uint_eq(acks, 4);
    ck_assert_uint_eq(rsts, 1);
    ck_assert_uint_ge(gap, 200000);
    p.filter = NULL;
    log_off(&p);
    fx_pair_run(&p, p.now + 5000000);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(fastclose_default_stays_on_a_rst)
{
    fx_pair p;
    connect_mp(&p, 85, NULL, NULL);
    log_on(&p);
    ck_assert_int_eq(mptcp_abort(p.e[0].conn, p.now), 0);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    fx_pair_run(&p, p.now + 200000);
    size_t fc = 0;
    for (size_t i = 0; i < p.n_log; i++)
        if (p.log_from[i] == 0 &&
            seg_has(p.log[i].data, p.log[i].len, MPTCP_OPT_FASTCLOSE, NULL)) {
            ck_assert_uint_eq(seg_flags(&p.log[i]) & MPTCP_TH_RST, MPTCP_TH_RST);
            fc++;
        }
    ck_assert_uint_eq(fc, 1);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_FASTCLOSE);
    log_off(&p);
    fx_pair_fini(&p);
}
END_TEST

/* ------------------------------------------------------------ C flag */

static bool one_join_up(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_SUBFLOW_UP] >= 2;
}

START_TEST(c_flag_peer_is_joined_only_at_its_announced_address)
{
    /* RFC 8684 3.1: the server sets C (deny_join_id0) and announces a
     * second address; the client, with a "subflow" endpoint and the
     * default limit of 0 accepted ADD_ADDRs, joins that address (Linux's
     * C-flag case) and never the server's initial address. The flag rides
     * on every MP_CAPABLE form, the third ACK included (Linux reads it
     * there). */
    mptcp_config c0, c1;
    mp_cfg(&c0);
    mp_cfg(&c1);
    c0.deny_join_id0 = true;
    c1.deny_join_id0 = true;
    ck_assert_uint_eq(c0.add_addr_accept_max, 0);
    fx_pair p;
    fx_pair_init_mp(&p, &c0, &c1, 86, 5000);
    mptcp_addr sub = fx_addr(3, 0), sig = fx_addr(4, 0);
    ck_assert_int_gt(mptcp_local_addr_add(p.e[0].st, &sub, MPTCP_ADDR_F_SUBFLOW), 0);
    ck_assert_int_gt(mptcp_local_addr_add(p.e[1].st, &sig, MPTCP_ADDR_F_SIGNAL), 0);
    log_on(&p);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    ck_assert(fx_pair_run_until(&p, one_join_up, p.now + 2000000));
    fx_pair_run(&p, p.now + 500000);
    size_t mpc = 0, joins = 0;
    for (size_t i = 0; i < p.n_log; i++) {
        const fx_cap *k = &p.log[i];
        mptcp_seg sg;
        fx_seg_decode(k, &sg);
        for (uint8_t j = 0; j < sg.n_mptcp; j++) {
            const mptcp_opt *o = &sg.mptcp[j].opt;
            if (sg.mptcp[j].err != 0)
                continue;
            if (o->form == MPTCP_OPT_MPC_SYN || o->form == MPTCP_OPT_MPC_SYNACK ||
                o->form == MPTCP_OPT_MPC_ACK || o->form == MPTCP_OPT_MPC_DATA) {
                ck_assert_uint_eq(o->u.mpc.flags & MPTCP_MPC_C, MPTCP_MPC_C);
                mpc++;
            }
            if (o->form == MPTCP_OPT_JOIN_SYN) {
                /* only to the announced address, from the subflow endpoint */
                ck_assert_mem_eq(k->dst.ip, sig.ip, 4);
                ck_assert_mem_eq(k->src.ip, sub.ip, 4);
                joins++;
            }
        }
    }
    ck_assert_uint_ge(mpc, 3);
    ck_assert_uint_eq(joins, 1);
    ck_assert(p.e[0].conn->flags & MPTCP_CF_PEER_DENY0);
    ck_assert(p.e[1].conn->flags & MPTCP_CF_PEER_DENY0);
    mptcp_mp_stats m;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[0].conn, &m), 0);
    ck_assert_uint_eq(m.add_addr_in, 1);
    ck_assert_uint_eq(m.n_subflows, 2);
    /* data crosses both subflows, byte for byte */
    static uint8_t data[300000];
    fx_fill(data, sizeof data, 3);
    p.e[1].auto_read = true;
    p.e[1].close_on_eof = true;
    fx_pair_send(&p, 0, data, sizeof data, 2);
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 20000000));
    ck_assert_uint_eq(p.e[1].rx_len, sizeof data);
    ck_assert_mem_eq(p.e[1].rx, data, sizeof data);
    log_off(&p);
    fx_pair_fini(&p);
}
END_TEST

/* ------------------------------------------------------------ coupled CC */

START_TEST(coupled_cc_puts_the_subflows_in_one_group)
{
    static const struct {
        uint8_t algo;
        const mptcp_cc_ops *ops;
    } v[] = {{MPTCP_COUPLED_LIA, &mptcp_cc_lia},
             {MPTCP_COUPLED_OLIA, &mptcp_cc_olia},
             {MPTCP_COUPLED_BALIA, &mptcp_cc_balia}};
    mptcp_config c;
    mp_cfg(&c);
    c.coupled_cc = v[_i].algo;
    fx_pair p;
    connect_mp(&p, 90 + (uint64_t)_i, &c, &c);
    join(&p, 3);
    for (int e = 0; e < 2; e++) {
        mptcp_mpc *m = p.e[e].conn->mp;
        ck_assert_uint_eq(mptcp_cc_group_count(&m->ccg), 2);
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
            if (m->sf[i].role != MPTCP_SF_FREE) {
                ck_assert_ptr_eq(m->sf[i].t->cc.ops, v[_i].ops);
                ck_assert_ptr_eq(m->sf[i].t->ccm.group, &m->ccg);
            }
    }
    /* data still moves, byte for byte, and the group empties at the end */
    static uint8_t data[200000];
    fx_fill(data, sizeof data, 9);
    p.e[1].auto_read = true;
    p.e[1].close_on_eof = true;
    fx_pair_send(&p, 0, data, sizeof data, 2);
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 20000000));
    ck_assert_uint_eq(p.e[1].rx_len, sizeof data);
    ck_assert_mem_eq(p.e[1].rx, data, sizeof data);
    fx_pair_run(&p, p.now + 5000000);
    fx_pair_fini(&p);
}
END_TEST

static void no_send(void *user, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                    size_t len)
{
    (void)user, (void)src, (void)dst, (void)seg, (void)len;
}

START_TEST(coupled_cc_is_refused_out_of_range_and_off_by_default)
{
    mptcp_config c;
    mptcp_config_init(&c);
    ck_assert_uint_eq(c.coupled_cc, MPTCP_COUPLED_NONE);
    ck_assert(!c.fastclose_ack);
    mptcp_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.send = no_send;
    cb.random = fx_random;
    uint64_t rng = 1;
    c.coupled_cc = MPTCP_COUPLED_BALIA;
    mptcp_stack *st = mptcp_stack_new(&c, &cb, &rng);
    ck_assert_ptr_nonnull(st);
    ck_assert_int_eq(mptcp_stack_free(st), 0);
    c.coupled_cc = MPTCP_COUPLED_BALIA + 1;
    ck_assert_ptr_null(mptcp_stack_new(&c, &cb, &rng));
}
END_TEST

/*
 * A shared bottleneck (RFC 6356 section 1, goal 2: "do no harm"): an MPTCP
 * client with two subflows and a plain TCP (NewReno) client upload to one
 * server at the same time; every packet of the three flows crosses one
 * 10 Mbit/s link. With LIA the MPTCP connection takes no more than the TCP
 * flow beside it; with uncoupled NewReno subflows it takes clearly more.
 * Both streams are checked byte for byte to the end.
 */
typedef struct bneck {
    sim *s;
    sim_host *m, *t, *srv;
    sim_flow *mf, *tf;
} bneck;

static mptcp_addr ip4(uint8_t b1, uint8_t b2, uint8_t b3, uint8_t b4, uint16_t port)
{
    mptcp_addr a;
    memset(&a, 0, sizeof a);
    a.family = MPTCP_AF_INET;
    a.port = port;
    a.ip[0] = b1, a.ip[1] = b2, a.ip[2] = b3, a.ip[3] = b4;
    return a;
}

static sim_flow *srv_flow(bneck *b, bool mp)
{
    for (size_t i = 0; i < sim_host_flow_count(b->srv); i++) {
        sim_flow *f = sim_host_flow(b->srv, i);
        mptcp_mp_stats st;
        if (f->conn && mptcp_conn_get_mp_stats(f->conn, &st) == 0 && st.mptcp == mp)
            return f;
    }
    return NULL;
}

static bool bneck_done(void *arg)
{
    bneck *b = arg;
    return b->mf->closed && b->tf->closed;
}

#define BN_BYTES (16u << 20)

static void bneck_run(uint8_t coupled, uint64_t *mp_bytes, uint64_t *tcp_bytes)
{
    bneck b;
    memset(&b, 0, sizeof b);
    b.s = sim_new(77, 1 * SEC);
    mptcp_config c;
    mptcp_config_init(&c);
    c.mptcp = true;
    c.cc = MPTCP_CC_RENO;
    c.coupled_cc = coupled;
    c.sndbuf = c.rcvbuf = 1u << 20;
    mptcp_config tc = c;
    tc.mptcp = false;
    b.m = sim_host_new(b.s, "mptcp", &c, 1);
    b.t = sim_host_new(b.s, "tcp", &tc, 2);
    b.srv = sim_host_new(b.s, "server", &c, 3);
    mptcp_addr m1 = ip4(10, 0, 0, 1, 0), m2 = ip4(10, 0, 1, 1, 0), t1 = ip4(10, 0, 2, 1, 0);
    mptcp_addr sv = ip4(10, 1, 0, 1, 80);
    sim_link_cfg fast = {.rate_bps = 1000000000, .delay_us = 1 * MS, .queue_pkts = 1000};
    sim_link_cfg back = {.rate_bps = 1000000000, .delay_us = 10 * MS, .queue_pkts = 1000};
    sim_link_cfg neck = {.rate_bps = 10000000, .delay_us = 9 * MS, .queue_pkts = 60};
    sim_link *bl = sim_link_new(b.s, "bottleneck", &neck, sim_node_elem(sim_host_node(b.srv)));
    sim_link *a1 = sim_link_new(b.s, "m1", &fast, sim_link_elem(bl));
    sim_link *a2 = sim_link_new(b.s, "m2", &fast, sim_link_elem(bl));
    sim_link *a3 = sim_link_new(b.s, "t1", &fast, sim_link_elem(bl));
    sim_link *r1 = sim_link_new(b.s, "r-m", &back, sim_node_elem(sim_host_node(b.m)));
    sim_link *r3 = sim_link_new(b.s, "r-t", &back, sim_node_elem(sim_host_node(b.t)));
    ck_assert_int_eq(sim_node_route(sim_host_node(b.m), &m1, NULL, sim_link_elem(a1)), 0);
    ck_assert_int_eq(sim_node_route(sim_host_node(b.m), &m2, NULL, sim_link_elem(a2)), 0);
    ck_assert_int_eq(sim_node_route(sim_host_node(b.t), &t1, NULL, sim_link_elem(a3)), 0);
    ck_assert_int_eq(sim_node_route(sim_host_node(b.srv), NULL, &m1, sim_link_elem(r1)), 0);
    ck_assert_int_eq(sim_node_route(sim_host_node(b.srv), NULL, &m2, sim_link_elem(r1)), 0);
    ck_assert_int_eq(sim_node_route(sim_host_node(b.srv), NULL, &t1, sim_link_elem(r3)), 0);
    /* the MPTCP client opens its second subflow from m2 by itself */
    ck_assert_int_gt(mptcp_local_addr_add(sim_host_stack(b.m), &m2, MPTCP_ADDR_F_SUBFLOW), 0);
    sim_flow_cfg sc = {.shutdown_when_sent = true, .close_when_done = true, .rx_seed = 11};
    sim_flow_cfg cc = {.tx_seed = 11, .tx_bytes = BN_BYTES, .shutdown_when_sent = true,
                       .close_when_done = true};
    ck_assert_int_eq(sim_host_listen(b.srv, &(mptcp_addr){.family = MPTCP_AF_INET, .port = 80},
                                     &sc),
                     0);
    int err;
    b.mf = sim_host_connect(b.m, &m1, &sv, &cc, &err);
    b.tf = sim_host_connect(b.t, &t1, &sv, &cc, &err);
    ck_assert_ptr_nonnull(b.mf);
    ck_assert_ptr_nonnull(b.tf);
    /* 15 s of both flows at full speed (the bottleneck moves ~18 MB) */
    ck_assert_int_ne(sim_run_until(b.s, sim_now(b.s) + 15 * SEC), -1);
    sim_flow *sm = srv_flow(&b, true), *st = srv_flow(&b, false);
    ck_assert_ptr_nonnull(sm);
    ck_assert_ptr_nonnull(st);
    mptcp_mp_stats ms;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(b.mf->conn, &ms), 0);
    ck_assert_uint_eq(ms.n_subflows, 2);
    *mp_bytes = sm->rx.off;
    *tcp_bytes = st->rx.off;
    ck_assert_uint_lt(*mp_bytes, BN_BYTES);
    ck_assert_uint_lt(*tcp_bytes, BN_BYTES);
    /* then both finish, every byte in order */
    ck_assert_int_eq(sim_run_while(b.s, sim_now(b.s) + 120 * SEC, bneck_done, &b), 1);
    ck_assert(sim_flow_rx_ok(sm, BN_BYTES));
    ck_assert(sim_flow_rx_ok(st, BN_BYTES));
    ck_assert_int_eq(b.mf->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(b.tf->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_uint_eq(sim_host_api_errors(b.m), 0);
    ck_assert_uint_eq(sim_host_api_errors(b.srv), 0);
    sim_free(b.s);
}

START_TEST(lia_takes_no_more_than_a_tcp_flow_on_a_shared_bottleneck)
{
    uint64_t lia_mp, lia_tcp, unc_mp, unc_tcp;
    bneck_run(MPTCP_COUPLED_LIA, &lia_mp, &lia_tcp);
    bneck_run(MPTCP_COUPLED_NONE, &unc_mp, &unc_tcp);
    fprintf(stderr,
            "shared bottleneck, 15 s: LIA mptcp %llu tcp %llu bytes; uncoupled mptcp %llu tcp "
            "%llu bytes\n",
            (unsigned long long)lia_mp, (unsigned long long)lia_tcp, (unsigned long long)unc_mp,
            (unsigned long long)unc_tcp);
    /* the link was used */
    ck_assert_uint_gt(lia_mp + lia_tcp, 15ull * 10000000 / 8 * 85 / 100);
    /* LIA does no harm: the MPTCP connection takes at most the TCP flow's
     * share (RFC 6356 section 1, goal 2) */
    ck_assert_uint_le(lia_mp, lia_tcp);
    /* and coupling restrains it: less than the same two subflows uncoupled */
    ck_assert_uint_lt(lia_mp * 110, unc_mp * 100);
}
END_TEST

Suite *mptcp_feat_suite(void)
{
    Suite *s = suite_create("mptcp_feat");
    TCase *tc = tcase_create("tcprst");
    tcase_add_test(tc, join_syn_with_an_unknown_token_is_refused_with_mp_tcprst_mptcp_error);
    tcase_add_test(tc, join_over_the_subflow_limit_is_refused_with_mp_tcprst_prohibited);
    tcase_add_test(tc, reset_of_the_last_subflow_reports_its_reason);
    suite_add_tcase(s, tc);
    tc = tcase_create("experimental");
    tcase_add_test(tc, mp_experimental_is_handed_to_the_host_and_changes_nothing);
    suite_add_tcase(s, tc);
    tc = tcase_create("fastclose");
    tcase_add_test(tc, fastclose_on_an_ack_is_answered_by_rst_and_closes_both);
    tcase_add_test(tc, fastclose_on_an_ack_is_retransmitted_then_sent_on_a_rst);
    tcase_add_test(tc, fastclose_default_stays_on_a_rst);
    suite_add_tcase(s, tc);
    tc = tcase_create("c_flag");
    tcase_add_test(tc, c_flag_peer_is_joined_only_at_its_announced_address);
    suite_add_tcase(s, tc);
    tc = tcase_create("coupled_cc");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, coupled_cc_puts_the_subflows_in_one_group, 0, 3);
    tcase_add_test(tc, coupled_cc_is_refused_out_of_range_and_off_by_default);
    tcase_add_test(tc, lia_takes_no_more_than_a_tcp_flow_on_a_shared_bottleneck);
    suite_add_tcase(s, tc);
    return s;
}
