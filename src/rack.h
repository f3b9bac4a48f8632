/*
 * rack.h - time-based loss detection of one TCB: RACK (RFC 8985 section 6)
 * over per-segment transmit records, and the tail loss probe (section 7).
 * The records live in one block allocated next to the connection's buffers
 * when it is established with SACK (the TCB holds only a pointer) and freed
 * with the buffers. The record functions work on the
 * block alone (unit-testable); the mptcp_rack_* functions that take a TCB
 * are the engine's hooks (tcp_in.c, tcp_out.c, tcp_timer.c).
 */
#ifndef MPTCP_RACK_H
#define MPTCP_RACK_H

#include "common.h"

struct mptcp_tcb;
struct mptcp_tcp_rx_opts;

/* Record flags. */
enum {
    MPTCP_RACK_SACKED = 1u << 0,  /* selectively acknowledged */
    MPTCP_RACK_LOST = 1u << 1,    /* deemed lost, not retransmitted since */
    MPTCP_RACK_RETRANS = 1u << 2  /* sent more than once */
};

/* One transmitted range [previous record's end, end), sent last at |xmit|
 * (low 32 bits of the microsecond clock). */
typedef struct mptcp_rack_rec {
    uint32_t end;
    uint32_t xmit;
    uint8_t flags;
} mptcp_rack_rec;

/* What t_rexmit holds while a block exists (RFC 8985 section 8: one timer
 * for RTO, reordering and loss probe). */
enum { MPTCP_RACK_T_RTO = 0, MPTCP_RACK_T_REO, MPTCP_RACK_T_PTO };

typedef struct mptcp_rack {
    /* Records in send-sequence order, a ring of |cap|: rec[(head + i) % cap]. */
    uint32_t cap, head, n;
    uint32_t base;       /* where the first record starts (snd_una) */
    uint32_t sacked;     /* records flagged SACKED */
    uint32_t lost;       /* records flagged LOST */
    /* RFC 8985 section 6.1: the most recently sent segment that was
     * delivered (its send time, end, RTT), the minimum RTT, the highest
     * delivered end (fack) and whether reordering was seen. */
    uint32_t xmit_ts, end_seq, rtt_us, min_rtt_us, fack;
    bool have_xmit, reordering_seen;
    bool stamped;        /* last_xmit is set */
    uint32_t last_xmit;  /* time given to the latest transmission */
    /* Tail loss probe (section 7): the probe is outstanding until the
     * cumulative ACK reaches tlp_end. tlp_tsval: our timestamp on it. */
    bool tlp_active, tlp_retrans;
    uint32_t tlp_end, tlp_tsval;
    /* The recovery episode (its RecoveryPoint) whose window was lowered a
     * second time for a lost retransmission (RFC 5681 section 4.3). */
    bool cut_twice;
    uint32_t cut_recover;
    /* Timer: the RTO deadline, the reordering deadline, the probe
     * deadline (MPTCP_TIMER_NONE when off); t_rexmit is their minimum. */
    uint8_t mode;        /* MPTCP_RACK_T_* that t_rexmit stands for */
    uint64_t rto_at, reo_at, pto_at;
    /* Counters the host reads (mptcp_conn_stats); they live here, with the
     * buffers, to keep the TCB of an idle connection small. */
    uint32_t tlp_probes, lost_rexmits;
    mptcp_rack_rec rec[]; /* cap entries */
} mptcp_rack;

/* Records for a send buffer of |sndbuf| bytes: one per 512 bytes, at
 * least 16 and at most 1024 (more segments in flight than that merge into
 * the newest record, see docs/tcp.md). */
uint32_t mptcp_rack_cap_for(uint32_t sndbuf);
size_t mptcp_rack_size(uint32_t cap);
void mptcp_rack_init(mptcp_rack *r, uint32_t cap, uint32_t base);

