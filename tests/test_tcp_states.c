/* TCP state machine over the pair harness: simultaneous open and close,
 * half-close, abort, close with unread data, keepalive, TIME_WAIT expiry
 * and reuse, FIN retransmission. Transfers are checked byte for byte. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"

static bool connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static int state_of(mptcp_conn *c)
{
    mptcp_conn_stats s;
    ck_assert_int_eq(mptcp_conn_get_stats(c, &s), 0);
    return s.state;
}

START_TEST(simultaneous_open_connects_both)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 21, 10000);
    mptcp_addr a = fx_addr(1, 5000), b = fx_addr(2, 6000);
    mptcp_conn *ca, *cb;
    ck_assert_int_eq(mptcp_connect(p.e[0].st, &a, &b, p.now, &ca), 0);
    ck_assert_int_eq(mptcp_connect(p.e[1].st, &b, &a, p.now, &cb), 0);
    p.e[0].conn = ca;
    p.e[1].conn = cb;
    fx_pair_run(&p, p.now + 100000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CONNECTED], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CONNECTED], 1);
    ck_assert_int_eq(state_of(ca), MPTCP_TCP_ESTABLISHED);
    ck_assert_int_eq(state_of(cb), MPTCP_TCP_ESTABLISHED);
    uint8_t x[5000], y[7000];
    fx_fill(x, sizeof x, 1);
    fx_fill(y, sizeof y, 2);
    fx_pair_send(&p, 0, x, sizeof x, 1);
    fx_pair_send(&p, 1, y, sizeof y, 1);
    fx_pair_run(&p, p.now + 1000000);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof x);
    ck_assert_uint_eq(p.e[0].rx_len, sizeof y);
    ck_assert(memcmp(p.e[1].rx, x, sizeof x) == 0);
    ck_assert(memcmp(p.e[0].rx, y, sizeof y) == 0);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(simultaneous_close_goes_through_closing)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 22, 10000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    mptcp_conn *a = p.e[0].conn, *b = p.e[1].conn;
    ck_assert_int_eq(mptcp_shutdown(a, p.now), 0);
    ck_assert_int_eq(mptcp_shutdown(b, p.now), 0);
    ck_assert_int_eq(state_of(a), MPTCP_TCP_FIN_WAIT_1);
    /* both FINs cross: each side sees the other's FIN before the ACK */
    fx_pair_run(&p, p.now + 10000);
    ck_assert_int_eq(state_of(a), MPTCP_TCP_CLOSING);
    ck_assert_int_eq(state_of(b), MPTCP_TCP_CLOSING);
    fx_pair_run(&p, p.now + 10000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    /* both hold TIME_WAIT until it expires (default 2 s) */
    ck_assert_uint_ne(mptcp_next_timeout(p.e[0].st), UINT64_MAX);
    ck_assert_uint_ne(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    fx_pair_run(&p, p.now + 2100000);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[0].st), UINT64_MAX);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(half_close_keeps_the_other_direction_open)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 23, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    uint8_t req[300];
    fx_fill(req, sizeof req, 3);
    fx_pair_send(&p, 0, req, sizeof req, 1); /* request, then shutdown */
    fx_pair_run(&p, p.now + 200000);
    ck_assert(p.e[1].rx_eof);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_PEER_SHUTDOWN], 1);
    ck_assert_int_eq(state_of(p.e[1].conn), MPTCP_TCP_CLOSE_WAIT);
    ck_assert_int_eq(state_of(p.e[0].conn), MPTCP_TCP_FIN_WAIT_2);
    ck_assert_int_eq(mptcp_send(p.e[0].conn, req, 1, p.now), MPTCP_ESTATE);
    /* the server still answers with 200 kB after the client's FIN */
    size_t len = 200000;
    uint8_t *resp = malloc(len);
    fx_fill(resp, len, 4);
    fx_pair_send(&p, 1, resp, len, 2);
    p.e[0].close_on_eof = true;
    fx_pair_run(&p, p.now + 10000000);
    ck_assert_uint_eq(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[0].rx, resp, len) == 0);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof req);
    ck_assert(memcmp(p.e[1].rx, req, sizeof req) == 0);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    fx_pair_fini(&p);
    free(resp);
}
END_TEST

START_TEST(abort_resets_the_peer)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 24, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    ck_assert_int_eq(mptcp_abort(p.e[0].conn, p.now), 0);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_ABORTED);
    fx_pair_run(&p, p.now + 100000);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_RESET);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(close_with_unread_data_sends_rst)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 25, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    p.e[1].auto_read = false;
    uint8_t d[100] = {1};
    fx_pair_send(&p, 0, d, sizeof d, 0);
    fx_pair_run(&p, p.now + 100000);
    ck_assert_int_eq(mptcp_close(p.e[1].conn, p.now), 0);
    fx_pair_run(&p, p.now + 100000);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_ABORTED);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_RESET);
    fx_pair_fini(&p);
}
END_TEST

