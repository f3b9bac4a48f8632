/*
 * sched.h - packet schedulers: which subflow carries the next chunk of
 * connection-level data, behind a small ops table (Linux mptcp_sched_ops).
 * The scheduler sees views of the subflows and the connection, and returns a
 * decision; the connection applies it (sends, reinjects, penalizes). Ops:
 * "default" (min-RTT + opportunistic retransmission and penalization),
 * "minrtt" (min-RTT alone), "roundrobin", "redundant". docs/pm-sched.md.
 */
#ifndef MPTCP_SCHED_H
#define MPTCP_SCHED_H

#include "common.h"

#ifndef MPTCP_MAX_SUBFLOWS
#define MPTCP_MAX_SUBFLOWS 8
#endif

/*
 * One subflow as the scheduler sees it. The flags decide which subflows may
 * carry data at all, in tiers (RFC 8684 section 3.3.8):
 *   0 regular, 1 backup, 2 potentially failed regular, 3 potentially failed
 *   backup; only the best tier that has a usable subflow is ever used.
 * So a regular subflow that is merely cwnd- or window-limited keeps every
 * backup idle ("wait", not "use the backup"), while a regular subflow that is
 * potentially failed ranks below the backups: they take over, and the data
 * it holds is reinjected (the una chunk by pick(), the rest by the caller
 * when mptcp_sched_sf_failed_over() says so).
 */
typedef struct mptcp_sched_sf {
    uint8_t id;
    bool usable;       /* established and allowed to carry data (MP_JOIN 4th ACK
                          done, not closing, no FIN queued) */
    bool backup;       /* backup priority, ours or the peer's B flag / MP_PRIO
                          (RFC 8684 section 3.3.8) */
    bool pf;           /* potentially failed: its retransmission timer (not the
                          persist timer) expired and snd_una has not advanced
                          since; cleared by the next ACK of new data */
    uint32_t srtt_us;  /* 0 = unknown */
    uint32_t cwnd;     /* bytes */
    uint32_t inflight; /* bytes sent, not acknowledged */
    uint32_t wnd_space; /* subflow send window space (bytes) */
    uint32_t mss;
    uint32_t queued;   /* bytes handed to it but not sent yet */
} mptcp_sched_sf;

/* The connection as the scheduler sees it. */
typedef struct mptcp_sched_conn {
    uint64_t wnd_space;  /* data-level send window space: peer's rwnd beyond snd_nxt */
    uint64_t avail;      /* new bytes ready to send */
    uint64_t una_dsn;    /* oldest unacknowledged DSN */
    uint32_t una_len;    /* bytes from una_dsn held by |una_holder| */
    int una_holder;      /* subflow id holding una_dsn, -1 none */
} mptcp_sched_conn;

typedef enum mptcp_sched_kind {
    MPTCP_SCHED_NONE = 0, /* nothing can be sent now */
    MPTCP_SCHED_SEND,     /* send |len| new bytes on each of ids[0..n_ids) */
    MPTCP_SCHED_REINJECT  /* resend [dsn, dsn+len) on ids[0] */
} mptcp_sched_kind;

typedef struct mptcp_sched_decision {
    mptcp_sched_kind kind;
    uint8_t n_ids;
    uint8_t ids[MPTCP_MAX_SUBFLOWS];
    uint32_t len;
    uint64_t dsn;           /* REINJECT */
    bool penalize;          /* set the cwnd of |penalize_id| to |penalize_cwnd| */
    uint8_t penalize_id;
    uint32_t penalize_cwnd; /* half its cwnd, at least one MSS */
} mptcp_sched_decision;

/* Per-connection scheduler state, the same for every algorithm. */
typedef struct mptcp_sched_state {
    uint8_t rr_last;        /* round robin: id picked last */
    bool rr_valid;
    bool reinj_valid;       /* opportunistic retransmission done for reinj_dsn */
    uint64_t reinj_dsn;
    struct {
        bool used;
        uint8_t id;
        uint64_t at_us;     /* last penalization */
    } pen[MPTCP_MAX_SUBFLOWS];
} mptcp_sched_state;

typedef struct mptcp_sched_ops {
    const char *name;
    void (*init)(mptcp_sched_state *st);
    /* Chooses what to send now. |sf| has |n| entries (n <= MPTCP_MAX_SUBFLOWS
     * is used; more are ignored). */
    void (*pick)(mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                 const mptcp_sched_conn *c, uint64_t now_us, mptcp_sched_decision *out);
    /* Feedback: subflow |id| is gone (its penalization history is dropped). */
    void (*subflow_closed)(mptcp_sched_state *st, uint8_t id);
    /* Feedback: the data-level cumulative ACK moved to |data_una|. */
    void (*data_acked)(mptcp_sched_state *st, uint64_t data_una);
} mptcp_sched_ops;

extern const mptcp_sched_ops mptcp_sched_default;
extern const mptcp_sched_ops mptcp_sched_minrtt;
extern const mptcp_sched_ops mptcp_sched_roundrobin;
extern const mptcp_sched_ops mptcp_sched_redundant;

/* Bytes |s| can take now: min(cwnd - inflight, wnd_space) minus queued. */
uint32_t mptcp_sched_sf_space(const mptcp_sched_sf *s);

/*
 * mptcp_sched_sf_failed_over: whether subflow |id| of |sf| (|n|) has been
 * replaced: it is potentially failed (or no longer usable) and another
 * subflow in a better tier is usable, so nothing new goes to it and what it
 * holds unacknowledged at the data level should be reinjected on the others
 * (RFC 8684 section 3.3.6). False when it is still the best there is.
 */
bool mptcp_sched_sf_failed_over(const mptcp_sched_sf *sf, size_t n, uint8_t id);

/* A range of connection-level data. */
typedef struct mptcp_sched_range {
    uint64_t dsn;
    uint32_t len;
} mptcp_sched_range;

/*
 * mptcp_sched_reinject_target: subflow |failed_id| failed (RFC 8684 section
 * 3.3.6 lets data be resent on any subflow) with |ranges| (|n_ranges|)
 * unacknowledged at the data level. Chooses the subflow to resend them on
 * (the min-RTT order of the default scheduler, excluding |failed_id|,
 * preferring one with cwnd space) and copies into |out| (capacity |cap|) the
 * ranges trimmed of bytes below |data_una|, which the peer already has.
 * Returns the chosen id (>= 0) and |*n_out|, or -1 when no other subflow is
 * usable (the data waits).
 */
int mptcp_sched_reinject_target(const mptcp_sched_sf *sf, size_t n, uint8_t failed_id,
                                const mptcp_sched_range *ranges, size_t n_ranges,
                                uint64_t data_una, mptcp_sched_range *out, size_t cap,
                                size_t *n_out);

#endif /* MPTCP_SCHED_H */
