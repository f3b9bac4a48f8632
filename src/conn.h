/*
 * conn.h - the public mptcp_conn: one connection as the host sees it. A
 * plain TCP connection (MPTCP off, or the peer did not offer it) is a thin
 * shell over one TCB whose rings the host reads and writes directly. An
 * MPTCP connection (RFC 8684) owns the data sequence space, its own send
 * and receive rings, keys and tokens, the path manager and scheduler state,
 * and up to MPTCP_MAX_SUBFLOWS subflows (subflow.c glues each TCB on).
 */
#ifndef MPTCP_CONN_H
#define MPTCP_CONN_H

#include "cc_coupled.h"
#include "common.h"
#include "dsn.h"
#include "pm.h"
#include "sched.h"
#include "tcp.h"
#include "timer.h"

/* Connection flags (mptcp_conn.flags). */
enum {
    MPTCP_CF_OWNED = 1u << 0,        /* the host holds the pointer (until CLOSED delivered) */
    MPTCP_CF_HOST_CLOSED = 1u << 1,  /* mptcp_close/abort was called */
    MPTCP_CF_CLOSE_QUEUED = 1u << 2, /* MPTCP_EV_CLOSED is queued or delivered */
    MPTCP_CF_EV_LINKED = 1u << 3,    /* on the stack's pending-event list */
    MPTCP_CF_GRAVE = 1u << 4,        /* on the stack's list of connections to free */
    MPTCP_CF_DIRTY = 1u << 5,        /* on the stack's list of connections to step */
    MPTCP_CF_ACTIVE = 1u << 6,       /* we opened it */
    MPTCP_CF_MP = 1u << 7,           /* MPTCP state machine in use (else plain TCP) */
    MPTCP_CF_FALLBACK = 1u << 8,     /* MPTCP fell back to TCP: one subflow, no options */
    MPTCP_CF_FULLY_EST = 1u << 9,    /* both keys are known to both ends */
    MPTCP_CF_CSUM = 1u << 10,        /* DSS checksums negotiated */
    MPTCP_CF_PEER_DENY0 = 1u << 11,  /* the peer's MP_CAPABLE C flag */
    MPTCP_CF_FIN_PENDING = 1u << 12, /* shutdown: DATA_FIN after the buffered data */
    MPTCP_CF_FIN_ACKED = 1u << 13,   /* our DATA_FIN was acknowledged */
    MPTCP_CF_PEER_FIN = 1u << 14,    /* the peer's DATA_FIN was taken in order */
    MPTCP_CF_PEER_FIN_SEEN = 1u << 15, /* the peer's DATA_FIN DSN is known */
    MPTCP_CF_WANT_WRITE = 1u << 16,  /* mptcp_send returned EAGAIN */
    MPTCP_CF_CONNECTED = 1u << 17,   /* CONNECTED/ACCEPTED was reported */
    MPTCP_CF_DONE = 1u << 18,        /* the data-level close finished */
    MPTCP_CF_FASTCLOSE = 1u << 19,   /* MP_FASTCLOSE goes on every segment now */
    MPTCP_CF_SEND_FAIL = 1u << 20,   /* MP_FAIL to send (fail_dsn) */
    MPTCP_CF_SEND_INFINITE = 1u << 21, /* the infinite mapping goes on the next data */
    MPTCP_CF_TIMER_RUN = 1u << 22,   /* (internal) */
    MPTCP_CF_FC_WAIT = 1u << 23      /* MP_FASTCLOSE sent on an ACK: waiting
                                        for the peer's RST (RFC 8684 3.5) */
};

/* Subflow roles and handshake progress. */
enum {
    MPTCP_SF_FREE = 0,
    MPTCP_SF_MPC,          /* the initial subflow (MP_CAPABLE) */
    MPTCP_SF_JOIN_ACTIVE,  /* we sent the MP_JOIN SYN */
    MPTCP_SF_JOIN_PASSIVE  /* we answered an MP_JOIN SYN */
};

