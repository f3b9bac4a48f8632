/*
 * The simulator itself (tests/sim), without the stack: event order, link
 * timing (serialization at rate + propagation), drop-tail queue, loss,
 * reordering, duplication, corruption, every middlebox transform checked on
 * bytes, pcap taps read back by tshark, routes for several paths, node
 * timers, determinism, and the data stream checker.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"
#include "sim/sim_mbox.h"
#include "sim/sim_path.h"
#include "sim/sim_seg.h"

/* ---------------------------------------------------------------- fixtures */

static mptcp_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    mptcp_addr x;
    memset(&x, 0, sizeof(x));
    x.family = MPTCP_AF_INET;
    x.ip[0] = a, x.ip[1] = b, x.ip[2] = c, x.ip[3] = d;
    return x;
}

#define REC_MAX 4096

/* A node that records what it receives (time, addresses, bytes) and can echo. */
typedef struct rec {
    size_t n;
    uint64_t t[REC_MAX];
    sim_pkt *pkts[REC_MAX]; /* copies */
    bool echo;
    sim_node *node;
    uint64_t timer_at; /* fake timer */
    int timer_fired;
    bool stuck;
} rec;

static void rec_input(void *ctx, sim *s, const sim_pkt *p)
{
    rec *r = ctx;
    if (r->n < REC_MAX) {
        r->t[r->n] = sim_now(s);
        r->pkts[r->n] = malloc(sizeof(sim_pkt));
        memcpy(r->pkts[r->n], p, sizeof(sim_pkt));
        r->n++;
    }
    if (r->echo) {
        /* back to the sender: addresses and ports swapped, checksum redone */
        uint8_t seg[SIM_PKT_CAP];
        memcpy(seg, p->data, p->len);
        sim_tcp h;
        sim_seg_get(seg, &h);
        uint16_t port = h.sport;
        h.sport = h.dport;
        h.dport = port;
        sim_seg_put(seg, &h);
        mptcp_tcp_csum_fill(seg, p->len, &p->dst, &p->src);
        sim_node_send(r->node, &p->dst, &p->src, seg, p->len);
    }
}

static uint64_t rec_next(void *ctx)
{
    return ((rec *)ctx)->timer_at;
}

static void rec_timeout(void *ctx, sim *s, uint64_t now)
{
    rec *r = ctx;
    (void)s;
    ck_assert_uint_ge(now, r->timer_at);
    r->timer_fired++;
    if (!r->stuck)
        r->timer_at = UINT64_MAX;
}

static const sim_node_ops rec_ops = {rec_input, rec_next, rec_timeout};

static rec *rec_new(sim *s, const char *name)
{
    rec *r = calloc(1, sizeof(*r));
    r->timer_at = UINT64_MAX;
    r->node = sim_node_new(s, name, &rec_ops, r);
    return r;
}

static void rec_free(rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->pkts[i]);
    free(r);
}

static const mptcp_addr *A(void)
{
    static mptcp_addr a;
    a = ip4(10, 0, 0, 1);
    return &a;
}

static const mptcp_addr *B(void)
{
    static mptcp_addr b;
    b = ip4(10, 0, 1, 1);
    return &b;
}

/* A data segment A:1000 -> B:80 with |plen| payload bytes of stream 7. */
static int mkseg(uint8_t *out, uint32_t seq, uint16_t flags, const uint8_t *opts, size_t olen,
                 size_t plen)
{
    uint8_t pay[SIM_PKT_CAP];
    sim_stream_fill(7, seq, pay, plen);
    sim_tcp h = {1000, 80, seq, 5000, flags, 65535};
    return sim_seg_build(out, SIM_PKT_CAP, &h, opts, olen, pay, plen, A(), B());
}

/* Sends one segment from a node now. */
static void send_seg(sim_node *n, uint32_t seq, size_t plen)
{
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, seq, MPTCP_TH_ACK, NULL, 0, plen);
    ck_assert_int_gt(len, 0);
    ck_assert_int_eq(sim_node_send(n, A(), B(), buf, (size_t)len), 0);
}

/* ---------------------------------------------------------------- events */

static int order_log[64], order_n;

static void log_ev(sim *s, void *arg, sim_pkt *p)
{
    (void)s, (void)p;
    order_log[order_n++] = (int)(intptr_t)arg;
}

START_TEST(events_run_by_time_then_insertion_order)
{
    sim *s = sim_new(1, 100);
    order_n = 0;
    sim_at(s, 300, log_ev, (void *)1, NULL);
    sim_at(s, 200, log_ev, (void *)2, NULL);
    sim_at(s, 300, log_ev, (void *)3, NULL);
    sim_at(s, 200, log_ev, (void *)4, NULL);
    sim_at(s, 50, log_ev, (void *)5, NULL); /* in the past: runs now (100) */
    ck_assert_uint_eq(sim_next_time(s), 100);
    ck_assert_int_eq(sim_run_until(s, 250), 3);
    ck_assert_uint_eq(sim_now(s), 250);
    ck_assert_int_eq(sim_run_until(s, UINT64_MAX), 2);
    int want[] = {5, 2, 4, 1, 3};
    ck_assert_int_eq(order_n, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(order_log[i], want[i]);
    ck_assert_uint_eq(sim_now(s), 300);
    sim_free(s);
}
END_TEST

static uint64_t heap_last_t, heap_count;
static bool heap_ok;

static void heap_ev(sim *s, void *arg, sim_pkt *p)
{
    (void)p;
    uint64_t seq = (uint64_t)(uintptr_t)arg;
    if (sim_now(s) < heap_last_t)
        heap_ok = false;
    heap_last_t = sim_now(s);
    (void)seq;
    heap_count++;
}

START_TEST(heap_keeps_order_over_many_random_events)
{
    sim *s = sim_new(2, 0);
    sim_rng r;
    sim_rng_seed(&r, 42);
    heap_last_t = 0, heap_count = 0, heap_ok = true;
    for (int i = 0; i < 20000; i++)
        sim_at(s, sim_rng_below(&r, 1000000), heap_ev, (void *)(uintptr_t)i, NULL);
    ck_assert_int_eq(sim_run_until(s, UINT64_MAX), 20000);
    ck_assert(heap_ok);
    ck_assert_uint_eq(heap_count, 20000);
    sim_free(s);
}
END_TEST

/* ---------------------------------------------------------------- links */

typedef struct pair {
    sim *s;
    rec *a, *b;
    sim_link *ab;
} pair;

static pair mkpair(uint64_t seed, const sim_link_cfg *cfg)
{
    pair p;
    p.s = sim_new(seed, 1000000);
    p.a = rec_new(p.s, "a");
    p.b = rec_new(p.s, "b");
    p.ab = sim_link_new(p.s, "a->b", cfg, sim_node_elem(p.b->node));
    sim_node_route(p.a->node, NULL, NULL, sim_link_elem(p.ab));
    return p;
}

static void pair_free(pair *p)
{
    sim_run_until(p->s, UINT64_MAX);
    ck_assert_uint_eq(sim_pkts_live(p->s), 0);
    sim_free(p->s);
    rec_free(p->a);
    rec_free(p->b);
}

START_TEST(link_time_is_serialization_plus_propagation)
{
    /* 8 Mbit/s = 1 byte per microsecond; a 980-byte segment + 20-byte IPv4
     * header takes 1000 us on the wire, then 5000 us of propagation. */
    sim_link_cfg c = {.rate_bps = 8000000, .delay_us = 5000};
    pair p = mkpair(1, &c);
    send_seg(p.a->node, 1, 960); /* 20 header + 960 = 980 bytes of segment */
    send_seg(p.a->node, 961, 960);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 2);
    ck_assert_uint_eq(p.b->t[0], 1000000 + 1000 + 5000);
    ck_assert_uint_eq(p.b->t[1], 1000000 + 2000 + 5000); /* queued behind the first */
    /* The next packet after the link went idle starts at once. */
    sim_run_until(p.s, 1100000);
    send_seg(p.a->node, 1921, 960);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->t[2], 1100000 + 1000 + 5000);
    pair_free(&p);
}
END_TEST