/* Record work, on the block alone. |now| is the low 32 bits of the clock. */
/* [seq, end) was (re)transmitted at |now|. */
void mptcp_rack_sent(mptcp_rack *r, uint32_t seq, uint32_t end, uint32_t now);
/* The cumulative ACK |ack| and SACK blocks arrived at |now|: section 6.2
 * steps 1 and 2 (RACK.xmit_ts/end_seq/rtt, min RTT, fack, reordering) for
 * every newly delivered record, then the records below |ack| are dropped.
 * Returns the RTT of the newest delivered record that was sent once (0: no
 * such record), a per-ACK sample for congestion control. */
uint32_t mptcp_rack_delivered(mptcp_rack *r, uint32_t ack, const mptcp_sack_block *blk,
                              uint32_t nblk, uint32_t now);
/* Section 6.2 step 4 without D-SACK: 0 while recovering or once DupThresh
 * records are SACKed (unless reordering was seen), else min(min_rtt/4, srtt). */
uint32_t mptcp_rack_reo_wnd(const mptcp_rack *r, bool recovering, uint32_t srtt_us);
/* Section 6.2 step 5: flags LOST every record sent before the RACK segment
 * whose time is up; returns the microseconds until the next one is (0: none
 * waits). |*newly| gets the records flagged now, |*lost_rexmit| those among
 * them that were retransmissions. */
uint32_t mptcp_rack_detect(mptcp_rack *r, uint32_t now, uint32_t reo_wnd, uint32_t *newly,
                           uint32_t *lost_rexmit);
/* The lowest record flagged LOST at or above |from|: its range, capped at
 * |mss| bytes. False when none. */
bool mptcp_rack_next_lost(const mptcp_rack *r, uint32_t mss, uint32_t *seq, uint32_t *len);
/* Bytes in flight by the records: neither SACKed nor flagged LOST. */
uint32_t mptcp_rack_pipe(const mptcp_rack *r);
/* Forgets SACK and loss marks (RFC 2018 section 5, after an RTO). */
void mptcp_rack_forget(mptcp_rack *r);
/* The last record's range, capped to its last |mss| bytes (the TLP
 * retransmission). False when there are no records. */
bool mptcp_rack_last(const mptcp_rack *r, uint32_t mss, uint32_t *seq, uint32_t *len);

/* Engine hooks (t->rack may be NULL: no SACK, no buffers, or no memory). */
/* The connection is established: allocates the block when SACK was
 * negotiated (one allocation next to the buffers; none per segment). */
void mptcp_rack_attach(struct mptcp_tcb *t);
/* After a data segment [seq, seq + len) went out: records it; a new
 * segment restarts a pending loss probe (section 7.2). */
void mptcp_rack_on_send(struct mptcp_tcb *t, uint32_t seq, uint32_t len, uint64_t now_us);
/* An acceptable ACK, before the engine consumes it: RACK update, the TLP
 * follow-up (section 7.4), loss detection and the reordering timer.
 * Returns the per-ACK RTT sample (0: none). */
uint32_t mptcp_rack_on_ack(struct mptcp_tcb *t, uint32_t ack,
                           const struct mptcp_tcp_rx_opts *o, uint64_t now_us);
/* Whether records are flagged LOST and wait for a retransmission. */
bool mptcp_rack_has_lost(const struct mptcp_tcb *t);
/* t_rexmit from the RTO deadline |rto_at| and the RACK/TLP deadlines. */
void mptcp_rack_arm(struct mptcp_tcb *t, uint64_t rto_at, uint64_t now_us);
/* t_rexmit fired: runs the reordering timer or sends the loss probe and
 * returns true; false when it is the RTO (the caller runs it). */
bool mptcp_rack_timer(struct mptcp_tcb *t, uint64_t now_us);
/* An RTO fired: forget marks, end any probe episode. */
void mptcp_rack_on_rto(struct mptcp_tcb *t);
void mptcp_rack_free(struct mptcp_tcb *t);

#endif /* MPTCP_RACK_H */
