/* TCP windows and timers over the pair harness: RFC 7323 window scaling and
 * timestamps, MSS negotiation, zero window with persist probes, delayed
 * ACKs, receiver silly-window avoidance, the RTT estimator. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/fixture.h"
#include "mptcp.h"

static bool connected(fx_pair *p)
{
    return p->e[0].n_ev[MPTCP_EV_CONNECTED] == 1 && p->e[1].n_ev[MPTCP_EV_ACCEPTED] == 1;
}

static void stats_of(mptcp_conn *c, mptcp_conn_stats *s)
{
    ck_assert_int_eq(mptcp_conn_get_stats(c, s), 0);
}

START_TEST(window_scaling_opens_beyond_64k)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.rcvbuf = 1024 * 1024;
    c.sndbuf = 1024 * 1024;
    fx_pair p;
    fx_pair_init(&p, &c, &c, 31, 20000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    mptcp_conn_stats a, b;
    stats_of(p.e[0].conn, &a);
    stats_of(p.e[1].conn, &b);
    ck_assert(a.wscale_ok && b.wscale_ok);
    ck_assert_uint_eq(a.rcv_wscale, 5); /* 1 MiB >> 5 fits 16 bits */
    ck_assert_uint_eq(a.snd_wscale, b.rcv_wscale);
    size_t len = 2 * 1024 * 1024;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 31);
    fx_pair_send(&p, 0, d, len, 1);
    fx_pair_run(&p, p.now + 30000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, d, len) == 0);
    stats_of(p.e[0].conn, &a);
    ck_assert_uint_gt(a.snd_wnd, 65535); /* the scaled window the peer offers */
    ck_assert_uint_gt(a.cwnd, 65535);    /* more than 64 KiB in flight was possible */
    fx_pair_fini(&p);
    free(d);
}
END_TEST

START_TEST(options_off_on_one_side_are_off_for_both)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.window_scaling = false;
    c.timestamps = false;
    c.sack = false;
    fx_pair p;
    fx_pair_init(&p, NULL, &c, 32, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    mptcp_conn_stats a;
    stats_of(p.e[0].conn, &a);
    ck_assert(!a.wscale_ok && !a.ts_ok && !a.sack_ok);
    ck_assert_uint_eq(a.snd_wscale, 0);
    ck_assert_uint_eq(a.rcv_wscale, 0);
    ck_assert_uint_le(a.snd_wnd, 65535);
    size_t len = 300000;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 32);
    fx_pair_send(&p, 0, d, len, 1);
    fx_pair_run(&p, p.now + 20000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, d, len) == 0);
    fx_pair_fini(&p);
    free(d);
}
END_TEST

START_TEST(mss_is_the_smaller_of_both_and_bounds_segments)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.mss = 1000;
    fx_pair p;
    fx_pair_init(&p, NULL, &c, 33, 5000);
    p.log = calloc(4096, sizeof *p.log);
    p.log_cap = 4096;
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    mptcp_conn_stats a;
    stats_of(p.e[0].conn, &a);
    ck_assert_uint_eq(a.mss, 1000);
    uint8_t d[20000];
    fx_fill(d, sizeof d, 33);
    fx_pair_send(&p, 0, d, sizeof d, 1);
    fx_pair_run(&p, p.now + 2000000);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof d);
    size_t maxpay = 0;
    for (size_t i = 0; i < p.n_log; i++) {
        mptcp_seg s;
        fx_seg_decode(&p.log[i], &s);
        if (p.log_from[i] == 0 && s.payload_len > maxpay)
            maxpay = s.payload_len;
        ck_assert_uint_le(s.payload_len + s.hdr.doff - 20, 1000); /* RFC 6691 */
    }
    ck_assert_uint_eq(maxpay, 1000 - 12);
    fx_pair_fini(&p);
}
END_TEST

static int drop_index_from_1(fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                             uint64_t *extra)
{
    (void)seg;
    (void)len;
    (void)extra;
    uint32_t *victim = p->filter_arg;
    return (from == 1 && idx == *victim) ? FX_DROP : FX_PASS;
}

