/* TCP engine, core behaviour over the two-stack pair harness: handshake in
 * both roles, bulk transfer checked byte for byte, orderly close both ways,
 * RST for a closed port, RTO retransmission. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"

#define MB (1024u * 1024u)

static bool both_connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static bool both_closed(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CLOSED] == 1 && p->e[1].n_ev[MPTCP_EV_CLOSED] == 1;
}

START_TEST(handshake_connects_both_roles)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 1, 10000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    mptcp_conn_stats a, b;
    ck_assert_int_eq(mptcp_conn_get_stats(p.e[0].conn, &a), 0);
    ck_assert_int_eq(mptcp_conn_get_stats(p.e[1].conn, &b), 0);
    ck_assert_int_eq(a.state, MPTCP_TCP_ESTABLISHED);
    ck_assert_int_eq(b.state, MPTCP_TCP_ESTABLISHED);
    ck_assert(a.sack_ok && a.ts_ok && a.wscale_ok);
    ck_assert(b.sack_ok && b.ts_ok && b.wscale_ok);
    ck_assert_uint_eq(a.mss, 1460);
    /* the SYN/ACK RTT sample: two one-way delays */
    ck_assert_uint_eq(a.srtt_us, 20000);
    ck_assert_uint_eq(a.snd_una, b.rcv_nxt);
    ck_assert_uint_eq(b.snd_una, a.rcv_nxt);
    mptcp_addr la, ra;
    ck_assert_int_eq(mptcp_conn_get_addrs(p.e[1].conn, &la, &ra), 0);
    ck_assert_uint_eq(la.port, 80);
    ck_assert_uint_ge(ra.port, 49152);
    fx_pair_fini(&p);
}
END_TEST

static void transfer(int from, size_t len, uint64_t seed)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, seed, 5000);
    uint8_t *data = malloc(len);
    fx_fill(data, len, seed);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_send(&p, from, data, len, 2 /* close when all is taken */);
    p.e[1 - from].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 60000000));
    fx_end *rx = &p.e[1 - from];
    ck_assert_uint_eq(rx->rx_len, len);
    ck_assert(memcmp(rx->rx, data, len) == 0);
    ck_assert(rx->rx_eof);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(p.e[1].close_reason, MPTCP_CLOSE_NORMAL);
    mptcp_stack_stats s;
    mptcp_stack_get_stats(p.e[from].st, &s);
    ck_assert_uint_eq(s.retrans_segs, 0);
    ck_assert_uint_eq(s.rst_out, 0);
    /* TIME_WAIT runs out and frees everything */
    fx_pair_run(&p, p.now + 10000000);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[0].st), UINT64_MAX);
    ck_assert_uint_eq(mptcp_next_timeout(p.e[1].st), UINT64_MAX);
    fx_pair_fini(&p);
    free(data);
}

START_TEST(transfer_1mb_client_to_server)
{
    transfer(0, MB, 7);
}
END_TEST

START_TEST(transfer_1mb_server_to_client)
{
    transfer(1, MB, 8);
}
END_TEST

START_TEST(transfer_both_ways_at_once)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 3, 2000);
    size_t len = 300000;
    uint8_t *a = malloc(len), *b = malloc(len);
    fx_fill(a, len, 1);
    fx_fill(b, len, 2);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_send(&p, 0, a, len, 1);
    fx_pair_send(&p, 1, b, len, 1);
    fx_pair_run(&p, p.now + 30000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert_uint_eq(p.e[0].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, a, len) == 0);
    ck_assert(memcmp(p.e[0].rx, b, len) == 0);
    ck_assert(p.e[0].rx_eof && p.e[1].rx_eof);
    /* both shut down, both read EOF: orderly close on both sides */
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_uint_eq(p.e[1].n_ev[MPTCP_EV_CLOSED], 1);
    fx_pair_fini(&p);
    free(a);
    free(b);
}
END_TEST