START_TEST(link_rate_rounds_up_and_counts_overhead)
{
    /* 1 Mbit/s, overhead 14 (Ethernet): (100 + 20 + 14) * 8 = 1072 us. */
    sim_link_cfg c = {.rate_bps = 1000000, .delay_us = 0, .overhead = 14};
    pair p = mkpair(1, &c);
    send_seg(p.a->node, 1, 80);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 1);
    ck_assert_uint_eq(p.b->t[0] - 1000000, 1072);
    /* 3 Mbit/s: 1072 bits / 3 = 357.33 us, rounded up to 358. */
    sim_link_cfg c3 = {.rate_bps = 3000000, .overhead = 14};
    sim_link_set_cfg(p.ab, &c3);
    uint64_t t0 = sim_now(p.s);
    send_seg(p.a->node, 1, 80);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->t[1] - t0, 358);
    pair_free(&p);
}
END_TEST

START_TEST(link_counts_the_ipv6_header_and_mbox_keeps_v6_checksums)
{
    sim *s = sim_new(1, 0);
    rec *a = rec_new(s, "a"), *b = rec_new(s, "b");
    mptcp_addr a6, b6;
    memset(&a6, 0, sizeof(a6));
    a6.family = MPTCP_AF_INET6;
    a6.ip[0] = 0x20, a6.ip[1] = 0x01, a6.ip[2] = 0x0d, a6.ip[3] = 0xb8, a6.ip[15] = 1;
    b6 = a6;
    b6.ip[15] = 2;
    sim_mbox_cfg m = {.dirs = SIM_BOTH, .mss_clamp = 1000};
    sim_mbox *mb6 = sim_mbox_new(s, "m", &m, sim_node_elem(b->node), NULL);
    sim_link_cfg c = {.rate_bps = 8000000};
    sim_link *l = sim_link_new(s, "l", &c, sim_mbox_a2b(mb6));
    sim_node_route(a->node, &a6, &b6, sim_link_elem(l));
    uint8_t buf[SIM_PKT_CAP], pay[960];
    memset(pay, 0x5a, sizeof(pay));
    sim_tcp h = {1000, 80, 1, 0, MPTCP_TH_SYN, 65535};
    uint8_t mss[] = {2, 4, 0x05, 0xa0};
    int len = sim_seg_build(buf, sizeof(buf), &h, mss, sizeof(mss), pay, sizeof(pay), &a6, &b6);
    ck_assert(mptcp_tcp_csum_ok(buf, (size_t)len, &a6, &b6));
    ck_assert_int_eq(sim_node_send(a->node, &a6, &b6, buf, (size_t)len), 0);
    sim_run_until(s, UINT64_MAX);
    ck_assert_uint_eq(b->n, 1);
    /* 24 + 960 bytes of segment + 40 of IPv6 header at 1 byte/us */
    ck_assert_uint_eq(b->t[0], 1024);
    sim_pkt *p = b->pkts[0];
    ck_assert_uint_eq(p->dst.family, MPTCP_AF_INET6);
    ck_assert_uint_eq(p->data[22], 0x03); /* MSS 1440 clamped to 1000 = 0x03e8 */
    ck_assert_uint_eq(p->data[23], 0xe8);
    ck_assert(sim_pkt_csum_ok(p));
    sim_free(s);
    rec_free(a);
    rec_free(b);
}
END_TEST

START_TEST(link_without_rate_only_delays)
{
    sim_link_cfg c = {.delay_us = 777};
    pair p = mkpair(1, &c);
    for (int i = 0; i < 5; i++)
        send_seg(p.a->node, (uint32_t)(1 + 1000 * i), 1000);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 5);
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(p.b->t[i], 1000777);
        sim_tcp h;
        sim_seg_get(p.b->pkts[i]->data, &h);
        ck_assert_uint_eq(h.seq, (uint32_t)(1 + 1000 * i)); /* FIFO */
    }
    pair_free(&p);
}
END_TEST

START_TEST(droptail_queue_drops_beyond_limit_then_recovers)
{
    sim_link_cfg c = {.rate_bps = 8000000, .delay_us = 100, .queue_pkts = 3};
    pair p = mkpair(1, &c);
    for (int i = 0; i < 10; i++)
        send_seg(p.a->node, (uint32_t)(1 + 1000 * i), 980 - 20);
    sim_run_until(p.s, 1000000 + 10);
    sim_link_stats st;
    sim_link_get_stats(p.ab, &st);
    ck_assert_uint_eq(st.pkts_in, 10);
    ck_assert_uint_eq(st.drop_queue, 7);
    ck_assert_uint_eq(st.max_queue, 3);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 3);
    /* the first three were kept (drop-tail, not drop-head) */
    for (int i = 0; i < 3; i++) {
        sim_tcp h;
        sim_seg_get(p.b->pkts[i]->data, &h);
        ck_assert_uint_eq(h.seq, (uint32_t)(1 + 1000 * i));
    }
    /* Once drained, the queue takes packets again; partial drain frees slots
     * exactly when transmissions end. */
    for (int i = 0; i < 3; i++)
        send_seg(p.a->node, 1, 960);
    sim_run_until(p.s, sim_now(p.s) + 1000); /* first one left the wire */
    send_seg(p.a->node, 1, 960);
    send_seg(p.a->node, 1, 960);
    sim_run_until(p.s, UINT64_MAX);
    sim_link_get_stats(p.ab, &st);
    ck_assert_uint_eq(st.drop_queue, 8);
    ck_assert_uint_eq(p.b->n, 7);
    pair_free(&p);
}
END_TEST

static uint64_t drop_pattern(uint64_t seed, uint32_t loss_ppm, int n, uint64_t *dropped)
{
    sim_link_cfg c = {.delay_us = 10, .loss_ppm = loss_ppm};
    pair p = mkpair(seed, &c);
    for (int i = 0; i < n; i++)
        send_seg(p.a->node, (uint32_t)i, 10);
    sim_run_until(p.s, UINT64_MAX);
    uint64_t h = 0;
    for (size_t i = 0; i < p.b->n; i++) {
        sim_tcp t;
        sim_seg_get(p.b->pkts[i]->data, &t);
        h = sim_mix64(h ^ t.seq);
    }
    sim_link_stats st;
    sim_link_get_stats(p.ab, &st);
    *dropped = st.drop_loss;
    ck_assert_uint_eq(st.drop_loss + p.b->n, (uint64_t)n);
    pair_free(&p);
    return h;
}

