/*
 * cc.h - the congestion-control interface of one (sub)flow. TCP calls these
 * hooks; the algorithm owns cwnd and ssthresh. Reno (RFC 5681) and CUBIC
 * (RFC 9438) live behind it, both with HyStart++ (RFC 9406) in the initial
 * slow start; MPTCP's coupled algorithms (LIA, OLIA, BALIA) plug in
 * through the same ops. All arithmetic is integer.
 */
#ifndef MPTCP_CC_H
#define MPTCP_CC_H

#include "common.h"

typedef struct mptcp_cc {
    const struct mptcp_cc_ops *ops;
    uint32_t cwnd;      /* bytes */
    uint32_t ssthresh;  /* bytes */
    uint32_t mss;       /* sender MSS, bytes */
    uint32_t acked_accum; /* Reno congestion avoidance byte counter (RFC 3465) */
    uint32_t min_rtt_us;  /* smallest RTT sample seen (CUBIC's fallback RTT) */
    uint8_t hystart;      /* MPTCP_HS_*: HyStart++ phase; the union holds |hs|
                             while it is not MPTCP_HS_OFF, else |cubic| */
    union {
        /* CUBIC state (RFC 9438 section 4), fixed point where noted. Zero
         * until the initial slow start ends. */
        struct {
            uint64_t epoch_start_us; /* 0 = no epoch */
            uint32_t w_max;          /* bytes */
            uint32_t w_last_max;     /* bytes: W_max before the last congestion event,
                                        the value fast convergence compared cwnd with */
            uint32_t k_us;           /* time to reach w_max, microseconds */
            uint32_t w_est;          /* Reno-friendly estimate, bytes */
            uint32_t cwnd_prior;     /* bytes, cwnd before the last reduction */
            uint32_t inc_rem;        /* remainder (bytes * cwnd) of the cubic increase,
                                        carried between ACKs so small steps add up */
        } cubic;
        /* HyStart++ (RFC 9406 section 4.2) during the initial slow start;
         * RTTs in microseconds, UINT32_MAX = none yet. */
        struct {
            uint32_t round_left;    /* bytes to be acknowledged before the round ends */
            uint32_t last_min_rtt;  /* lastRoundMinRTT */
            uint32_t cur_min_rtt;   /* currentRoundMinRTT */
            uint32_t css_base_rtt;  /* cssBaselineMinRtt */
            uint8_t samples;        /* rttSampleCount (saturates) */
            uint8_t css_rounds;     /* rounds spent in conservative slow start */
        } hs;
    };
} mptcp_cc;

/* HyStart++ phases (RFC 9406): off (not started, or over after the first
 * loss, timeout or the end of conservative slow start), slow start, CSS. */
enum { MPTCP_HS_OFF = 0, MPTCP_HS_SS = 1, MPTCP_HS_CSS = 2 };

typedef struct mptcp_cc_ops {
    const char *name;
    /* Initial window per RFC 5681 / RFC 6928 style: min(10*mss, max(2*mss, 14600)). */
    void (*init)(mptcp_cc *cc, uint32_t mss, uint64_t now_us);
    /* |acked| new bytes were cumulatively acknowledged outside recovery;
     * |srtt_us| and |rtt_us| (latest sample, 0 if none) inform CUBIC. */
    void (*on_ack)(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t srtt_us,
                   uint32_t rtt_us, uint64_t now_us);
    /* Loss detected by duplicate ACKs / SACK: entering fast recovery. */
    void (*on_loss)(mptcp_cc *cc, uint32_t flight, uint64_t now_us);
    /* Retransmission timeout: cwnd to one segment (RFC 5681 section 3.1). */
    void (*on_rto)(mptcp_cc *cc, uint32_t flight, uint64_t now_us);
    /* Fast recovery finished (RFC 6675 section 5: cwnd = ssthresh). */
    void (*on_recovery_end)(mptcp_cc *cc, uint64_t now_us);
    /* Sender was idle longer than the RTO (RFC 5681 section 4.1 restart). */
    void (*on_idle)(mptcp_cc *cc, uint64_t now_us);
} mptcp_cc_ops;

/* cwnd never exceeds this (bytes), so cwnd plus a segment never wraps a
 * uint32 and 1.5 * cwnd fits in 32 bits; far above any usable window
 * (RFC 7323 caps the receive window at 1 GiB). */
#define MPTCP_CC_CWND_MAX 0x7fffffffu

/* RFC 3465 limit L on the slow-start increase per ACK, in segments. */
#define MPTCP_CC_ABC_L 2u

/* The MSS the algorithms use: 0 (never set) is read as RFC 9293's default
 * 536, values above 65535 as 65535 (the MSS option is 16 bits), which keeps
 * every product of mss and a window inside 64 bits. */
static inline uint32_t mptcp_cc_smss(const mptcp_cc *cc)
{
    return cc->mss == 0 ? 536u : cc->mss > 65535u ? 65535u : cc->mss;
}

/* Helpers shared by the algorithms in cc.c and cc_cubic.c. */
/* RFC 6928 initial window: min(10*mss, max(2*mss, 14600)) bytes. */
uint32_t mptcp_cc_initial_window(uint32_t mss);
/* Slow start (RFC 5681 section 3.1 with RFC 3465 byte counting, L =
 * MPTCP_CC_ABC_L): grows cwnd by min(acked, L*mss) without passing ssthresh;
 * returns the acked bytes left over once cwnd reached ssthresh (0 when it
 * did not), which the caller counts toward congestion avoidance. */
uint32_t mptcp_cc_slow_start(mptcp_cc *cc, uint32_t acked);
/* HyStart++ (RFC 9406) around mptcp_cc_slow_start, for algorithms whose
 * slow start is RFC 5681's. _start at init; _ack instead of
 * mptcp_cc_slow_start while cwnd < ssthresh: |flight| is the flight size
 * before the ACK, |rtt_us| a per-ACK RTT sample (0: none); returns the
 * acked bytes left for congestion avoidance (when ssthresh was reached or
 * conservative slow start ended). _stop on loss or timeout: the union goes
 * back to |cubic|, zeroed. */
void mptcp_cc_hystart_start(mptcp_cc *cc);
uint32_t mptcp_cc_hystart_ack(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t rtt_us);
void mptcp_cc_hystart_stop(mptcp_cc *cc);
/* Integer cube root: the largest r with r*r*r <= x. */
uint32_t mptcp_cc_icbrt(uint64_t x);
/* CUBIC's W_cubic(t) (RFC 9438 section 4.2, Figure 1) in bytes for the
 * current epoch, |t_us| microseconds after the epoch started; saturates at
 * 0 and MPTCP_CC_CWND_MAX. */
uint32_t mptcp_cc_cubic_window(const mptcp_cc *cc, uint64_t t_us);

extern const mptcp_cc_ops mptcp_cc_reno;
extern const mptcp_cc_ops mptcp_cc_cubic;

/* The ops of a configured algorithm (unknown values give CUBIC). */
const mptcp_cc_ops *mptcp_cc_ops_for(mptcp_cc_algo algo);

#endif /* MPTCP_CC_H */
