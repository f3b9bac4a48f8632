/*
 * Congestion control (src/cc.c, src/cc_cubic.c): Reno slow start and
 * congestion avoidance (RFC 5681, RFC 3465), loss and timeout responses,
 * the CUBIC curve (RFC 9438 section 4) against a floating-point reference
 * computed here in the test, the Reno-friendly region, fast convergence,
 * saturation at huge windows and long times, and a small fluid simulation
 * comparing the average windows of both algorithms.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>

#include "cc.h"

/* Check's ck_assert_* report every passing check through a pipe; loops of
 * many thousands of steps use these instead. */
#define REQ(x)                                                           \
    do {                                                                 \
        if (!(x))                                                        \
            ck_abort_msg("%s:%d: %s is false", __FILE__, __LINE__, #x); \
    } while (0)

#define MSS 1448u

static void cc_start(mptcp_cc *cc, const mptcp_cc_ops *ops, uint32_t mss)
{
    memset(cc, 0, sizeof(*cc));
    cc->ops = ops;
    ops->init(cc, mss, 0);
}

/*
 * One round trip of an ACK clock: the window at the start of the round is
 * acknowledged in ACKs of |per_ack| bytes spread evenly over |rtt_us|.
 * Returns the time at the end of the round.
 */
static uint64_t run_round(mptcp_cc *cc, uint32_t per_ack, uint32_t rtt_us, uint64_t now)
{
    uint32_t w = cc->cwnd;
    uint32_t n = (w + per_ack - 1) / per_ack;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t a = i + 1 < n ? per_ack : w - per_ack * (n - 1);
        uint64_t t = now + (uint64_t)rtt_us * (i + 1) / n;
        cc->ops->on_ack(cc, a, w, rtt_us, rtt_us, t);
    }
    return now + rtt_us;
}

/* Puts |cc| in congestion avoidance at |w| bytes with a fresh loss behind
 * it, as after fast recovery from a loss at |w_loss|. */
static void after_loss(mptcp_cc *cc, uint32_t w_loss, uint64_t now)
{
    cc->cwnd = w_loss;
    cc->ssthresh = w_loss;
    cc->ops->on_loss(cc, w_loss, now);
    cc->ops->on_recovery_end(cc, now);
}

/* ------------------------------------------------------------ common */

START_TEST(ops_lookup_by_algorithm)
{
    ck_assert_ptr_eq(mptcp_cc_ops_for(MPTCP_CC_RENO), &mptcp_cc_reno);
    ck_assert_ptr_eq(mptcp_cc_ops_for(MPTCP_CC_CUBIC), &mptcp_cc_cubic);
    ck_assert_ptr_eq(mptcp_cc_ops_for((mptcp_cc_algo)77), &mptcp_cc_cubic);
    ck_assert_str_eq(mptcp_cc_reno.name, "reno");
    ck_assert_str_eq(mptcp_cc_cubic.name, "cubic");
}
END_TEST

static const mptcp_cc_ops *const both[] = { &mptcp_cc_reno, &mptcp_cc_cubic };

START_TEST(initial_window_rfc6928)
{
    mptcp_cc cc;
    cc_start(&cc, both[_i], 1460);
    ck_assert_uint_eq(cc.cwnd, 14600);
    ck_assert_uint_eq(cc.ssthresh, UINT32_MAX);
    ck_assert_ptr_eq(cc.ops, both[_i]);
    cc_start(&cc, both[_i], 536);
    ck_assert_uint_eq(cc.cwnd, 5360);   /* 10 * mss */
    cc_start(&cc, both[_i], 9000);
    ck_assert_uint_eq(cc.cwnd, 18000);  /* 2 * mss */
    cc_start(&cc, both[_i], 0);         /* unset mss reads as 536 */
    ck_assert_uint_eq(cc.cwnd, 5360);
    ck_assert_uint_eq(mptcp_cc_initial_window(1000), 10000);
    ck_assert_uint_eq(mptcp_cc_initial_window(2000), 14600);
}
END_TEST

