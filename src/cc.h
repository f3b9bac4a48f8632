/*
 * cc.h - the congestion-control interface of one (sub)flow. TCP calls these
 * hooks; the algorithm owns cwnd and ssthresh. Reno (RFC 5681) and CUBIC
 * (RFC 9438) live behind it now; MPTCP's coupled algorithms (LIA, OLIA,
 * BALIA) plug in later through the same ops. All arithmetic is integer.
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
    /* CUBIC state (RFC 9438 section 4), fixed point where noted. */
    struct {
        uint64_t epoch_start_us; /* 0 = no epoch */
        uint32_t w_max;          /* bytes */
        uint32_t w_last_max;     /* bytes, for fast convergence */
        uint32_t k_us;           /* time to reach w_max, microseconds */
        uint32_t w_est;          /* Reno-friendly estimate, bytes */
        uint32_t min_rtt_us;
        uint32_t cwnd_prior;     /* bytes, cwnd before the last reduction */
    } cubic;
} mptcp_cc;

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

extern const mptcp_cc_ops mptcp_cc_reno;
extern const mptcp_cc_ops mptcp_cc_cubic;

/* The ops of a configured algorithm (unknown values give CUBIC). */
const mptcp_cc_ops *mptcp_cc_ops_for(mptcp_cc_algo algo);

#endif /* MPTCP_CC_H */
