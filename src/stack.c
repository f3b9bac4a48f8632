/*
 * stack.c - the mptcp_stack object and the public entry points of mptcp.h
 * section 4: configuration defaults and validation, allocator choice,
 * callbacks, the re-entrancy depth counter (MPTCP_EBUSY), the deferred event
 * queue flushed when the outermost entry point returns, freeing finished
 * connections, the timer heap walk, counters, and the ICMP hooks
 * (RFC 1122 section 4.2.3.9 soft errors, RFC 1191 / RFC 8201 MSS lowering).
 * TCP behaviour itself lives in tcp*.c.
 */
#include "stack.h"
#include "rack.h"

#include "csum.h"
#include "mem.h"

#define SCRATCH_HDR 60 /* largest TCP header */
#define LISTENERS_DEFAULT 8
#define RXBUF_LEN 16384 /* subflow -> connection copy unit */

void mptcp_config_init(mptcp_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->struct_size = sizeof *cfg;
    cfg->max_conns = 64;
    cfg->sndbuf = 256 * 1024;
    cfg->rcvbuf = 256 * 1024;
    cfg->mss = 1460;
    cfg->sack = true;
    cfg->timestamps = true;
    cfg->window_scaling = true;
    cfg->cc = MPTCP_CC_CUBIC;
    cfg->trust_checksum = false;
    cfg->delack_us = 40000;
    cfg->delack_segs = 2;
    cfg->rto_initial_us = 1000000;
    cfg->rto_min_us = 200000;
    cfg->rto_max_us = 60000000;
    cfg->syn_retries = 6;
    cfg->data_retries = 15;
    cfg->time_wait_us = 2000000;
    cfg->keepalive_idle_us = 0;
    cfg->keepalive_intvl_us = 75000000;
    cfg->keepalive_probes = 9;
    cfg->fin_wait2_us = 60000000;
    cfg->max_listeners = LISTENERS_DEFAULT;
    cfg->ack_limit = 1;
    cfg->ack_limit_us = 500000;
    cfg->mptcp = false;
    cfg->checksum = false;
    cfg->deny_join_id0 = false;
    cfg->max_subflows = 2;
    cfg->add_addr_accept_max = 0;
    cfg->scheduler = MPTCP_SCHED_DEFAULT;
    cfg->coupled_cc = MPTCP_COUPLED_NONE;
    cfg->fastclose_ack = false;
}

static bool config_ok(const mptcp_config *c)
{
    if (c->struct_size != sizeof *c)
        return false;
    if (c->max_conns == 0 || c->max_conns > (1u << 24) || c->max_listeners == 0 ||
        c->max_listeners > 1024)
        return false;
    /* Buffers: at least one segment; at most 1 GiB each (window scale 14). */
    if (c->sndbuf < c->mss || c->rcvbuf < c->mss || c->sndbuf > (1u << 30) ||
        c->rcvbuf > (1u << 30))
        return false;
    if (c->mss < 64)
        return false;
    if (c->rto_min_us == 0 || c->rto_initial_us < c->rto_min_us ||
        c->rto_max_us < c->rto_initial_us)
        return false;
    if (c->delack_us == 0 || c->delack_us >= c->rto_min_us)
        return false; /* a delayed ACK must come before the peer's RTO */
    if (c->keepalive_idle_us && (c->keepalive_intvl_us == 0 || c->keepalive_probes == 0))
        return false;
    if (c->time_wait_us == 0 || c->fin_wait2_us == 0)
        return false;
    /* ack_lim_n is 8 bits; the interval is compared in 32-bit microseconds. */
    if (c->ack_limit > 255 || (c->ack_limit && (c->ack_limit_us == 0 ||
                                                c->ack_limit_us > (uint32_t)INT32_MAX)))
        return false;
    if (c->cc != MPTCP_CC_CUBIC && c->cc != MPTCP_CC_RENO)
        return false;
    if (c->max_subflows > MPTCP_MAX_SUBFLOWS - 1 || c->add_addr_accept_max > MPTCP_PM_LIMIT_MAX ||
        c->scheduler > MPTCP_SCHED_REDUNDANT || c->coupled_cc > MPTCP_COUPLED_BALIA)
        return false;
    return true;
}