START_TEST(slow_start_doubles_per_rtt)
{
    /* _i: bit 0 picks the algorithm, bit 1 ACKs every 2 segments (delayed
     * ACKs; RFC 3465 L = 2 keeps the doubling). */
    mptcp_cc cc;
    cc_start(&cc, both[_i & 1], MSS);
    uint32_t per_ack = (_i & 2) ? 2 * MSS : MSS;
    uint64_t now = 0;
    uint32_t w = cc.cwnd;
    for (int r = 0; r < 8; r++) {
        now = run_round(&cc, per_ack, 50000, now);
        ck_assert_uint_eq(cc.cwnd, 2 * w);
        w = cc.cwnd;
    }
    ck_assert_uint_eq(cc.cwnd, 10 * MSS << 8);
}
END_TEST

START_TEST(slow_start_increase_limited_to_two_segments)
{
    mptcp_cc cc;
    cc_start(&cc, both[_i], MSS);
    uint32_t w = cc.cwnd;
    cc.ops->on_ack(&cc, 10 * MSS, w, 10000, 10000, 1000); /* stretch ACK */
    ck_assert_uint_eq(cc.cwnd, w + 2 * MSS);
    cc.ops->on_ack(&cc, 100, w, 10000, 10000, 2000);
    ck_assert_uint_eq(cc.cwnd, w + 2 * MSS + 100);
    cc.ops->on_ack(&cc, 0, w, 10000, 10000, 3000);
    ck_assert_uint_eq(cc.cwnd, w + 2 * MSS + 100);
}
END_TEST

START_TEST(slow_start_stops_at_ssthresh)
{
    mptcp_cc cc;
    cc_start(&cc, both[_i], MSS);
    cc.ssthresh = cc.cwnd + 500;
    cc.ops->on_ack(&cc, MSS, cc.cwnd, 10000, 10000, 1000);
    ck_assert_uint_eq(cc.cwnd, cc.ssthresh); /* not past it */
    uint32_t w = cc.cwnd;
    for (int i = 0; i < 5; i++)
        cc.ops->on_ack(&cc, MSS, w, 10000, 10000, 2000 + (uint64_t)i);
    ck_assert_uint_lt(cc.cwnd, w + MSS); /* congestion avoidance now */
}
END_TEST

START_TEST(loss_sets_ssthresh_and_cwnd)
{
    /* Reno halves (RFC 5681 (4)), CUBIC multiplies by 0.7 (RFC 9438 4.6);
     * both from the flight size, with a floor of 2 segments. */
    static const uint32_t num[] = { 1, 7 }, den[] = { 2, 10 };
    mptcp_cc cc;
    cc_start(&cc, both[_i], MSS);
    cc.cwnd = 100 * MSS;
    cc.ops->on_loss(&cc, 80 * MSS, 5000000);
    ck_assert_uint_eq(cc.ssthresh, 80 * MSS * num[_i] / den[_i]);
    ck_assert_uint_eq(cc.cwnd, cc.ssthresh);
    cc.ops->on_recovery_end(&cc, 5100000);
    ck_assert_uint_eq(cc.cwnd, cc.ssthresh);
    cc.ops->on_loss(&cc, MSS, 6000000);
    ck_assert_uint_eq(cc.ssthresh, 2 * MSS);
    ck_assert_uint_eq(cc.cwnd, 2 * MSS);
}
END_TEST

