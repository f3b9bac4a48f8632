/*
 * multipath.c - the public calls of mptcp.h section 5: local endpoints and
 * limits (the stack's path-manager configuration, RFC 8684 section 3.4),
 * host-driven subflows (MP_JOIN, 3.2), backup priority (MP_PRIO, 3.3.8),
 * announcements (ADD_ADDR / REMOVE_ADDR, 3.4.1-2) and statistics. The
 * protocol work is conn.c's and subflow.c's.
 */
#include "conn.h"
#include "stack.h"

int mptcp_local_addr_add(mptcp_stack *st, const mptcp_addr *addr, unsigned flags)
{
    if (st == NULL || addr == NULL || (flags & ~0x0fu))
        return MPTCP_EINVAL;
    int id = mptcp_pm_endpoint_add(&st->pm, addr, 0, (uint8_t)flags);
    if (id < 0)
        return id;
    for (mptcp_conn *c = st->all; c; c = c->all_next)
        if (c->flags & MPTCP_CF_MP)
            mptcp_conn_dirty(c);
    return id;
}

int mptcp_local_addr_remove(mptcp_stack *st, uint8_t id, uint64_t now_us)
{
    if (st == NULL)
        return MPTCP_EINVAL;
    if (st->depth > 0)
        return MPTCP_EBUSY;
    int rc = mptcp_pm_endpoint_del(&st->pm, id);
    if (rc < 0)
        return rc;
    now_us = mptcp_stack_enter(st, now_us);
    for (mptcp_conn *c = st->all; c; c = c->all_next) {
        if (!(c->flags & MPTCP_CF_MP))
            continue;
        mptcp_pm_local_removed(&c->mp->pm, id);
        mptcp_conn_dirty(c);
    }
    mptcp_stack_leave(st);
    return 0;
}

int mptcp_limits_set(mptcp_stack *st, uint8_t subflows, uint8_t add_addr_accepted)
{
    if (st == NULL)
        return MPTCP_EINVAL;
    return mptcp_pm_limits_set(&st->pm, subflows, add_addr_accepted);
}

static bool mp_ready(const mptcp_conn *c)
{
    return (c->flags & MPTCP_CF_MP) && !(c->flags & MPTCP_CF_FALLBACK) &&
           (c->flags & MPTCP_CF_FULLY_EST) && !mptcp_conn_gone(c) && !(c->flags & MPTCP_CF_DONE);
}

int mptcp_subflow_open(mptcp_conn *c, const mptcp_addr *local, const mptcp_addr *remote,
                       bool backup, uint64_t now_us)
{
    if (c == NULL || local == NULL || remote == NULL)
        return MPTCP_EINVAL;
    /* Connected is enough: the client knows both keys once the SYN/ACK
     * came, and the server has them before it could see this join. */
    if (!(c->flags & MPTCP_CF_MP) || (c->flags & (MPTCP_CF_FALLBACK | MPTCP_CF_DONE)) ||
        !(c->flags & MPTCP_CF_CONNECTED) || mptcp_conn_gone(c))
        return MPTCP_ESTATE;
    if (local->family != remote->family ||
        (local->family != MPTCP_AF_INET && local->family != MPTCP_AF_INET6))
        return MPTCP_EINVAL;
    mptcp_stack *st = c->st;
    now_us = mptcp_stack_enter(st, now_us);
    uint8_t rid = 0;
    for (size_t i = 0; i < MPTCP_MAX_ADDRS; i++)
        if (c->mp->pm.remote[i].used && memcmp(c->mp->pm.remote[i].addr.ip, remote->ip, 16) == 0)
            rid = c->mp->pm.remote[i].id;
    int rc = mptcp_conn_open_subflow(c, local, remote, mptcp_subflow_local_id_alloc(c, local),
                                     rid, backup, now_us);
    mptcp_stack_leave(st);
    return rc;
}

