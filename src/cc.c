/*
 * cc.c - the congestion-control ops table and NewReno's window rules:
 * RFC 5681 section 3.1 slow start and congestion avoidance with RFC 3465
 * byte counting, the section 4.1 restart window, and the ssthresh/cwnd
 * settings on loss (RFC 6582 / RFC 6675 section 5) and on timeout, and
 * HyStart++ (RFC 9406) for the initial slow start of Reno and CUBIC. Loss
 * detection, recovery and the RFC 6675 pipe are the TCP engine's; CUBIC is in
 * cc_cubic.c. Integer arithmetic only (no FPU on the Cortex-M targets).
 */
#include "cc.h"

static uint32_t clamp_cwnd(uint64_t v)
{
    return v > MPTCP_CC_CWND_MAX ? MPTCP_CC_CWND_MAX : (uint32_t)v;
}

uint32_t mptcp_cc_initial_window(uint32_t mss)
{
    uint64_t m = mss;
    uint64_t iw = MPTCP_MIN(10 * m, MPTCP_MAX(2 * m, 14600u));
    return clamp_cwnd(iw);
}

uint32_t mptcp_cc_slow_start(mptcp_cc *cc, uint32_t acked)
{
    uint32_t mss = mptcp_cc_smss(cc);
    uint32_t inc = MPTCP_MIN(acked, MPTCP_CC_ABC_L * mss);
    uint32_t limit = MPTCP_MIN(cc->ssthresh, MPTCP_CC_CWND_MAX);
    if (cc->cwnd >= limit)
        return acked;
    uint32_t room = limit - cc->cwnd;
    if (inc < room) {
        cc->cwnd += inc;
        return 0;
    }
    /* Reaching ssthresh ends slow start (RFC 5681 section 3.1); the rest of
     * this ACK already counts toward congestion avoidance. */
    cc->cwnd = limit;
    return acked - room;
}

/* RFC 9406 section 4.3 constants (RTTs in microseconds). */
#define HS_MIN_RTT_THRESH 4000u
#define HS_MAX_RTT_THRESH 16000u
#define HS_MIN_RTT_DIVISOR 8u
#define HS_N_RTT_SAMPLE 8u
#define HS_CSS_GROWTH_DIVISOR 4u
#define HS_CSS_ROUNDS 5u

void mptcp_cc_hystart_start(mptcp_cc *cc)
{
    memset(&cc->hs, 0, sizeof(cc->hs));
    cc->hs.last_min_rtt = cc->hs.cur_min_rtt = cc->hs.css_base_rtt = UINT32_MAX;
    cc->hystart = MPTCP_HS_SS; /* round_left 0: the first ACK opens a round */
}

void mptcp_cc_hystart_stop(mptcp_cc *cc)
{
    if (cc->hystart == MPTCP_HS_OFF)
        return;
    cc->hystart = MPTCP_HS_OFF;
    memset(&cc->cubic, 0, sizeof(cc->cubic)); /* the union is CUBIC's again */
}

uint32_t mptcp_cc_hystart_ack(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t rtt_us)
{
    /* Only the initial slow start (section 4.3: after a loss or timeout
     * ssthresh ends slow start anyway), and never at the window cap. */
    if (cc->hystart != MPTCP_HS_OFF &&
        (cc->ssthresh != UINT32_MAX || cc->cwnd >= MPTCP_CC_CWND_MAX))
        mptcp_cc_hystart_stop(cc);
    if (cc->hystart == MPTCP_HS_OFF)
        return mptcp_cc_slow_start(cc, acked);
    /* Rounds (section 4.2): a round ends when what was in flight at its
     * start is acknowledged (windowEnd = SND.NXT, counted in bytes). */
    if (acked >= cc->hs.round_left) {
        if (cc->hystart == MPTCP_HS_CSS && ++cc->hs.css_rounds >= HS_CSS_ROUNDS) {
            /* CSS_ROUNDS rounds of conservative slow start: congestion
             * avoidance from here, ssthresh = cwnd. */
            cc->ssthresh = cc->cwnd;
            mptcp_cc_hystart_stop(cc);
            return acked;
        }
        cc->hs.last_min_rtt = cc->hs.cur_min_rtt;
        cc->hs.cur_min_rtt = UINT32_MAX;
        cc->hs.samples = 0;
        cc->hs.round_left = flight > acked ? flight - acked : 0;
    } else {
        cc->hs.round_left -= acked;
    }
    if (rtt_us != 0) {
        if (rtt_us < cc->hs.cur_min_rtt)
            cc->hs.cur_min_rtt = rtt_us;
        if (cc->hs.samples < UINT8_MAX)
            cc->hs.samples++;
    }
    bool enough = cc->hs.samples >= HS_N_RTT_SAMPLE && cc->hs.cur_min_rtt != UINT32_MAX;
    if (cc->hystart == MPTCP_HS_SS) {
        uint32_t left = mptcp_cc_slow_start(cc, acked);
        if (enough && cc->hs.last_min_rtt != UINT32_MAX) {
            /* The RTT grew by RttThresh = clamp(lastRoundMinRTT / 8, 4 ms,
             * 16 ms) over the previous round: a queue is building, leave
             * slow start for CSS before it overflows. */
            uint32_t thresh = cc->hs.last_min_rtt / HS_MIN_RTT_DIVISOR;
            thresh = MPTCP_MIN(MPTCP_MAX(thresh, HS_MIN_RTT_THRESH), HS_MAX_RTT_THRESH);
            if ((uint64_t)cc->hs.cur_min_rtt >= (uint64_t)cc->hs.last_min_rtt + thresh) {
                cc->hs.css_base_rtt = cc->hs.cur_min_rtt;
                cc->hs.css_rounds = 0;
                cc->hystart = MPTCP_HS_CSS;
            }
        }
        return left;
    }
    /* CSS: a quarter of slow start's growth. */
    uint32_t inc = MPTCP_MIN(acked, MPTCP_CC_ABC_L * mptcp_cc_smss(cc)) / HS_CSS_GROWTH_DIVISOR;
    cc->cwnd = clamp_cwnd((uint64_t)cc->cwnd + inc);
    if (enough && cc->hs.cur_min_rtt < cc->hs.css_base_rtt) {
        /* The RTT went back below the baseline: the exit was spurious,
         * slow start resumes. */
        cc->hs.css_base_rtt = UINT32_MAX;
        cc->hystart = MPTCP_HS_SS;
    }
    return 0;
}

