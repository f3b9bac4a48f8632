/*
 * cc_cubic.c - CUBIC (RFC 9438) in integer and fixed-point arithmetic:
 * the window curve W_cubic(t) = C*(t-K)^3 + W_max (section 4.2), the
 * Reno-friendly estimate W_est (4.3), concave/convex growth with the
 * per-ACK target capped at 1.5*cwnd (4.4, 4.5), multiplicative decrease
 * with beta_cubic = 0.7 (4.6), fast convergence (4.7) and timeouts (4.8).
 * Slow start is the shared RFC 5681/3465 one with HyStart++ in cc.c. Loss
 * detection and recovery are the TCP engine's.
 */
#include "cc.h"

/*
 * Fixed-point choices (see docs/cc.md):
 * - Windows are bytes; C = 0.4 is per segment, so offsets are scaled by mss.
 * - Time inside the curve is in units of 2^-10 s ("ticks", ~0.98 ms). A tick
 *   count below 2^21 (~34 min) cubes to less than 2^63; beyond that the
 *   offset exceeds MPTCP_CC_CWND_MAX for any mss >= 1 and saturates.
 * - beta_cubic = 7/10, (1 + beta_cubic)/2 = 17/20, alpha_cubic =
 *   3*(1 - 0.7)/(1 + 0.7) = 9/17, C = 2/5: exact rationals, no rounding
 *   beyond the final integer division.
 */
#define TICK_SHIFT 10
#define TICK_MAX ((1u << 21) - 1)
/* us -> ticks: t * 1024 / 10^6 = t * 68719.48 / 2^26 (error < 1e-5). */
#define US_TO_TICK_MUL 68719u
#define US_TO_TICK_SHIFT 26
#define US_MAX ((uint64_t)TICK_MAX * 1000000u / 1024u)

static uint32_t clamp_cwnd(uint64_t v)
{
    return v > MPTCP_CC_CWND_MAX ? MPTCP_CC_CWND_MAX : (uint32_t)v;
}

static uint32_t us_to_ticks(uint64_t us)
{
    if (us >= US_MAX)
        return TICK_MAX;
    uint64_t t = (us * US_TO_TICK_MUL + (1u << (US_TO_TICK_SHIFT - 1))) >> US_TO_TICK_SHIFT;
    return (uint32_t)MPTCP_MIN(t, (uint64_t)TICK_MAX);
}

/* C * d^3 in bytes for |d| ticks: (2/5) * d^3 / 2^30 segments times mss. */
static uint64_t cubic_offset(uint32_t d, uint32_t mss)
{
    uint64_t d3 = (uint64_t)d * d * d;   /* < 2^63 because d < 2^21 */
    uint64_t seg_fp = d3 * 2 / 5;        /* segments, 30 fractional bits */
    uint64_t hi = seg_fp >> (3 * TICK_SHIFT);
    uint64_t lo = seg_fp & ((1ull << (3 * TICK_SHIFT)) - 1);
    /* Split so neither product passes 2^64 (hi < 2^33, mss < 2^16). */
    return hi * mss + ((lo * mss) >> (3 * TICK_SHIFT));
}

uint32_t mptcp_cc_cubic_window(const mptcp_cc *cc, uint64_t t_us)
{
    uint32_t mss = mptcp_cc_smss(cc);
    uint64_t k = cc->cubic.k_us;
    if (t_us >= k) {
        uint64_t off = cubic_offset(us_to_ticks(t_us - k), mss);
        return clamp_cwnd(cc->cubic.w_max + off);
    }
    uint64_t off = cubic_offset(us_to_ticks(k - t_us), mss);
    return off >= cc->cubic.w_max ? 0 : (uint32_t)(cc->cubic.w_max - off);
}

/* Section 4.2 Figure 2: K = cbrt((W_max - cwnd_epoch) / C), in segments
 * and seconds; here cbrt(diff_bytes * 5 * 2^29 / mss) ticks. */
static uint32_t cubic_k_us(uint32_t w_max, uint32_t cwnd, uint32_t mss)
{
    if (cwnd >= w_max)
        return 0;
    uint64_t diff = w_max - cwnd; /* < 2^31, so diff * 5 * 2^29 < 2^63 */
    uint32_t k_ticks = mptcp_cc_icbrt(diff * 5 * (1ull << 29) / mss);
    return (uint32_t)((uint64_t)k_ticks * 15625u / 16u); /* * 10^6 / 1024 */
}

