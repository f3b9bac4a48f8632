/*
 * tcp.c - TCB lifecycle and state transitions: creation with its buffers,
 * option negotiation from the SYN exchange (RFC 9293 section 3.7.1 MSS,
 * RFC 7323 sections 2.2 and 3.2 window scale and timestamps, RFC 2018
 * SACK-permitted), entering ESTABLISHED, orderly finish and termination.
 * Segment processing is in tcp_in.c, building segments in tcp_out.c,
 * timers in tcp_timer.c. Events go through the stack's deferred queue.
 */
#include "tcp.h"

#include "mem.h"
#include "rack.h"
#include "stack.h"

#define TCP_DEFAULT_MSS 536 /* RFC 9293 section 3.7.1: no MSS option seen */
#define TCP_MIN_MSS 64      /* floor against absurd announced or ICMP values */
#define TCP_TS_OPT_LEN 12   /* NOP NOP TS */

static uint8_t wscale_for(uint32_t rcvbuf)
{
    /* Smallest shift that lets the 16-bit field cover the buffer (RFC 7323
     * section 2.3, at most 14). */
    uint8_t s = 0;
    while (s < 14 && (rcvbuf >> s) > 65535u)
        s++;
    return s;
}

static mptcp_tcb *tcb_new(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                          uint64_t now_us, bool snd_ring)
{
    mptcp_tcb *t = mptcp_mem_zalloc(&st->alloc, &st->mem_used, sizeof *t);
    if (t == NULL)
        return NULL;
    /* Both rings in one allocation: snd.data points at its start. Without
     * a send ring, the receive ring alone (mptcp_tcp_snd_extern). */
    size_t blen = (snd_ring ? (size_t)st->cfg.sndbuf : 0) + st->cfg.rcvbuf;
    uint8_t *bufmem = mptcp_mem_zalloc(&st->alloc, &st->mem_used, blen);
    if (bufmem == NULL) {
        mptcp_mem_free(&st->alloc, &st->mem_used, t, sizeof *t);
        return NULL;
    }
    t->st = st;
    t->local = *local;
    t->remote = *remote;
    mptcp_timer_node_init(&t->tn);
    if (snd_ring) {
        mptcp_sndbuf_init(&t->snd, bufmem, st->cfg.sndbuf);
        mptcp_rcvbuf_init(&t->rcv, bufmem + st->cfg.sndbuf, st->cfg.rcvbuf);
    } else {
        mptcp_sndbuf_init(&t->snd, NULL, 0);
        t->snd.cap = st->cfg.sndbuf; /* counts (mptcp_sndbuf_extend) */
        mptcp_rcvbuf_init(&t->rcv, bufmem, st->cfg.rcvbuf);
        t->flags |= MPTCP_TF_SPLIT_BUFS;
    }
    t->state = MPTCP_TCP_CLOSED;
    t->rcv_wscale = st->cfg.window_scaling ? wscale_for(st->cfg.rcvbuf) : 0;
    t->mss = (uint16_t)MPTCP_MIN(st->cfg.mss, TCP_DEFAULT_MSS);
    t->rcv_mss = t->mss;
    t->rto_us = st->cfg.rto_initial_us;
    t->t_rexmit = t->t_delack = t->t_misc = MPTCP_TIMER_NONE;
    t->ack_lim_at = (uint32_t)now_us;
    t->cc.ops = st->cc_ops;
    t->cc.ops->init(&t->cc, t->mss, now_us);
    t->tn.kind = MPTCP_TIMER_KIND_TCB;
    st->conns++;
    return t;
}

mptcp_tcb *mptcp_tcp_new(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                         uint64_t now_us)
{
    return tcb_new(st, local, remote, now_us, true);
}

mptcp_tcb *mptcp_tcp_new_extern(mptcp_stack *st, const mptcp_addr *local,
                                const mptcp_addr *remote, uint64_t now_us)
{
    return tcb_new(st, local, remote, now_us, false);
}