START_TEST(rto_collapses_to_one_segment_then_slow_starts)
{
    static const uint32_t num[] = { 1, 7 }, den[] = { 2, 10 };
    mptcp_cc cc;
    cc_start(&cc, both[_i], MSS);
    cc.cwnd = 64 * MSS;
    cc.ssthresh = 32 * MSS;
    cc.ops->on_rto(&cc, 60 * MSS, 1000000);
    ck_assert_uint_eq(cc.cwnd, MSS); /* RFC 5681 section 3.1 loss window */
    ck_assert_uint_eq(cc.ssthresh, 60 * MSS * num[_i] / den[_i]);
    /* Slow start up to ssthresh, then linear-ish growth. */
    uint64_t now = 1000000;
    int rounds = 0;
    while (cc.cwnd < cc.ssthresh) {
        now = run_round(&cc, MSS, 100000, now);
        rounds++;
    }
    ck_assert_int_le(rounds, 6); /* 1 -> 42 segments by doubling */
    ck_assert_uint_ge(cc.cwnd, cc.ssthresh);
    ck_assert_uint_le(cc.cwnd, cc.ssthresh + MSS);
    uint32_t w = cc.cwnd;
    now = run_round(&cc, MSS, 100000, now);
    ck_assert_uint_le(cc.cwnd, w + w / 2);
    ck_assert_uint_ge(cc.cwnd, w);
    /* A small flight keeps the 2-segment floor. */
    cc.ops->on_rto(&cc, 100, now);
    ck_assert_uint_eq(cc.ssthresh, 2 * MSS);
    ck_assert_uint_eq(cc.cwnd, MSS);
}
END_TEST

START_TEST(idle_restart_window)
{
    mptcp_cc cc;
    cc_start(&cc, both[_i], MSS);
    uint32_t iw = cc.cwnd;
    cc.cwnd = 50 * MSS;
    cc.ssthresh = 40 * MSS;
    cc.ops->on_idle(&cc, 9000000);
    ck_assert_uint_eq(cc.cwnd, iw); /* RFC 5681 section 4.1 */
    cc.cwnd = 3 * MSS;
    cc.ops->on_idle(&cc, 9500000);
    ck_assert_uint_eq(cc.cwnd, 3 * MSS); /* never raised */
}
END_TEST

START_TEST(integer_cube_root)
{
    ck_assert_uint_eq(mptcp_cc_icbrt(0), 0);
    ck_assert_uint_eq(mptcp_cc_icbrt(1), 1);
    ck_assert_uint_eq(mptcp_cc_icbrt(7), 1);
    ck_assert_uint_eq(mptcp_cc_icbrt(8), 2);
    ck_assert_uint_eq(mptcp_cc_icbrt(26), 2);
    ck_assert_uint_eq(mptcp_cc_icbrt(27), 3);
    ck_assert_uint_eq(mptcp_cc_icbrt(UINT64_MAX), 2642245);
    for (uint64_t r = 2; r < 2642245; r = r * 3 / 2 + 1) {
        REQ(mptcp_cc_icbrt(r * r * r) == r);
        REQ(mptcp_cc_icbrt(r * r * r - 1) == r - 1);
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 100000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t v = x >> (i % 64);
        unsigned __int128 r = mptcp_cc_icbrt(v);
        REQ(r * r * r <= v && (r + 1) * (r + 1) * (r + 1) > v);
    }
}
END_TEST

/* ------------------------------------------------------------ Reno */

START_TEST(reno_congestion_avoidance_one_mss_per_rtt)
{
    /* Byte counting (RFC 3465) gives +1 MSS per window acknowledged,
     * whatever the ACK size: per segment, every 2 segments, odd sizes. */
    static const uint32_t per_ack[] = { MSS, 2 * MSS, 700, 5 * MSS };
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_reno, MSS);
    cc.cwnd = cc.ssthresh = 20 * MSS;
    uint64_t now = 0;
    for (int r = 1; r <= 30; r++) {
        now = run_round(&cc, per_ack[_i], 40000, now);
        ck_assert_uint_ge(cc.cwnd, (20u + (uint32_t)r - 1) * MSS);
        ck_assert_uint_le(cc.cwnd, (20u + (uint32_t)r) * MSS);
    }
    ck_assert_uint_ge(cc.cwnd, 49 * MSS);
    if (per_ack[_i] == MSS)
        ck_assert_uint_eq(cc.cwnd, 50 * MSS);
}
END_TEST

/* ------------------------------------------------------------ CUBIC */

/* RFC 9438 Figure 1 in floating point, in segments and seconds. */
static double ref_w_cubic(double t, double w_max_seg, double k)
{
    return 0.4 * (t - k) * (t - k) * (t - k) + w_max_seg;
}

