/* MPTCP connection level between two in-process stacks (fixture pair):
 * MP_CAPABLE both roles, DSS data transfer byte for byte both ways,
 * DATA_ACK, DATA_FIN close (RFC 8684 3.1, 3.3), fallback to TCP when the
 * peer runs plain TCP (3.7), options on the wire checked by parsing them. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"

static bool both_connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static bool both_closed(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CLOSED] == 1 && p->e[1].n_ev[MPTCP_EV_CLOSED] == 1;
}

/* Finds the first MPTCP option of |form| in a logged segment. */
static bool seg_has(const fx_cap *c, mptcp_opt_form form, mptcp_opt *out)
{
    mptcp_seg s;
    if (mptcp_seg_parse(c->data, c->len, &s) != 0)
        return false;
    for (uint8_t i = 0; i < s.n_mptcp; i++)
        if (s.mptcp[i].err == 0 && s.mptcp[i].opt.form == form) {
            if (out)
                *out = s.mptcp[i].opt;
            return true;
        }
    return false;
}

static void log_on(fx_pair *p)
{
    p->log = calloc(4096, sizeof *p->log);
    p->log_cap = 4096;
}

START_TEST(mp_capable_handshake_forms_and_keys)
{
    fx_pair p;
    fx_pair_init_mp(&p, NULL, NULL, 11, 5000);
    log_on(&p);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_run(&p, p.now + 100000);
    mptcp_opt syn, synack, ack;
    ck_assert(seg_has(&p.log[0], MPTCP_OPT_MPC_SYN, &syn));
    ck_assert(seg_has(&p.log[1], MPTCP_OPT_MPC_SYNACK, &synack));
    ck_assert(seg_has(&p.log[2], MPTCP_OPT_MPC_ACK, &ack));
    ck_assert_uint_eq(ack.u.mpc.rcv_key, synack.u.mpc.snd_key);
    ck_assert(syn.u.mpc.flags & MPTCP_MPC_H);
    ck_assert(!(syn.u.mpc.flags & MPTCP_MPC_A));
    mptcp_mp_stats a, b;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[0].conn, &a), 0);
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[1].conn, &b), 0);
    ck_assert(a.mptcp && b.mptcp && !a.fallback && !b.fallback);
    ck_assert(b.fully_established);
    ck_assert_uint_eq(a.remote_token, b.local_token);
    ck_assert_uint_eq(b.remote_token, a.local_token);
    /* the token is SHA-256(key)'s first 32 bits (RFC 8684 3.1) */
    uint32_t tok;
    mptcp_key_derive(1, synack.u.mpc.snd_key, &tok, NULL);
    ck_assert_uint_eq(tok, b.local_token);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_SUBFLOW_UP], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_SUBFLOW_UP], 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 0);
    free(p.log);
    p.log = NULL;
    fx_pair_fini(&p);
}
END_TEST

/* Drops about one segment in |filter_arg| (a uint32_t), chosen by a hash of
 * direction and index: deterministic loss. */
static int lossy(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                 uint64_t *extra)
{
    (void)seg;
    (void)len;
    (void)extra;
    uint32_t every = *(const uint32_t *)p->filter_arg;
    uint64_t x = ((uint64_t)idx << 1 | (uint64_t)from) * 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    if (idx < 3)
        return FX_PASS; /* the handshake goes through */
    return x % every == 0 ? FX_DROP : FX_PASS;
}

static uint32_t loss_every;

static void mp_transfer_ex(int from, size_t len, uint64_t seed, const mptcp_config *cfg,
                           uint32_t drop_every);

static void mp_transfer(int from, size_t len, uint64_t seed, const mptcp_config *cfg)
{
    mp_transfer_ex(from, len, seed, cfg, 0);
}

