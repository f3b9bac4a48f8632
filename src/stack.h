/*
 * stack.h - the mptcp_stack object and what the engine files need from it:
 * configuration, callbacks, counters, the deferred event queue, the list of
 * connections to free, and the scratch buffer segments are built in.
 */
#ifndef MPTCP_STACK_H
#define MPTCP_STACK_H

#include "common.h"
#include "demux.h"
#include "tcp.h"
#include "timer.h"

struct mptcp_stack {
    mptcp_config cfg;
    mptcp_callbacks cb;
    void *user;
    mptcp_allocator alloc;
    size_t mem_used;              /* bytes currently allocated */
    const mptcp_cc_ops *cc_ops;
    mptcp_stack_stats stats;
    uint64_t now_us;              /* latest time seen (never goes back) */
    uint32_t depth;               /* entry points on the call stack */
    uint32_t conns;               /* live connections (max_conns bounds it) */
    mptcp_conn *ev_head, *ev_tail; /* conns with pending events, FIFO */
    mptcp_conn *grave;            /* conns to free when the entry point ends */
    mptcp_conn *all;              /* every connection (for mptcp_stack_free) */
    mptcp_demux demux;
    mptcp_timer_heap timers;
    uint8_t *scratch;             /* one segment: 60 header bytes + cfg.mss */
    size_t scratch_len;
    uint8_t isn_secret[32];       /* RFC 6528 secret key, from cb.random */
};

/* Queues event bit |evb| (MPTCP_EVB_*) on |c|; delivered when the outermost
 * entry point returns. Ignored once MPTCP_EV_CLOSED was queued. */
void mptcp_stack_event(mptcp_conn *c, uint8_t evb);
/* |c| is finished: free it at the end of the entry point unless the host
 * still holds it (then after MPTCP_EV_CLOSED is delivered). */
void mptcp_stack_bury(mptcp_conn *c);
/* Re-files |c|'s deadline in the timer heap. */
void mptcp_stack_touch(mptcp_conn *c);
/* Hands a finished segment (checksum filled here) to cb.send and counts it. */
void mptcp_stack_emit(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                      uint8_t *seg, size_t len);

#endif /* MPTCP_STACK_H */