mptcp_stack *mptcp_stack_new(const mptcp_config *cfg, const mptcp_callbacks *cb, void *user)
{
    mptcp_config def;
    if (cfg == NULL) {
        mptcp_config_init(&def);
        cfg = &def;
    }
    if (cb == NULL || cb->send == NULL || cb->random == NULL || !config_ok(cfg))
        return NULL;
    mptcp_allocator a = cfg->alloc;
    if (a.alloc == NULL) {
#ifndef MPTCP_NO_MALLOC
        mptcp_mem_default(&a);
#else
        return NULL;
#endif
    } else if (a.free == NULL) {
        return NULL;
    }
    size_t used = 0;
    mptcp_stack *st = mptcp_mem_zalloc(&a, &used, sizeof *st);
    if (st == NULL)
        return NULL;
    st->cfg = *cfg;
    st->cb = *cb;
    st->user = user;
    st->alloc = a;
    st->mem_used = used;
    st->mem.a = &st->alloc;
    st->mem.used = &st->mem_used;
    st->cc_ops = mptcp_cc_ops_for(cfg->cc);
    st->upper_plain = &mptcp_plain_ops;
    st->upper_subflow = &mptcp_subflow_ops;
    uint32_t nb = mptcp_demux_buckets(cfg->max_conns);
    st->demux.bucket = mptcp_mem_zalloc(&a, &st->mem_used, nb * sizeof(mptcp_conn *));
    st->demux.mask = nb - 1;
    st->demux.listen = mptcp_mem_zalloc(&a, &st->mem_used, cfg->max_listeners * sizeof(mptcp_addr));
    st->demux.listen_cap = cfg->max_listeners;
    /* One heap node per TCB and one per connection. */
    st->timers.v = mptcp_mem_zalloc(&a, &st->mem_used,
                                    2 * (size_t)cfg->max_conns * sizeof(mptcp_timer_node *));
    st->timers.cap = 2 * cfg->max_conns;
    st->scratch_len = SCRATCH_HDR + (size_t)cfg->mss;
    st->scratch = mptcp_mem_zalloc(&a, &st->mem_used, st->scratch_len);
    st->rxbuf_len = RXBUF_LEN;
    st->rxbuf = mptcp_mem_zalloc(&a, &st->mem_used, st->rxbuf_len);
    st->token_mem_len = mptcp_token_table_size(cfg->max_conns);
    st->token_mem = mptcp_mem_zalloc(&a, &st->mem_used, st->token_mem_len);
    if (st->demux.bucket == NULL || st->demux.listen == NULL || st->timers.v == NULL ||
        st->scratch == NULL || st->rxbuf == NULL || st->token_mem == NULL ||
        mptcp_token_init(&st->tokens, st->token_mem, st->token_mem_len, cfg->max_conns) != 0) {
        mptcp_stack_free(st);
        return NULL;
    }
    mptcp_pm_config_init(&st->pm);
    mptcp_pm_limits_set(&st->pm, cfg->max_subflows, cfg->add_addr_accept_max);
    uint8_t rnd[4 + 2];
    cb->random(user, st->isn_secret, sizeof st->isn_secret);
    cb->random(user, rnd, sizeof rnd);
    st->demux.seed = mptcp_get_be32(rnd);
    st->demux.next_port = (uint16_t)(MPTCP_EPHEMERAL_LO +
                                     mptcp_get_be16(rnd + 4) % (MPTCP_EPHEMERAL_HI -
                                                                MPTCP_EPHEMERAL_LO + 1));
    return st;
}