START_TEST(random_loss_matches_rate_and_is_deterministic)
{
    uint64_t d1, d2, d3;
    uint64_t h1 = drop_pattern(11, 100000, 4000, &d1);
    uint64_t h2 = drop_pattern(11, 100000, 4000, &d2);
    uint64_t h3 = drop_pattern(12, 100000, 4000, &d3);
    ck_assert_uint_eq(h1, h2);
    ck_assert_uint_eq(d1, d2);
    ck_assert_uint_ne(h1, h3);
    /* 10% of 4000 = 400, binomial sd ~19: a 5-sigma window */
    ck_assert_uint_ge(d1, 305);
    ck_assert_uint_le(d1, 495);
    ck_assert_uint_ge(d3, 305);
    ck_assert_uint_le(d3, 495);
    uint64_t d0;
    drop_pattern(11, 0, 1000, &d0);
    ck_assert_uint_eq(d0, 0);
}
END_TEST

static bool drop_syns(void *ctx, const sim_pkt *p, uint64_t index)
{
    (void)ctx, (void)index;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    return (h.flags & MPTCP_TH_SYN) != 0;
}

START_TEST(scripted_loss_by_index_and_by_filter)
{
    sim_link_cfg c = {.delay_us = 10};
    pair p = mkpair(1, &c);
    sim_link_drop_index(p.ab, 1);
    sim_link_drop_index(p.ab, 3);
    for (int i = 0; i < 5; i++)
        send_seg(p.a->node, (uint32_t)i, 10);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 3);
    uint32_t want[] = {0, 2, 4};
    for (int i = 0; i < 3; i++) {
        sim_tcp h;
        sim_seg_get(p.b->pkts[i]->data, &h);
        ck_assert_uint_eq(h.seq, want[i]);
    }
    sim_link_set_filter(p.ab, drop_syns, NULL);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 99, MPTCP_TH_SYN, NULL, 0, 0);
    sim_node_send(p.a->node, A(), B(), buf, (size_t)len);
    send_seg(p.a->node, 100, 10);
    sim_link_set_down(p.ab, false);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 4);
    sim_link_stats st;
    sim_link_get_stats(p.ab, &st);
    ck_assert_uint_eq(st.drop_script, 3);
    sim_link_set_down(p.ab, true);
    send_seg(p.a->node, 101, 10);
    sim_run_until(p.s, UINT64_MAX);
    sim_link_get_stats(p.ab, &st);
    ck_assert_uint_eq(st.drop_down, 1);
    ck_assert_uint_eq(p.b->n, 4);
    pair_free(&p);
}
END_TEST

static void send_ev(sim *s, void *arg, sim_pkt *p)
{
    (void)s, (void)p;
    send_seg(((rec *)arg)->node, (uint32_t)sim_now(s), 10);
}

START_TEST(scripted_outage_drops_only_inside_the_window)
{
    sim_link_cfg c = {.delay_us = 50};
    pair p = mkpair(1, &c);
    uint64_t t0 = sim_now(p.s);
    sim_link_outage(p.s, p.ab, t0 + 100, t0 + 200);
    for (uint64_t t = 0; t < 300; t += 10)
        sim_at(p.s, t0 + t, send_ev, p.a, NULL);
    sim_run_until(p.s, UINT64_MAX);
    sim_link_stats st;
    sim_link_get_stats(p.ab, &st);
    ck_assert_uint_eq(st.drop_down, 10); /* sent at 100, 110, ..., 190 */
    ck_assert_uint_eq(p.b->n, 20);
    for (size_t i = 0; i < p.b->n; i++) {
        uint64_t sent = p.b->t[i] - 50 - t0;
        ck_assert(sent < 100 || sent >= 200);
    }
    pair_free(&p);
}
END_TEST

START_TEST(reordering_holds_packets_back)
{
    sim_link_cfg c = {.rate_bps = 80000000, .delay_us = 1000, .reorder_ppm = 250000,
                      .reorder_delay_us = 500};
    pair p = mkpair(3, &c);
    for (int i = 0; i < 400; i++)
        send_seg(p.a->node, (uint32_t)i, 100);
    sim_run_until(p.s, UINT64_MAX);
    sim_link_stats st;
    sim_link_get_stats(p.ab, &st);
    ck_assert_uint_eq(p.b->n, 400);
    ck_assert_uint_gt(st.reorders, 50);
    ck_assert_uint_lt(st.reorders, 150);
    size_t inversions = 0;
    bool seen[400] = {false};
    for (size_t i = 0; i < p.b->n; i++) {
        sim_tcp h;
        sim_seg_get(p.b->pkts[i]->data, &h);
        ck_assert(!seen[h.seq]);
        seen[h.seq] = true;
        if (i) {
            sim_tcp prev;
            sim_seg_get(p.b->pkts[i - 1]->data, &prev);
            if (h.seq < prev.seq)
                inversions++;
        }
    }
    ck_assert_uint_gt(inversions, 0);
    pair_free(&p);
}
END_TEST

START_TEST(duplication_delivers_identical_copies)
{
    sim_link_cfg c = {.delay_us = 10, .dup_ppm = 1000000};
    pair p = mkpair(1, &c);
    for (int i = 0; i < 10; i++)
        send_seg(p.a->node, (uint32_t)i, 50);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 20);
    for (int i = 0; i < 10; i++) {
        sim_pkt *x = p.b->pkts[2 * i], *y = p.b->pkts[2 * i + 1];
        ck_assert_uint_eq(x->len, y->len);
        ck_assert_mem_eq(x->data, y->data, x->len);
        ck_assert_uint_ne(x->id, y->id);
        ck_assert_uint_eq(p.b->t[2 * i], p.b->t[2 * i + 1]);
    }
    pair_free(&p);
}
END_TEST

START_TEST(corruption_flips_one_bit_and_checksum_catches_it)
{
    sim_link_cfg c = {.delay_us = 10, .corrupt_ppm = 1000000};
    pair p = mkpair(5, &c);
    uint8_t orig[50][SIM_PKT_CAP];
    for (int i = 0; i < 50; i++) {
        int len = mkseg(orig[i], (uint32_t)(i * 100), MPTCP_TH_ACK, NULL, 0, 100);
        sim_node_send(p.a->node, A(), B(), orig[i], (size_t)len);
    }
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(p.b->n, 50);
    for (int i = 0; i < 50; i++) {
        sim_pkt *x = p.b->pkts[i];
        int bits = 0;
        for (size_t j = 0; j < x->len; j++)
            bits += __builtin_popcount(x->data[j] ^ orig[i][j]);
        ck_assert_int_eq(bits, 1);
        /* one flipped bit always changes the one's complement sum */
        ck_assert(!sim_pkt_csum_ok(x));
    }
    pair_free(&p);
}
END_TEST

/* ---------------------------------------------------------------- middleboxes */

typedef struct mb {
    sim *s;
    rec *a, *b;
    sim_mbox *m;
} mb;

/* a -> mbox(a2b) -> b, b -> mbox(b2a) -> a, no links: transforms only. */
static mb mkmb(const sim_mbox_cfg *cfg)
{
    mb x;
    x.s = sim_new(9, 0);
    x.a = rec_new(x.s, "a");
    x.b = rec_new(x.s, "b");
    x.m = sim_mbox_new(x.s, "mbox", cfg, sim_node_elem(x.b->node), sim_node_elem(x.a->node));
    sim_node_route(x.a->node, NULL, NULL, sim_mbox_a2b(x.m));
    sim_node_route(x.b->node, NULL, NULL, sim_mbox_b2a(x.m));
    return x;
}

static void mb_free(mb *x)
{
    sim_run_until(x->s, UINT64_MAX);
    ck_assert_uint_eq(sim_pkts_live(x->s), 0);
    sim_free(x->s);
    rec_free(x->a);
    rec_free(x->b);
}