/* A subflow's extra events for the connection's event ring. */
#define MPTCP_CONN_EVQ 16

typedef struct mptcp_subflow {
    struct mptcp_conn *c;
    mptcp_tcb *t;            /* NULL once the TCB is gone */
    uint8_t role;            /* MPTCP_SF_* */
    uint8_t id;              /* public subflow id */
    uint8_t local_id, remote_id;
    bool backup;             /* our flag (MP_JOIN B sent / MP_PRIO sent) */
    bool peer_backup;        /* the peer's flag */
    bool prio_pending;       /* MP_PRIO to send */
    bool up;                 /* established and reported */
    bool usable;             /* may carry data (join: 4th ACK seen) */
    bool join_acked;         /* joiner: our third ACK was acknowledged */
    bool join_ok;            /* the HMAC exchange finished */
    bool closing;            /* we are closing it (FIN sent or to send) */
    bool close_deferred;     /* the path manager closes it once the data is acked */
    bool dead;               /* TCB reported CLOSED */
    bool mpc_ack_seen;       /* server: the third ACK's MP_CAPABLE arrived */
    bool first_data_seen;    /* a data segment (mapped or not) arrived */
    bool dss_seen;           /* a DSS arrived on it */
    bool reinjected;         /* its data was reinjected */
    bool has_rst_code;
    uint8_t rst_code;        /* MP_TCPRST received */
    uint8_t rst_send_code;   /* MP_TCPRST reason on a RST we send */
    uint32_t lnonce, rnonce; /* MP_JOIN nonces */
    uint64_t thmac;          /* MP_JOIN SYN/ACK truncated HMAC received */
    mptcp_map_rx rx;
    mptcp_map_tx tx;
    uint32_t tx_end;         /* absolute subflow seq after the last chunk handed over */
    /* The mapping lookup sf_opts_out did for the segment being built, for
     * sf_seg_room right after it in the same xmit (one lookup per segment). */
    bool room_hint;
    uint32_t room_seq;
    int32_t room;
    uint32_t seen_una;       /* snd_una when the previous segment was taken */
    bool fail_wait;          /* MP_FAIL sent: discard until the infinite mapping */
    bool fail_lin_known;     /* ... which arrived: linear from fail_lin_seq */
    uint32_t fail_lin_seq;
    /* MP_FAIL received (RFC 8684 3.7): the peer keeps mapping its data with
     * DSS until our infinite mapping reaches it, so explicit mappings still
     * rule; its first unmapped byte continues the last mapping's DSN. */
    bool rx_lin_lazy;
    uint64_t rx_end_dsn;     /* DSN after the last mapped byte the pump took */
    bool rx_wait;            /* its in-order bytes wait for room at the data level */
    uint64_t rx_direct_bytes; /* payload handed straight to the data level (stats) */
} mptcp_subflow;

typedef struct mptcp_conn_evq_ent {
    mptcp_event ev;
} mptcp_conn_evq_ent;

/*
 * The MPTCP part of a connection (RFC 8684): allocated only when the
 * connection runs MPTCP (it starts with MP_CAPABLE), so that a plain TCP
 * connection costs its shell and its TCB and nothing more. Kept after a
 * fallback (the stream's DSN bookkeeping and events still live here).
 */