int mptcp_stack_free(mptcp_stack *st)
{
    if (st == NULL)
        return MPTCP_EINVAL;
    if (st->depth > 0)
        return MPTCP_EBUSY;
    while (st->all)
        mptcp_conn_free(st->all);
    /* With no connection left, every TCB is CLOSED on the grave list or
     * in the demux table (tcp.h); demux.bucket is NULL when creation failed. */
    for (mptcp_tcb *t = st->tgrave, *next; t; t = next) {
        next = t->grave_next;
        mptcp_tcp_free(t);
    }
    st->tgrave = NULL;
    for (uint32_t b = 0; st->demux.bucket && b <= st->demux.mask; b++)
        while (st->demux.bucket[b])
            mptcp_tcp_free(st->demux.bucket[b]);
    MPTCP_ASSERT(st->conns == 0);
    mptcp_allocator a = st->alloc;
    mptcp_mem_free(&a, &st->mem_used, st->token_mem, st->token_mem_len);
    mptcp_mem_free(&a, &st->mem_used, st->rxbuf, st->rxbuf_len);
    mptcp_mem_free(&a, &st->mem_used, st->scratch, st->scratch_len);
    mptcp_mem_free(&a, &st->mem_used, st->timers.v,
                   st->timers.cap * sizeof(mptcp_timer_node *));
    mptcp_mem_free(&a, &st->mem_used, st->demux.listen,
                   st->demux.listen_cap * sizeof(mptcp_addr));
    mptcp_mem_free(&a, &st->mem_used, st->demux.bucket,
                   (st->demux.mask + 1) * sizeof(mptcp_conn *));
    size_t used = st->mem_used;
    mptcp_mem_free(&a, &used, st, sizeof *st);
    return 0;
}

/* ---------------------------------------------------------------- internals */

void mptcp_stack_emit(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst, uint8_t *seg,
                      size_t len)
{
    mptcp_tcp_csum_fill(seg, len, src, dst);
    st->stats.segs_out++;
    st->stats.bytes_out += len;
    st->cb.send(st->user, src, dst, seg, len);
}

void mptcp_stack_emit_payload(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                              uint8_t *seg, size_t len, size_t hlen, uint32_t payload_sum)
{
    mptcp_tcp_csum_fill_payload(seg, len, hlen, payload_sum, src, dst);
    st->stats.segs_out++;
    st->stats.bytes_out += len;
    st->cb.send(st->user, src, dst, seg, len);
}

static void deliver(mptcp_stack *st, mptcp_conn *c, mptcp_ev_type type)
{
    mptcp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.subflow_id = -1;
    if (type == MPTCP_EV_CLOSED) {
        ev.u.closed.reason = (mptcp_close_reason)c->close_reason;
        ev.u.closed.has_rst_code = c->close_has_code;
        ev.u.closed.rst_code = c->close_code;
    }
    if (type == MPTCP_EV_ACCEPTED)
        ev.u.accepted.local = *mptcp_conn_local(c);
    if (st->cb.event)
        st->cb.event(st->user, c, &ev);
}