static int drop_all_from_1(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                           uint64_t *extra)
{
    (void)p;
    (void)idx;
    (void)seg;
    (void)len;
    (void)extra;
    return from == 1 ? FX_DROP : FX_PASS;
}

START_TEST(keepalive_probes_and_times_out)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.keepalive_idle_us = 1000000;
    c.keepalive_intvl_us = 100000;
    c.keepalive_probes = 3;
    fx_pair p;
    fx_pair_init(&p, &c, NULL, 26, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    uint32_t before = p.sent[0];
    fx_pair_run(&p, p.now + 10000000); /* idle 10 s: probes answered */
    ck_assert_uint_ge(p.sent[0] - before, 9);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    ck_assert_int_eq(state_of(p.e[0].conn), MPTCP_TCP_ESTABLISHED);
    p.filter = drop_all_from_1; /* the peer vanishes */
    uint64_t t0 = p.now;
    fx_pair_run(&p, p.now + 5000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_TIMEOUT);
    (void)t0;
    fx_pair_fini(&p);
}
END_TEST

START_TEST(time_wait_blocks_then_frees_the_tuple)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.time_wait_us = 500000;
    fx_pair p;
    fx_pair_init(&p, &c, &c, 27, 5000);
    mptcp_addr l = fx_addr(1, 40000), r = fx_addr(2, 80);
    mptcp_conn *conn;
    ck_assert_int_eq(mptcp_connect(p.e[0].st, &l, &r, p.now, &conn), 0);
    p.e[0].conn = conn;
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    /* the client closes first, so the client holds TIME_WAIT */
    ck_assert_int_eq(mptcp_close(p.e[0].conn, p.now), 0);
    p.e[1].close_on_eof = true;
    fx_pair_run(&p, p.now + 100000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(mptcp_connect(p.e[0].st, &l, &r, p.now, &conn), MPTCP_EADDRINUSE);
    fx_pair_run(&p, p.now + 600000);
    ck_assert_int_eq(mptcp_connect(p.e[0].st, &l, &r, p.now, &conn), 0);
    p.e[0].conn = conn;
    fx_pair_run(&p, p.now + 100000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CONNECTED], 2);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(time_wait_on_server_accepts_new_syn_for_same_tuple)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 28, 5000);
    mptcp_addr l = fx_addr(1, 40001), r = fx_addr(2, 80);
    mptcp_conn *conn;
    ck_assert_int_eq(mptcp_connect(p.e[0].st, &l, &r, p.now, &conn), 0);
    p.e[0].conn = conn;
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    /* the server closes first: the server holds TIME_WAIT (2 s) */
    ck_assert_int_eq(mptcp_close(p.e[1].conn, p.now), 0);
    p.e[0].close_on_eof = true;
    fx_pair_run(&p, p.now + 100000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_uint_ne(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    /* the client reuses the tuple at once: RFC 6191 reuse on the server */
    ck_assert_int_eq(mptcp_connect(p.e[0].st, &l, &r, p.now, &conn), 0);
    p.e[0].conn = conn;
    fx_pair_run(&p, p.now + 100000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CONNECTED], 2);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_ACCEPTED], 2);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(lost_fin_is_retransmitted)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 29, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    fx_pair_rule(&p, 0, p.sent[0], FX_DROP, 0);
    ck_assert_int_eq(mptcp_close(p.e[0].conn, p.now), 0);
    p.e[1].close_on_eof = true;
    fx_pair_run(&p, p.now + 3000000);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_PEER_SHUTDOWN], 1);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CLOSED], 1);
    mptcp_stack_stats s;
    mptcp_stack_get_stats(p.e[0].st, &s);
    ck_assert_uint_eq(s.retrans_segs, 1);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(orphan_fin_wait_2_times_out)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.fin_wait2_us = 1000000;
    fx_pair p;
    fx_pair_init(&p, &c, NULL, 30, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    ck_assert_int_eq(mptcp_close(p.e[0].conn, p.now), 0); /* the server never closes */
    fx_pair_run(&p, p.now + 500000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 0);
    fx_pair_run(&p, p.now + 1000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[0].st), UINT64_MAX);
    fx_pair_fini(&p);
}
END_TEST

Suite *tcp_states_suite(void)
{
    Suite *s = suite_create("tcp_states");
    TCase *tc = tcase_create("states");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, simultaneous_open_connects_both);
    tcase_add_test(tc, simultaneous_close_goes_through_closing);
    tcase_add_test(tc, half_close_keeps_the_other_direction_open);
    tcase_add_test(tc, abort_resets_the_peer);
    tcase_add_test(tc, close_with_unread_data_sends_rst);
    tcase_add_test(tc, keepalive_probes_and_times_out);
    tcase_add_test(tc, time_wait_blocks_then_frees_the_tuple);
    tcase_add_test(tc, time_wait_on_server_accepts_new_syn_for_same_tuple);
    tcase_add_test(tc, lost_fin_is_retransmitted);
    tcase_add_test(tc, orphan_fin_wait_2_times_out);
    suite_add_tcase(s, tc);
    return s;
}