typedef struct mptcp_mpc {
    struct mptcp_conn *c;    /* back pointer (timer callbacks start from tn) */
    mptcp_timer_node tn;     /* connection-level deadline (DATA_FIN, PM) */
    mptcp_addr local, remote; /* the initial subflow's addresses */
    mptcp_subflow sf[MPTCP_MAX_SUBFLOWS];
    uint8_t next_sf_id;
    uint8_t sf_hi;           /* slots from here on were never used (FREE, no TCB):
                              * the per-segment loops over sf[] stop here */
    bool sf_quiet;           /* the step's subflow loops found nothing to watch
                              * (mptcp_conn_step): a data-only step skips them */
    struct mptcp_subflow *sf_last; /* the slot sf_of (subflow.c) found last: a hint,
                                    * checked on use (NULL or any slot) */
    /* Keys (RFC 8684 section 3.1). */
    uint64_t lkey, rkey, lidsn, ridsn;
    uint32_t ltoken, rtoken;
    bool token_in_table;
    /* Data level send side: the ring starts at snd_una. */
    uint64_t snd_una, snd_nxt, snd_edge; /* edge: peer's window right edge */
    uint64_t fin_dsn;        /* our DATA_FIN's DSN (FIN_PENDING) */
    uint64_t fin_rexmit_at;  /* DATA_FIN retransmission deadline */
    uint32_t fin_rto;
    uint64_t probe_at;       /* data-level zero-window probe deadline */
    uint32_t probe_rto;
    /* Data-level retransmission timer (RFC 8684 3.3.6: data stays until
     * DATA_ACKed; Linux's msk retransmit timer): runs while DATA_ACK lags
     * snd_nxt, restarts when DATA_ACK moves, doubles on each expiry. */
    uint64_t rtx_at;
    uint8_t rtx_backoff;
    bool peer_wnd_known;     /* a DATA_ACK with its window arrived */
    uint8_t rtx_tries;       /* data resent by the timer since DATA_ACK last moved */
    uint8_t fin_tries;       /* DATA_FIN sent while it alone was unacknowledged */
    /* Data outstanding and no subflow able to send it (all gone, closing or
     * in their handshake): the connection ends at this deadline unless one
     * (the path manager's, or the host's mptcp_subflow_add) becomes usable. */
    uint64_t nosf_at;
    /* Our MP_FAIL unanswered by this deadline: the subflow is reset (a box
     * may strip the infinite mapping, RFC 8684 3.7; Linux:
     * mptcp_mp_fail_no_response). */
    uint64_t fail_at;
    /* Fallen back on our own with our infinite mapping not yet known to the
     * peer (inf_pending): its FIN waits until this deadline before it ends
     * the stream (see the fallen-back step in conn.c). */
    uint64_t fin_hold_at;
    uint8_t *mem;            /* the two rings, one allocation */
    size_t mem_len;
    mptcp_sndbuf snd;
    /* Data level receive side: the ring's offset 0 is rcv_nxt. rcv_edge:
     * the right edge of the data-level window advertised so far (never
     * beyond the ring's end, see mptcp_conn_rcv_space). */
    uint64_t rcv_nxt;
    uint64_t rcv_edge;
    uint64_t peer_fin_dsn;
    mptcp_rcvbuf rcv;
    uint64_t fail_dsn;       /* MP_FAIL to send */
    /* Fallback (RFC 8684 3.7): subflow byte lin_ssn (absolute) is DSN
     * lin_dsn; bytes before it map backwards too unless a rewind (MP_FAIL)
     * cut the relation. inf_pending: the infinite mapping goes on the data
     * segment at lin_ssn. */
    uint64_t lin_dsn;
    uint32_t lin_ssn;
    bool lin_back;
    bool inf_pending;
    /* A join finished its HMAC exchange: the peer may have mapped DSNs to
     * another subflow, so unmapped bytes no longer continue our data level
     * linearly and no rule of ours falls back on them any more (3.7 "before
     * any additional subflows are added"; Linux clears
     * allow_infinite_fallback when a join is established). A fallback that
     * MP_FAIL starts still may: the infinite mapping names its DSN. */
    bool joined;
    uint8_t fb_id;           /* the subflow that carries the stream after fallback */
    /* Options waiting for a pure ACK (subflow.c writes them). */
    mptcp_opt_add_addr aa_q[4];
    uint8_t aa_n;
    mptcp_opt_rm_addr rm_q;
    bool rm_pending;
    /* Path manager and scheduler. */
    bool pm_kick;            /* not only data moved (mptcp_conn_dirty): a subflow may
                                have come or gone, the PM's inputs may have changed;
                                the step reaps subflows and polls the PM */
    uint64_t pm_deadline;    /* its next deadline when last polled (valid unless pm_kick) */
    mptcp_pm pm;
    mptcp_sched_state sched;
    const mptcp_sched_ops *sched_ops;
    mptcp_conn_evq_ent evq[MPTCP_CONN_EVQ];
    uint8_t evq_head, evq_n;
    mptcp_mp_stats mst;
    /* Coupled congestion control (cfg.coupled_cc): every subflow's TCB
     * joins this group while the connection holds it. */
    mptcp_cc_group ccg;
    /* MP_FASTCLOSE on an ACK (RFC 8684 3.5, FASTCLOSE_WAIT): the subflow
     * carrying it, retransmissions so far, the next one's deadline. */
    uint8_t fc_id;
    uint8_t fc_tries;
    uint64_t fc_at;
} mptcp_mpc;