/* SYN options as Linux sends them with MPTCP: MSS, SACK_PERM+TS, NOP WS, MP_CAPABLE v1. */
static const uint8_t syn_opts[] = {
    2, 4, 0x05, 0xb4,                         /* MSS 1460 */
    4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0,      /* SACK_PERM, TS */
    1, 3, 3, 7,                               /* NOP, WS 7 */
    30, 4, 0x01, 0x81,                        /* MP_CAPABLE v1, flags A|H... (H) */
};

static int walk_count(const sim_pkt *p, uint8_t kind)
{
    int n = 0;
    size_t doff = sim_seg_doff(p->data);
    for (size_t i = 20; i < doff;) {
        if (p->data[i] == 0)
            break;
        if (p->data[i] == 1) {
            i++;
            continue;
        }
        if (p->data[i] == kind)
            n++;
        i += p->data[i + 1];
    }
    return n;
}

START_TEST(mbox_removes_mptcp_option_and_shrinks_header)
{
    sim_mbox_cfg c = {.dirs = SIM_BOTH, .strip_mptcp = 1u << MPTCP_SUB_CAPABLE};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 1, MPTCP_TH_SYN, syn_opts, sizeof(syn_opts), 0);
    ck_assert_int_eq(len, 20 + 24);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    /* and a data segment: payload must survive the header shrinking */
    uint8_t dss[] = {30, 4, 0x20, 0x01}; /* DSS with only A flag... shape only */
    uint8_t cap[] = {30, 12, 0x01, 0x81, 1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t both[16];
    memcpy(both, cap, 12);
    memcpy(both + 12, dss, 4);
    len = mkseg(buf, 2, MPTCP_TH_ACK, both, sizeof(both), 300);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    ck_assert_uint_eq(x.b->n, 2);
    sim_pkt *p = x.b->pkts[0];
    ck_assert_uint_eq(sim_seg_doff(p->data), 40);
    ck_assert_int_lt(sim_seg_find_opt(p->data, p->len, 30, -1, NULL), 0);
    ck_assert_int_eq(walk_count(p, 2), 1);
    ck_assert_int_eq(walk_count(p, 8), 1);
    ck_assert_int_eq(walk_count(p, 3), 1);
    ck_assert(sim_pkt_csum_ok(p));
    p = x.b->pkts[1];
    ck_assert_uint_eq(sim_seg_doff(p->data), 24); /* DSS (subtype 2) kept */
    ck_assert_int_ge(sim_seg_find_opt(p->data, p->len, 30, MPTCP_SUB_DSS, NULL), 0);
    ck_assert_int_lt(sim_seg_find_opt(p->data, p->len, 30, MPTCP_SUB_CAPABLE, NULL), 0);
    ck_assert_uint_eq(sim_seg_payload_len(p->data, p->len), 300);
    uint8_t want[300];
    sim_stream_fill(7, 2, want, 300);
    ck_assert_mem_eq(p->data + 24, want, 300);
    ck_assert(sim_pkt_csum_ok(p));
    sim_mbox_stats st;
    sim_mbox_get_stats(x.m, &st);
    ck_assert_uint_eq(st.opts_stripped, 2);
    mb_free(&x);
}
END_TEST

