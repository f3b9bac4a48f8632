/*
 * sim_mbox.h - middleboxes for the simulator: a box sits on a path between
 * side A (inside) and side B (outside) and has one element per direction.
 * What it can do, each optional, in this order on every packet:
 *   hook (any test code) -> strip options -> rewrite an option -> clamp MSS
 *   -> rewrite payload bytes -> rewrite sequence numbers -> NAT -> split
 *   (TSO-like) -> coalesce (LRO/GRO-like).
 * Checksums are recomputed after a change, except that a segment that
 * arrived with a wrong checksum leaves with a wrong one (as an incremental
 * update would), so corruption upstream is still detected downstream.
 */
#ifndef MPTCP_SIM_MBOX_H
#define MPTCP_SIM_MBOX_H

#include "sim/sim.h"

#define SIM_A2B 1u
#define SIM_B2A 2u
#define SIM_BOTH 3u

typedef struct sim_mbox sim_mbox;

typedef struct sim_mbox_cfg {
    unsigned dirs; /* SIM_A2B/SIM_B2A: where strip, rewrite, clamp, payload, split, coalesce act */

    /* Option stripping: TCP option kinds, and MPTCP subtypes (bit 1 << subtype). */
    uint8_t strip_kinds[8];
    uint8_t n_strip_kinds;
    uint16_t strip_mptcp;
    bool strip_syn_only; /* only on segments with SYN */
    bool strip_to_nop;   /* overwrite with NOPs (header keeps its size); else remove */

    /* Option rewrite: the first option of |rw_kind| (and MPTCP subtype
     * |rw_subtype| if >= 0) whose length equals rw_len gets rw_bytes. */
    bool rw_opt;
    uint8_t rw_kind;
    int rw_subtype;
    uint8_t rw_len;
    uint8_t rw_bytes[40];

    uint16_t mss_clamp; /* lower the MSS option of SYNs to this; 0 = off */

    /* Payload rewrite: every occurrence of pay_from inside one segment's
     * payload becomes pay_to (same length, like an ALG fixing an address). */
    uint8_t pay_len;
    uint8_t pay_from[16], pay_to[16];
    uint32_t pay_max; /* at most this many rewrites in all (0: no limit): a
                         transient rewrite that retransmissions get past */
    uint32_t *pay_budget; /* rewrites left, shared by several boxes (the
                             boxes of several paths); NULL: unused */

    /* Sequence rewriting (an ISN-randomizing firewall): A's sequence numbers
     * are shifted by delta_a on the way to B, B's by delta_b on the way to A;
     * acknowledgments and SACK blocks are shifted back. With seq_target the
     * deltas are chosen at each side's SYN so that its ISN becomes isn_a/isn_b. */
    bool seq_rewrite;
    uint32_t delta_a, delta_b;
    bool seq_target;
    uint32_t isn_a, isn_b;
    bool seq_leave_sack; /* a broken box: SACK blocks are not shifted back */

    /* NAT of side A: source address becomes nat_ip, source port a port
     * from nat_port_base on (one per A address:port). */
    bool nat;
    mptcp_addr nat_ip;
    uint16_t nat_port_base;

    uint16_t split_max; /* TSO-like: payloads above this are cut into pieces; 0 = off */

    /* LRO/GRO-like: consecutive in-order data segments of one flow with equal
     * ack and options are merged up to coalesce_max payload bytes, held at
     * most coalesce_hold_us. 0 = off. */
    uint32_t coalesce_max;
    uint64_t coalesce_hold_us;

    /* Any other transform: return false to drop the packet. */
    bool (*hook)(void *ctx, sim *s, unsigned dir, sim_pkt *p);
    void *hook_ctx;
} sim_mbox_cfg;

typedef struct sim_mbox_stats {
    uint64_t pkts[2];          /* [0] A->B, [1] B->A */
    uint64_t opts_stripped, opts_rewritten, mss_clamped, payload_rewrites;
    uint64_t seq_rewritten, nat_out, nat_in, nat_drop;
    uint64_t split_in, split_out, coalesce_in, coalesce_out;
    uint64_t hook_drops, not_tcp;
} sim_mbox_stats;

sim_mbox *sim_mbox_new(sim *s, const char *name, const sim_mbox_cfg *cfg, sim_elem *next_a2b,
                       sim_elem *next_b2a);
/* The element receiving packets travelling A->B (resp. B->A). */
sim_elem *sim_mbox_a2b(sim_mbox *m);
sim_elem *sim_mbox_b2a(sim_mbox *m);
void sim_mbox_set_next(sim_mbox *m, sim_elem *next_a2b, sim_elem *next_b2a);
void sim_mbox_get_stats(const sim_mbox *m, sim_mbox_stats *out);
/* The deltas in use (after seq_target chose them). */
uint32_t sim_mbox_delta_a(const sim_mbox *m);
uint32_t sim_mbox_delta_b(const sim_mbox *m);

#endif /* MPTCP_SIM_MBOX_H */
