/*
 * stack.h - the mptcp_stack object and what the engine files need from it:
 * configuration, callbacks, counters, the deferred event queue (of
 * connections), the lists of connections and TCBs to free, the token table,
 * the path manager's endpoints, and the scratch buffers.
 */
#ifndef MPTCP_STACK_H
#define MPTCP_STACK_H

#include "common.h"
#include "conn.h"
#include "demux.h"
#include "pm.h"
#include "tcp.h"
#include "timer.h"
#include "token.h"

struct mptcp_stack {
    const mptcp_tcp_upper_ops *upper_plain, *upper_subflow; /* see mptcp_tcp_upper */
    mptcp_config cfg;
    mptcp_callbacks cb;
    void *user;
    mptcp_allocator alloc;
    size_t mem_used;              /* bytes currently allocated */
    mptcp_mem mem;                /* {&alloc, &mem_used}: for lazily allocated tables */
    const mptcp_cc_ops *cc_ops;
    mptcp_stack_stats stats;
    uint64_t now_us;              /* latest time seen (never goes back) */
    uint32_t depth;               /* entry points on the call stack */
    uint32_t conns;               /* live TCBs (max_conns bounds them) */
    uint32_t mconns;              /* live connections */
    mptcp_conn *ev_head, *ev_tail; /* connections with pending events, FIFO */
    mptcp_conn *grave;            /* connections to free when the entry point ends */
    mptcp_conn *dirty;            /* connections to step before events go out */
    mptcp_conn *all;              /* every connection (for mptcp_stack_free) */
    mptcp_tcb *tgrave;            /* TCBs to free when the entry point ends */
    mptcp_demux demux;
    mptcp_timer_heap timers;
    uint8_t *scratch;             /* one segment: 60 header bytes + cfg.mss */
    size_t scratch_len;
    uint8_t *rxbuf;               /* subflow bytes on their way to a connection ring */
    size_t rxbuf_len;
    uint8_t isn_secret[32];       /* RFC 6528 secret key, from cb.random */
    mptcp_token_table tokens;     /* RFC 8684 tokens of the MPTCP connections */
    void *token_mem;
    size_t token_mem_len;
    mptcp_pm_config pm;           /* endpoints and limits */
    /* RFC 2883 D-SACK to report: the duplicate [dsack_left, dsack_right)
     * that segment input found for dsack_tcb goes into the first SACK block
     * of the next ACK that TCB sends during the same mptcp_input call (the
     * input path ACKs duplicates at once); cleared when input returns, so
     * no TCB carries it. */
    mptcp_tcb *dsack_tcb;
    uint32_t dsack_left, dsack_right;
};
/*
 * The upper layer of |t|: none once its connection let it go (t->conn is
 * NULL), else the plain-TCP or the MPTCP subflow hooks, which the stack
 * holds (two pointers per stack instead of two per TCB). The hooks get the
 * owning connection as their context.
 */
static inline const mptcp_tcp_upper_ops *mptcp_tcp_upper(const mptcp_tcb *t)
{
    if (t->conn == NULL)
        return NULL;
    return (t->flags & MPTCP_TF_SUBFLOW) ? t->st->upper_subflow : t->st->upper_plain;
}


/* Hands a finished segment (checksum filled here) to cb.send and counts it. */
void mptcp_stack_emit(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                      uint8_t *seg, size_t len);

/* The same for a segment whose payload (from offset |hlen|, even) is
 * already summed into |payload_sum| (mptcp_csum_copy): the checksum reads
 * only the header. */
void mptcp_stack_emit_payload(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                              uint8_t *seg, size_t len, size_t hlen, uint32_t payload_sum);

/* The TCP view of one TCB (mptcp_conn_get_stats, mptcp_subflow_get_stats). */
void mptcp_stack_tcb_stats(const mptcp_tcb *t, mptcp_conn_stats *out);
/* Entry-point bracket for public calls implemented outside stack.c:
 * returns the time to use; leave flushes events at the outermost level. */
uint64_t mptcp_stack_enter(mptcp_stack *st, uint64_t now_us);
void mptcp_stack_leave(mptcp_stack *st);

#endif /* MPTCP_STACK_H */