START_TEST(cubic_beta_reduction_and_w_max)
{
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_cubic, MSS);
    after_loss(&cc, 1000 * MSS, 1000000);
    ck_assert_uint_eq(cc.cubic.w_max, 1000 * MSS); /* no earlier W_max: no fast convergence */
    ck_assert_uint_eq(cc.ssthresh, 700 * MSS);
    ck_assert_uint_eq(cc.cwnd, 700 * MSS);
    ck_assert_uint_eq(cc.cubic.cwnd_prior, 1000 * MSS);
    ck_assert_uint_eq(cc.cubic.epoch_start_us, 0);
    /* K = cbrt(1000 * 0.3 / 0.4) s = 9.0856 s, fixed once the epoch starts. */
    cc.ops->on_ack(&cc, MSS, cc.cwnd, 100000, 100000, 1100000);
    ck_assert_uint_eq(cc.cubic.epoch_start_us, 1100000);
    double k = cbrt(750.0) * 1e6;
    ck_assert_double_le(fabs((double)cc.cubic.k_us - k), k * 0.001);
    ck_assert_uint_eq(mptcp_cc_cubic_window(&cc, cc.cubic.k_us), 1000 * MSS);
    ck_assert_uint_eq(cc.cubic.w_est, 700 * MSS);
    /* W_cubic(0) = cwnd_epoch = 0.7 W_max, within fixed-point error. */
    double w0 = mptcp_cc_cubic_window(&cc, 0);
    ck_assert_double_le(fabs(w0 - 700.0 * MSS), 0.5 * MSS);
}
END_TEST

START_TEST(cubic_fast_convergence_lowers_w_max)
{
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_cubic, MSS);
    after_loss(&cc, 1000 * MSS, 1000000);
    /* A second loss before regaining W_max (RFC 9438 section 4.7). */
    after_loss(&cc, 900 * MSS, 2000000);
    ck_assert_uint_eq(cc.cubic.w_last_max, 1000 * MSS);
    ck_assert_uint_eq(cc.cubic.w_max, 900 * MSS * 17 / 20); /* cwnd * (1 + 0.7) / 2 */
    ck_assert_uint_eq(cc.cwnd, 630 * MSS);
    /* A loss above W_max remembers the full window. */
    after_loss(&cc, 1200 * MSS, 3000000);
    ck_assert_uint_eq(cc.cubic.w_max, 1200 * MSS);
    ck_assert_uint_eq(cc.cwnd, 840 * MSS);
}
END_TEST

START_TEST(cubic_window_follows_cubic_curve)
{
    /* Large BDP (100 ms, W_max 1000 segments): the cubic curve is above the
     * Reno-friendly estimate all along, so cwnd must track W_cubic. */
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_cubic, MSS);
    const uint32_t rtt = 100000;
    uint64_t t0 = 1000000, now = t0;
    after_loss(&cc, 1000 * MSS, now);
    const double k = cbrt(750.0);
    uint32_t w_prev = cc.cwnd;
    double grow_early = 0, grow_late = 0, grow_convex1 = 0, grow_convex2 = 0;
    int rounds = 0;
    bool checked_k = false;
    while (now < t0 + 15000000) {
        now = run_round(&cc, MSS, rtt, now);
        rounds++;
        double t = (double)(now - cc.cubic.epoch_start_us) / 1e6;
        double growth = (double)cc.cwnd - w_prev;
        ck_assert_double_ge(growth, 0);
        /* Never more than the 1.5x cap per round (RFC 9438 section 4.4). */
        ck_assert_uint_le(cc.cwnd, w_prev + w_prev / 2);
        w_prev = cc.cwnd;
        /* cwnd aims one RTT ahead: it lies between W_cubic(t) and
         * W_cubic(t + RTT), give or take a segment of rounding. */
        double lo = ref_w_cubic(t, 1000, k) * MSS, hi = ref_w_cubic(t + 0.1, 1000, k) * MSS;
        ck_assert_double_ge(cc.cwnd, lo - 1.0 * MSS);
        ck_assert_double_le(cc.cwnd, hi + 1.0 * MSS);
        if (t < k / 2)
            grow_early += growth;
        else if (t < k)
            grow_late += growth;
        else if (t < k + 3)
            grow_convex1 += growth;
        else if (t < k + 6)
            grow_convex2 += growth;
        if (!checked_k && t >= k) {
            /* At t = K the window is at W_max (within 1%). */
            ck_assert_double_le(fabs((double)cc.cwnd - 1000.0 * MSS), 10.0 * MSS);
            checked_k = true;
        }
    }
    ck_assert(checked_k);
    /* Concave: growth slows while approaching W_max ... */
    ck_assert_double_gt(grow_early, 3 * grow_late);
    /* ... convex: it speeds up past it. */
    ck_assert_double_gt(grow_convex2, 3 * grow_convex1);
    /* The Reno-friendly estimate stayed below: this was the cubic region. */
    ck_assert_uint_lt(cc.cubic.w_est, cc.cwnd);
    ck_assert_int_gt(rounds, 140);
}
END_TEST