static void cubic_start_epoch(mptcp_cc *cc, uint64_t now_us)
{
    /* 0 means "no epoch"; a start at time 0 is recorded 1 us late. */
    cc->cubic.epoch_start_us = now_us != 0 ? now_us : 1;
    if (cc->cubic.w_max <= cc->cwnd) {
        /* Entered without a reduction (slow start ended, or the first
         * congestion avoidance after a timeout, section 4.8): the curve
         * starts at its plateau, K = 0, W_max = cwnd. */
        cc->cubic.w_max = cc->cwnd;
        cc->cubic.k_us = 0;
    } else {
        cc->cubic.k_us = cubic_k_us(cc->cubic.w_max, cc->cwnd, mptcp_cc_smss(cc));
    }
    cc->cubic.w_est = cc->cwnd; /* section 4.3: W_est starts at cwnd_epoch */
    cc->acked_accum = 0;
    cc->cubic.inc_rem = 0;
}

static void cubic_init(mptcp_cc *cc, uint32_t mss, uint64_t now_us)
{
    (void)now_us;
    const mptcp_cc_ops *ops = cc->ops;
    memset(cc, 0, sizeof(*cc));
    cc->ops = ops != NULL ? ops : &mptcp_cc_cubic;
    cc->mss = mss;
    cc->cwnd = mptcp_cc_initial_window(mptcp_cc_smss(cc));
    cc->ssthresh = UINT32_MAX;
    mptcp_cc_hystart_start(cc); /* section 4.10: HyStart++ */
}

static void cubic_on_ack(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t srtt_us,
                         uint32_t rtt_us, uint64_t now_us)
{
    if (rtt_us != 0 && (cc->min_rtt_us == 0 || rtt_us < cc->min_rtt_us))
        cc->min_rtt_us = rtt_us;
    if (acked == 0)
        return;
    if (cc->cwnd < cc->ssthresh) {
        acked = mptcp_cc_hystart_ack(cc, acked, flight, rtt_us); /* section 4.10 */
        if (acked == 0)
            return;
    }
    if (cc->cubic.epoch_start_us == 0)
        cubic_start_epoch(cc, now_us);

    uint32_t mss = mptcp_cc_smss(cc);
    uint64_t cwnd = cc->cwnd;

    /* Section 4.3: W_est += alpha_cubic * segments_acked / cwnd, i.e. one
     * MSS per cwnd/alpha acknowledged bytes, by byte counting. alpha_cubic
     * turns 1 once W_est reaches cwnd_prior, to match Reno's rate there.
     * The threshold is below 2^32 because cwnd <= 2^31 - 1. */
    uint64_t per_mss = cc->cubic.w_est >= cc->cubic.cwnd_prior ? cwnd : cwnd * 17 / 9;
    if (per_mss == 0)
        per_mss = 1;
    uint64_t acc = (uint64_t)cc->acked_accum + acked;
    if (acc >= per_mss) {
        uint64_t n = acc / per_mss;
        acc -= n * per_mss;
        cc->cubic.w_est = clamp_cwnd(cc->cubic.w_est + n * mss);
    }
    cc->acked_accum = (uint32_t)acc;

    uint64_t t = now_us > cc->cubic.epoch_start_us ? now_us - cc->cubic.epoch_start_us : 0;
    uint32_t w_cubic = mptcp_cc_cubic_window(cc, t);
    if (w_cubic < cc->cubic.w_est) {
        /* Section 4.3: Reno-friendly region, cwnd follows W_est. */
        if (cc->cubic.w_est > cc->cwnd)
            cc->cwnd = cc->cubic.w_est;
        return;
    }

    /* Sections 4.4/4.5: aim at W_cubic one RTT ahead, at least cwnd and at
     * most 1.5*cwnd, and close (target - cwnd)/cwnd of the gap per segment
     * acknowledged. The remainder of (target - cwnd) * acked / cwnd is kept
     * so that sub-byte steps at large windows are not lost. */
    uint32_t rtt = srtt_us != 0 ? srtt_us : rtt_us != 0 ? rtt_us : cc->min_rtt_us;
    uint64_t target = mptcp_cc_cubic_window(cc, t + rtt);
    target = MPTCP_MAX(target, cwnd);
    target = MPTCP_MIN(target, cwnd + cwnd / 2);
    if (target == cwnd)
        return;
    /* (target - cwnd) <= 2^30 and acked < 2^32: the product fits in 2^62. */
    uint64_t num = (target - cwnd) * acked + cc->cubic.inc_rem;
    uint64_t inc = num / cwnd;
    cc->cubic.inc_rem = (uint32_t)(num - inc * cwnd);
    cc->cwnd = clamp_cwnd(cwnd + inc);
}

