/*
 * tcp.h - the TCP engine's control block (TCB) and its internal interface.
 * Every TCB belongs to a public mptcp_conn (conn.h) while the connection
 * holds it: a plain TCP connection has one, an MPTCP connection one per
 * subflow. The connection attaches through mptcp_tcp_upper_ops (option
 * bytes out, options/payload/events in, segment room, receive window).
 * File split: tcp.c lifecycle/states, tcp_in.c input, tcp_out.c output,
 * tcp_timer.c RTO/delayed ACK/persist/keepalive/TIME_WAIT, sack.c recovery.
 */
#ifndef MPTCP_TCP_H
#define MPTCP_TCP_H

#include "buf.h"
#include "cc.h"
#include "cc_coupled.h"
#include "common.h"
#include "sack.h"
#include "timer.h"

typedef struct mptcp_tcb mptcp_tcb;
struct mptcp_conn;

/*
 * The hook interface for an upper layer (MPTCP subflow glue). Every member
 * may be NULL. Called synchronously from the engine; they must not free the
 * TCB. Plain TCP connections have no upper ops.
 */
typedef struct mptcp_tcp_upper_ops {
    /* Option bytes to add to an outgoing segment with TCP |flags| whose
     * payload is [seq, seq + payload_len): write at most |cap| bytes at |dst|
     * (whole options; the engine pads to 4). |wnd| is the receive window
     * the segment offers (mptcp_tcp_rcv_window, before scaling), computed
     * once per segment. Returns the bytes written. */
    size_t (*opts_out)(void *ctx, mptcp_tcb *t, uint16_t flags, uint32_t seq,
                       uint32_t payload_len, uint32_t wnd, uint8_t *dst, size_t cap);
    /* The option area of a segment the engine accepted (passed the sequence,
     * RST, SYN and ACK checks), before its payload is processed. Also called
     * for a SYN/ACK in SYN_SENT, for the SYN of a simultaneous open (the TCB
     * already in SYN_RECEIVED, before its SYN/ACK goes out; the upper layer
     * may reset) and for an acceptable RST. Setting
     * MPTCP_TF_DROP_DATA makes the engine leave the payload (unacknowledged:
     * the peer sends it again), e.g. when its MPTCP mapping cannot be kept. */
    void (*opts_in)(void *ctx, mptcp_tcb *t, const mptcp_tcp_hdr *h, const uint8_t *opts,
                    size_t opts_len);
    /* |len| payload bytes starting at subflow sequence |seq| were appended in
     * order to the TCB's receive buffer. */
    void (*data_in)(void *ctx, mptcp_tcb *t, uint32_t seq, uint32_t len);
    /* A TCB event (MPTCP_EVB_*), at the moment it happens. The upper layer
     * must not free the TCB here. Without this hook events are dropped. */
    void (*event)(void *ctx, mptcp_tcb *t, uint8_t evb);
    /* Most payload bytes a segment starting at |seq| may carry (an MPTCP
     * mapping must not be crossed, RFC 8684 section 3.3.1); UINT32_MAX: any. */
    uint32_t (*seg_room)(void *ctx, mptcp_tcb *t, uint32_t seq);
    /* The receive window to offer, in bytes from rcv_nxt (RFC 8684 section
     * 3.3.4: the connection-level window). NULL: the TCB's free ring space. */
    uint32_t (*rcv_space)(void *ctx, const mptcp_tcb *t);
    /* In-order payload [seq, seq + len) arriving while the TCB's receive
     * ring is empty: true when the upper layer took all of it (the engine
     * then neither stores it nor calls data_in, nor raises
     * MPTCP_EVB_READABLE: nothing waits in the TCB), false to store it as
     * usual. May be NULL. */
    bool (*data_direct)(void *ctx, mptcp_tcb *t, uint32_t seq, const uint8_t *data, uint32_t len);
    /* The payload of a segment: copies the |len| send bytes at subflow
     * sequence |seq| to |dst| and returns how many it copied, with their
     * RFC 1071 partial sum (from the first byte) in *sum. For an upper
     * layer that keeps the bytes itself (an MPTCP subflow sends from its
     * connection's ring): the TCB's send ring then only counts them
     * (snd.len). NULL: the TCB's ring holds them. */
    uint32_t (*snd_read)(void *ctx, mptcp_tcb *t, uint32_t seq, uint8_t *dst, uint32_t len,
                         uint32_t *sum);
} mptcp_tcp_upper_ops;

