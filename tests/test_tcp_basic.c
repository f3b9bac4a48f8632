/* TCP engine, core behaviour over the two-stack pair harness: handshake in
 * both roles, bulk transfer checked byte for byte, orderly close both ways,
 * RST for a closed port, RTO retransmission. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"
#include "conn.h"
#include "stack.h"
#include "tcp.h"

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
    uint64_t calls0 = p.e[0].alloc.calls, calls1 = p.e[1].alloc.calls;
    fx_pair_send(&p, from, data, len, 2 /* close when all is taken */);
    p.e[1 - from].close_on_eof = true;
    ck_assert(fx_pair_run_until(&p, both_closed, p.now + 60000000));
    /* no allocation per segment: none at all after the connection exists */
    ck_assert_uint_eq(p.e[0].alloc.calls, calls0);
    ck_assert_uint_eq(p.e[1].alloc.calls, calls1);
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

/* The upper-layer hook: option bytes out, options in, payload in. */
static struct {
    uint32_t out_calls, in_seen, data_bytes;
} hk;

static size_t hk_opts_out(void *ctx, mptcp_tcb *t, uint16_t flags, uint32_t seq,
                          uint32_t payload_len, uint32_t wnd, uint8_t *dst, size_t cap)
{
    (void)ctx;
    (void)t;
    (void)flags;
    (void)seq;
    (void)payload_len;
    (void)wnd;
    if (cap < 4)
        return 0;
    hk.out_calls++;
    dst[0] = 253; /* RFC 4727 experimental kind */
    dst[1] = 4;
    dst[2] = 0xab;
    dst[3] = 0xcd;
    return 4;
}

static void hk_opts_in(void *ctx, mptcp_tcb *t, const mptcp_tcp_hdr *h, const uint8_t *o,
                       size_t len)
{
    (void)ctx;
    (void)t;
    (void)h;
    for (size_t i = 0; i + 3 < len; i++)
        if (o[i] == 253 && o[i + 1] == 4 && o[i + 2] == 0xab && o[i + 3] == 0xcd)
            hk.in_seen++;
}

static void hk_data_in(void *ctx, mptcp_tcb *t, uint32_t seq, uint32_t len)
{
    (void)ctx;
    (void)t;
    (void)seq;
    hk.data_bytes += len;
}

/* Events still reach the connection (the plain TCP glue) through it. */
static void hk_event(void *ctx, mptcp_tcb *t, uint8_t evb)
{
    mptcp_plain_ops.event(ctx, t, evb);
}

static const mptcp_tcp_upper_ops hk_ops = {hk_opts_out, hk_opts_in, hk_data_in,
                                           hk_event,    NULL,       NULL,       NULL,
                                           NULL};

START_TEST(upper_hooks_add_and_see_options_and_payload)
{
    memset(&hk, 0, sizeof hk);
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 40, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    /* The hook replaces the connection's own (plain TCP: events only, which
     * this test does not need after the handshake). */
    p.e[0].st->upper_plain = &hk_ops; /* client adds the option */
    p.e[1].st->upper_plain = &hk_ops; /* server sees it (and adds it too) */
    uint8_t d[50000];
    fx_fill(d, sizeof d, 40);
    fx_pair_send(&p, 0, d, sizeof d, 0);
    fx_pair_run(&p, p.now + 2000000);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof d);
    ck_assert(memcmp(p.e[1].rx, d, sizeof d) == 0);
    ck_assert_uint_gt(hk.out_calls, 30);
    ck_assert_uint_gt(hk.in_seen, 30);
    ck_assert_uint_eq(hk.data_bytes, sizeof d);
    mptcp_conn_stats a;
    mptcp_conn_get_stats(p.e[0].conn, &a);
    ck_assert_uint_eq(a.retrans_segs, 0);
    fx_pair_fini(&p);
}
END_TEST

/* Same seed, same inputs: the same segments, byte for byte. */
static void trace(uint64_t seed, fx_cap **log, size_t *n)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, seed, 3000);
    p.log = calloc(4096, sizeof *p.log);
    p.log_cap = 4096;
    uint8_t d[60000];
    fx_fill(d, sizeof d, seed);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, both_connected, p.now + 1000000));
    fx_pair_rule(&p, 0, p.sent[0] + 7, FX_DROP, 0);
    fx_pair_send(&p, 0, d, sizeof d, 2);
    p.e[1].close_on_eof = true;
    fx_pair_run(&p, p.now + 10000000);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof d);
    *log = p.log;
    *n = p.n_log;
    p.log = NULL;
    fx_pair_fini(&p);
}

START_TEST(same_seed_gives_identical_traces)
{
    fx_cap *a, *b, *c;
    size_t na, nb, nc;
    trace(77, &a, &na);
    trace(77, &b, &nb);
    trace(78, &c, &nc);
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++) {
        ck_assert_uint_eq(a[i].at, b[i].at);
        ck_assert_uint_eq(a[i].len, b[i].len);
        ck_assert(memcmp(a[i].data, b[i].data, a[i].len) == 0);
    }
    /* another seed: other ISNs, so the first SYN differs */
    ck_assert(memcmp(a[0].data, c[0].data, a[0].len) != 0);
    free(a);
    free(b);
    free(c);
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
    tcase_add_test(tc, upper_hooks_add_and_see_options_and_payload);
    tcase_add_test(tc, same_seed_gives_identical_traces);
    suite_add_tcase(s, tc);
    return s;
}