static void flush(mptcp_stack *st)
{
    static const struct {
        uint8_t bit;
        mptcp_ev_type type;
    } order[] = {
        {MPTCP_EVB_CONNECTED, MPTCP_EV_CONNECTED},
        {MPTCP_EVB_ACCEPTED, MPTCP_EV_ACCEPTED},
        {0, MPTCP_EV_TYPE_COUNT}, /* the multipath event ring goes here */
        {MPTCP_EVB_READABLE, MPTCP_EV_READABLE},
        {MPTCP_EVB_PEER_SHUTDOWN, MPTCP_EV_PEER_SHUTDOWN},
        {MPTCP_EVB_WRITABLE, MPTCP_EV_WRITABLE},
        {MPTCP_EVB_CLOSED, MPTCP_EV_CLOSED},
    };
    while (st->ev_head) {
        mptcp_conn *c = st->ev_head;
        st->ev_head = c->ev_next;
        if (st->ev_head == NULL)
            st->ev_tail = NULL;
        c->ev_next = NULL;
        c->flags &= ~(uint32_t)MPTCP_CF_EV_LINKED;
        uint8_t bits = c->ev_bits;
        c->ev_bits = 0;
        for (size_t i = 0; i < MPTCP_ARRAY_LEN(order); i++) {
            if (!(c->flags & MPTCP_CF_OWNED))
                break;
            if (order[i].bit == 0) {
                /* Multipath events, in the order they happened. */
                while (c->mp && c->mp->evq_n > 0) {
                    mptcp_event ev = c->mp->evq[c->mp->evq_head].ev;
                    c->mp->evq_head = (uint8_t)((c->mp->evq_head + 1) % MPTCP_CONN_EVQ);
                    c->mp->evq_n--;
                    if (!(c->flags & MPTCP_CF_HOST_CLOSED) && st->cb.event)
                        st->cb.event(st->user, c, &ev);
                }
                continue;
            }
            if (!(bits & order[i].bit))
                continue;
            if (order[i].bit != MPTCP_EVB_CLOSED) {
                /* After close/abort the host hears only MPTCP_EV_CLOSED. */
                if (c->flags & MPTCP_CF_HOST_CLOSED)
                    continue;
                deliver(st, c, order[i].type);
                continue;
            }
            c->flags &= ~(uint32_t)MPTCP_CF_OWNED;
            deliver(st, c, MPTCP_EV_CLOSED);
            mptcp_conn_release(c);
        }
        if (c->mp)
            c->mp->evq_n = 0;
    }
}

static void reap(mptcp_stack *st)
{
    mptcp_conn *c = st->grave;
    st->grave = NULL;
    while (c) {
        mptcp_conn *next = c->grave_next;
        c->grave_next = NULL;
        c->flags &= ~(uint32_t)MPTCP_CF_GRAVE;
        /* Owned connections stay until MPTCP_EV_CLOSED is delivered (then
         * they are buried again by mptcp_conn_release). */
        if (!(c->flags & (MPTCP_CF_OWNED | MPTCP_CF_EV_LINKED)))
            mptcp_conn_free(c);
        c = next;
    }
    mptcp_tcb *t = st->tgrave;
    st->tgrave = NULL;
    while (t) {
        mptcp_tcb *next = t->grave_next;
        t->grave_next = NULL;
        t->flags &= ~(uint32_t)MPTCP_TF_GRAVE;
        if (!(t->flags & MPTCP_TF_OWNED))
            mptcp_tcp_free(t);
        t = next;
    }
}

uint64_t mptcp_stack_enter(mptcp_stack *st, uint64_t now_us);
void mptcp_stack_leave(mptcp_stack *st);

static uint64_t enter(mptcp_stack *st, uint64_t now_us)
{
    st->depth++;
    if (now_us < st->now_us) {
        st->stats.time_backwards++;
        return st->now_us;
    }
    st->now_us = now_us;
    return now_us;
}

static void leave(mptcp_stack *st)
{
    if (st->depth == 1 && (st->dirty || st->ev_head || st->grave || st->tgrave)) {
        /* Connections touched by this call take their step (scheduling,
         * path manager, close), then events go out, then the dead go. */
        for (unsigned round = 0; round < 64; round++) {
            for (unsigned guard = 0; st->dirty && guard < 4 * st->cfg.max_conns + 16; guard++) {
                mptcp_conn *c = st->dirty;
                st->dirty = c->dirty_next;
                c->dirty_next = NULL;
                c->flags &= ~(uint32_t)MPTCP_CF_DIRTY;
                mptcp_conn_step(c, st->now_us);
            }
            flush(st);
            /* The host's calls from its event callback (send, close...)
             * made connections dirty again: step them in this call. */
            if (st->dirty == NULL && st->ev_head == NULL)
                break;
        }
        reap(st);
    }
    st->depth--;
}

/* ---------------------------------------------------------------- entry points */