/* Section 4.6: ssthresh = flight_size * beta_cubic, at least 2 segments. */
static uint32_t cubic_ssthresh(const mptcp_cc *cc, uint32_t flight)
{
    uint32_t ss = (uint32_t)((uint64_t)flight * 7 / 10);
    return MPTCP_MAX(ss, 2 * mptcp_cc_smss(cc));
}

static void cubic_on_loss(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    (void)now_us;
    mptcp_cc_hystart_stop(cc);
    cc->cubic.epoch_start_us = 0; /* the next congestion avoidance starts a new curve */
    cc->cubic.w_last_max = cc->cubic.w_max;
    /* Section 4.7: a flow that lost before regaining its previous W_max is
     * likely sharing with a newcomer, so it aims lower: W_max = cwnd * 0.85. */
    if (cc->cwnd < cc->cubic.w_max)
        cc->cubic.w_max = (uint32_t)((uint64_t)cc->cwnd * 17 / 20);
    else
        cc->cubic.w_max = cc->cwnd;
    cc->cubic.cwnd_prior = cc->cwnd;
    cc->ssthresh = cubic_ssthresh(cc, flight);
    /* The engine runs RFC 6675 recovery on top of this window. */
    cc->cwnd = MPTCP_MIN(cc->ssthresh, MPTCP_CC_CWND_MAX);
    cc->acked_accum = 0;
    cc->cubic.inc_rem = 0;
}

static void cubic_on_rto(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    (void)now_us;
    mptcp_cc_hystart_stop(cc);
    /* Section 4.8: Reno's loss window (RFC 5681), ssthresh from beta_cubic;
     * the first congestion avoidance afterwards uses K = 0 and W_max = the
     * cwnd it starts with, which cubic_start_epoch does when W_max is 0. */
    cc->cubic.epoch_start_us = 0;
    cc->cubic.w_last_max = cc->cubic.w_max;
    cc->cubic.w_max = 0;
    cc->cubic.cwnd_prior = cc->cwnd;
    cc->ssthresh = cubic_ssthresh(cc, flight);
    cc->cwnd = mptcp_cc_smss(cc);
    cc->acked_accum = 0;
    cc->cubic.inc_rem = 0;
}

static void cubic_on_recovery_end(mptcp_cc *cc, uint64_t now_us)
{
    (void)now_us;
    cc->cwnd = MPTCP_MIN(cc->ssthresh, MPTCP_CC_CWND_MAX);
}

static void cubic_on_idle(mptcp_cc *cc, uint64_t now_us)
{
    (void)now_us;
    /* RFC 5681 section 4.1 restart window; section 5.8 of RFC 9438 keeps
     * idle time out of t, so the curve restarts at the next ACK (with the
     * same W_max) instead of jumping ahead by the idle period. */
    cc->cwnd = MPTCP_MIN(cc->cwnd, mptcp_cc_initial_window(mptcp_cc_smss(cc)));
    if (cc->hystart == MPTCP_HS_OFF)
        cc->cubic.epoch_start_us = 0; /* (in HyStart++ the union is not CUBIC's) */
}

const mptcp_cc_ops mptcp_cc_cubic = {
    .name = "cubic",
    .init = cubic_init,
    .on_ack = cubic_on_ack,
    .on_loss = cubic_on_loss,
    .on_rto = cubic_on_rto,
    .on_recovery_end = cubic_on_recovery_end,
    .on_idle = cubic_on_idle,
};