/*
 * The connection as the host holds it. Plain TCP: this shell and c->tcb.
 * MPTCP (MPTCP_CF_MP, c->mp != NULL): the subflows and the data level live
 * in *c->mp.
 */
struct mptcp_conn {
    struct mptcp_stack *st;
    struct mptcp_conn *ev_next, *grave_next, *dirty_next;
    struct mptcp_conn *all_prev, *all_next;
    void *user;
    uint32_t flags;          /* MPTCP_CF_* */
    uint8_t ev_bits;         /* MPTCP_EVB_* pending */
    uint8_t close_reason;
    bool close_has_code;
    uint8_t close_code;
    mptcp_tcb *tcb;          /* plain TCP: the one TCB (NULL for MPTCP) */
    mptcp_mpc *mp;           /* MPTCP state, NULL for a plain connection */
};

/* The connection's addresses: the initial subflow's for MPTCP, the TCB's
 * for plain TCP (which holds its TCB for as long as the host holds it). */
static inline const mptcp_addr *mptcp_conn_local(const struct mptcp_conn *c)
{
    return c->mp ? &c->mp->local : &c->tcb->local;
}
static inline const mptcp_addr *mptcp_conn_remote(const struct mptcp_conn *c)
{
    return c->mp ? &c->mp->remote : &c->tcb->remote;
}

/* ---- stack side (stack.c calls these) ---- */

/* Option bytes a refused SYN's RST may carry (one MP_TCPRST). */
#define MPTCP_CONN_RST_OPT_MAX 4
/* Whether a SYN with these options would become an MPTCP subflow (MP_CAPABLE
 * or MP_JOIN, MPTCP on): its TCB then needs no send ring memory (the
 * connection's ring holds its bytes, mptcp_tcp_new_extern). A join that
 * mptcp_conn_syn_in refuses frees the TCB anyway. */
bool mptcp_conn_syn_subflow(const struct mptcp_stack *st, const uint8_t *opts, size_t opts_len);
/* A SYN reached a listener: |t| (SYN_RECEIVED, in the demux) becomes the
 * initial subflow of a new connection, or an MP_JOIN subflow of an existing
 * one. Returns 0, or a negative code: the caller frees |t| and answers
 * with a RST carrying the |*rst_opt_len| bytes written to |rst_opt|
 * (MPTCP_CONN_RST_OPT_MAX of room): MP_TCPRST with the reason a refused
 * MP_JOIN gets (RFC 8684 section 3.6), or nothing. */
int mptcp_conn_syn_in(struct mptcp_stack *st, mptcp_tcb *t, const mptcp_tcp_hdr *h,
                      const uint8_t *opts, size_t opts_len, uint64_t now_us, uint8_t *rst_opt,
                      size_t *rst_opt_len);