/* Connection flags (mptcp_conn.flags). */
enum {
    MPTCP_TF_ACTIVE = 1u << 0,       /* we sent the first SYN */
    MPTCP_TF_OWNED = 1u << 1,        /* a connection holds the TCB (until it lets go) */
    MPTCP_TF_HOST_CLOSED = 1u << 2,  /* nobody will read: data arriving gets a RST */
    MPTCP_TF_FIN_PENDING = 1u << 3,  /* our FIN follows the buffered data */
    MPTCP_TF_FIN_SENT = 1u << 4,     /* our FIN has a sequence number (fin_seq) */
    MPTCP_TF_FIN_RCVD = 1u << 5,     /* the peer's FIN was taken in order */
    MPTCP_TF_FIN_OOO = 1u << 6,      /* the peer's FIN was seen beyond rcv_nxt */
    MPTCP_TF_CLOSE_QUEUED = 1u << 7, /* the CLOSED event went to the upper layer */
    MPTCP_TF_WANT_WRITE = 1u << 8,   /* mptcp_send returned EAGAIN */
    MPTCP_TF_PERSIST = 1u << 9,      /* t_rexmit is the persist timer */
    MPTCP_TF_RTT_TIMING = 1u << 10,  /* rtt_seq is being timed (Karn) */
    MPTCP_TF_TS = 1u << 11,          /* timestamps negotiated */
    MPTCP_TF_SACK = 1u << 12,        /* SACK negotiated */
    MPTCP_TF_WSCALE = 1u << 13,      /* window scaling negotiated */
    MPTCP_TF_ACK_NOW = 1u << 14,     /* an ACK must go out before the call returns */
    MPTCP_TF_EV_LINKED = 1u << 15,   /* (unused by TCBs: connections queue events) */
    MPTCP_TF_GRAVE = 1u << 16,       /* on the stack's list of TCBs to free */
    MPTCP_TF_TCP_DONE = 1u << 17,    /* TIME_WAIT or CLOSED reached in an orderly way */
    MPTCP_TF_WAS_SYNCED = 1u << 18,  /* reached ESTABLISHED once */
    MPTCP_TF_KEEP_PROBING = 1u << 19, /* keepalive probes outstanding */
    MPTCP_TF_DROP_DATA = 1u << 20,   /* set by opts_in: do not take this segment's payload */
    MPTCP_TF_RST_INEXACT = 1u << 21, /* opts_in sees an in-window RST whose seq != rcv_nxt */
    MPTCP_TF_SUBFLOW = 1u << 23,     /* the owner is an MPTCP subflow (mptcp_tcp_upper) */
    MPTCP_TF_SPLIT_BUFS = 1u << 24,  /* the rings are separate allocations, the send
                                        ring's possibly none (mptcp_tcp_snd_extern) */
    MPTCP_TF_SACK_NOMEM = 1u << 22   /* SACK blocks were ignored (no memory for the
                                        scoreboard): recover as without SACK until a
                                        cumulative ACK empties the scoreboard */
};

/* Pending-event bits (delivered in this order). */
enum {
    MPTCP_EVB_CONNECTED = 1u << 0,
    MPTCP_EVB_ACCEPTED = 1u << 1,
    MPTCP_EVB_READABLE = 1u << 2,
    MPTCP_EVB_PEER_SHUTDOWN = 1u << 3,
    MPTCP_EVB_WRITABLE = 1u << 4,
    MPTCP_EVB_CLOSED = 1u << 5
};

/* Per-connection counters: the subset of mptcp_conn_stats the TCB counts. */
typedef struct mptcp_tcp_counters {
    uint64_t bytes_sent, bytes_acked, bytes_received;
    uint32_t segs_out, segs_in;
    uint32_t retrans_segs, fast_retrans, rto_expiries, dup_acks_in, sack_blocks_in;
    uint32_t ooo_segs_in, zero_window_probes;
} mptcp_tcp_counters;