static void mp_transfer_ex(int from, size_t len, uint64_t seed, const mptcp_config *cfg,
                           uint32_t drop_every)
{
    fx_pair p;
    fx_pair_init_mp(&p, cfg, cfg, seed, 5000);
    if (drop_every) {
        loss_every = drop_every;
        p.filter = lossy;
        p.filter_arg = &loss_every;
    }
    uint8_t *data = malloc(len);
    fx_fill(data, len, seed);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_send(&p, from, data, len, 2 /* close when all is taken */);
    p.e[1 - from].close_on_eof = true;
    bool ok = fx_pair_run_until(&p, both_closed, p.now + 60000000);
    if (!ok) {
        for (int i = 0; i < 2; i++) {
            mptcp_mp_stats m;
            mptcp_conn_stats t;
            if (p.e[i].conn == NULL) {
                printf("end %d: no conn, closed %zu reason %d rx %zu\n", i, p.e[i].n_ev[MPTCP_EV_CLOSED], p.e[i].close_reason, p.e[i].rx_len);
                continue;
            }
            mptcp_conn_get_mp_stats(p.e[i].conn, &m);
            mptcp_conn_get_stats(p.e[i].conn, &t);
            printf("end %d: rx %zu tx_off %zu snd_una %llu snd_nxt %llu rcv_nxt %llu wnd %u sent %llu acked %llu rcvd %llu fe %d tcp state %d snd_una %u snd_nxt %u rcv_wnd %u snd_wnd %u cwnd %u\n", i, p.e[i].rx_len, p.e[i].tx_off,
                   (unsigned long long)m.snd_una, (unsigned long long)m.snd_nxt, (unsigned long long)m.rcv_nxt, m.snd_wnd,
                   (unsigned long long)m.bytes_sent, (unsigned long long)m.bytes_acked, (unsigned long long)m.bytes_received, m.fully_established,
                   t.state, t.snd_una, t.snd_nxt, t.rcv_wnd, t.snd_wnd, t.cwnd);
        }
    }
    ck_assert(ok);
    fx_end *rx = &p.e[1 - from];
    if (rx->rx_len != len)
        printf("short: rx %zu reasons %d/%d fallback %zu/%zu mpfail %zu/%zu down %zu/%zu\n", rx->rx_len,
               p.e[0].close_reason, p.e[1].close_reason, p.e[0].n_ev[MPTCP_EV_FALLBACK],
               p.e[1].n_ev[MPTCP_EV_FALLBACK], p.e[0].n_ev[MPTCP_EV_MP_FAIL],
               p.e[1].n_ev[MPTCP_EV_MP_FAIL], p.e[0].n_ev[MPTCP_EV_SUBFLOW_DOWN],
               p.e[1].n_ev[MPTCP_EV_SUBFLOW_DOWN]);
    ck_assert_uint_eq(rx->rx_len, len);
    ck_assert(memcmp(rx->rx, data, len) == 0);
    ck_assert(rx->rx_eof);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 0);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_FALLBACK], 0);
    mptcp_stack_stats s;
    mptcp_stack_get_stats(p.e[from].st, &s);
    ck_assert_uint_eq(s.rst_out, 0);
    if (drop_every)
        ck_assert_uint_gt(s.retrans_segs, 0);
    fx_pair_run(&p, p.now + 30000000);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[0].st), UINT64_MAX);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    free(data);
    fx_pair_fini(&p);
}

START_TEST(dss_transfer_client_to_server_1mb)
{
    mp_transfer(0, 1u << 20, 21, NULL);
}
END_TEST

START_TEST(dss_transfer_server_to_client_1mb)
{
    mp_transfer(1, 1u << 20, 22, NULL);
}
END_TEST

START_TEST(dss_transfer_with_loss_both_directions)
{
    mp_transfer_ex(0, 1u << 20, 24, NULL, 40);
    mp_transfer_ex(1, 1u << 20, 25, NULL, 25);
}
END_TEST

START_TEST(dss_transfer_with_checksums)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.mptcp = true;
    c.checksum = true;
    mp_transfer(0, 300000, 23, &c);
}
END_TEST


/* ------------------------------------------------------------ fallback */

START_TEST(fallback_when_the_server_runs_plain_tcp)
{
    mptcp_config plain;
    mptcp_config_init(&plain);
    plain.mptcp = false;
    fx_pair p;
    fx_pair_init_mp(&p, NULL, &plain, 31, 5000);
    log_on(&p);
    size_t len = 200000;
    uint8_t *data = malloc(len);
    fx_fill(data, len, 31);
    fx_pair_connect(&p);
    /* queued and shut down before the handshake ends: it must reach the
     * peer as TCP, FIN included */
    fx_pair_send(&p, 0, data, len, 1);
    p.e[1].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 60000000));
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, data, len) == 0);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_FALLBACK], 1);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    /* SYN offered MP_CAPABLE, the SYN/ACK did not answer it, and no
     * MPTCP option was sent after it */
    ck_assert(seg_has(&p.log[0], MPTCP_OPT_MPC_SYN, NULL));
    for (size_t i = 1; i < p.n_log && i < p.log_cap; i++) {
        mptcp_seg s;
        ck_assert_int_eq(mptcp_seg_parse(p.log[i].data, p.log[i].len, &s), 0);
        ck_assert_uint_eq(s.n_mptcp, 0);
    }
    free(data);
    free(p.log);
    p.log = NULL;
    fx_pair_fini(&p);
}
END_TEST