START_TEST(rst_for_closed_port)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 4, 1000);
    mptcp_addr l = fx_addr(1, 0), r = fx_addr(2, 81); /* nobody listens on 81 */
    mptcp_conn *c = NULL;
    ck_assert_int_eq(mptcp_connect(p.e[0].st, &l, &r, p.now, &c), 0);
    p.e[0].conn = c;
    fx_pair_run(&p, p.now + 1000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_REFUSED);
    mptcp_stack_stats s;
    mptcp_stack_get_stats(p.e[1].st, &s);
    ck_assert_uint_eq(s.drop_no_conn, 1);
    ck_assert_uint_eq(s.rst_out, 1);
    mptcp_stack_get_stats(p.e[0].st, &s);
    ck_assert_uint_eq(s.rst_in, 1);
    ck_assert_uint_eq(s.rst_out, 0); /* never a RST for a RST */
    fx_pair_fini(&p);
}
END_TEST

START_TEST(lost_syn_is_retransmitted_after_rto)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 5, 10000);
    fx_pair_rule(&p, 0, 0, FX_DROP, 0); /* the first SYN */
    uint64_t t0 = p.now;
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 5000000));
    /* initial RTO 1 s, then SYN, SYN/ACK, ACK: three one-way delays */
    ck_assert_uint_eq(p.now - t0, 1000000 + 30000);
    mptcp_conn_stats a;
    mptcp_conn_get_stats(p.e[0].conn, &a);
    ck_assert_uint_eq(a.rto_expiries, 1);
    ck_assert_uint_eq(a.srtt_us, 0); /* Karn: no sample from a retransmitted SYN */
    fx_pair_fini(&p);
}
END_TEST

START_TEST(lost_data_tail_is_retransmitted_after_rto)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 6, 10000);
    uint8_t data[1000];
    fx_fill(data, sizeof data, 6);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_rule(&p, 0, p.sent[0], FX_DROP, 0); /* the only data segment */
    fx_pair_send(&p, 0, data, sizeof data, 0);
    fx_pair_run(&p, p.now + 3000000);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof data);
    ck_assert(memcmp(p.e[1].rx, data, sizeof data) == 0);
    mptcp_conn_stats a;
    mptcp_conn_get_stats(p.e[0].conn, &a);
    ck_assert_uint_eq(a.rto_expiries, 1);
    ck_assert_uint_eq(a.retrans_segs, 1);
    ck_assert_uint_eq(a.bytes_acked, sizeof data);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(connect_gives_up_after_syn_retries)
{
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.syn_retries = 2;
    fx_pair p;
    fx_pair_init(&p, &cfg, NULL, 9, 1000);
    for (uint32_t i = 0; i < 3; i++)
        fx_pair_rule(&p, 0, i, FX_DROP, 0);
    uint64_t t0 = p.now;
    fx_pair_connect(&p);
    fx_pair_run(&p, p.now + 60000000);
    ck_assert_uint_eq(p.e[0].n_ev[MPTCP_EV_CLOSED], 1);
    ck_assert_int_eq(p.e[0].close_reason, MPTCP_CLOSE_TIMEOUT);
    ck_assert_uint_eq(p.sent[0], 3);
    (void)t0;
    fx_pair_fini(&p);
}
END_TEST

Suite *tcp_basic_suite(void)
{
    Suite *s = suite_create("tcp_basic");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, handshake_connects_both_roles);
    tcase_add_test(tc, transfer_1mb_client_to_server);
    tcase_add_test(tc, transfer_1mb_server_to_client);
    tcase_add_test(tc, transfer_both_ways_at_once);
    tcase_add_test(tc, rst_for_closed_port);
    tcase_add_test(tc, lost_syn_is_retransmitted_after_rto);
    tcase_add_test(tc, lost_data_tail_is_retransmitted_after_rto);
    tcase_add_test(tc, connect_gives_up_after_syn_retries);
    suite_add_tcase(s, tc);
    return s;
}