static bool addr_ok(const mptcp_addr *a)
{
    return a != NULL && (a->family == MPTCP_AF_INET || a->family == MPTCP_AF_INET6);
}

int mptcp_input(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                const uint8_t *seg, size_t len, uint64_t now_us)
{
    if (st == NULL || !addr_ok(src) || !addr_ok(dst) || src->family != dst->family ||
        (seg == NULL && len > 0))
        return MPTCP_EINVAL;
    if (st->depth > 0)
        return MPTCP_EBUSY;
    now_us = enter(st, now_us);
    mptcp_tcp_input(st, src, dst, seg, len, now_us);
    leave(st);
    return 0;
}

uint64_t mptcp_next_timeout(const mptcp_stack *st)
{
    if (st == NULL)
        return UINT64_MAX;
    const mptcp_timer_node *tn = mptcp_timer_top(&st->timers);
    return tn ? tn->key : UINT64_MAX;
}

int mptcp_handle_timeout(mptcp_stack *st, uint64_t now_us)
{
    if (st == NULL)
        return MPTCP_EINVAL;
    if (st->depth > 0)
        return MPTCP_EBUSY;
    now_us = enter(st, now_us);
    /* Every expired timer moves its deadline forward or off, so the loop
     * ends; the bound is a second guard against a bug turning into a hang. */
    for (uint32_t guard = 0; guard < 8 * st->cfg.max_conns + 16; guard++) {
        mptcp_timer_node *tn = mptcp_timer_top(&st->timers);
        if (tn == NULL || tn->key > now_us)
            break;
        if (tn->kind == MPTCP_TIMER_KIND_CONN) {
            mptcp_conn *c = ((mptcp_mpc *)(void *)((uint8_t *)tn - offsetof(mptcp_mpc, tn)))->c;
            mptcp_conn_timers_run(c, now_us);
            mptcp_conn_touch(c);
            continue;
        }
        mptcp_tcb *t = (mptcp_tcb *)(void *)((uint8_t *)tn - offsetof(mptcp_tcb, tn));
        mptcp_tcp_timers_run(t, now_us);
        mptcp_tcp_touch(t);
        /* An RTO may change what the connection should do (a potentially
         * failed subflow, data to move to another one). */
        if (t->conn && (t->conn->flags & MPTCP_CF_MP))
            mptcp_conn_dirty(t->conn);
    }
    leave(st);
    return 0;
}

int mptcp_listen(mptcp_stack *st, const mptcp_addr *local)
{
    if (st == NULL || !addr_ok(local) || local->port == 0)
        return MPTCP_EINVAL;
    return mptcp_demux_listen(&st->demux, local);
}

int mptcp_unlisten(mptcp_stack *st, const mptcp_addr *local)
{
    if (st == NULL || !addr_ok(local))
        return MPTCP_EINVAL;
    return mptcp_demux_unlisten(&st->demux, local);
}

int mptcp_connect_ex(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                     bool use_mptcp, uint64_t now_us, mptcp_conn **out)
{
    if (st == NULL || !addr_ok(local) || !addr_ok(remote) || local->family != remote->family ||
        remote->port == 0 || mptcp_addr_is_any(remote) || out == NULL)
        return MPTCP_EINVAL;
    *out = NULL;
    if (st->depth > 0 && st->dirty == NULL && st->ev_head == NULL) {
        /* allowed from a callback like the other host calls */
    }
    if (st->conns >= st->cfg.max_conns)
        return MPTCP_ELIMIT;
    mptcp_addr l = *local;
    if (l.port == 0) {
        l.port = mptcp_demux_ephemeral(&st->demux, &l, remote);
        if (l.port == 0)
            return MPTCP_EADDRINUSE;
    } else if (mptcp_demux_lookup(&st->demux, &l, remote) != NULL) {
        return MPTCP_EADDRINUSE;
    }
    now_us = enter(st, now_us);
    int rc = mptcp_conn_connect(st, &l, remote, use_mptcp && st->cfg.mptcp, now_us, out);
    leave(st);
    return rc;
}

