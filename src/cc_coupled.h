/*
 * cc_coupled.h - MPTCP coupled congestion control: LIA (RFC 6356), OLIA
 * (Khalili et al., IEEE/ACM ToN 2013) and BALIA (Peng et al., IEEE/ACM ToN
 * 2016) behind the per-subflow ops of cc.h, in integer arithmetic only.
 *
 * struct mptcp_cc has no back pointer to its connection, so a coupled
 * subflow's controller MUST be allocated as a mptcp_cc_coupled_member (the
 * mptcp_cc first) and joined to a mptcp_cc_group; the ops recover the
 * wrapper from the mptcp_cc pointer they are given. A member outside any
 * group, or the only member of its group with an RTT sample, behaves
 * exactly like NewReno (mptcp_cc_reno).
 */
#ifndef MPTCP_CC_COUPLED_H
#define MPTCP_CC_COUPLED_H

#include "cc.h"

#ifndef MPTCP_MAX_SUBFLOWS
#define MPTCP_MAX_SUBFLOWS 8
#endif

struct mptcp_cc_group;

/* A coupled subflow's controller. |cc| must stay the first member: the
 * ops are called with &member->cc and cast it back. */
typedef struct mptcp_cc_coupled_member {
    mptcp_cc cc;
    struct mptcp_cc_group *group; /* NULL: not coupled, plain Reno */
} mptcp_cc_coupled_member;

/* What the group keeps per member. */
typedef struct mptcp_cc_group_slot {
    mptcp_cc_coupled_member *member; /* NULL: free slot */
    uint32_t srtt_us;    /* last smoothed RTT seen by on_ack; 0 = none yet,
                            and the member does not count in the sums */
    bool cwnd_limited;   /* false: on_ack does not grow cwnd (RFC 7661
                            spirit; Linux tcp_is_cwnd_limited) */
    int64_t inc_acc;     /* congestion-avoidance increase not yet applied,
                            bytes in Q32; OLIA's can be negative */
    uint64_t olia_l1;    /* OLIA: bytes acknowledged since the last loss */
    uint64_t olia_l2;    /* OLIA: bytes acknowledged between the two losses
                            before that */
} mptcp_cc_group_slot;

/* The subflows of one MPTCP connection whose windows are coupled. */
typedef struct mptcp_cc_group {
    mptcp_cc_group_slot slot[MPTCP_MAX_SUBFLOWS];
} mptcp_cc_group;

/* Empties |g|. */
void mptcp_cc_group_init(mptcp_cc_group *g);
/* Joins |m| (already initialised through its ops, or about to be) to |g|;
 * m->group is set. Returns 0, MPTCP_EINVAL (NULL, or |m| already in a
 * group) or MPTCP_ELIMIT (MPTCP_MAX_SUBFLOWS members already). */
int mptcp_cc_group_add(mptcp_cc_group *g, mptcp_cc_coupled_member *m);
/* Takes |m| out of its group (nothing if it is in none); m->group = NULL.
 * The remaining members recouple on their next ACK. */
void mptcp_cc_group_remove(mptcp_cc_coupled_member *m);
/* Members in |g|. */
unsigned mptcp_cc_group_count(const mptcp_cc_group *g);
/* The slot of a coupled |cc| (NULL when it is not in a group). */
mptcp_cc_group_slot *mptcp_cc_coupled_slot(mptcp_cc *cc);
/* Whether the subflow used its whole window in the last round (the engine
 * tells); a member that is not cwnd-limited keeps its window on ACKs. */
void mptcp_cc_coupled_set_cwnd_limited(mptcp_cc *cc, bool limited);

/* LIA's alpha (RFC 6356 section 3) over the members with an RTT sample,
 *   alpha = cwnd_total * max_i(cwnd_i / rtt_i^2) / (sum_i cwnd_i / rtt_i)^2,
 * as an unsigned Q32 fixed-point number (alpha * 2^32, saturating); 0 when
 * no member has an RTT sample. */
uint64_t mptcp_cc_lia_alpha(const mptcp_cc_group *g);

/* floor(a * b / c) with a 128-bit intermediate, saturating at UINT64_MAX
 * (also when c == 0). Exposed for tests. */
uint64_t mptcp_cc_muldiv(uint64_t a, uint64_t b, uint64_t c);

extern const mptcp_cc_ops mptcp_cc_lia;
extern const mptcp_cc_ops mptcp_cc_olia;
extern const mptcp_cc_ops mptcp_cc_balia;

#endif /* MPTCP_CC_COUPLED_H */