START_TEST(cubic_increase_per_ack_capped_at_half_segment)
{
    /* Long after the epoch began W_cubic(t) is enormous; the target is
     * capped at 1.5*cwnd (RFC 9438 section 4.4), so each ACK adds at most
     * half of what it acknowledges and a round at most half a window. */
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_cubic, MSS);
    after_loss(&cc, 100 * MSS, 1000000);
    cc.ops->on_ack(&cc, MSS, cc.cwnd, 100000, 100000, 1100000);
    uint64_t now = 1100000 + 100ull * 1000000;
    ck_assert_uint_gt(mptcp_cc_cubic_window(&cc, now - cc.cubic.epoch_start_us), 1000 * MSS);
    uint32_t w = cc.cwnd;
    cc.ops->on_ack(&cc, MSS, w, 100000, 100000, now);
    ck_assert_uint_ge(cc.cwnd, w + MSS / 2 - 1);
    ck_assert_uint_le(cc.cwnd, w + MSS / 2 + 1);
    w = cc.cwnd;
    now = run_round(&cc, MSS, 100000, now);
    ck_assert_uint_ge(cc.cwnd, w + w / 2 - MSS);
    ck_assert_uint_le(cc.cwnd, w + w / 2 + 1);
}
END_TEST

START_TEST(cubic_reno_friendly_region_at_small_bdp)
{
    /* 1 ms RTT, W_max 20 segments: K = cbrt(15) = 2.47 s is 2466 RTTs away,
     * so Reno's estimate leads (RFC 9438 section 4.3): +alpha_cubic = 0.53
     * segment per RTT until cwnd_prior, then +1 segment per RTT. */
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_cubic, MSS);
    const uint32_t rtt = 1000;
    uint64_t now = 1000000;
    after_loss(&cc, 20 * MSS, now);
    ck_assert_uint_eq(cc.cwnd, 14 * MSS);
    for (int r = 0; r < 10; r++)
        now = run_round(&cc, MSS, rtt, now);
    /* 10 RTTs at 9/17 segment each: 14 + 5.3 segments. */
    ck_assert_uint_ge(cc.cwnd, 19 * MSS);
    ck_assert_uint_le(cc.cwnd, 20 * MSS);
    ck_assert_uint_eq(cc.cwnd, cc.cubic.w_est);
    uint64_t t = now - cc.cubic.epoch_start_us;
    ck_assert_uint_lt(mptcp_cc_cubic_window(&cc, t), cc.cwnd);
    /* Past cwnd_prior (20 segments) alpha is 1: one segment per RTT. */
    for (int r = 0; r < 4; r++)
        now = run_round(&cc, MSS, rtt, now);
    uint32_t w = cc.cwnd;
    for (int r = 0; r < 20; r++)
        now = run_round(&cc, MSS, rtt, now);
    ck_assert_uint_ge(cc.cwnd, w + 19 * MSS);
    ck_assert_uint_le(cc.cwnd, w + 21 * MSS);
    ck_assert_uint_eq(cc.cwnd, cc.cubic.w_est);
}
END_TEST