START_TEST(mbox_nops_out_options_on_syn_only)
{
    sim_mbox_cfg c = {.dirs = SIM_A2B, .strip_kinds = {30, 8}, .n_strip_kinds = 2,
                      .strip_syn_only = true, .strip_to_nop = true};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 1, MPTCP_TH_SYN, syn_opts, sizeof(syn_opts), 0);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    uint8_t data_opts[] = {1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1, 30, 4, 0x20, 0x01};
    len = mkseg(buf, 2, MPTCP_TH_ACK, data_opts, sizeof(data_opts), 10);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    /* B->A is not in dirs: untouched */
    sim_node_send(x.b->node, B(), A(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    sim_pkt *p = x.b->pkts[0];
    ck_assert_uint_eq(p->len, 44);
    ck_assert_int_lt(sim_seg_find_opt(p->data, p->len, 30, -1, NULL), 0);
    ck_assert_int_lt(sim_seg_find_opt(p->data, p->len, 8, -1, NULL), 0);
    ck_assert_mem_eq(p->data + 20, syn_opts, 6); /* MSS, SACK_PERM unchanged */
    static const uint8_t nops[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    ck_assert_mem_eq(p->data + 26, nops, 10); /* TS -> 10 NOPs */
    ck_assert(sim_pkt_csum_ok(p));
    /* non-SYN segment kept its TS and DSS */
    ck_assert_mem_eq(x.b->pkts[1]->data, buf, (size_t)len);
    ck_assert_mem_eq(x.a->pkts[0]->data, buf, (size_t)len);
    mb_free(&x);
}
END_TEST

START_TEST(mbox_rewrites_option_bytes_and_clamps_mss)
{
    sim_mbox_cfg c = {.dirs = SIM_A2B, .rw_opt = true, .rw_kind = 30,
                      .rw_subtype = MPTCP_SUB_CAPABLE, .rw_len = 4,
                      .rw_bytes = {30, 4, 0x00, 0x81}, /* version 1 -> 0 */
                      .mss_clamp = 1200};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 1, MPTCP_TH_SYN, syn_opts, sizeof(syn_opts), 0);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    sim_pkt *p = x.b->pkts[0];
    size_t olen;
    int off = sim_seg_find_opt(p->data, p->len, 30, 0, &olen);
    ck_assert_int_ge(off, 0);
    ck_assert_uint_eq(p->data[off + 2], 0x00);
    off = sim_seg_find_opt(p->data, p->len, 2, -1, &olen);
    ck_assert_uint_eq((unsigned)(p->data[off + 2] << 8 | p->data[off + 3]), 1200);
    ck_assert(sim_pkt_csum_ok(p));
    sim_mbox_stats st;
    sim_mbox_get_stats(x.m, &st);
    ck_assert_uint_eq(st.opts_rewritten, 1);
    ck_assert_uint_eq(st.mss_clamped, 1);
    mb_free(&x);
}
END_TEST

START_TEST(mbox_shifts_sequence_ack_and_sack)
{
    sim_mbox_cfg c = {.seq_rewrite = true, .delta_a = 0x10000000u, .delta_b = 0xf0000000u};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 100, MPTCP_TH_ACK, NULL, 0, 10); /* A: seq 100 ack 5000 */
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    /* B -> A with SACK block in A's (shifted) space */
    uint8_t sack[] = {1, 1, 5, 10, 0x10, 0, 0, 200, 0x10, 0, 1, 0x2c};
    sim_tcp h = {80, 1000, 7000, 0x10000000u + 110, MPTCP_TH_ACK, 1000};
    len = sim_seg_build(buf, sizeof(buf), &h, sack, sizeof(sack), NULL, 0, B(), A());
    sim_node_send(x.b->node, B(), A(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    sim_tcp g;
    sim_seg_get(x.b->pkts[0]->data, &g);
    ck_assert_uint_eq(g.seq, 0x10000000u + 100);
    ck_assert_uint_eq(g.ack, 5000u - 0xf0000000u);
    ck_assert(sim_pkt_csum_ok(x.b->pkts[0]));
    sim_pkt *p = x.a->pkts[0];
    sim_seg_get(p->data, &g);
    ck_assert_uint_eq(g.seq, 7000u + 0xf0000000u);
    ck_assert_uint_eq(g.ack, 110);
    size_t olen;
    int off = sim_seg_find_opt(p->data, p->len, 5, -1, &olen);
    ck_assert_uint_eq(olen, 10);
    const uint8_t *b = p->data + off + 2;
    ck_assert_uint_eq((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | b[2] << 8 | b[3], 200);
    ck_assert_uint_eq((uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | b[6] << 8 | b[7], 300);
    ck_assert(sim_pkt_csum_ok(p));
    mb_free(&x);
}
END_TEST

START_TEST(mbox_seq_target_puts_isn_where_asked)
{
    sim_mbox_cfg c = {.seq_rewrite = true, .seq_target = true, .isn_a = 0xffffff00u,
                      .isn_b = 0xfffffff0u};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 12345, MPTCP_TH_SYN, NULL, 0, 0);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_tcp h = {80, 1000, 999, 12346 + (0xffffff00u - 12345), MPTCP_TH_SYN | MPTCP_TH_ACK, 1};
    len = sim_seg_build(buf, sizeof(buf), &h, NULL, 0, NULL, 0, B(), A());
    sim_run_until(x.s, UINT64_MAX);
    sim_node_send(x.b->node, B(), A(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    sim_tcp g;
    sim_seg_get(x.b->pkts[0]->data, &g);
    ck_assert_uint_eq(g.seq, 0xffffff00u);
    sim_seg_get(x.a->pkts[0]->data, &g);
    ck_assert_uint_eq(g.seq, 0xfffffff0u);
    ck_assert_uint_eq(g.ack, 12346);
    ck_assert_uint_eq(sim_mbox_delta_a(x.m), 0xffffff00u - 12345u);
    mb_free(&x);
}
END_TEST

START_TEST(mbox_nat_maps_out_and_back_and_drops_unsolicited)
{
    sim_mbox_cfg c = {.nat = true, .nat_ip = ip4(192, 0, 2, 1), .nat_port_base = 40000};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 1, MPTCP_TH_SYN, NULL, 0, 0);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    sim_pkt *p = x.b->pkts[0];
    mptcp_addr nat_ip = ip4(192, 0, 2, 1);
    ck_assert_mem_eq(p->src.ip, nat_ip.ip, 4);
    sim_tcp g;
    sim_seg_get(p->data, &g);
    ck_assert_uint_eq(g.sport, 40000);
    ck_assert(sim_pkt_csum_ok(p));
    /* reply to the NAT address comes back to A:1000 */
    sim_tcp h = {80, 40000, 1, 2, MPTCP_TH_SYN | MPTCP_TH_ACK, 1};
    len = sim_seg_build(buf, sizeof(buf), &h, NULL, 0, NULL, 0, B(), &nat_ip);
    sim_node_send(x.b->node, B(), &nat_ip, buf, (size_t)len);
    /* unsolicited: unknown port */
    h.dport = 40001;
    len = sim_seg_build(buf, sizeof(buf), &h, NULL, 0, NULL, 0, B(), &nat_ip);
    sim_node_send(x.b->node, B(), &nat_ip, buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    ck_assert_uint_eq(x.a->n, 1);
    p = x.a->pkts[0];
    ck_assert_mem_eq(p->dst.ip, A()->ip, 4);
    sim_seg_get(p->data, &g);
    ck_assert_uint_eq(g.dport, 1000);
    ck_assert(sim_pkt_csum_ok(p));
    sim_mbox_stats st;
    sim_mbox_get_stats(x.m, &st);
    ck_assert_uint_eq(st.nat_drop, 1);
    mb_free(&x);
}
END_TEST

START_TEST(mbox_splits_like_tso)
{
    sim_mbox_cfg c = {.dirs = SIM_A2B, .split_max = 1000};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    uint8_t ts[] = {1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8};
    int len = mkseg(buf, 5000, MPTCP_TH_ACK | MPTCP_TH_PSH | MPTCP_TH_FIN, ts, sizeof(ts), 2500);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    ck_assert_uint_eq(x.b->n, 3);
    uint8_t got[2500];
    size_t off = 0;
    for (int i = 0; i < 3; i++) {
        sim_pkt *p = x.b->pkts[i];
        sim_tcp g;
        sim_seg_get(p->data, &g);
        ck_assert_uint_eq(g.seq, 5000 + off);
        ck_assert_uint_eq(sim_seg_doff(p->data), 32);
        ck_assert_mem_eq(p->data + 20, ts, sizeof(ts)); /* options copied */
        size_t n = sim_seg_payload_len(p->data, p->len);
        ck_assert_uint_eq(n, i < 2 ? 1000 : 500);
        ck_assert_uint_eq((g.flags & MPTCP_TH_FIN) != 0, i == 2);
        ck_assert_uint_eq((g.flags & MPTCP_TH_PSH) != 0, i == 2);
        ck_assert(sim_pkt_csum_ok(p));
        memcpy(got + off, p->data + 32, n);
        off += n;
    }
    uint8_t want[2500];
    sim_stream_fill(7, 5000, want, 2500);
    ck_assert_mem_eq(got, want, 2500);
    mb_free(&x);
}
END_TEST

START_TEST(mbox_coalesces_like_lro)
{
    sim_mbox_cfg c = {.dirs = SIM_A2B, .coalesce_max = 4000, .coalesce_hold_us = 50};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    for (int i = 0; i < 4; i++) {
        int len = mkseg(buf, (uint32_t)(1000 + 500 * i), MPTCP_TH_ACK, NULL, 0, 500);
        sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    }
    /* a gap: not merged, flushes the held one */
    int len = mkseg(buf, 9000, MPTCP_TH_ACK, NULL, 0, 100);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    ck_assert_uint_eq(x.b->n, 2);
    sim_pkt *p = x.b->pkts[0];
    sim_tcp g;
    sim_seg_get(p->data, &g);
    ck_assert_uint_eq(g.seq, 1000);
    ck_assert_uint_eq(sim_seg_payload_len(p->data, p->len), 2000);
    uint8_t want[2000];
    sim_stream_fill(7, 1000, want, 2000);
    ck_assert_mem_eq(p->data + 20, want, 2000);
    ck_assert(sim_pkt_csum_ok(p));
    /* the lone one left after the hold time */
    ck_assert_uint_eq(x.b->t[1], 50);
    sim_seg_get(x.b->pkts[1]->data, &g);
    ck_assert_uint_eq(g.seq, 9000);
    /* a SYN is never held */
    len = mkseg(buf, 1, MPTCP_TH_SYN, NULL, 0, 0);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    ck_assert_uint_eq(x.b->n, 3);
    ck_assert_uint_eq(x.b->t[2], 50);
    mb_free(&x);
}
END_TEST

START_TEST(mbox_rewrites_payload_keeps_bad_checksum_bad)
{
    sim_mbox_cfg c = {.dirs = SIM_A2B, .pay_len = 3};
    uint8_t pay[200];
    sim_stream_fill(7, 0, pay, 200);
    memcpy(c.pay_from, pay + 50, 3);
    memcpy(c.pay_to, "XYZ", 3);
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 0, MPTCP_TH_ACK, NULL, 0, 200);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    buf[40] ^= 0x80; /* corrupted before the box */
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    sim_pkt *p = x.b->pkts[0];
    ck_assert_mem_eq(p->data + 20 + 50, "XYZ", 3);
    ck_assert_mem_eq(p->data + 20, pay, 50);
    ck_assert_mem_eq(p->data + 20 + 53, pay + 53, 147);
    ck_assert(sim_pkt_csum_ok(p));
    ck_assert(!sim_pkt_csum_ok(x.b->pkts[1])); /* still detectably damaged */
    mb_free(&x);
}
END_TEST

static bool hook_drop_fin(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    *(unsigned *)ctx |= dir;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    return !(h.flags & MPTCP_TH_FIN);
}

START_TEST(mbox_hook_sees_both_directions_and_can_drop)
{
    unsigned seen = 0;
    sim_mbox_cfg c = {.hook = hook_drop_fin, .hook_ctx = &seen};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 0, MPTCP_TH_ACK | MPTCP_TH_FIN, NULL, 0, 0);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    len = mkseg(buf, 0, MPTCP_TH_ACK, NULL, 0, 0);
    sim_node_send(x.b->node, B(), A(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    ck_assert_uint_eq(seen, SIM_BOTH);
    ck_assert_uint_eq(x.b->n, 0);
    ck_assert_uint_eq(x.a->n, 1);
    mb_free(&x);
}
END_TEST

/* ---------------------------------------------------------------- with the codec */

/* A segment written by the library's codec (mptcp_seg_write): MSS, SACK_PERM,
 * TS, WS and an MPTCP option. */
static int codec_seg(uint8_t *out, uint16_t flags, const mptcp_opt *mo, size_t plen)
{
    uint8_t pay[4000];
    sim_stream_fill(7, 0, pay, plen);
    mptcp_seg_spec sp;
    memset(&sp, 0, sizeof(sp));
    sp.hdr.sport = 1000;
    sp.hdr.dport = 80;
    sp.hdr.seq = 77;
    sp.hdr.ack = (flags & MPTCP_TH_ACK) ? 5000 : 0;
    sp.hdr.flags = flags;
    sp.hdr.window = 65535;
    if (flags & MPTCP_TH_SYN) {
        sp.opts.present = MPTCP_TCPO_MSS | MPTCP_TCPO_SACK_PERM | MPTCP_TCPO_TS | MPTCP_TCPO_WSCALE;
        sp.opts.mss = 1460;
        sp.opts.wscale = 7;
    } else {
        sp.opts.present = MPTCP_TCPO_TS;
    }
    sp.opts.ts_val = 1234;
    sp.mptcp = mo;
    sp.n_mptcp = 1;
    sp.payload = pay;
    sp.payload_len = plen;
    mptcp_ssize n = mptcp_seg_write(out, SIM_PKT_CAP, &sp, A(), B());
    ck_assert_int_gt(n, 0);
    return (int)n;
}

START_TEST(mbox_strip_output_parses_with_the_codec)
{
    sim_mbox_cfg c = {.dirs = SIM_BOTH, .strip_mptcp = 0xffff};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    mptcp_opt mpc = {.form = MPTCP_OPT_MPC_SYN, .u.mpc = {.version = 1, .flags = MPTCP_MPC_H}};
    int len = codec_seg(buf, MPTCP_TH_SYN, &mpc, 0);
    mptcp_seg in;
    ck_assert_int_eq(mptcp_seg_parse(buf, (size_t)len, &in), 0);
    ck_assert_uint_eq(in.n_mptcp, 1);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    sim_pkt *p = x.b->pkts[0];
    mptcp_seg out;
    ck_assert_int_eq(mptcp_seg_parse(p->data, p->len, &out), 0);
    ck_assert_uint_eq(out.n_mptcp, 0);
    ck_assert_uint_eq(out.opts.present & ~(uint32_t)MPTCP_TCPO_EOL, in.opts.present);
    ck_assert_uint_eq(out.opts.bad, 0);
    ck_assert_uint_eq(out.opts.mss, 1460);
    ck_assert_uint_eq(out.opts.wscale, 7);
    ck_assert_uint_eq(out.opts.ts_val, 1234);
    ck_assert_uint_lt(out.hdr.doff, in.hdr.doff);
    ck_assert(mptcp_tcp_csum_ok(p->data, p->len, A(), B()));
    mb_free(&x);
}
END_TEST

START_TEST(mbox_split_pieces_carry_the_dss_option_as_tso_does)
{
    sim_mbox_cfg c = {.dirs = SIM_A2B, .split_max = 1000};
    mb x = mkmb(&c);
    uint8_t buf[SIM_PKT_CAP];
    mptcp_opt dss = {.form = MPTCP_OPT_DSS,
                     .u.dss = {.has_ack = true, .data_ack = 99, .has_map = true, .dsn = 1000,
                               .ssn = 1, .data_len = 2500}};
    int len = codec_seg(buf, MPTCP_TH_ACK, &dss, 2500);
    sim_node_send(x.a->node, A(), B(), buf, (size_t)len);
    sim_run_until(x.s, UINT64_MAX);
    ck_assert_uint_eq(x.b->n, 3);
    for (int i = 0; i < 3; i++) {
        mptcp_seg out;
        sim_pkt *p = x.b->pkts[i];
        ck_assert_int_eq(mptcp_seg_parse(p->data, p->len, &out), 0);
        ck_assert_uint_eq(out.hdr.seq, 77u + 1000u * (uint32_t)i);
        ck_assert_uint_eq(out.n_mptcp, 1);
        ck_assert_int_eq(out.mptcp[0].err, 0);
        ck_assert_int_eq(out.mptcp[0].opt.form, MPTCP_OPT_DSS);
        /* the mapping still says 2500 bytes: the receiver must cope (RFC 8684 3.3.1) */
        ck_assert_uint_eq(out.mptcp[0].opt.u.dss.data_len, 2500);
        ck_assert_uint_eq(out.payload_len, i < 2 ? 1000 : 500);
        ck_assert(mptcp_tcp_csum_ok(p->data, p->len, A(), B()));
    }
    mb_free(&x);
}
END_TEST

/* ---------------------------------------------------------------- paths, timers */

START_TEST(routes_pick_the_path_by_source_address)
{
    sim *s = sim_new(1, 0);
    rec *a = rec_new(s, "a"), *b = rec_new(s, "b");
    mptcp_addr a1 = ip4(10, 0, 0, 1), a2 = ip4(10, 0, 2, 1);
    sim_link_cfg fast = {.delay_us = 1000}, slow = {.delay_us = 30000};
    sim_link *l1 = sim_link_new(s, "p1", &fast, sim_node_elem(b->node));
    sim_link *l2 = sim_link_new(s, "p2", &slow, sim_node_elem(b->node));
    sim_node_route(a->node, &a1, NULL, sim_link_elem(l1));
    sim_node_route(a->node, &a2, NULL, sim_link_elem(l2));
    uint8_t buf[SIM_PKT_CAP];
    sim_tcp h = {1, 2, 3, 4, MPTCP_TH_ACK, 5};
    int len = sim_seg_build(buf, sizeof(buf), &h, NULL, 0, NULL, 0, &a2, B());
    ck_assert_int_eq(sim_node_send(a->node, &a2, B(), buf, (size_t)len), 0);
    ck_assert_int_eq(sim_node_send(a->node, &a1, B(), buf, (size_t)len), 0);
    mptcp_addr a3 = ip4(10, 0, 3, 1);
    ck_assert_int_eq(sim_node_send(a->node, &a3, B(), buf, (size_t)len), -1);
    sim_run_until(s, UINT64_MAX);
    ck_assert_uint_eq(b->n, 2);
    ck_assert_uint_eq(b->t[0], 1000);
    ck_assert_mem_eq(b->pkts[0]->src.ip, a1.ip, 4);
    ck_assert_uint_eq(b->t[1], 30000);
    sim_stats st;
    sim_get_stats(s, &st);
    ck_assert_uint_eq(st.drop_no_route, 1);
    sim_free(s);
    rec_free(a);
    rec_free(b);
}
END_TEST

START_TEST(node_timers_fire_in_time_order_with_packets)
{
    sim *s = sim_new(1, 0);
    rec *a = rec_new(s, "a"), *b = rec_new(s, "b");
    sim_link_cfg c = {.delay_us = 500};
    sim_link *l = sim_link_new(s, "l", &c, sim_node_elem(b->node));
    sim_node_route(a->node, NULL, NULL, sim_link_elem(l));
    b->timer_at = 400;
    a->timer_at = 600;
    send_seg(a->node, 1, 10);
    ck_assert_uint_eq(sim_next_time(s), 0);
    sim_run_until(s, 450);
    ck_assert_int_eq(b->timer_fired, 1);
    ck_assert_uint_eq(b->n, 0);
    sim_run_until(s, 550);
    ck_assert_uint_eq(b->n, 1);
    ck_assert_int_eq(a->timer_fired, 0);
    sim_run_until(s, UINT64_MAX);
    ck_assert_int_eq(a->timer_fired, 1);
    ck_assert_uint_eq(sim_now(s), 600);
    /* a node whose deadline never moves is reported, not spun on forever */
    a->stuck = true;
    a->timer_at = 700;
    ck_assert_int_eq(sim_run_until(s, UINT64_MAX), -1);
    sim_stats st;
    sim_get_stats(s, &st);
    ck_assert_uint_eq(st.stuck_timers, 1);
    sim_free(s);
    rec_free(a);
    rec_free(b);
}
END_TEST

START_TEST(echo_round_trip_is_twice_the_one_way_time)
{
    sim *s = sim_new(1, 0);
    rec *a = rec_new(s, "a"), *b = rec_new(s, "b");
    b->echo = true;
    sim_link_cfg c = {.rate_bps = 10000000, .delay_us = 10000};
    sim_link *ab = sim_link_new(s, "ab", &c, sim_node_elem(b->node));
    sim_link *ba = sim_link_new(s, "ba", &c, sim_node_elem(a->node));
    sim_node_route(a->node, NULL, NULL, sim_link_elem(ab));
    sim_node_route(b->node, NULL, NULL, sim_link_elem(ba));
    send_seg(a->node, 1, 1230); /* 1250 + 20 = 1270 bytes: 1016 us at 10 Mbit/s */
    sim_run_until(s, UINT64_MAX);
    ck_assert_uint_eq(a->n, 1);
    ck_assert_uint_eq(a->t[0], 2 * (10000 + 1016));
    ck_assert_mem_eq(a->pkts[0]->src.ip, B()->ip, 4);
    sim_free(s);
    rec_free(a);
    rec_free(b);
}
END_TEST

/* A lossy, reordering, duplicating run: the trace of arrivals (time, bytes). */
static uint64_t trace_hash(uint64_t seed)
{
    sim_link_cfg c = {.rate_bps = 50000000, .delay_us = 3000, .queue_pkts = 20,
                      .loss_ppm = 50000, .dup_ppm = 30000, .reorder_ppm = 50000,
                      .reorder_delay_us = 400, .corrupt_ppm = 20000};
    pair p = mkpair(seed, &c);
    for (int i = 0; i < 300; i++)
        send_seg(p.a->node, (uint32_t)(i * 700), 700);
    sim_run_until(p.s, UINT64_MAX);
    uint64_t h = 0;
    for (size_t i = 0; i < p.b->n; i++) {
        h = sim_mix64(h ^ p.b->t[i]);
        for (size_t j = 0; j < p.b->pkts[i]->len; j++)
            h = h * 31 + p.b->pkts[i]->data[j];
    }
    pair_free(&p);
    return h;
}

START_TEST(same_seed_same_trace_other_seed_other_trace)
{
    ck_assert_uint_eq(trace_hash(77), trace_hash(77));
    ck_assert_uint_ne(trace_hash(77), trace_hash(78));
}
END_TEST

START_TEST(pcap_tap_output_is_read_by_tshark)
{
    char path[] = "/tmp/sim-tap-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    sim *s = sim_new(1, 0);
    rec *a = rec_new(s, "a"), *b = rec_new(s, "b");
    mptcp_test_pcap *pc = mptcp_test_pcap_open(path);
    ck_assert_ptr_nonnull(pc);
    sim_link_cfg c = {.rate_bps = 100000000, .delay_us = 1000};
    sim_link *l = sim_link_new(s, "l", &c, sim_node_elem(b->node));
    /* every hop: before and after the link */
    sim_tap *t2 = sim_tap_new(s, pc, 0, sim_node_elem(b->node));
    sim_link_set_next(l, sim_tap_elem(t2));
    sim_tap *t1 = sim_tap_new(s, pc, 1500, sim_link_elem(l));
    sim_node_route(a->node, NULL, NULL, sim_tap_elem(t1));
    uint8_t buf[SIM_PKT_CAP];
    int len = mkseg(buf, 1, MPTCP_TH_SYN, syn_opts, sizeof(syn_opts), 0);
    sim_node_send(a->node, A(), B(), buf, (size_t)len);
    for (int i = 0; i < 3; i++)
        send_seg(a->node, (uint32_t)(1000 + 1000 * i), 1000);
    sim_run_until(s, UINT64_MAX);
    ck_assert_uint_eq(sim_tap_written(t1), 2); /* 1500-byte cap: SYN + one data */
    ck_assert_uint_eq(sim_tap_skipped(t1), 2);
    ck_assert_uint_eq(sim_tap_written(t2), 4);
    ck_assert_int_eq(mptcp_test_pcap_close(pc), 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "tshark -r %s -T fields -e frame.time_relative -e tcp.seq_raw -e tcp.len "
             "-e tcp.checksum.status -o tcp.check_checksum:TRUE 2>%s.err",
             path, path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    int rows = 0;
    unsigned seqs[6], lens[6];
    while (fgets(line, sizeof(line), f)) {
        double tr;
        unsigned seq, plen, status;
        ck_assert_msg(sscanf(line, "%lf %u %u %u", &tr, &seq, &plen, &status) == 4,
                      "tshark said: %s", line);
        ck_assert_uint_eq(status, 1); /* Wireshark: 0 bad, 1 good, 2 unverified */
        ck_assert_int_lt(rows, 6);
        seqs[rows] = seq;
        lens[rows] = plen;
        rows++;
    }
    ck_assert_int_eq(pclose(f), 0);
    ck_assert_int_eq(rows, 6);
    /* tshark's only stderr line may be its warning about running as root */
    snprintf(cmd, sizeof(cmd), "%s.err", path);
    f = fopen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof(line), f))
        ck_assert_msg(strstr(line, "Running as user") || line[0] == '\n', "tshark: %s", line);
    fclose(f);
    unlink(cmd);
    ck_assert_uint_eq(seqs[0], 1);
    ck_assert_uint_eq(lens[0], 0);
    ck_assert_uint_eq(lens[5], 1000);
    unlink(path);
    sim_free(s);
    rec_free(a);
    rec_free(b);
}
END_TEST

START_TEST(path_pcap_shows_every_hop_before_and_after_nat)
{
    char path[] = "/tmp/sim-hops-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    sim *s = sim_new(1, 0);
    rec *a = rec_new(s, "a"), *b = rec_new(s, "b");
    b->echo = true;
    mptcp_test_pcap *pc = mptcp_test_pcap_open(path);
    sim_mbox_cfg m = {.nat = true, .nat_ip = ip4(192, 0, 2, 1), .nat_port_base = 40000};
    sim_path_cfg cfg = {.ab = sim_link_cfg_make(0, 2000, 0, 0), .mbox = &m, .pcap = pc,
                        .pcap_every_hop = true};
    cfg.ba = cfg.ab;
    sim_path p;
    ck_assert_int_eq(sim_path_new(s, &p, a->node, A(), b->node, B(), &cfg), 0);
    send_seg(a->node, 1, 100);
    sim_run_until(s, UINT64_MAX);
    ck_assert_uint_eq(a->n, 1); /* the echo came back through the NAT */
    ck_assert_mem_eq(a->pkts[0]->dst.ip, A()->ip, 4);
    ck_assert_int_eq(mptcp_test_pcap_close(pc), 0);
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "tshark -r %s -T fields -e frame.time_relative -e ip.src -e ip.dst -e tcp.srcport "
             "2>/dev/null",
             path);
    FILE *f = popen(cmd, "r");
    char line[256], got[2048] = "";
    while (fgets(line, sizeof(line), f))
        strncat(got, line, sizeof(got) - strlen(got) - 1);
    ck_assert_int_eq(pclose(f), 0);
    /* A out, after link ab, B in (NATed), B out, after the NAT back, A in */
    const char *want = "0.000000000\t10.0.0.1\t10.0.1.1\t1000\n"
                       "0.001000000\t10.0.0.1\t10.0.1.1\t1000\n"
                       "0.001000000\t192.0.2.1\t10.0.1.1\t40000\n"
                       "0.001000000\t10.0.1.1\t192.0.2.1\t80\n"
                       "0.001000000\t10.0.1.1\t10.0.0.1\t80\n"
                       "0.002000000\t10.0.1.1\t10.0.0.1\t80\n";
    ck_assert_str_eq(got, want);
    unlink(path);
    sim_free(s);
    rec_free(a);
    rec_free(b);
}
END_TEST

START_TEST(packet_pool_recycles_and_sim_free_releases_in_flight)
{
    sim_link_cfg c = {.delay_us = 100};
    pair p = mkpair(1, &c);
    for (int i = 0; i < 50; i++)
        send_seg(p.a->node, 1, 10);
    sim_run_until(p.s, UINT64_MAX);
    ck_assert_uint_eq(sim_pkts_live(p.s), 0);
    for (int i = 0; i < 50; i++)
        send_seg(p.a->node, 1, 10);
    ck_assert_uint_eq(sim_pkts_live(p.s), 50);
    sim_free(p.s); /* with 50 in flight: ASan reports any leak */
    rec_free(p.a);
    rec_free(p.b);
}
END_TEST

/* ---------------------------------------------------------------- data checker */

START_TEST(stream_checker_finds_a_wrong_byte_and_digests_match)
{
    uint8_t buf[10000];
    sim_stream_fill(99, 0, buf, sizeof(buf));
    for (size_t i = 0; i < sizeof(buf); i += 777)
        ck_assert_uint_eq(buf[i], sim_stream_byte(99, i));
    uint8_t part[100];
    sim_stream_fill(99, 4443, part, 100); /* unaligned offset */
    ck_assert_mem_eq(part, buf + 4443, 100);
    sim_check c;
    sim_check_init(&c, 99);
    ck_assert(sim_check_feed(&c, buf, 3001));
    ck_assert(sim_check_feed(&c, buf + 3001, sizeof(buf) - 3001));
    uint8_t d1[32], d2[32];
    sim_check_digest(&c, d1);
    sim_stream_digest(99, sizeof(buf), d2);
    ck_assert_mem_eq(d1, d2, 32);
    mptcp_sha256(buf, sizeof(buf), d2);
    ck_assert_mem_eq(d1, d2, 32);
    ck_assert_uint_eq(c.errors, 0);
    sim_check_init(&c, 99);
    buf[5000] ^= 4;
    ck_assert(!sim_check_feed(&c, buf, sizeof(buf)));
    ck_assert_uint_eq(c.errors, 1);
    ck_assert_uint_eq(c.first_bad, 5000);
    /* another seed is another stream */
    sim_stream_fill(100, 0, part, 100);
    ck_assert(memcmp(part, buf, 100) != 0);
}
END_TEST

Suite *sim_suite(void)
{
    Suite *s = suite_create("sim");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, events_run_by_time_then_insertion_order);
    tcase_add_test(tc, heap_keeps_order_over_many_random_events);
    tcase_add_test(tc, routes_pick_the_path_by_source_address);
    tcase_add_test(tc, node_timers_fire_in_time_order_with_packets);
    tcase_add_test(tc, echo_round_trip_is_twice_the_one_way_time);
    tcase_add_test(tc, same_seed_same_trace_other_seed_other_trace);
    tcase_add_test(tc, packet_pool_recycles_and_sim_free_releases_in_flight);
    tcase_add_test(tc, stream_checker_finds_a_wrong_byte_and_digests_match);
    suite_add_tcase(s, tc);
    tc = tcase_create("link");
    tcase_add_test(tc, link_time_is_serialization_plus_propagation);
    tcase_add_test(tc, link_rate_rounds_up_and_counts_overhead);
    tcase_add_test(tc, link_without_rate_only_delays);
    tcase_add_test(tc, link_counts_the_ipv6_header_and_mbox_keeps_v6_checksums);
    tcase_add_test(tc, droptail_queue_drops_beyond_limit_then_recovers);
    tcase_add_test(tc, random_loss_matches_rate_and_is_deterministic);
    tcase_add_test(tc, scripted_loss_by_index_and_by_filter);
    tcase_add_test(tc, scripted_outage_drops_only_inside_the_window);
    tcase_add_test(tc, reordering_holds_packets_back);
    tcase_add_test(tc, duplication_delivers_identical_copies);
    tcase_add_test(tc, corruption_flips_one_bit_and_checksum_catches_it);
    suite_add_tcase(s, tc);
    tc = tcase_create("mbox");
    tcase_add_test(tc, mbox_removes_mptcp_option_and_shrinks_header);
    tcase_add_test(tc, mbox_nops_out_options_on_syn_only);
    tcase_add_test(tc, mbox_rewrites_option_bytes_and_clamps_mss);
    tcase_add_test(tc, mbox_shifts_sequence_ack_and_sack);
    tcase_add_test(tc, mbox_seq_target_puts_isn_where_asked);
    tcase_add_test(tc, mbox_nat_maps_out_and_back_and_drops_unsolicited);
    tcase_add_test(tc, mbox_splits_like_tso);
    tcase_add_test(tc, mbox_coalesces_like_lro);
    tcase_add_test(tc, mbox_rewrites_payload_keeps_bad_checksum_bad);
    tcase_add_test(tc, mbox_hook_sees_both_directions_and_can_drop);
    tcase_add_test(tc, mbox_strip_output_parses_with_the_codec);
    tcase_add_test(tc, mbox_split_pieces_carry_the_dss_option_as_tso_does);
    suite_add_tcase(s, tc);
    tc = tcase_create("pcap");
    tcase_add_test(tc, pcap_tap_output_is_read_by_tshark);
    tcase_add_test(tc, path_pcap_shows_every_hop_before_and_after_nat);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