START_TEST(plain_client_gets_plain_tcp_from_an_mptcp_server)
{
    mptcp_config plain;
    mptcp_config_init(&plain);
    plain.mptcp = false;
    fx_pair p;
    fx_pair_init_mp(&p, &plain, NULL, 32, 5000);
    size_t len = 100000;
    uint8_t *data = malloc(len);
    fx_fill(data, len, 32);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_send(&p, 1, data, len, 2);
    p.e[0].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 60000000));
    ck_assert_uint_eq(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[0].rx, data, len) == 0);
    mptcp_mp_stats m;
    /* the server's connection is plain TCP: never offered, no fallback */
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_FALLBACK], 0);
    (void)m;
    free(data);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(connect_ex_can_turn_mptcp_off_per_connection)
{
    fx_pair p;
    fx_pair_init_mp(&p, NULL, NULL, 33, 5000);
    mptcp_addr l = fx_addr(1, 0), r = fx_addr(2, 80);
    mptcp_conn *c = NULL;
    ck_assert_int_eq(mptcp_connect_ex(p.e[0].st, &l, &r, false, p.now, &c), 0);
    p.e[0].conn = c;
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    mptcp_mp_stats a, b;
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[0].conn, &a), 0);
    ck_assert_int_eq(mptcp_conn_get_mp_stats(p.e[1].conn, &b), 0);
    ck_assert(!a.mptcp && !b.mptcp);
    ck_assert_int_eq(mptcp_subflow_open(c, &l, &r, false, p.now), MPTCP_ESTATE);
    fx_pair_fini(&p);
}
END_TEST

/* ------------------------------------------------------------ MP_JOIN */

static bool subflows_up(fx_pair *p, size_t n)
{
    return p->e[0].n_ev[MPTCP_EV_SUBFLOW_UP] >= n && p->e[1].n_ev[MPTCP_EV_SUBFLOW_UP] >= n;
}

static bool two_up(fx_pair *p)
{
    return subflows_up(p, 2);
}

static bool three_up(fx_pair *p)
{
    return subflows_up(p, 3);
}

/* Client 10.0.0.1 connects to 10.0.0.2; it then joins from 10.0.0.3 (and
 * 10.0.0.5); the server listens on every address. */
static void join_setup(fx_pair *p, uint64_t seed, const mptcp_config *cfg, int extra)
{
    fx_pair_init_mp(p, cfg, cfg, seed, 5000);
    fx_pair_connect(p);
    ck_assert(fx_pair_run_until(p, both_connected, p->now + 1000000));
    fx_pair_run(p, p->now + 50000);
    mptcp_addr r = fx_addr(2, 80);
    for (int i = 0; i < extra; i++) {
        mptcp_addr l = fx_addr((uint8_t)(3 + 2 * i), 0);
        ck_assert_int_eq(mptcp_subflow_open(p->e[0].conn, &l, &r, false, p->now), 1 + i);
    }
    if (extra > 0)
        ck_assert(fx_pair_run_until(p, extra == 1 ? two_up : three_up, p->now + 1000000));
}

START_TEST(mp_join_second_subflow_with_hmacs)
{
    fx_pair p;
    join_setup(&p, 41, NULL, 0);
    log_on(&p);
    mptcp_addr l = fx_addr(3, 0), r = fx_addr(2, 80);
    ck_assert_int_eq(mptcp_subflow_open(p.e[0].conn, &l, &r, true, p.now), 1);
    ck_assert(fx_pair_run_until(&p, two_up, p.now + 1000000));
    mptcp_opt syn, synack, ack;
    ck_assert(seg_has(&p.log[0], MPTCP_OPT_JOIN_SYN, &syn));
    ck_assert(seg_has(&p.log[1], MPTCP_OPT_JOIN_SYNACK, &synack));
    ck_assert(seg_has(&p.log[2], MPTCP_OPT_JOIN_ACK, &ack));
    mptcp_mp_stats a, b;
    mptcp_conn_get_mp_stats(p.e[0].conn, &a);
    mptcp_conn_get_mp_stats(p.e[1].conn, &b);
    ck_assert_uint_eq(syn.u.join.token, b.local_token);
    ck_assert(syn.u.join.backup);
    ck_assert_uint_eq(b.joins_in, 1);
    ck_assert_uint_eq(a.joins_out, 1);
    ck_assert_uint_eq(a.n_subflows, 2);
    ck_assert_uint_eq(b.n_subflows, 2);
    /* the server sees the joiner's backup wish */
    mptcp_subflow_stats s;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[1].conn, 1, &s), 0);
    ck_assert(s.peer_backup && s.join);
    ck_assert_uint_eq(s.remote.ip[3], 3);
    int ids[8];
    ck_assert_int_eq(mptcp_conn_subflows(p.e[1].conn, ids, 8), 2);
    free(p.log);
    p.log = NULL;
    fx_pair_fini(&p);
}
END_TEST

