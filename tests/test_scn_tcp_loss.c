/*
 * TCP loss recovery without retransmission timeouts, over the simulator:
 * a lost retransmission repaired by RACK (RFC 8985 section 6), a tail loss
 * repaired by a tail loss probe (section 7), and slow start into a drop-tail
 * queue (20 Mbit/s, 20 ms) where HyStart++ (RFC 9406) and RACK keep a 16 MB
 * transfer free of RTOs. Every transfer is checked byte for byte and by
 * SHA-256; every test ends with the stacks' memory back where it started.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/scn_tcp.h"
#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"
#include "sim/sim_host.h"
#include "sim/sim_path.h"
#include "sim/sim_seg.h"

#define SEC 1000000ull
#define MS 1000ull

static sim_flow *client_flow(scn *x)
{
    return sim_host_flow(x->c, 0);
}

/* The scenario of these tests: seed 7, links |ab| and |ba|, |cc| on both
 * stacks. */
static void lscn_init(scn *x, const sim_link_cfg *ab, const sim_link_cfg *ba, mptcp_cc_algo cc)
{
    scn_init(x, &(scn_opts){.seed = 7, .ab = *ab, .ba = *ba, .custom_links = true, .cc = cc});
}

/* The client sends |n| bytes and closes; the server reads them and closes.
 * client_flow(x)->stats are the client's final counters. Returns the time
 * from connect until the server read the last byte. */
static uint64_t lscn_upload(scn *x, uint64_t n, uint64_t limit_us)
{
    sim_flow_cfg sc = {.shutdown_when_sent = true, .close_when_done = true, .rx_seed = 11};
    sim_flow_cfg cc = {.tx_seed = 11, .tx_bytes = n, .shutdown_when_sent = true,
                       .close_when_done = true};
    ck_assert_int_eq(sim_host_listen(x->srv, &x->sip, &sc), 0);
    int err;
    sim_flow *cf = sim_host_connect(x->c, &x->cip, &x->sip, &cc, &err);
    ck_assert_ptr_nonnull(cf);
    ck_assert_ptr_eq(cf, client_flow(x));
    int r = sim_run_while(x->s, sim_now(x->s) + limit_us, scn_both_closed, x);
    ck_assert_int_eq(r, 1);
    sim_flow *s = sim_host_flow(x->srv, 0);
    ck_assert(sim_flow_rx_ok(s, n));
    uint8_t a[32], b[32];
    sim_stream_digest(11, n, a);
    sim_check_digest(&s->rx, b);
    ck_assert_mem_eq(a, b, 32);
    ck_assert_int_eq(cf->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_int_eq(s->reason, MPTCP_CLOSE_NORMAL);
    ck_assert_uint_eq(cf->stats.bytes_acked, n);
    return s->t_eof - cf->t_open;
}

/* ------------------------------------------------------------ scripted drops */

/* Drops the data segments of the client's stream that start at byte
 * offset |off[i]|, |times[i]| times each (the ISN is learnt from the SYN). */
typedef struct drop_script {
    uint32_t isn;
    bool have_isn;
    uint64_t off[4];
    int times[4];
    int n;
    int fin_times; /* a FIN without data: dropped this many times */
    int dropped;
} drop_script;

static bool drop_filter(void *ctx, const sim_pkt *p, uint64_t index)
{
    (void)index;
    drop_script *d = ctx;
    const uint8_t *h = p->data;
    if (p->len < 20)
        return false;
    uint32_t seq = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    uint32_t doff = (uint32_t)(h[12] >> 4) * 4;
    if (h[13] & 0x02) { /* SYN */
        d->isn = seq;
        d->have_isn = true;
        return false;
    }
    if (d->have_isn && p->len <= doff && (h[13] & 0x01) && d->fin_times > 0) {
        d->fin_times--;
        d->dropped++;
        return true;
    }
    if (!d->have_isn || p->len <= doff)
        return false;
    uint32_t off = seq - d->isn - 1;
    for (int i = 0; i < d->n; i++) {
        if (d->off[i] == off && d->times[i] > 0) {
            d->times[i]--;
            d->dropped++;
            return true;
        }
    }
    return false;
}

/* 20 Mbit/s, 20 ms, a queue that never overflows: only scripted drops. */
static void scripted(scn *x, drop_script *d)
{
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, 1000, 0);
    lscn_init(x, &l, &l, MPTCP_CC_CUBIC);
    sim_link_set_filter(x->path.ab, drop_filter, d);
}

static void no_queue_drops(scn *x)
{
    sim_link_stats ls;
    sim_link_get_stats(x->path.ab, &ls);
    ck_assert_uint_eq(ls.drop_queue, 0);
    sim_link_get_stats(x->path.ba, &ls);
    ck_assert_uint_eq(ls.drop_queue, 0);
}

#define SEGB 1448u /* payload of a full segment (1460 - 12 bytes of timestamps) */

START_TEST(lost_retransmission_repaired_without_rto)
{
    /* Segment 100 is lost, and so is its fast retransmission: RACK sees the
     * retransmission lost once data sent after it is SACKed (RFC 8985
     * section 6.2) and sends it a third time, in the same recovery. */
    drop_script d = {.n = 1, .off = {100 * SEGB}, .times = {2}};
    scn x;
    scripted(&x, &d);
    lscn_upload(&x, 2000000, 60 * SEC);
    const mptcp_conn_stats *st = &client_flow(&x)->stats;
    ck_assert_int_eq(d.dropped, 2);
    no_queue_drops(&x);
    ck_assert_uint_eq(st->rto_expiries, 0);
    ck_assert_uint_eq(st->retrans_segs, 2);
    ck_assert_uint_eq(st->lost_rexmits, 1);
    ck_assert_uint_eq(st->fast_retrans, 1);
    ck_assert_uint_eq(st->tlp_probes, 0);
    scn_finish(&x);
}
END_TEST