START_TEST(cubic_after_rto_starts_curve_at_plateau)
{
    /* RFC 9438 section 4.8: after a timeout the first congestion avoidance
     * uses K = 0 and W_max = the cwnd it starts from. */
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_cubic, MSS);
    after_loss(&cc, 200 * MSS, 1000000);
    cc.ops->on_rto(&cc, 140 * MSS, 2000000);
    ck_assert_uint_eq(cc.cwnd, MSS);
    ck_assert_uint_eq(cc.ssthresh, 98 * MSS);
    ck_assert_uint_eq(cc.cubic.w_last_max, 200 * MSS);
    uint64_t now = 2000000;
    while (cc.cwnd < cc.ssthresh)
        now = run_round(&cc, MSS, 100000, now);
    ck_assert_uint_eq(cc.cubic.k_us, 0);
    ck_assert_uint_eq(cc.cubic.w_max, 98 * MSS);
    ck_assert_uint_eq(cc.cubic.w_est, 98 * MSS);
    /* Convex from the start: slow at first, faster later. */
    uint32_t w1 = cc.cwnd;
    for (int r = 0; r < 30; r++)
        now = run_round(&cc, MSS, 100000, now);
    uint32_t g1 = cc.cwnd - w1, w2 = cc.cwnd;
    for (int r = 0; r < 30; r++)
        now = run_round(&cc, MSS, 100000, now);
    ck_assert_uint_gt(cc.cwnd - w2, 2 * g1);
}
END_TEST

START_TEST(cubic_idle_restarts_epoch)
{
    mptcp_cc cc;
    cc_start(&cc, &mptcp_cc_cubic, MSS);
    after_loss(&cc, 100 * MSS, 1000000);
    cc.ops->on_ack(&cc, MSS, cc.cwnd, 50000, 50000, 1050000);
    ck_assert_uint_ne(cc.cubic.epoch_start_us, 0);
    cc.ops->on_idle(&cc, 60000000);
    ck_assert_uint_eq(cc.cubic.epoch_start_us, 0);
    ck_assert_uint_eq(cc.cwnd, mptcp_cc_initial_window(MSS));
    ck_assert_uint_eq(cc.cubic.w_max, 100 * MSS); /* the plateau is remembered */
}
END_TEST