int mptcp_connect(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                  uint64_t now_us, mptcp_conn **out)
{
    return mptcp_connect_ex(st, local, remote, true, now_us, out);
}

mptcp_ssize mptcp_send(mptcp_conn *c, const void *data, size_t len, uint64_t now_us)
{
    if (c == NULL || (data == NULL && len > 0))
        return MPTCP_EINVAL;
    if (mptcp_conn_gone(c))
        return MPTCP_ECLOSED;
    mptcp_stack *st = c->st;
    now_us = enter(st, now_us);
    mptcp_ssize n = mptcp_conn_send(c, data, len, now_us);
    leave(st);
    return n;
}

mptcp_ssize mptcp_recv(mptcp_conn *c, void *buf, size_t len, uint64_t now_us)
{
    if (c == NULL || (buf == NULL && len > 0))
        return MPTCP_EINVAL;
    if (c->flags & MPTCP_CF_HOST_CLOSED)
        return MPTCP_ECLOSED;
    if (len == 0)
        return 0;
    mptcp_stack *st = c->st;
    now_us = enter(st, now_us);
    mptcp_ssize n = mptcp_conn_recv(c, buf, len, now_us);
    leave(st);
    return n;
}

int mptcp_shutdown(mptcp_conn *c, uint64_t now_us)
{
    if (c == NULL)
        return MPTCP_EINVAL;
    if (mptcp_conn_gone(c))
        return MPTCP_ECLOSED;
    mptcp_stack *st = c->st;
    now_us = enter(st, now_us);
    int rc = mptcp_conn_shutdown(c, now_us);
    leave(st);
    return rc;
}

int mptcp_close(mptcp_conn *c, uint64_t now_us)
{
    if (c == NULL)
        return MPTCP_EINVAL;
    if (c->flags & MPTCP_CF_HOST_CLOSED)
        return MPTCP_ECLOSED;
    if (c->flags & MPTCP_CF_CLOSE_QUEUED) {
        /* MPTCP_EV_CLOSED is on its way: closing now only silences the rest. */
        c->flags |= MPTCP_CF_HOST_CLOSED;
        return 0;
    }
    mptcp_stack *st = c->st;
    now_us = enter(st, now_us);
    int rc = mptcp_conn_close(c, now_us);
    leave(st);
    return rc;
}

int mptcp_abort(mptcp_conn *c, uint64_t now_us)
{
    if (c == NULL)
        return MPTCP_EINVAL;
    if (c->flags & (MPTCP_CF_CLOSE_QUEUED | MPTCP_CF_HOST_CLOSED))
        return MPTCP_ECLOSED;
    mptcp_stack *st = c->st;
    now_us = enter(st, now_us);
    int rc = mptcp_conn_abort(c, now_us);
    leave(st);
    return rc;
}

void mptcp_conn_set_user(mptcp_conn *c, void *user)
{
    if (c)
        c->user = user;
}

void *mptcp_conn_get_user(const mptcp_conn *c)
{
    return c ? c->user : NULL;
}

int mptcp_conn_get_addrs(const mptcp_conn *c, mptcp_addr *local, mptcp_addr *remote)
{
    if (c == NULL)
        return MPTCP_EINVAL;
    if (local)
        *local = *mptcp_conn_local(c);
    if (remote)
        *remote = *mptcp_conn_remote(c);
    return 0;
}