/* Active open (stack.c checked the arguments and the port). */
int mptcp_conn_connect(struct mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                       bool use_mptcp, uint64_t now_us, mptcp_conn **out);
/* Frees |c| and lets go of its TCBs (they finish on their own). */
void mptcp_conn_free(mptcp_conn *c);
/* The host got MPTCP_EV_CLOSED: lets go of the TCBs. */
void mptcp_conn_release(mptcp_conn *c);
/* Queues event bit |evb| (delivered when the entry point returns). */
void mptcp_conn_event(mptcp_conn *c, uint8_t evb);
/* Queues an event with a payload (multipath events). */
void mptcp_conn_event_push(mptcp_conn *c, const mptcp_event *ev);
/* Marks |c| to be stepped before events are delivered. */
void mptcp_conn_dirty(mptcp_conn *c);
/* The same for data-path activity only (DSS-only segments, payload, TCB
 * readable/writable, host send/recv): nothing the path manager looks at
 * changed, so the step need not poll it. */
void mptcp_conn_dirty_data(mptcp_conn *c);
/* Steps |c|: schedules data, runs the path manager, finishes closes. */
void mptcp_conn_step(mptcp_conn *c, uint64_t now_us);
/* Connection-level timers. */
void mptcp_conn_timers_run(mptcp_conn *c, uint64_t now_us);
void mptcp_conn_touch(mptcp_conn *c);

/* ---- host calls (stack.c wraps them in enter/leave) ---- */
mptcp_ssize mptcp_conn_send(mptcp_conn *c, const uint8_t *data, size_t len, uint64_t now_us);
mptcp_ssize mptcp_conn_recv(mptcp_conn *c, uint8_t *buf, size_t len, uint64_t now_us);
int mptcp_conn_shutdown(mptcp_conn *c, uint64_t now_us);
int mptcp_conn_close(mptcp_conn *c, uint64_t now_us);
int mptcp_conn_abort(mptcp_conn *c, uint64_t now_us);
bool mptcp_conn_gone(const mptcp_conn *c);

/* ---- subflow.c <-> conn.c ---- */
extern const mptcp_tcp_upper_ops mptcp_subflow_ops;
extern const mptcp_tcp_upper_ops mptcp_plain_ops;
/* A new subflow slot for |t| (NULL: none free). */
mptcp_subflow *mptcp_conn_sf_new(mptcp_conn *c, mptcp_tcb *t, uint8_t role);
mptcp_subflow *mptcp_conn_sf_by_id(mptcp_conn *c, int id);
/* In-order subflow bytes can be moved into the connection ring. */
void mptcp_conn_sf_rx_pump(mptcp_subflow *sf, uint64_t now_us);
/* The TCB's in-order payload [seq, seq + len), its ring empty: written
 * straight into the data level (in order or ahead, inside its window) when
 * it lies wholly inside one known mapping without checksums; false
 * (nothing changed) otherwise: the TCB stores it and the pump moves it. */
bool mptcp_conn_sf_rx_direct(mptcp_subflow *sf, uint32_t seq, const uint8_t *data, uint32_t len,
                             uint64_t now_us);
/* The payload of a segment of subflow |sf| (mptcp_tcp_upper_ops.snd_read):
 * the |len| bytes at subflow sequence |seq|, read through its mappings from
 * the connection's send ring into |dst|, summed into *sum. */
uint32_t mptcp_conn_sf_snd_read(mptcp_conn *c, mptcp_subflow *sf, uint32_t seq, uint8_t *dst,
                                uint32_t len, uint32_t *sum);
/* Data-level ACK |ack| (64-bit) with window |wnd| bytes from a subflow. */
void mptcp_conn_data_ack(mptcp_conn *c, uint64_t ack, uint32_t wnd, uint64_t now_us);
/* The peer's DATA_FIN at |dsn|. */
void mptcp_conn_peer_fin(mptcp_conn *c, mptcp_tcb *t, uint64_t dsn, uint64_t now_us);
/* Fall back to TCP (RFC 8684 section 3.7) on the one subflow |sf|. */
void mptcp_conn_fallback(mptcp_conn *c, mptcp_subflow *sf, uint64_t now_us);
/* Subflows that count as added for a fallback (RFC 8684 3.7 "before any
 * additional subflows are added"): sf itself and every subflow that came
 * up; a join still in its handshake carried nothing (the fallback resets
 * it). */