void mptcp_tcp_free_buffers(mptcp_tcb *t)
{
    mptcp_stack *st = t->st;
    mptcp_rcvbuf_release(&t->rcv, &st->mem);
    mptcp_sack_reset(&t->sack, &st->mem);
    mptcp_rack_free(t);
    if (t->flags & MPTCP_TF_SPLIT_BUFS) {
        /* mptcp_tcp_snd_extern / mptcp_tcp_snd_own: two allocations */
        mptcp_mem_free(&st->alloc, &st->mem_used, t->snd.data, st->cfg.sndbuf);
        mptcp_mem_free(&st->alloc, &st->mem_used, t->rcv.data, st->cfg.rcvbuf);
    } else if (t->snd.data != NULL) {
        mptcp_mem_free(&st->alloc, &st->mem_used, t->snd.data,
                       (size_t)st->cfg.sndbuf + st->cfg.rcvbuf);
    }
    mptcp_sndbuf_init(&t->snd, NULL, 0);
    mptcp_rcvbuf_init(&t->rcv, NULL, 0);
}

int mptcp_tcp_snd_extern(mptcp_tcb *t)
{
    mptcp_stack *st = t->st;
    if (t->snd.data == NULL || t->snd.len != 0)
        return MPTCP_ESTATE;
    if (t->flags & MPTCP_TF_SPLIT_BUFS) {
        /* a ring mptcp_tcp_snd_own gave it, now empty: back */
        mptcp_mem_free(&st->alloc, &st->mem_used, t->snd.data, st->cfg.sndbuf);
        mptcp_sndbuf_init(&t->snd, NULL, 0);
        t->snd.cap = st->cfg.sndbuf;
        return 0;
    }
    uint8_t *r = mptcp_mem_zalloc(&st->alloc, &st->mem_used, st->cfg.rcvbuf);
    if (r == NULL)
        return MPTCP_ENOMEM;
    /* The receive ring moves as it is (a subflow is usually new here and
     * it is empty; its out-of-order table is separate memory). */
    if (t->rcv.len > 0 || t->rcv.n_ooo > 0)
        memcpy(r, t->rcv.data, st->cfg.rcvbuf);
    else
        t->rcv.head = 0;
    mptcp_mem_free(&st->alloc, &st->mem_used, t->snd.data,
                   (size_t)st->cfg.sndbuf + st->cfg.rcvbuf);
    t->rcv.data = r;
    mptcp_sndbuf_init(&t->snd, NULL, 0);
    t->snd.cap = st->cfg.sndbuf; /* counts (mptcp_sndbuf_extend), same limit */
    t->flags |= MPTCP_TF_SPLIT_BUFS;
    return 0;
}

int mptcp_tcp_snd_own(mptcp_tcb *t)
{
    mptcp_stack *st = t->st;
    if (t->snd.data != NULL)
        return 0;
    const mptcp_tcp_upper_ops *u = mptcp_tcp_upper(t);
    if (!(t->flags & MPTCP_TF_SPLIT_BUFS) || (t->snd.len > 0 && (u == NULL || u->snd_read == NULL)))
        return MPTCP_ESTATE;
    uint8_t *m = mptcp_mem_zalloc(&st->alloc, &st->mem_used, st->cfg.sndbuf);
    if (m == NULL)
        return MPTCP_ENOMEM;
    uint32_t len = t->snd.len, sum;
    if (len > 0 && u->snd_read(t->conn, t, t->snd_una, m, len, &sum) != len) {
        mptcp_mem_free(&st->alloc, &st->mem_used, m, st->cfg.sndbuf);
        return MPTCP_ESTATE;
    }
    mptcp_sndbuf_init(&t->snd, m, st->cfg.sndbuf);
    t->snd.len = len; /* offset 0 (snd_una) at index 0 */
    return 0;
}