START_TEST(huge_windows_and_long_times_saturate)
{
    /* 1 GB windows, hours between events, full-size ACKs: no wrap, no UB
     * (this suite runs under UBSan), cwnd never decreases on an ACK and
     * never passes MPTCP_CC_CWND_MAX. */
    const uint32_t gb = 1u << 30;
    static const uint64_t hour = 3600ull * 1000000;
    mptcp_cc cc;
    cc_start(&cc, both[_i], MSS);
    after_loss(&cc, gb, 1000);
    if (both[_i] == &mptcp_cc_cubic) {
        /* K = cbrt(2^30 * 0.3 / 1448 / 0.4) s = 82.2 s */
        cc.ops->on_ack(&cc, MSS, cc.cwnd, 100000, 100000, 2000);
        double k = cbrt((double)gb * 0.75 / MSS) * 1e6;
        ck_assert_double_le(fabs((double)cc.cubic.k_us - k), k * 0.002);
        ck_assert_uint_eq(mptcp_cc_cubic_window(&cc, cc.cubic.k_us), gb);
        ck_assert_uint_eq(mptcp_cc_cubic_window(&cc, 10 * hour), MPTCP_CC_CWND_MAX);
        ck_assert_uint_eq(mptcp_cc_cubic_window(&cc, UINT64_MAX), MPTCP_CC_CWND_MAX);
    }
    uint64_t now = 2000;
    uint32_t w = cc.cwnd;
    static const uint32_t acks[] = { MSS, UINT32_MAX, 1, 1u << 31, 65535 };
    for (int i = 0; i < 200; i++) {
        now += (i % 3 == 0) ? hour : 1000;
        cc.ops->on_ack(&cc, acks[i % 5], cc.cwnd, 200000, 150000, now);
        REQ(cc.cwnd >= w);
        REQ(cc.cwnd <= MPTCP_CC_CWND_MAX);
        w = cc.cwnd;
    }
    if (both[_i] == &mptcp_cc_cubic)
        ck_assert_uint_eq(cc.cwnd, MPTCP_CC_CWND_MAX);
    else
        ck_assert_uint_gt(cc.cwnd, gb / 2);
    /* Loss and timeout from the ceiling, with a flight of 4 GB. */
    cc.ops->on_loss(&cc, UINT32_MAX, now + 1);
    ck_assert_uint_ge(cc.ssthresh, UINT32_MAX / 2);
    ck_assert_uint_le(cc.cwnd, MPTCP_CC_CWND_MAX);
    cc.ops->on_recovery_end(&cc, now + 2);
    ck_assert_uint_le(cc.cwnd, MPTCP_CC_CWND_MAX);
    cc.ops->on_ack(&cc, UINT32_MAX, UINT32_MAX, 1, 1, now + 3 * hour);
    REQ(cc.cwnd <= MPTCP_CC_CWND_MAX);
    cc.ops->on_rto(&cc, UINT32_MAX, now + 4 * hour);
    ck_assert_uint_eq(cc.cwnd, MSS);
    /* A 1-byte MSS makes the longest K (about 1170 s at 2 GB). */
    cc_start(&cc, both[_i], 1);
    after_loss(&cc, MPTCP_CC_CWND_MAX, 5);
    cc.ops->on_ack(&cc, 1, cc.cwnd, 1000, 1000, 10);
    cc.ops->on_ack(&cc, UINT32_MAX, cc.cwnd, 1000, 1000, 10 * hour);
    REQ(cc.cwnd <= MPTCP_CC_CWND_MAX);
    REQ(cc.cwnd >= cc.ssthresh);
}
END_TEST

/* ------------------------------------------------------------ fluid sim */

/*
 * A path with a bottleneck of |bdp| bytes per base RTT and a drop-tail queue
 * of |queue| bytes. Each round the whole window is ACK-clocked back, one ACK
 * per 2 segments, over an RTT stretched by the standing queue. A window
 * above bdp + queue loses a packet: one round of recovery, then on. Returns
 * the time-weighted average cwnd in segments.
 */
typedef struct path {
    uint32_t bdp, queue, base_rtt_us;
    uint64_t duration_us;
} path;

typedef struct sim_result {
    double avg_cwnd_seg;
    uint32_t losses;
} sim_result;

static sim_result fluid_run(const mptcp_cc_ops *ops, const path *p)
{
    mptcp_cc cc;
    cc_start(&cc, ops, MSS);
    /* Start as just after a loss at the path's capacity, so both algorithms
     * are compared in congestion avoidance, not on slow-start overshoot. */
    after_loss(&cc, p->bdp + p->queue, 0);
    uint64_t now = 0;
    double area = 0;
    sim_result res = { 0, 0 };
    while (now < p->duration_us) {
        uint32_t w = cc.cwnd;
        uint32_t rtt = (uint32_t)((uint64_t)p->base_rtt_us * MPTCP_MAX(w, p->bdp) / p->bdp);
        area += (double)w * rtt;
        if (w > p->bdp + p->queue) {
            res.losses++;
            cc.ops->on_loss(&cc, w, now);
            now += rtt;
            area += (double)cc.cwnd * rtt;
            cc.ops->on_recovery_end(&cc, now);
            now += rtt;
            continue;
        }
        now = run_round(&cc, 2 * MSS, rtt, now);
    }
    res.avg_cwnd_seg = area / (double)now / MSS;
    return res;
}