uint32_t mptcp_cc_icbrt(uint64_t x)
{
    /* Digit-by-digit (base 8) root: each step decides one bit of r from the
     * next three bits of x, keeping x - r^3 as the running remainder. */
    uint64_t r = 0;
    for (int s = 63; s >= 0; s -= 3) {
        r <<= 1;
        uint64_t b = 3 * r * (r + 1) + 1; /* (r+1)^3 - r^3 for the doubled r */
        if ((x >> s) >= b) {
            x -= b << s;
            r++;
        }
    }
    return (uint32_t)r;
}

static void reno_init(mptcp_cc *cc, uint32_t mss, uint64_t now_us)
{
    (void)now_us;
    const mptcp_cc_ops *ops = cc->ops;
    memset(cc, 0, sizeof(*cc));
    cc->ops = ops != NULL ? ops : &mptcp_cc_reno;
    cc->mss = mss;
    cc->cwnd = mptcp_cc_initial_window(mptcp_cc_smss(cc));
    cc->ssthresh = UINT32_MAX; /* RFC 5681 section 3.1: "arbitrarily high" */
    mptcp_cc_hystart_start(cc);
}

static void reno_on_ack(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t srtt_us,
                        uint32_t rtt_us, uint64_t now_us)
{
    (void)srtt_us, (void)now_us;
    if (acked == 0)
        return;
    if (cc->cwnd < cc->ssthresh) {
        acked = mptcp_cc_hystart_ack(cc, acked, flight, rtt_us);
        if (acked == 0)
            return;
    }
    /* RFC 5681 section 3.1 / RFC 3465 section 2.1: count acknowledged bytes
     * and add one MSS each time a full cwnd has been acknowledged, which is
     * one MSS per RTT however the receiver spaces its ACKs. */
    uint64_t acc = (uint64_t)cc->acked_accum + acked;
    if (acc >= cc->cwnd && cc->cwnd != 0) {
        uint64_t n = acc / cc->cwnd;
        acc -= n * cc->cwnd;
        cc->cwnd = clamp_cwnd(cc->cwnd + n * mptcp_cc_smss(cc));
    }
    cc->acked_accum = (uint32_t)MPTCP_MIN(acc, (uint64_t)UINT32_MAX);
}

/* RFC 5681 section 3.1 equation (4): ssthresh = max(FlightSize / 2, 2*SMSS). */
static uint32_t reno_ssthresh(const mptcp_cc *cc, uint32_t flight)
{
    return MPTCP_MAX(flight / 2, 2 * mptcp_cc_smss(cc));
}

static void reno_on_loss(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    (void)now_us;
    mptcp_cc_hystart_stop(cc);
    cc->ssthresh = reno_ssthresh(cc, flight);
    /* RFC 6675 section 5 step (4.2): cwnd = ssthresh; the engine's pipe
     * accounting decides what may be sent during recovery, so RFC 6582's
     * 3*SMSS inflation is not applied here. */
    cc->cwnd = MPTCP_MIN(cc->ssthresh, MPTCP_CC_CWND_MAX);
    cc->acked_accum = 0;
}

static void reno_on_rto(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    (void)now_us;
    mptcp_cc_hystart_stop(cc);
    cc->ssthresh = reno_ssthresh(cc, flight);
    cc->cwnd = mptcp_cc_smss(cc); /* RFC 5681 section 3.1: loss window, 1 SMSS */
    cc->acked_accum = 0;
}

static void reno_on_recovery_end(mptcp_cc *cc, uint64_t now_us)
{
    (void)now_us;
    /* RFC 6582 section 3.2 step 3, first option. */
    cc->cwnd = MPTCP_MIN(cc->ssthresh, MPTCP_CC_CWND_MAX);
    cc->acked_accum = 0;
}

static void reno_on_idle(mptcp_cc *cc, uint64_t now_us)
{
    (void)now_us;
    /* RFC 5681 section 4.1: cwnd = min(RW, cwnd), RW = min(IW, cwnd). */
    cc->cwnd = MPTCP_MIN(cc->cwnd, mptcp_cc_initial_window(mptcp_cc_smss(cc)));
    cc->acked_accum = 0;
}

const mptcp_cc_ops mptcp_cc_reno = {
    .name = "reno",
    .init = reno_init,
    .on_ack = reno_on_ack,
    .on_loss = reno_on_loss,
    .on_rto = reno_on_rto,
    .on_recovery_end = reno_on_recovery_end,
    .on_idle = reno_on_idle,
};

const mptcp_cc_ops *mptcp_cc_ops_for(mptcp_cc_algo algo)
{
    switch (algo) {
    case MPTCP_CC_RENO: return &mptcp_cc_reno;
    case MPTCP_CC_CUBIC: return &mptcp_cc_cubic;
    }
    return &mptcp_cc_cubic;
}