size_t mptcp_tcp_buffer_bytes(const mptcp_config *cfg)
{
    /* mptcp_tcp_new's one allocation for both rings, plus mptcp_rack_attach's
     * block at ESTABLISHED (RFC 8985 needs SACK, so only then). */
    return (size_t)cfg->sndbuf + cfg->rcvbuf + mptcp_rack_size(mptcp_rack_cap_for(cfg->sndbuf));
}

void mptcp_tcp_free(mptcp_tcb *t)
{
    mptcp_stack *st = t->st;
    mptcp_demux_remove(&st->demux, t);
    mptcp_timer_set(&st->timers, &t->tn, MPTCP_TIMER_NONE);
    mptcp_tcp_free_buffers(t);
    st->conns--;
    mptcp_mem_free(&st->alloc, &st->mem_used, t, sizeof *t);
}

void mptcp_tcp_event(mptcp_tcb *t, uint8_t evb)
{
    if (t->flags & MPTCP_TF_CLOSE_QUEUED)
        return;
    if (evb == MPTCP_EVB_CLOSED)
        t->flags |= MPTCP_TF_CLOSE_QUEUED;
    if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->event)
        mptcp_tcp_upper(t)->event(t->conn, t, evb);
}

void mptcp_tcp_bury(mptcp_tcb *t)
{
    if (t->flags & MPTCP_TF_GRAVE)
        return;
    /* grave_next shares its word with the demux link (tcp.h). */
    MPTCP_ASSERT(t->state == MPTCP_TCP_CLOSED);
    t->flags |= MPTCP_TF_GRAVE;
    t->grave_next = t->st->tgrave;
    t->st->tgrave = t;
}

void mptcp_tcp_touch(mptcp_tcb *t)
{
    uint64_t d = t->state == MPTCP_TCP_CLOSED ? MPTCP_TIMER_NONE : mptcp_tcp_next_deadline(t);
    mptcp_timer_set(&t->st->timers, &t->tn, d);
}

bool mptcp_tcp_synced(const mptcp_tcb *t)
{
    return t->state >= MPTCP_TCP_ESTABLISHED;
}

void mptcp_tcp_set_state(mptcp_tcb *t, uint8_t state, uint64_t now_us)
{
    t->state = state;
    switch (state) {
    case MPTCP_TCP_TIME_WAIT:
        /* RFC 9293 section 3.10.7.4: 2*MSL, configurable (short by default
         * for embedded hosts). Nothing is sent from here on but ACKs. */
        mptcp_tcp_rexmit_stop(t);
        t->t_misc = now_us + t->st->cfg.time_wait_us;
        t->flags |= MPTCP_TF_TCP_DONE;
        mptcp_tcp_maybe_finish(t);
        break;
    case MPTCP_TCP_FIN_WAIT_2:
        /* Only an orphan (the host called close) is timed out here: a half-
         * closed connection may legitimately wait for the peer forever, so
         * keepalive watches it (RFC 9293 section 3.8.4; Linux keeps its
         * keepalive timer in FIN_WAIT_2): a peer that vanished, its RST
         * lost, answers the probe with a RST. */
        t->t_misc = (t->flags & MPTCP_TF_HOST_CLOSED) ? now_us + t->st->cfg.fin_wait2_us
                    : t->st->cfg.keepalive_idle_us ? now_us + t->st->cfg.keepalive_idle_us
                                                   : MPTCP_TIMER_NONE;
        t->keep_probes = 0;
        break;
    case MPTCP_TCP_CLOSE_WAIT:
    case MPTCP_TCP_CLOSING:
    case MPTCP_TCP_LAST_ACK:
    case MPTCP_TCP_FIN_WAIT_1:
        if (state != MPTCP_TCP_CLOSE_WAIT)
            t->t_misc = MPTCP_TIMER_NONE; /* no keepalive once we are closing */
        break;
    default:
        break;
    }
}