START_TEST(fluid_cubic_beats_reno_at_large_bdp)
{
    /* 1 Gbit/s, 100 ms: BDP = 8633 segments, queue BDP/4, two minutes. */
    path p = { 12500000, 3125000, 100000, 120000000 };
    sim_result reno = fluid_run(&mptcp_cc_reno, &p);
    sim_result cubic = fluid_run(&mptcp_cc_cubic, &p);
    /* Reno needs ~5400 RTTs (9 minutes) to regrow from half the capacity;
     * CUBIC returns to W_max within K = cbrt(W_max * 0.75) ~ 20 s. */
    ck_assert_double_gt(cubic.avg_cwnd_seg, 1.3 * reno.avg_cwnd_seg);
    ck_assert_uint_ge(cubic.losses, 3); /* it keeps probing the bottleneck */
    ck_assert_uint_gt(cubic.losses, reno.losses);
    /* Both stay below what the path can hold. */
    ck_assert_double_lt(cubic.avg_cwnd_seg, (12500000.0 + 3125000.0) / MSS);
}
END_TEST

START_TEST(fluid_cubic_comparable_to_reno_at_small_bdp)
{
    /* 10 Mbit/s, 20 ms: BDP = 17 segments, queue = BDP, two minutes. */
    path p = { 25000, 25000, 20000, 120000000 };
    sim_result reno = fluid_run(&mptcp_cc_reno, &p);
    sim_result cubic = fluid_run(&mptcp_cc_cubic, &p);
    ck_assert_uint_ge(reno.losses, 50);
    ck_assert_uint_ge(cubic.losses, 50);
    /* Reno-friendly region: CUBIC's AIMD(0.53, 0.7) averages close to
     * Reno's AIMD(1, 0.5). */
    double ratio = cubic.avg_cwnd_seg / reno.avg_cwnd_seg;
    ck_assert_double_gt(ratio, 0.9);
    ck_assert_double_lt(ratio, 1.25);
}
END_TEST

Suite *cc_suite(void)
{
    Suite *s = suite_create("cc");
    TCase *tc = tcase_create("common");
    tcase_add_test(tc, ops_lookup_by_algorithm);
    tcase_add_loop_test(tc, initial_window_rfc6928, 0, 2);
    tcase_add_loop_test(tc, slow_start_doubles_per_rtt, 0, 4);
    tcase_add_loop_test(tc, slow_start_increase_limited_to_two_segments, 0, 2);
    tcase_add_loop_test(tc, slow_start_stops_at_ssthresh, 0, 2);
    tcase_add_loop_test(tc, loss_sets_ssthresh_and_cwnd, 0, 2);
    tcase_add_loop_test(tc, rto_collapses_to_one_segment_then_slow_starts, 0, 2);
    tcase_add_loop_test(tc, idle_restart_window, 0, 2);
    tcase_add_test(tc, integer_cube_root);
    tcase_add_loop_test(tc, huge_windows_and_long_times_saturate, 0, 2);
    suite_add_tcase(s, tc);

    tc = tcase_create("reno");
    tcase_add_loop_test(tc, reno_congestion_avoidance_one_mss_per_rtt, 0, 4);
    suite_add_tcase(s, tc);

    tc = tcase_create("cubic");
    tcase_add_test(tc, cubic_beta_reduction_and_w_max);
    tcase_add_test(tc, cubic_fast_convergence_lowers_w_max);
    tcase_add_test(tc, cubic_window_follows_cubic_curve);
    tcase_add_test(tc, cubic_increase_per_ack_capped_at_half_segment);
    tcase_add_test(tc, cubic_reno_friendly_region_at_small_bdp);
    tcase_add_test(tc, cubic_after_rto_starts_curve_at_plateau);
    tcase_add_test(tc, cubic_idle_restarts_epoch);
    suite_add_tcase(s, tc);

    tc = tcase_create("fluid");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fluid_cubic_beats_reno_at_large_bdp);
    tcase_add_test(tc, fluid_cubic_comparable_to_reno_at_small_bdp);
    suite_add_tcase(s, tc);
    return s;
}