/*
 * The TCB. An idle connection's state is all here (see docs/tcp.md, "Memory
 * per connection"): the out-of-order range table (rcv.ooo) and the SACK
 * scoreboard's blocks (sack.blk) are allocated only while in use, the ring
 * memory is one allocation that snd.data points at (an MPTCP subflow's: the
 * receive ring alone, MPTCP_TF_SPLIT_BUFS; its send ring only counts bytes
 * its connection keeps, mptcp_tcp_upper_ops.snd_read).
 */
struct mptcp_tcb {
    struct mptcp_stack *st;
    /* A TCB is on the demux hash chain while it is not CLOSED and on the
     * stack's list of TCBs to free only once it is CLOSED (mptcp_tcp_bury):
     * never both, so the two links share one word. */
    union {
        struct mptcp_tcb *hnext;      /* demux hash chain */
        struct mptcp_tcb *grave_next; /* the stack's list of TCBs to free */
    };
    /* There is no list of every TCB: one that is not CLOSED is in the demux
     * table, a CLOSED one is on the grave list or owned by its connection
     * (which lets go of it, onto the grave list, when it is freed). That is
     * how mptcp_stack_free finds them all. */
    struct mptcp_conn *conn;    /* the owning connection, NULL once let go */
    struct mptcp_rack *rack;    /* RACK-TLP records (rack.h), from ESTABLISHED with SACK */
    mptcp_timer_node tn;        /* keyed by mptcp_tcp_next_deadline() */
    mptcp_addr local, remote;
    uint32_t flags;             /* MPTCP_TF_* */
    uint8_t state;              /* mptcp_tcp_state */
    uint8_t close_reason;       /* mptcp_close_reason for MPTCP_EV_CLOSED */
    uint8_t snd_wscale, rcv_wscale;
    uint8_t backoff;            /* RTO doublings since the last new ACK */
    uint8_t dupacks;            /* consecutive duplicate ACKs */
    uint8_t keep_probes;        /* keepalive probes sent without answer */
    uint8_t ack_lim_n;          /* RFC 5961 section 7: answers in this interval */
    uint16_t mss;               /* send MSS without options: min(peer, ours, PMTU) */
    uint16_t rcv_mss;           /* largest payload received (delayed-ACK unit) */
    /* Send sequence space (RFC 9293 section 3.3.1). snd_max: highest sent.
     * iss is also our RFC 7323 section 5.4 timestamp clock offset. SND.WL2
     * is not kept: a window update is taken only from an ACK at or above
     * snd_una, and the WL2 recorded at the last update never exceeds
     * snd_una, so its test (WL2 =< SEG.ACK) always held. */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, max_snd_wnd, snd_wl1;
    uint32_t fin_seq;           /* our FIN's sequence number (TF_FIN_SENT) */
    /* Receive sequence space. rcv_adv: right edge of the window we advertised. */
    uint32_t irs, rcv_nxt, rcv_adv, fin_rcv_seq;
    /* RFC 7323 timestamps: TS.Recent, Last.ACK.sent. Every ACK we send
     * carries rcv_nxt, so rcv_nxt - last_ack_sent is also the in-order data
     * not yet acknowledged (the delayed-ACK count). */
    uint32_t ts_recent, last_ack_sent;
    /* RFC 6298 estimator, microseconds. */
    uint32_t srtt_us, rttvar_us, rto_us;
    uint32_t rtt_seq, rtt_start; /* timed segment end, send time (low 32 bits of now_us) */
    uint32_t ack_lim_at;        /* start of the ack_lim_n interval (low 32 bits of now_us) */
    /* Deadlines (MPTCP_TIMER_NONE when off). t_rexmit: RTO or persist;
     * t_misc: keepalive, FIN_WAIT_2 or TIME_WAIT, by state. */
    uint64_t t_rexmit, t_delack, t_misc;
    mptcp_sack_sb sack;
    /* The congestion controller; an MPTCP subflow with coupled congestion
     * control uses it as the first member of |ccm| (cc_coupled.h). */
    union {
        mptcp_cc cc;
        mptcp_cc_coupled_member ccm;
    };
    mptcp_sndbuf snd;
    mptcp_rcvbuf rcv;
    mptcp_tcp_counters ctr;
};