void mptcp_tcp_terminate(mptcp_tcb *t, mptcp_close_reason reason)
{
    mptcp_stack *st = t->st;
    if (t->state != MPTCP_TCP_CLOSED) {
        t->state = MPTCP_TCP_CLOSED;
        st->stats.conns_closed++;
    }
    t->t_rexmit = t->t_delack = t->t_misc = MPTCP_TIMER_NONE;
    t->flags &= ~(uint32_t)MPTCP_TF_ACK_NOW;
    mptcp_demux_remove(&st->demux, t);
    if (!(t->flags & MPTCP_TF_CLOSE_QUEUED)) {
        t->close_reason = (uint8_t)reason;
        mptcp_tcp_event(t, MPTCP_EVB_CLOSED);
    }
    mptcp_tcp_bury(t);
}

void mptcp_tcp_maybe_finish(mptcp_tcb *t)
{
    if (!(t->flags & MPTCP_TF_TCP_DONE) || (t->flags & MPTCP_TF_CLOSE_QUEUED))
        return;
    if (!(t->flags & MPTCP_TF_HOST_CLOSED) && t->rcv.len > 0)
        return; /* let the host read what is left first */
    t->close_reason = MPTCP_CLOSE_NORMAL;
    mptcp_tcp_event(t, MPTCP_EVB_CLOSED);
}

void mptcp_tcp_apply_syn_opts(mptcp_tcb *t, const mptcp_tcp_rx_opts *o)
{
    const mptcp_config *cfg = &t->st->cfg;
    uint32_t peer_mss = (o->present & MPTCP_TCPO_MSS) ? o->mss : TCP_DEFAULT_MSS;
    uint32_t mss = MPTCP_MIN(peer_mss, cfg->mss);
    t->mss = (uint16_t)MPTCP_MAX(mss, TCP_MIN_MSS);
    /* RFC 7323 section 2.2: scaling is on only when both SYNs carry it. */
    if (cfg->window_scaling && (o->present & MPTCP_TCPO_WSCALE)) {
        t->flags |= MPTCP_TF_WSCALE;
        t->snd_wscale = (uint8_t)MPTCP_MIN(o->wscale, 14); /* section 2.3 */
    } else {
        t->flags &= ~(uint32_t)MPTCP_TF_WSCALE;
        t->snd_wscale = 0;
        t->rcv_wscale = 0;
    }
    if (cfg->sack && (o->present & MPTCP_TCPO_SACK_PERM))
        t->flags |= MPTCP_TF_SACK;
    else
        t->flags &= ~(uint32_t)MPTCP_TF_SACK;
    if (cfg->timestamps && (o->present & MPTCP_TCPO_TS)) {
        t->flags |= MPTCP_TF_TS;
        t->ts_recent = o->ts_val;
    } else {
        t->flags &= ~(uint32_t)MPTCP_TF_TS;
    }
}

void mptcp_tcp_established(mptcp_tcb *t, uint64_t now_us)
{
    mptcp_stack *st = t->st;
    t->state = MPTCP_TCP_ESTABLISHED;
    t->flags |= MPTCP_TF_WAS_SYNCED;
    t->backoff = 0;
    /* The congestion window is counted in payload bytes per segment. */
    uint32_t pmss = t->mss - ((t->flags & MPTCP_TF_TS) ? TCP_TS_OPT_LEN : 0);
    t->cc.ops->init(&t->cc, pmss, now_us);
    t->sack.recover = t->snd_una;
    t->sack.high_rxt = t->snd_una;
    mptcp_rack_attach(t); /* RACK-TLP records, alongside the send ring */
    if (t->flags & MPTCP_TF_ACTIVE) {
        mptcp_tcp_event(t, MPTCP_EVB_CONNECTED);
    } else {
        st->stats.conns_accepted++;
        mptcp_tcp_event(t, MPTCP_EVB_ACCEPTED);
    }
    mptcp_tcp_keepalive_reset(t, now_us);
    if (t->flags & MPTCP_TF_FIN_PENDING)
        mptcp_tcp_set_state(t, MPTCP_TCP_FIN_WAIT_1, now_us); /* shutdown came early */
}