int mptcp_subflow_close(mptcp_conn *c, int id, uint64_t now_us)
{
    if (c == NULL)
        return MPTCP_EINVAL;
    if (!(c->flags & MPTCP_CF_MP) || mptcp_conn_gone(c))
        return MPTCP_ESTATE;
    mptcp_subflow *sf = mptcp_conn_sf_by_id(c, id);
    if (sf == NULL || sf->dead)
        return MPTCP_ENOTFOUND;
    size_t live = 0;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
        live += c->mp->sf[i].role != MPTCP_SF_FREE && !c->mp->sf[i].dead && !c->mp->sf[i].closing;
    if (live <= 1)
        return MPTCP_ESTATE;
    mptcp_stack *st = c->st;
    now_us = mptcp_stack_enter(st, now_us);
    sf->closing = true;
    mptcp_conn_sf_close(sf, now_us);
    mptcp_conn_dirty(c);
    mptcp_stack_leave(st);
    return 0;
}

int mptcp_subflow_set_backup(mptcp_conn *c, int id, bool backup, uint64_t now_us)
{
    if (c == NULL)
        return MPTCP_EINVAL;
    if (!mp_ready(c))
        return MPTCP_ESTATE;
    mptcp_subflow *sf = mptcp_conn_sf_by_id(c, id);
    if (sf == NULL || sf->dead || sf->t == NULL)
        return MPTCP_ENOTFOUND;
    mptcp_stack *st = c->st;
    now_us = mptcp_stack_enter(st, now_us);
    sf->backup = backup;
    sf->prio_pending = true;
    if (sf->t->state >= MPTCP_TCP_ESTABLISHED) {
        mptcp_tcp_send_ack(sf->t, now_us);
        mptcp_tcp_touch(sf->t);
    }
    mptcp_conn_dirty(c);
    mptcp_stack_leave(st);
    return 0;
}

int mptcp_announce(mptcp_conn *c, const mptcp_addr *addr, uint64_t now_us)
{
    if (c == NULL || addr == NULL)
        return MPTCP_EINVAL;
    if (!mp_ready(c))
        return MPTCP_ESTATE;
    mptcp_stack *st = c->st;
    uint8_t id = mptcp_subflow_local_id(c, addr);
    if (id == 0) {
        /* Not an endpoint yet: register it without flags (ID only). */
        int rc = mptcp_pm_endpoint_add(&st->pm, addr, 0, 0);
        if (rc < 0)
            return rc;
        id = (uint8_t)rc;
    }
    mptcp_pm_ann *slot = NULL;
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
        if (c->mp->pm.ann[i].state != MPTCP_PM_ANN_FREE && c->mp->pm.ann[i].id == id) {
            slot = &c->mp->pm.ann[i];
            break;
        }
        if (slot == NULL && c->mp->pm.ann[i].state == MPTCP_PM_ANN_FREE)
            slot = &c->mp->pm.ann[i];
    }
    if (slot == NULL)
        return MPTCP_ELIMIT;
    now_us = mptcp_stack_enter(st, now_us);
    memset(slot, 0, sizeof *slot);
    slot->state = MPTCP_PM_ANN_PENDING;
    slot->id = id;
    slot->addr = *addr;
    slot->deadline = UINT64_MAX;
    c->mp->pm.local_ids[id / 8] |= (uint8_t)(1u << (id % 8));
    mptcp_conn_dirty(c);
    mptcp_stack_leave(st);
    return id;
}

int mptcp_addr_remove(mptcp_conn *c, uint8_t id, uint64_t now_us)
{
    if (c == NULL)
        return MPTCP_EINVAL;
    if (!mp_ready(c))
        return MPTCP_ESTATE;
    if (!mptcp_pm_local_id_used(&c->mp->pm, id)) {
        bool found = false;
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
            found |= c->mp->sf[i].role != MPTCP_SF_FREE && c->mp->sf[i].local_id == id;
        if (!found)
            return MPTCP_ENOTFOUND;
    }
    mptcp_stack *st = c->st;
    now_us = mptcp_stack_enter(st, now_us);
    mptcp_pm_local_removed(&c->mp->pm, id);
    mptcp_conn_dirty(c);
    mptcp_stack_leave(st);
    return 0;
}