size_t mptcp_conn_sf_added(const mptcp_conn *c, const mptcp_subflow *sf);
/* Subflows held and not dead: the ones an MP_FAIL's "only subflow" rule
 * (RFC 8684 3.7) counts. */
size_t mptcp_conn_sf_live(const mptcp_conn *c);
/* RFC 8684 3.7: the TCP FIN of the fallen-back subflow |sf| ends the
 * peer's stream once every byte before it went up to the data level (none
 * left in the subflow ring nor discarded after our MP_FAIL) and, after a
 * fallback of our own, the peer may know of it (or the subflow |closed| in
 * order meanwhile). Does nothing otherwise. */
void mptcp_conn_fb_fin(mptcp_conn *c, mptcp_subflow *sf, bool closed, uint64_t now_us);
/* MP_FAIL received (RFC 8684 3.7) for DSN |dsn| on subflow |sf|. */
void mptcp_conn_mp_fail_in(mptcp_conn *c, mptcp_subflow *sf, uint64_t dsn, uint64_t now_us);
/* The infinite mapping arrived on |sf| at absolute subflow seq |seq| = |dsn|. */
void mptcp_conn_infinite_in(mptcp_conn *c, mptcp_subflow *sf, uint32_t seq, uint64_t dsn,
                            uint64_t now_us);
/* MP_FASTCLOSE received with the right key: the connection is gone. */
void mptcp_conn_fastclosed(mptcp_conn *c, bool on_rst, uint64_t now_us);
/* Resets subflow |sf| with MP_TCPRST |code|. */
void mptcp_conn_sf_reset(mptcp_subflow *sf, uint8_t code, uint64_t now_us);
/* Closes subflow |sf| with a FIN; its data goes to the others. */
void mptcp_conn_sf_close(mptcp_subflow *sf, uint64_t now_us);
/* The connection's receive window to advertise on a subflow (bytes beyond
 * the DATA_ACK rcv_nxt). */
uint32_t mptcp_conn_rcv_space(const mptcp_conn *c);
/* A segment carries DATA_ACK rcv_nxt with window |wnd| (bytes): records
 * the right edge offered. */
void mptcp_conn_rcv_advertised(mptcp_conn *c, uint32_t wnd);
/* Subflow bytes for a 16-bit window field use the TCB's own scaling. */

/* The peer's key is known: token, IDSN, data-level rcv_nxt. */
void mptcp_conn_set_remote_key(mptcp_conn *c, uint64_t rkey);
/* Opens an MP_JOIN subflow. Returns its id or a negative code. */
int mptcp_conn_open_subflow(mptcp_conn *c, const mptcp_addr *local, const mptcp_addr *remote,
                            uint8_t local_id, uint8_t remote_id, bool backup, uint64_t now_us);

/* subflow.c */
/* Queue ADD_ADDR (|echo|: the E flag) / REMOVE_ADDR for the next pure ACK. */
void mptcp_subflow_queue_add_addr(mptcp_conn *c, uint8_t id, const mptcp_addr *a, bool echo);
void mptcp_subflow_queue_rm(mptcp_conn *c, const mptcp_opt_rm_addr *rm);
/* The address ID a local address has (0: the initial one, or not an endpoint). */
uint8_t mptcp_subflow_local_id(const mptcp_conn *c, const mptcp_addr *a);
/* The same, registering an implicit endpoint for an unknown address. */
uint8_t mptcp_subflow_local_id_alloc(mptcp_conn *c, const mptcp_addr *a);

#endif /* MPTCP_CONN_H */