START_TEST(lost_retransmissions_in_a_burst_repaired_without_rto)
{
    /* Four segments of one window lost, two of their retransmissions too. */
    drop_script d = {.n = 4,
                     .off = {200 * SEGB, 201 * SEGB, 205 * SEGB, 230 * SEGB},
                     .times = {2, 1, 2, 1}};
    scn x;
    scripted(&x, &d);
    lscn_upload(&x, 2000000, 60 * SEC);
    const mptcp_conn_stats *st = &client_flow(&x)->stats;
    ck_assert_int_eq(d.dropped, 6);
    no_queue_drops(&x);
    ck_assert_uint_eq(st->rto_expiries, 0);
    ck_assert_uint_eq(st->retrans_segs, 6);
    ck_assert_uint_eq(st->lost_rexmits, 2);
    scn_finish(&x);
}
END_TEST

/* The transfer is n full segments; the last |k| are lost once, and so is
 * the FIN when it goes alone: the tail of the flight, nothing after it. */
static void tail_loss(uint32_t k)
{
    const uint32_t nseg = 60;
    drop_script d = {.n = (int)k, .fin_times = 1};
    for (uint32_t i = 0; i < k; i++) {
        d.off[i] = (uint64_t)(nseg - 1 - i) * SEGB;
        d.times[i] = 1;
    }
    scn x;
    scripted(&x, &d);
    uint64_t dt = lscn_upload(&x, (uint64_t)nseg * SEGB, 60 * SEC);
    const mptcp_conn_stats *st = &client_flow(&x)->stats;
    ck_assert_int_ge(d.dropped, (int)k);
    no_queue_drops(&x);
    /* RFC 8985 section 7: one probe (the last segment again), whose SACK
     * or ACK lets RACK repair the rest; no timeout */
    ck_assert_uint_eq(st->rto_expiries, 0);
    ck_assert_uint_eq(st->tlp_probes, 1);
    ck_assert_uint_eq(st->retrans_segs, k);
    /* the probe went out 2 * SRTT after the last ACK, far sooner than the
     * 200 ms minimum RTO: the whole transfer takes under 200 ms */
    ck_assert_uint_lt(dt, 200 * MS);
    /* section 7.4: the probe repaired a loss: the window was reduced */
    ck_assert_uint_lt(st->ssthresh, UINT32_MAX);
    scn_finish(&x);
}

START_TEST(tail_loss_of_one_segment_repaired_by_a_probe)
{
    tail_loss(1);
}
END_TEST

START_TEST(tail_loss_of_three_segments_repaired_by_a_probe)
{
    tail_loss(3);
}
END_TEST

/* ------------------------------------------------------------ slow start */

static const uint32_t queue_table[] = {50, 75, 100};

/* One flow into a drop-tail bottleneck: slow start overshoots into the
 * queue; HyStart++, RACK and the probe keep the RTO out of it. */
static void overshoot(mptcp_cc_algo algo, uint32_t queue)
{
    sim_link_cfg l = sim_link_cfg_make(20000000, 20 * MS, queue, 0);
    scn x;
    lscn_init(&x, &l, &l, algo);
    const uint64_t n = 16ull << 20;
    uint64_t dt = lscn_upload(&x, n, 120 * SEC);
    const mptcp_conn_stats *st = &client_flow(&x)->stats;
    uint64_t kbps = n * 8 * 1000 / dt;
    sim_link_stats ls;
    sim_link_get_stats(x.path.ab, &ls);
    ck_assert_uint_gt(ls.drop_queue, 0); /* the queue did overflow */
    ck_assert_msg(st->rto_expiries == 0, "%s q=%u: %u RTOs", algo == MPTCP_CC_RENO ? "reno" : "cubic",
                  queue, st->rto_expiries);
    fprintf(stderr, "overshoot %s q=%u: %llu kbit/s, %u RTOs, %u retransmissions, %u recoveries, "
            "%u probes, %u lost retransmissions, %llu queue drops\n",
            algo == MPTCP_CC_RENO ? "reno" : "cubic", queue, (unsigned long long)kbps,
            st->rto_expiries, st->retrans_segs, st->fast_retrans, st->tlp_probes, st->lost_rexmits,
            (unsigned long long)ls.drop_queue);
    ck_assert_msg(kbps >= 18000, "%s q=%u: %llu kbit/s", algo == MPTCP_CC_RENO ? "reno" : "cubic",
                  queue, (unsigned long long)kbps);
    scn_finish(&x);
}

START_TEST(slow_start_overshoot_cubic)
{
    overshoot(MPTCP_CC_CUBIC, queue_table[_i]);
}
END_TEST

START_TEST(slow_start_overshoot_reno)
{
    overshoot(MPTCP_CC_RENO, queue_table[_i]);
}
END_TEST

Suite *scn_tcp_loss_suite(void)
{
    Suite *s = suite_create("scn_tcp_loss");
    TCase *tc = tcase_create("scripted");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, lost_retransmission_repaired_without_rto);
    tcase_add_test(tc, lost_retransmissions_in_a_burst_repaired_without_rto);
    tcase_add_test(tc, tail_loss_of_one_segment_repaired_by_a_probe);
    tcase_add_test(tc, tail_loss_of_three_segments_repaired_by_a_probe);
    suite_add_tcase(s, tc);
    tc = tcase_create("overshoot");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, slow_start_overshoot_cubic, 0, 3);
    tcase_add_loop_test(tc, slow_start_overshoot_reno, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}