/* Whether recovery may use the SACK scoreboard: SACK was negotiated and no
 * SACK information was lost for want of memory (MPTCP_TF_SACK_NOMEM). */
static inline bool mptcp_tcp_sack_usable(const mptcp_tcb *t)
{
    return (t->flags & (MPTCP_TF_SACK | MPTCP_TF_SACK_NOMEM)) == MPTCP_TF_SACK;
}

/* tcp.c */
/* Reports event |evb| (MPTCP_EVB_*) to the upper layer. CLOSED is
 * reported once (MPTCP_TF_CLOSE_QUEUED). */
void mptcp_tcp_event(mptcp_tcb *t, uint8_t evb);
/* Queues |t| for freeing at the end of the entry point (freed once no
 * connection owns it). */
void mptcp_tcp_bury(mptcp_tcb *t);
/* Re-files |t|'s deadline in the stack's timer heap. */
void mptcp_tcp_touch(mptcp_tcb *t);
mptcp_tcb *mptcp_tcp_new(struct mptcp_stack *st, const mptcp_addr *local,
                         const mptcp_addr *remote, uint64_t now_us);
/* A TCB whose send bytes its upper layer keeps from the start (as after
 * mptcp_tcp_snd_extern): only the receive ring is allocated. */
mptcp_tcb *mptcp_tcp_new_extern(struct mptcp_stack *st, const mptcp_addr *local,
                                const mptcp_addr *remote, uint64_t now_us);
void mptcp_tcp_free(mptcp_tcb *t);
void mptcp_tcp_free_buffers(mptcp_tcb *t);
/* Whether the TCB still has its buffers (mptcp_tcp_free_buffers not yet
 * called: TIME_WAIT and CLOSED give them back). */
static inline bool mptcp_tcp_has_buffers(const mptcp_tcb *t)
{
    return t->rcv.data != NULL; /* (a subflow's snd.data is NULL) */
}
/* The upper layer keeps the send bytes (an MPTCP subflow sends from its
 * connection's ring, mptcp_tcp_upper_ops.snd_read): the send ring's memory
 * is given back, the ring goes on counting bytes (same capacity) and the
 * receive ring moves to an allocation of its own. The send ring must be
 * empty. 0, MPTCP_ESTATE or MPTCP_ENOMEM (nothing changed). */
int mptcp_tcp_snd_extern(mptcp_tcb *t);
/* The reverse: the TCB gets send ring memory again and the bytes it holds
 * are copied in through snd_read (a subflow leaves its connection, or must
 * stop holding the connection's bytes). 0 (also when it has one),
 * MPTCP_ESTATE or MPTCP_ENOMEM (nothing changed). */
int mptcp_tcp_snd_own(mptcp_tcb *t);
/* Bytes a TCB of a stack configured with |cfg| holds in buffers once SACK
 * is negotiated: both rings and the RACK transmit records of the send ring
 * (what mptcp_tcp_free_buffers gives back). Tests and the bench subtract it
 * from a connection's allocations to get its state alone. */
size_t mptcp_tcp_buffer_bytes(const mptcp_config *cfg);
void mptcp_tcp_set_state(mptcp_tcb *t, uint8_t state, uint64_t now_us);
/* Ends the connection now (state CLOSED, timers off, out of the demux);
 * queues MPTCP_EV_CLOSED with |reason| if the host owns it. */
void mptcp_tcp_terminate(mptcp_tcb *t, mptcp_close_reason reason);
/* Called when the orderly close finished or the host consumed data: queue
 * MPTCP_EV_CLOSED (NORMAL) once nothing is left for the host to read. */
void mptcp_tcp_maybe_finish(mptcp_tcb *t);
/* The connection became synchronized (ESTABLISHED reached). */
void mptcp_tcp_established(mptcp_tcb *t, uint64_t now_us);
/* Negotiated values from a SYN or SYN/ACK's options. */
struct mptcp_tcp_rx_opts;
void mptcp_tcp_apply_syn_opts(mptcp_tcb *t, const struct mptcp_tcp_rx_opts *o);
bool mptcp_tcp_synced(const mptcp_tcb *t);