int mptcp_conn_get_mp_stats(const mptcp_conn *c, mptcp_mp_stats *out)
{
    if (c == NULL || out == NULL)
        return MPTCP_EINVAL;
    if (c->mp == NULL) {
        /* Plain TCP from the start: no data level, one path. */
        memset(out, 0, sizeof *out);
        out->n_subflows = 1;
        return 0;
    }
    *out = c->mp->mst;
    out->snd_una = c->mp->snd_una;
    out->snd_nxt = c->mp->snd_nxt;
    out->rcv_nxt = c->mp->rcv_nxt;
    out->snd_wnd = mptcp_dsn_gt(c->mp->snd_edge, c->mp->snd_una) ? (uint32_t)MPTCP_MIN(
                                                              c->mp->snd_edge - c->mp->snd_una,
                                                              (uint64_t)UINT32_MAX)
                                                        : 0;
    out->checksum = (c->flags & MPTCP_CF_CSUM) != 0;
    out->fully_established = (c->flags & MPTCP_CF_FULLY_EST) != 0;
    uint8_t n = 0;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
        n += c->mp->sf[i].role != MPTCP_SF_FREE;
    out->n_subflows = (c->flags & MPTCP_CF_MP) ? n : 1;
    return 0;
}

int mptcp_conn_subflows(const mptcp_conn *c, int *ids, int max)
{
    if (c == NULL || (ids == NULL && max > 0))
        return MPTCP_EINVAL;
    if (!(c->flags & MPTCP_CF_MP)) {
        if (max > 0)
            ids[0] = 0;
        return 1;
    }
    int n = 0;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        if (c->mp->sf[i].role == MPTCP_SF_FREE)
            continue;
        if (n < max)
            ids[n] = c->mp->sf[i].id;
        n++;
    }
    return n;
}

int mptcp_subflow_get_stats(const mptcp_conn *c, int id, mptcp_subflow_stats *out)
{
    if (c == NULL || out == NULL)
        return MPTCP_EINVAL;
    memset(out, 0, sizeof *out);
    const mptcp_tcb *t = NULL;
    if (!(c->flags & MPTCP_CF_MP)) {
        if (id != 0 || c->tcb == NULL)
            return MPTCP_ENOTFOUND;
        t = c->tcb;
        out->usable = true;
    } else {
        const mptcp_subflow *sf = mptcp_conn_sf_by_id((mptcp_conn *)(uintptr_t)c, id);
        if (sf == NULL || sf->t == NULL)
            return MPTCP_ENOTFOUND;
        t = sf->t;
        out->local_id = sf->local_id;
        out->remote_id = sf->remote_id;
        out->backup = sf->backup;
        out->peer_backup = sf->peer_backup;
        out->join = sf->role != MPTCP_SF_MPC;
        out->usable = sf->usable && !sf->closing && !sf->dead;
        out->rx_direct_bytes = sf->rx_direct_bytes;
    }
    out->id = id;
    out->local = t->local;
    out->remote = t->remote;
    mptcp_stack_tcb_stats(t, &out->tcp);
    return 0;
}

int mptcp_conn_get_stats(const mptcp_conn *c, mptcp_conn_stats *out)
{
    if (c == NULL || out == NULL)
        return MPTCP_EINVAL;
    const mptcp_tcb *t = c->tcb;
    if (c->flags & MPTCP_CF_MP) {
        t = NULL;
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS && t == NULL; i++)
            if (c->mp->sf[i].role != MPTCP_SF_FREE && c->mp->sf[i].t)
                t = c->mp->sf[i].t;
    }
    if (t == NULL) {
        memset(out, 0, sizeof *out);
        out->state = MPTCP_TCP_CLOSED;
        return 0;
    }
    mptcp_stack_tcb_stats(t, out);
    return 0;
}