static void two_path_transfer(uint64_t seed, int from, int extra)
{
    fx_pair p;
    join_setup(&p, seed, NULL, extra);
    size_t len = 2u << 20;
    uint8_t *data = malloc(len);
    fx_fill(data, len, seed);
    fx_pair_send(&p, from, data, len, 2);
    p.e[1 - from].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 60000000));
    fx_end *rx = &p.e[1 - from];
    ck_assert_uint_eq(rx->rx_len, len);
    ck_assert(memcmp(rx->rx, data, len) == 0);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    free(data);
    fx_pair_fini(&p);
}

START_TEST(data_spreads_over_two_subflows)
{
    /* Checked while the connection is up: every subflow carried data. */
    fx_pair p;
    join_setup(&p, 42, NULL, 1);
    size_t len = 2u << 20;
    uint8_t *data = malloc(len);
    fx_fill(data, len, 42);
    fx_pair_send(&p, 0, data, len, 0);
    fx_pair_run(&p, p.now + 3000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, data, len) == 0);
    mptcp_subflow_stats s0, s1;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 0, &s0), 0);
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 1, &s1), 0);
    ck_assert_uint_gt(s0.tcp.bytes_sent, len / 10);
    ck_assert_uint_gt(s1.tcp.bytes_sent, len / 10);
    /* opportunistic reinjection may send some bytes on both */
    ck_assert_uint_ge(s0.tcp.bytes_acked + s1.tcp.bytes_acked, len);
    free(data);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(two_subflows_client_to_server_then_close)
{
    two_path_transfer(43, 0, 1);
}
END_TEST

START_TEST(three_subflows_server_to_client_then_close)
{
    two_path_transfer(44, 1, 2);
}
END_TEST

/* A subflow sends from its connection's send ring (docs/architecture.md,
 * "Send path"): a join adds its TCB and receive ring, no send ring, on the
 * side that opens it and on the side that accepts it. */
START_TEST(a_join_holds_no_send_ring_memory)
{
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    fx_pair p;
    join_setup(&p, 45, NULL, 0); /* the fixture's MPTCP defaults: cfg's ring sizes */
    size_t before[2] = {p.e[0].alloc.live_bytes, p.e[1].alloc.live_bytes};
    mptcp_addr l = fx_addr(3, 0), r = fx_addr(2, 80);
    ck_assert_int_eq(mptcp_subflow_open(p.e[0].conn, &l, &r, false, p.now), 1);
    ck_assert(fx_pair_run_until(&p, two_up, p.now + 1000000));
    fx_pair_run(&p, p.now + 100000);
    for (int i = 0; i < 2; i++) {
        size_t added = p.e[i].alloc.live_bytes - before[i];
        ck_assert_msg(added >= cfg.rcvbuf && added < (size_t)cfg.rcvbuf + cfg.sndbuf / 4,
                      "side %d: the join added %zu bytes (rcvbuf %u, sndbuf %u)", i, added,
                      cfg.rcvbuf, cfg.sndbuf);
    }
    /* and it carries data both ways as before */
    size_t len = 1u << 20;
    uint8_t *data = malloc(len);
    fx_fill(data, len, 45);
    fx_pair_send(&p, 0, data, len, 0);
    fx_pair_send(&p, 1, data, len, 0);
    fx_pair_run(&p, p.now + 3000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert_uint_eq(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, data, len) == 0 && memcmp(p.e[0].rx, data, len) == 0);
    mptcp_subflow_stats s1;
    ck_assert_int_eq(mptcp_subflow_get_stats(p.e[0].conn, 1, &s1), 0);
    ck_assert_uint_gt(s1.tcp.bytes_sent, len / 10);
    free(data);
    fx_pair_fini(&p);
}
END_TEST

Suite *mptcp_conn_suite(void)
{
    Suite *s = suite_create("mptcp_conn");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, mp_capable_handshake_forms_and_keys);
    tcase_add_test(tc, dss_transfer_client_to_server_1mb);
    tcase_add_test(tc, dss_transfer_server_to_client_1mb);
    tcase_add_test(tc, dss_transfer_with_checksums);
    tcase_add_test(tc, dss_transfer_with_loss_both_directions);
    tcase_add_test(tc, fallback_when_the_server_runs_plain_tcp);
    tcase_add_test(tc, plain_client_gets_plain_tcp_from_an_mptcp_server);
    tcase_add_test(tc, connect_ex_can_turn_mptcp_off_per_connection);
    tcase_add_test(tc, mp_join_second_subflow_with_hmacs);
    tcase_add_test(tc, data_spreads_over_two_subflows);
    tcase_add_test(tc, two_subflows_client_to_server_then_close);
    tcase_add_test(tc, three_subflows_server_to_client_then_close);
    tcase_add_test(tc, a_join_holds_no_send_ring_memory);
    suite_add_tcase(s, tc);
    return s;
}