void mptcp_stack_tcb_stats(const mptcp_tcb *c, mptcp_conn_stats *out)
{
    memset(out, 0, sizeof *out);
    out->state = (mptcp_tcp_state)c->state;
    out->snd_una = c->snd_una;
    out->snd_nxt = c->snd_nxt;
    out->snd_wnd = c->snd_wnd;
    out->rcv_nxt = c->rcv_nxt;
    out->rcv_wnd = mptcp_seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    out->mss = c->mss;
    out->snd_wscale = c->snd_wscale;
    out->rcv_wscale = c->rcv_wscale;
    out->sack_ok = (c->flags & MPTCP_TF_SACK) != 0;
    out->ts_ok = (c->flags & MPTCP_TF_TS) != 0;
    out->wscale_ok = (c->flags & MPTCP_TF_WSCALE) != 0;
    out->srtt_us = c->srtt_us;
    out->rttvar_us = c->rttvar_us;
    out->rto_us = c->rto_us;
    out->cwnd = c->cc.cwnd;
    out->ssthresh = c->cc.ssthresh;
    out->bytes_sent = c->ctr.bytes_sent;
    out->bytes_acked = c->ctr.bytes_acked;
    out->bytes_received = c->ctr.bytes_received;
    out->segs_out = c->ctr.segs_out;
    out->segs_in = c->ctr.segs_in;
    out->retrans_segs = c->ctr.retrans_segs;
    out->fast_retrans = c->ctr.fast_retrans;
    out->rto_expiries = c->ctr.rto_expiries;
    out->dup_acks_in = c->ctr.dup_acks_in;
    out->sack_blocks_in = c->ctr.sack_blocks_in;
    out->ooo_segs_in = c->ctr.ooo_segs_in;
    out->zero_window_probes = c->ctr.zero_window_probes;
    if (c->rack) {
        out->tlp_probes = c->rack->tlp_probes;
        out->lost_rexmits = c->rack->lost_rexmits;
    }
}

void mptcp_stack_get_stats(const mptcp_stack *st, mptcp_stack_stats *out)
{
    if (st && out)
        *out = st->stats;
}

static mptcp_tcb *find(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote)
{
    if (!addr_ok(local) || !addr_ok(remote))
        return NULL;
    return mptcp_demux_lookup(&st->demux, local, remote);
}

int mptcp_icmp_unreach(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                       uint64_t now_us)
{
    if (st == NULL)
        return MPTCP_EINVAL;
    if (st->depth > 0)
        return MPTCP_EBUSY;
    mptcp_tcb *c = find(st, local, remote);
    if (c == NULL)
        return MPTCP_ENOTFOUND;
    enter(st, now_us);
    /* RFC 1122 section 4.2.3.9: a soft error for a synchronized connection
     * (the retransmission timer decides); an attempt in SYN_SENT fails. */
    if (c->state == MPTCP_TCP_SYN_SENT)
        mptcp_tcp_terminate(c, MPTCP_CLOSE_UNREACHABLE);
    mptcp_tcp_touch(c);
    leave(st);
    return 0;
}

int mptcp_icmp_mtu(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                   uint32_t mtu, uint64_t now_us)
{
    if (st == NULL)
        return MPTCP_EINVAL;
    if (st->depth > 0)
        return MPTCP_EBUSY;
    mptcp_tcb *c = find(st, local, remote);
    if (c == NULL)
        return MPTCP_ENOTFOUND;
    (void)now_us;
    /* RFC 1191 section 3 / RFC 8201 section 4: ignore values below the
     * minimum link MTU (68 for IPv4, 1280 for IPv6); MSS = MTU - IP - TCP. */
    uint32_t ip = c->local.family == MPTCP_AF_INET ? 20 : 40;
    uint32_t floor = c->local.family == MPTCP_AF_INET ? 68 : 1280;
    if (mtu < floor || mtu - ip - MPTCP_TCP_HDR_LEN < 64)
        return 0;
    uint32_t mss = mtu - ip - MPTCP_TCP_HDR_LEN;
    if (mss < c->mss) {
        c->mss = (uint16_t)mss;
        uint32_t opt = (c->flags & MPTCP_TF_TS) ? 12 : 0;
        c->cc.mss = mss - opt;
    }
    return 0;
}

uint64_t mptcp_stack_enter(mptcp_stack *st, uint64_t now_us)
{
    return enter(st, now_us);
}

void mptcp_stack_leave(mptcp_stack *st)
{
    leave(st);
}