START_TEST(zero_window_is_probed_until_it_opens)
{
    mptcp_config c;
    mptcp_config_init(&c);
    c.rcvbuf = 16384;
    fx_pair p;
    fx_pair_init(&p, NULL, &c, 34, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    p.e[1].auto_read = false;
    size_t len = 100000;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 34);
    fx_pair_send(&p, 0, d, len, 1);
    fx_pair_run(&p, p.now + 5000000);
    mptcp_conn_stats a, b;
    stats_of(p.e[0].conn, &a);
    stats_of(p.e[1].conn, &b);
    ck_assert_uint_eq(a.snd_wnd, 0);
    ck_assert_uint_eq(b.bytes_received, 16384);
    ck_assert_uint_ge(a.zero_window_probes, 2); /* persist timer, backing off */
    ck_assert_uint_eq(a.rto_expiries, 0);
    /* the reader drains; its window update is lost: only a probe finds out */
    uint32_t victim = p.sent[1];
    p.filter = drop_index_from_1;
    p.filter_arg = &victim;
    uint8_t *got = malloc(len);
    size_t n = 0;
    mptcp_ssize r;
    while ((r = mptcp_recv(p.e[1].conn, got + n, len - n, p.now)) > 0)
        n += (size_t)r;
    ck_assert_uint_eq(p.sent[1], victim + 1); /* a window update was sent */
    p.e[1].auto_read = true;
    memcpy(p.e[1].rx = realloc(p.e[1].rx, len), got, n);
    p.e[1].rx_len = n;
    p.e[1].rx_cap = len;
    fx_pair_run(&p, p.now + 120000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    ck_assert(memcmp(p.e[1].rx, d, len) == 0);
    stats_of(p.e[0].conn, &a);
    ck_assert_uint_ge(a.zero_window_probes, 3);
    fx_pair_fini(&p);
    free(d);
    free(got);
}
END_TEST

/* The SYN/ACK can offer only 64 KiB (unscaled); the first read makes the
 * server announce its full scaled window. Get that update out of the way. */
static void warm_up(fx_pair *p)
{
    static const uint8_t ten[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    fx_pair_send(p, 0, ten, sizeof ten, 0);
    fx_pair_run(p, p->now + 200000);
    ck_assert_uint_eq(p->e[1].rx_len, sizeof ten);
}

START_TEST(delayed_ack_waits_40ms_for_one_small_segment)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 35, 5000);
    p.log = calloc(256, sizeof *p.log);
    p.log_cap = 256;
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    warm_up(&p);
    size_t first = p.n_log;
    uint8_t d[100];
    fx_fill(d, sizeof d, 35);
    uint64_t t0 = p.now;
    fx_pair_send(&p, 0, d, sizeof d, 0);
    fx_pair_run(&p, p.now + 200000);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof d + 10);
    /* log: data (0), then the ACK (1) after delay + 40 ms */
    ck_assert_uint_eq(p.n_log, first + 2);
    ck_assert_int_eq(p.log_from[first + 1], 1);
    ck_assert_uint_eq(p.log[first + 1].at, t0 + 5000 + 40000);
    fx_pair_fini(&p);
}
END_TEST

START_TEST(every_second_full_segment_is_acked_at_once)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 36, 5000);
    p.log = calloc(256, sizeof *p.log);
    p.log_cap = 256;
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    warm_up(&p);
    size_t first = p.n_log;
    uint8_t d[2 * 1448];
    fx_fill(d, sizeof d, 36);
    uint64_t t0 = p.now;
    fx_pair_send(&p, 0, d, sizeof d, 0);
    fx_pair_run(&p, p.now + 200000);
    ck_assert_uint_eq(p.e[1].rx_len, sizeof d + 10);
    ck_assert_uint_eq(p.n_log, first + 3);
    ck_assert_int_eq(p.log_from[first + 2], 1);
    ck_assert_uint_eq(p.log[first + 2].at, t0 + 5000); /* no delay */
    fx_pair_fini(&p);
}
END_TEST

START_TEST(rtt_estimate_tracks_the_path)
{
    fx_pair p;
    fx_pair_init(&p, NULL, NULL, 37, 25000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    size_t len = 500000;
    uint8_t *d = malloc(len);
    fx_fill(d, len, 37);
    fx_pair_send(&p, 0, d, len, 1);
    fx_pair_run(&p, p.now + 20000000);
    ck_assert_uint_eq(p.e[1].rx_len, len);
    mptcp_conn_stats a;
    stats_of(p.e[0].conn, &a);
    /* 50 ms RTT; delayed ACKs add up to 40 ms to some samples */
    ck_assert_uint_ge(a.srtt_us, 50000);
    ck_assert_uint_le(a.srtt_us, 95000);
    ck_assert_uint_ge(a.rto_us, 200000); /* rto_min */
    ck_assert_uint_eq(a.retrans_segs, 0);
    fx_pair_fini(&p);
    free(d);
}
END_TEST

START_TEST(small_reads_do_not_open_silly_windows)
{
    /* RFC 9293 section 3.8.6.2.2: reading a few bytes from a full buffer
     * does not produce a window update for those few bytes. */
    mptcp_config c;
    mptcp_config_init(&c);
    c.rcvbuf = 16384;
    fx_pair p;
    fx_pair_init(&p, NULL, &c, 38, 5000);
    fx_pair_connect(&p);
    ck_assert(fx_pair_run_until(&p, connected, p.now + 1000000));
    p.e[1].auto_read = false;
    uint8_t d[40000];
    fx_fill(d, sizeof d, 38);
    fx_pair_send(&p, 0, d, sizeof d, 0);
    fx_pair_run(&p, p.now + 500000);
    uint32_t sent = p.sent[1];
    uint8_t b[100];
    ck_assert_int_eq(mptcp_recv(p.e[1].conn, b, sizeof b, p.now), 100);
    ck_assert_uint_eq(p.sent[1], sent); /* no update for 100 bytes */
    mptcp_conn_stats s;
    stats_of(p.e[1].conn, &s);
    ck_assert_uint_eq(s.rcv_wnd, 0);
    fx_pair_fini(&p);
}
END_TEST

Suite *tcp_window_suite(void)
{
    Suite *s = suite_create("tcp_window");
    TCase *tc = tcase_create("window");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, window_scaling_opens_beyond_64k);
    tcase_add_test(tc, options_off_on_one_side_are_off_for_both);
    tcase_add_test(tc, mss_is_the_smaller_of_both_and_bounds_segments);
    tcase_add_test(tc, zero_window_is_probed_until_it_opens);
    tcase_add_test(tc, delayed_ack_waits_40ms_for_one_small_segment);
    tcase_add_test(tc, every_second_full_segment_is_acked_at_once);
    tcase_add_test(tc, rtt_estimate_tracks_the_path);
    tcase_add_test(tc, small_reads_do_not_open_silly_windows);
    suite_add_tcase(s, tc);
    return s;
}