/* Options as the input path needs them (a lean parse, see tcp_in.c). */
typedef struct mptcp_tcp_rx_opts {
    uint32_t present;  /* MPTCP_TCPO_* */
    uint32_t bad;      /* known kinds with a wrong length: ignored */
    uint16_t mss;
    uint8_t wscale;
    uint8_t sack_count;
    uint32_t ts_val, ts_ecr;
    mptcp_sack_block sack[4];
} mptcp_tcp_rx_opts;

/* tcp_in.c */
void mptcp_tcp_input(struct mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                     const uint8_t *seg, size_t len, uint64_t now_us);
int mptcp_tcp_parse_opts(const uint8_t *p, size_t len, mptcp_tcp_rx_opts *o);

/* tcp_out.c */
void mptcp_tcp_output(mptcp_tcb *t, uint64_t now_us);
void mptcp_tcp_send_syn(mptcp_tcb *t, uint64_t now_us);
void mptcp_tcp_send_ack(mptcp_tcb *t, uint64_t now_us);
void mptcp_tcp_send_rst(mptcp_tcb *t, uint64_t now_us);
/* A segment with seq = snd_una - 1 and no data: keepalive and zero-window
 * probe (the peer answers with an ACK carrying its window). */
void mptcp_tcp_send_probe(mptcp_tcb *t, uint64_t now_us);
/* The persist timer fired: probe a zero window, or send into a window too
 * small for SWS avoidance (the RFC 9293 section 3.8.6.2.1 override). */
void mptcp_tcp_persist_fire(mptcp_tcb *t, uint64_t now_us);
/* (Re)sends [seq, seq+len) from the send buffer (len <= mss). */
void mptcp_tcp_send_data(mptcp_tcb *t, uint32_t seq, uint32_t len, bool rexmit,
                         uint64_t now_us);
/* RST for a segment that matched no connection (RFC 9293 section 3.10.7.1). */
void mptcp_tcp_send_rst_reply(struct mptcp_stack *st, const mptcp_addr *local,
                              const mptcp_addr *remote, const mptcp_tcp_hdr *h,
                              uint32_t seg_len, uint64_t now_us);
/* The same with |opts_len| option bytes (a multiple of 4, at most 40) that
 * the upper layer chose, e.g. MPTCP's MP_TCPRST on a refused MP_JOIN SYN
 * (RFC 8684 section 3.6). */
void mptcp_tcp_send_rst_reply_opts(struct mptcp_stack *st, const mptcp_addr *local,
                                   const mptcp_addr *remote, const mptcp_tcp_hdr *h,
                                   uint32_t seg_len, const uint8_t *opts, size_t opts_len,
                                   uint64_t now_us);
/* After the host read data: send a window update if the window grew enough. */
void mptcp_tcp_rcv_window_opened(mptcp_tcb *t, uint64_t now_us);
uint32_t mptcp_tcp_rcv_window(const mptcp_tcb *t);

/* tcp_timer.c */
uint64_t mptcp_tcp_next_deadline(const mptcp_tcb *t);
void mptcp_tcp_timers_run(mptcp_tcb *t, uint64_t now_us);
void mptcp_tcp_rtt_sample(mptcp_tcb *t, uint32_t rtt_us);
void mptcp_tcp_rexmit_arm(mptcp_tcb *t, uint64_t now_us);
void mptcp_tcp_rexmit_stop(mptcp_tcb *t);
void mptcp_tcp_keepalive_reset(mptcp_tcb *t, uint64_t now_us);
void mptcp_tcp_delack_arm(mptcp_tcb *t, uint64_t now_us);

/* isn.c: RFC 6528 initial sequence numbers. */
uint32_t mptcp_isn_generate(const uint8_t secret[32], const mptcp_addr *local,
                            const mptcp_addr *remote, uint64_t now_us);

#endif /* MPTCP_TCP_H */
