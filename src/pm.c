/*
 * pm.c - path manager: endpoint table and limits (Linux `ip mptcp endpoint`
 * and `ip mptcp limits` semantics), per-connection address IDs, ADD_ADDR
 * announcement with retransmission until echoed, REMOVE_ADDR, MP_PRIO, and
 * the "what to do now" decision. It builds no options and owns no subflow:
 * the connection turns the actions into segments and subflows.
 * RFC 8684 section 3.4 (address management), 3.3.8 (MP_PRIO), 3.1 (C flag).
 */
#include "pm.h"

/* ------------------------------------------------------------------ */
/* Small helpers. */

static bool bit_get(const uint8_t *bm, uint8_t i)
{
    return (bm[i >> 3] >> (i & 7)) & 1u;
}

static void bit_set(uint8_t *bm, uint8_t i, bool v)
{
    if (v)
        bm[i >> 3] = (uint8_t)(bm[i >> 3] | (1u << (i & 7)));
    else
        bm[i >> 3] = (uint8_t)(bm[i >> 3] & ~(1u << (i & 7)));
}

static size_t ip_len(const mptcp_addr *a)
{
    return a->family == MPTCP_AF_INET ? 4 : 16;
}

static bool ip_eq(const mptcp_addr *a, const mptcp_addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, ip_len(a)) == 0;
}

static bool addr_eq(const mptcp_addr *a, const mptcp_addr *b)
{
    return ip_eq(a, b) && a->port == b->port;
}

static bool family_ok(uint8_t f)
{
    return f == MPTCP_AF_INET || f == MPTCP_AF_INET6;
}

/* ------------------------------------------------------------------ */
/* Stack-level configuration. */

void mptcp_pm_config_init(mptcp_pm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->next_id = 1;
    /* Linux's defaults: 2 extra subflows, no peer ADD_ADDR acted on. */
    cfg->subflows_max = 2;
    cfg->add_addr_accept_max = 0;
    cfg->add_addr_retries = 3;             /* Linux ADD_ADDR_RETRANS_MAX */
    cfg->add_addr_timeout_us = 120000000u; /* net.mptcp.add_addr_timeout */
    cfg->subflow_retries = 2;
    cfg->subflow_retry_us = 1000000u;
}

int mptcp_pm_limits_set(mptcp_pm_config *cfg, uint8_t subflows, uint8_t add_addr_accepted)
{
    if (subflows > MPTCP_PM_LIMIT_MAX || add_addr_accepted > MPTCP_PM_LIMIT_MAX ||
        subflows > MPTCP_MAX_SUBFLOWS - 1)
        return MPTCP_EINVAL;
    cfg->subflows_max = subflows;
    cfg->add_addr_accept_max = add_addr_accepted;
    return 0;
}

static mptcp_pm_endpoint *ep_find(mptcp_pm_config *cfg, uint8_t id)
{
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        if (id != 0 && cfg->ep[i].id == id)
            return &cfg->ep[i];
    return NULL;
}

const mptcp_pm_endpoint *mptcp_pm_endpoint_get(const mptcp_pm_config *cfg, uint8_t id)
{
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        if (id != 0 && cfg->ep[i].id == id)
            return &cfg->ep[i];
    return NULL;
}

int mptcp_pm_endpoint_add(mptcp_pm_config *cfg, const mptcp_addr *addr, uint8_t id,
                          uint8_t flags)
{
    if (!cfg || !addr || !family_ok(addr->family) || (flags & ~MPTCP_PM_F_ALL))
        return MPTCP_EINVAL;
    /* Linux refuses fullmesh on a signal endpoint: fullmesh is about the
     * subflows we open, signal about what the peer opens. */
    if ((flags & MPTCP_PM_F_FULLMESH) && (flags & MPTCP_PM_F_SIGNAL))
        return MPTCP_EINVAL;
    mptcp_pm_endpoint *slot = NULL;
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
        mptcp_pm_endpoint *e = &cfg->ep[i];
        if (e->id == 0) {
            if (!slot)
                slot = e;
            continue;
        }
        if ((id != 0 && e->id == id) || addr_eq(&e->addr, addr))
            return MPTCP_EADDRINUSE;
    }
    if (!slot)
        return MPTCP_ELIMIT;
    if (id == 0) {
        /* First free ID from the cursor on, wrapping 255 -> 1: an ID just
         * deleted is not reused at once, so a peer that still holds
         * state for it (a late ADD_ADDR echo, a join) is not confused. */
        uint8_t cand = cfg->next_id ? cfg->next_id : 1;
        for (int n = 0; n < 255; n++) {
            if (!ep_find(cfg, cand)) {
                id = cand;
                break;
            }
            cand = cand == 255 ? 1 : (uint8_t)(cand + 1);
        }
        if (id == 0)
            return MPTCP_ELIMIT; /* unreachable with fewer than 255 slots */
        cfg->next_id = id == 255 ? 1 : (uint8_t)(id + 1);
    }
    slot->id = id;
    slot->flags = flags;
    slot->addr = *addr;
    return id;
}

int mptcp_pm_endpoint_del(mptcp_pm_config *cfg, uint8_t id)
{
    mptcp_pm_endpoint *e = ep_find(cfg, id);
    if (!e)
        return MPTCP_ENOTFOUND;
    memset(e, 0, sizeof(*e));
    return 0;
}

int mptcp_pm_endpoint_change(mptcp_pm_config *cfg, uint8_t id, uint8_t flags)
{
    const uint8_t changeable = MPTCP_PM_F_BACKUP | MPTCP_PM_F_FULLMESH;
    mptcp_pm_endpoint *e = ep_find(cfg, id);
    if (!e)
        return MPTCP_ENOTFOUND;
    if ((flags & ~changeable) ||
        ((flags & MPTCP_PM_F_FULLMESH) && (e->flags & MPTCP_PM_F_SIGNAL)))
        return MPTCP_EINVAL;
    e->flags = (uint8_t)((e->flags & ~changeable) | flags);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Per-connection state. */

void mptcp_pm_init(mptcp_pm *pm, const mptcp_pm_config *cfg, const mptcp_addr *local,
                   const mptcp_addr *remote)
{
    memset(pm, 0, sizeof(*pm));
    pm->cfg = cfg;
    pm->local0 = *local;
    pm->remote0 = *remote;
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        pm->ann[i].deadline = UINT64_MAX;
    bit_set(pm->local_ids, 0, true); /* ID 0 is the initial subflow's address */
}

void mptcp_pm_set_established(mptcp_pm *pm, bool deny_join_id0)
{
    pm->established = true;
    pm->deny_join_id0 = deny_join_id0;
}

void mptcp_pm_set_rto(mptcp_pm *pm, uint32_t rto_us)
{
    pm->rto_hint_us = rto_us;
}

bool mptcp_pm_local_id_used(const mptcp_pm *pm, uint8_t id)
{
    return bit_get(pm->local_ids, id);
}

const mptcp_addr *mptcp_pm_remote_get(const mptcp_pm *pm, uint8_t id)
{
    if (id == 0)
        return &pm->remote0;
    for (size_t i = 0; i < MPTCP_MAX_ADDRS; i++)
        if (pm->remote[i].used && pm->remote[i].id == id)
            return &pm->remote[i].addr;
    return NULL;
}

static mptcp_pm_ann *ann_find(mptcp_pm *pm, uint8_t id)
{
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        if (pm->ann[i].state != MPTCP_PM_ANN_FREE && pm->ann[i].id == id)
            return &pm->ann[i];
    return NULL;
}

const mptcp_pm_ann *mptcp_pm_ann_get(const mptcp_pm *pm, uint8_t id)
{
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        if (pm->ann[i].state != MPTCP_PM_ANN_FREE && pm->ann[i].id == id)
            return &pm->ann[i];
    return NULL;
}

static mptcp_pm_path *path_find(mptcp_pm *pm, uint8_t local_id, uint8_t remote_id)
{
    for (size_t i = 0; i < MPTCP_PM_MAX_PATHS; i++) {
        mptcp_pm_path *p = &pm->path[i];
        if (p->state != MPTCP_PM_PATH_FREE && p->local_id == local_id &&
            p->remote_id == remote_id)
            return p;
    }
    return NULL;
}

static void paths_drop(mptcp_pm *pm, bool by_local, uint8_t id)
{
    for (size_t i = 0; i < MPTCP_PM_MAX_PATHS; i++) {
        mptcp_pm_path *p = &pm->path[i];
        if (p->state != MPTCP_PM_PATH_FREE && (by_local ? p->local_id : p->remote_id) == id)
            memset(p, 0, sizeof(*p));
    }
}

/* ------------------------------------------------------------------ */
/* Received options. */

static void echo_queue(mptcp_pm *pm, const mptcp_opt_add_addr *opt)
{
    for (size_t i = 0; i < pm->n_echo; i++)
        if (pm->echo[i].id == opt->addr_id && addr_eq(&pm->echo[i].addr, &opt->addr))
            return; /* one echo answers any number of copies */
    if (pm->n_echo >= MPTCP_PM_MAX_ECHO) {
        /* The peer retransmits and we echo that copy. */
        pm->stats.echo_dropped++;
        return;
    }
    pm->echo[pm->n_echo].id = opt->addr_id;
    pm->echo[pm->n_echo].addr = opt->addr;
    pm->n_echo++;
}

/* The peer set the MP_CAPABLE C flag (RFC 8684 section 3.1): it takes
 * joins only at the addresses it announces, so with the default limit of no
 * accepted ADD_ADDR nothing could ever be joined. Linux then accepts the
 * first ADD_ADDR anyway and joins it from its "subflow" endpoints
 * (mptcp_pm_add_addr_c_flag_case); we do the same (poll_open, step 1). */
static bool c_flag_case(const mptcp_pm *pm)
{
    return pm->deny_join_id0 && pm->cfg->add_addr_accept_max == 0 &&
           pm->add_addr_accepted == 0 && pm->cfg->subflows_max > 0;
}

mptcp_pm_rx mptcp_pm_add_addr_received(mptcp_pm *pm, const mptcp_opt_add_addr *opt)
{
    if (opt->echo) {
        /* RFC 8684 section 3.4.1: the echo makes the announcement reliable;
         * it must name the ID and address we sent. */
        mptcp_pm_ann *a = ann_find(pm, opt->addr_id);
        if (a && addr_eq(&a->addr, &opt->addr) &&
            (a->state == MPTCP_PM_ANN_SENT || a->state == MPTCP_PM_ANN_PENDING ||
             a->state == MPTCP_PM_ANN_GAVE_UP || a->state == MPTCP_PM_ANN_ECHOED)) {
            if (a->state == MPTCP_PM_ANN_PENDING && a->tx_count == 0) {
                pm->stats.echo_unknown++; /* never sent: cannot be an echo of ours */
                return MPTCP_PM_RX_ECHO_UNKNOWN;
            }
            a->state = MPTCP_PM_ANN_ECHOED;
            a->deadline = UINT64_MAX;
            return MPTCP_PM_RX_ECHO_MATCHED;
        }
        pm->stats.echo_unknown++;
        return MPTCP_PM_RX_ECHO_UNKNOWN;
    }
    pm->stats.add_addr_rx++;
    /* Every authenticated ADD_ADDR is echoed, used or not: the echo says
     * "received" (section 3.4.1) and stops the peer's retransmissions. */
    echo_queue(pm, opt);
    if (opt->addr_id == 0) {
        /* ID 0 is the peer's initial address: only that address may carry
         * it (it may come back after a REMOVE_ADDR of ID 0). */
        if (!ip_eq(&opt->addr, &pm->remote0)) {
            pm->stats.add_addr_conflict++;
            return MPTCP_PM_RX_IGNORED;
        }
        pm->stats.add_addr_dup++;
        return MPTCP_PM_RX_DUP;
    }
    mptcp_pm_remote *free_slot = NULL;
    for (size_t i = 0; i < MPTCP_MAX_ADDRS; i++) {
        mptcp_pm_remote *r = &pm->remote[i];
        if (!r->used) {
            if (!free_slot)
                free_slot = r;
            continue;
        }
        if (r->id != opt->addr_id)
            continue;
        if (addr_eq(&r->addr, &opt->addr)) {
            pm->stats.add_addr_dup++;
            return MPTCP_PM_RX_DUP;
        }
        /* Section 3.4.1: an ID names one address; replacing it requires a
         * REMOVE_ADDR first. Keep the first binding. */
        pm->stats.add_addr_conflict++;
        return MPTCP_PM_RX_IGNORED;
    }
    if (pm->add_addr_accepted >= pm->cfg->add_addr_accept_max && !c_flag_case(pm)) {
        pm->stats.add_addr_ignored++;
        return MPTCP_PM_RX_IGNORED;
    }
    if (!free_slot) {
        pm->stats.add_addr_no_room++;
        return MPTCP_PM_RX_IGNORED;
    }
    free_slot->used = true;
    free_slot->id = opt->addr_id;
    free_slot->addr = opt->addr;
    pm->add_addr_accepted++;
    return MPTCP_PM_RX_NEW;
}

int mptcp_pm_rm_addr_received(mptcp_pm *pm, const mptcp_opt_rm_addr *rm)
{
    int known = 0;
    size_t count = MPTCP_MIN((size_t)rm->count, (size_t)MPTCP_RM_ADDR_MAX);
    for (size_t k = 0; k < count; k++) {
        uint8_t id = rm->ids[k];
        pm->stats.rm_addr_rx++;
        /* Section 3.4.2: every subflow using the removed address is closed,
         * whether we learnt the ID from ADD_ADDR or from the peer's MP_JOIN. */
        bit_set(pm->close_remote, id, true);
        paths_drop(pm, false, id);
        if (id == 0) {
            known++;
            continue;
        }
        for (size_t i = 0; i < MPTCP_MAX_ADDRS; i++) {
            mptcp_pm_remote *r = &pm->remote[i];
            if (r->used && r->id == id) {
                memset(r, 0, sizeof(*r));
                /* Linux frees the accept slot, so a new address may be used. */
                if (pm->add_addr_accepted > 0)
                    pm->add_addr_accepted--;
                known++;
            }
        }
    }
    return known;
}

void mptcp_pm_subflow_failed(mptcp_pm *pm, uint8_t local_id, uint8_t remote_id,
                             uint64_t now_us)
{
    pm->stats.subflow_failed++;
    mptcp_pm_path *p = path_find(pm, local_id, remote_id);
    if (!p)
        return; /* not one the PM opened (an incoming join): nothing to retry */
    if (p->fails >= pm->cfg->subflow_retries) {
        p->state = MPTCP_PM_PATH_GAVE_UP;
        p->retry_at = UINT64_MAX;
        pm->stats.subflow_gave_up++;
        return;
    }
    uint32_t shift = MPTCP_MIN((uint32_t)p->fails, 16u);
    p->fails++;
    p->state = MPTCP_PM_PATH_RETRY_WAIT;
    p->retry_at = now_us + ((uint64_t)pm->cfg->subflow_retry_us << shift);
}

void mptcp_pm_local_removed(mptcp_pm *pm, uint8_t id)
{
    mptcp_pm_ann *a = ann_find(pm, id);
    bool used = bit_get(pm->local_ids, id) || a != NULL;
    if (a) {
        memset(a, 0, sizeof(*a));
        a->deadline = UINT64_MAX;
    }
    paths_drop(pm, true, id);
    bit_set(pm->close_local, id, true);
    if (id != 0)
        bit_set(pm->local_ids, id, false); /* free for reuse on this connection */
    /* Section 3.4.2: a withdrawn address is not used again on this
     * connection. When the endpoint still exists (a per-connection removal,
     * or ID 0) the PM would otherwise reopen a subflow from it or announce it
     * again at the next poll; when it was deleted stack-wide there is nothing
     * to block, and an endpoint added later with this ID is a new address. */
    bit_set(pm->removed, id, id == 0 || mptcp_pm_endpoint_get(pm->cfg, id) != NULL);
    if (!used)
        return;
    /* Section 3.4.2: tell the peer, so it stops using the address. */
    for (size_t i = 0; i < pm->n_rm; i++)
        if (pm->rm_ids[i] == id)
            return;
    if (pm->n_rm < MPTCP_RM_ADDR_MAX)
        pm->rm_ids[pm->n_rm++] = id;
}

void mptcp_pm_local_restore(mptcp_pm *pm, uint8_t id)
{
    bit_set(pm->removed, id, false);
}

bool mptcp_pm_local_is_removed(const mptcp_pm *pm, uint8_t id)
{
    return bit_get(pm->removed, id);
}

void mptcp_pm_local_set_backup(mptcp_pm *pm, uint8_t id, bool backup)
{
    bit_set(pm->prio_set, id, true);
    bit_set(pm->prio_val, id, backup);
}

/* ------------------------------------------------------------------ */
/* Counting and the decision. */

static bool sf_has_pair(const mptcp_pm_subflow *sf, size_t n, uint8_t l, uint8_t r)
{
    for (size_t i = 0; i < n; i++)
        if (sf[i].local_id == l && sf[i].remote_id == r)
            return true;
    return false;
}

/* Additional subflows: listed non-initial ones plus attempts handed out but
 * not listed yet. */
static size_t extra_subflows(const mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (!sf[i].initial)
            c++;
    for (size_t i = 0; i < MPTCP_PM_MAX_PATHS; i++) {
        const mptcp_pm_path *p = &pm->path[i];
        if (p->state == MPTCP_PM_PATH_OPENING && !sf_has_pair(sf, n, p->local_id, p->remote_id))
            c++;
    }
    return c;
}

static size_t count_extra_listed(const mptcp_pm_subflow *sf, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (!sf[i].initial)
            c++;
    return c;
}

bool mptcp_pm_join_allowed(const mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n_sf)
{
    return pm->established && extra_subflows(pm, sf, n_sf) < pm->cfg->subflows_max &&
           n_sf < MPTCP_MAX_SUBFLOWS;
}

typedef struct out_buf {
    mptcp_pm_action *a;
    size_t n, cap;
} out_buf;

static mptcp_pm_action *out_next(out_buf *o)
{
    if (o->n >= o->cap)
        return NULL;
    mptcp_pm_action *a = &o->a[o->n++];
    memset(a, 0, sizeof(*a));
    return a;
}

static void poll_closes(mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n, out_buf *o)
{
    bool all_done = true;
    for (size_t i = 0; i < n; i++) {
        if (!bit_get(pm->close_remote, sf[i].remote_id) &&
            !bit_get(pm->close_local, sf[i].local_id))
            continue;
        if (sf[i].state == MPTCP_PM_SF_CLOSING)
            continue;
        mptcp_pm_action *a = out_next(o);
        if (!a) {
            all_done = false;
            break;
        }
        a->type = MPTCP_PM_ACT_CLOSE_SUBFLOW;
        a->subflow_id = sf[i].id;
        a->local_id = sf[i].local_id;
        a->remote_id = sf[i].remote_id;
    }
    if (all_done) {
        memset(pm->close_remote, 0, sizeof(pm->close_remote));
        memset(pm->close_local, 0, sizeof(pm->close_local));
    }
}

static void poll_rm(mptcp_pm *pm, out_buf *o)
{
    if (pm->n_rm == 0)
        return;
    mptcp_pm_action *a = out_next(o);
    if (!a)
        return;
    a->type = MPTCP_PM_ACT_SEND_RM_ADDR;
    a->rm.count = pm->n_rm;
    memcpy(a->rm.ids, pm->rm_ids, pm->n_rm);
    pm->n_rm = 0;
}

static void poll_prio(mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n, out_buf *o)
{
    /* Called on every connection step: usually nothing is pending. */
    uint8_t any = 0;
    for (size_t i = 0; i < sizeof(pm->prio_set); i++)
        any |= pm->prio_set[i];
    for (unsigned id = 0; any && id < 256; id++) {
        if ((id & 7) == 0 && pm->prio_set[id >> 3] == 0) {
            id += 7;
            continue;
        }
        if (!bit_get(pm->prio_set, (uint8_t)id))
            continue;
        bool want = bit_get(pm->prio_val, (uint8_t)id);
        /* Section 3.3.8: MP_PRIO goes on the subflow whose priority
         * changes; subflows already at the wanted value need nothing. */
        size_t need = 0;
        for (size_t i = 0; i < n; i++)
            if (sf[i].local_id == id && sf[i].state == MPTCP_PM_SF_ESTABLISHED &&
                sf[i].backup != want)
                need++;
        if (o->cap - o->n < need)
            return; /* all of one ID's subflows together, next poll otherwise */
        for (size_t i = 0; i < n; i++) {
            if (sf[i].local_id != id || sf[i].state != MPTCP_PM_SF_ESTABLISHED ||
                sf[i].backup == want)
                continue;
            mptcp_pm_action *a = out_next(o);
            a->type = MPTCP_PM_ACT_SEND_PRIO;
            a->subflow_id = sf[i].id;
            a->local_id = sf[i].local_id;
            a->backup = want;
        }
        bit_set(pm->prio_set, (uint8_t)id, false);
    }
}

static void poll_echo(mptcp_pm *pm, out_buf *o)
{
    size_t done = 0;
    while (done < pm->n_echo) {
        mptcp_pm_action *a = out_next(o);
        if (!a)
            break;
        a->type = MPTCP_PM_ACT_SEND_ADD_ADDR;
        a->echo = true;
        a->addr_id = pm->echo[done].id;
        a->addr = pm->echo[done].addr;
        done++;
    }
    memmove(pm->echo, pm->echo + done, (pm->n_echo - done) * sizeof(pm->echo[0]));
    pm->n_echo = (uint8_t)(pm->n_echo - done);
}

/* The interval before the (tx_count+1)-th transmission of an ADD_ADDR: the
 * RTO hint (the largest subflow RTO), doubled per retransmission, never above
 * add_addr_timeout (Linux since the RTO-based timeout: the sysctl is a
 * maximum). No hint: the maximum itself. */
static uint64_t ann_interval(const mptcp_pm *pm, uint8_t tx_count)
{
    uint64_t max = pm->cfg->add_addr_timeout_us;
    uint64_t base = pm->rto_hint_us ? MPTCP_MIN((uint64_t)pm->rto_hint_us, max) : max;
    uint32_t shift = tx_count > 0 ? MPTCP_MIN((uint32_t)tx_count - 1u, 20u) : 0;
    return MPTCP_MIN(base << shift, max);
}

static void poll_announce(mptcp_pm *pm, out_buf *o, uint64_t now_us)
{
    /* New signal endpoints get an announcement slot. */
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
        const mptcp_pm_endpoint *e = &pm->cfg->ep[i];
        if (e->id == 0 || !(e->flags & MPTCP_PM_F_SIGNAL) || ann_find(pm, e->id) ||
            bit_get(pm->removed, e->id))
            continue; /* a withdrawn address is not announced again (3.4.2) */
        for (size_t k = 0; k < MPTCP_PM_MAX_ENDPOINTS; k++) {
            mptcp_pm_ann *a = &pm->ann[k];
            if (a->state != MPTCP_PM_ANN_FREE)
                continue;
            a->state = MPTCP_PM_ANN_PENDING;
            a->id = e->id;
            a->addr = e->addr;
            a->tx_count = 0;
            a->deadline = UINT64_MAX;
            break;
        }
    }
    for (size_t k = 0; k < MPTCP_PM_MAX_ENDPOINTS; k++) {
        mptcp_pm_ann *a = &pm->ann[k];
        if (a->state != MPTCP_PM_ANN_PENDING)
            continue;
        mptcp_pm_action *act = out_next(o);
        if (!act)
            return;
        act->type = MPTCP_PM_ACT_SEND_ADD_ADDR;
        act->addr_id = a->id;
        act->addr = a->addr;
        const mptcp_pm_endpoint *e = mptcp_pm_endpoint_get(pm->cfg, a->id);
        act->backup = e && (e->flags & MPTCP_PM_F_BACKUP);
        if (a->tx_count < 255)
            a->tx_count++;
        bit_set(pm->local_ids, a->id, true);
        a->state = MPTCP_PM_ANN_SENT;
        a->deadline = pm->cfg->add_addr_timeout_us == 0
                          ? UINT64_MAX
                          : now_us + ann_interval(pm, a->tx_count);
    }
}

/* Commits an OPEN_SUBFLOW for (local, remote) if allowed. Returns false when
 * the output or the limit is exhausted (stop looking). */
static bool try_open(mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n, out_buf *o,
                     uint8_t lid, const mptcp_addr *laddr, bool backup, uint8_t rid,
                     const mptcp_addr *raddr)
{
    if (laddr->family != raddr->family || bit_get(pm->removed, lid))
        return true; /* other family, or withdrawn on this connection (3.4.2) */
    if (rid == 0 && pm->deny_join_id0)
        return true; /* C flag: no subflow to the initial address (section 3.1) */
    if (sf_has_pair(sf, n, lid, rid))
        return true;
    mptcp_pm_path *p = path_find(pm, lid, rid);
    if (p && p->state != MPTCP_PM_PATH_RETRY)
        return true; /* in progress, opened once already, waiting, or given up */
    size_t extra = extra_subflows(pm, sf, n);
    size_t unlisted = extra - MPTCP_MIN(extra, count_extra_listed(sf, n));
    if (extra >= pm->cfg->subflows_max || n + unlisted >= MPTCP_MAX_SUBFLOWS)
        return false;
    if (!p) {
        for (size_t i = 0; i < MPTCP_PM_MAX_PATHS && !p; i++)
            if (pm->path[i].state == MPTCP_PM_PATH_FREE)
                p = &pm->path[i];
        if (!p)
            return false; /* table full: nothing more can be tracked */
        p->local_id = lid;
        p->remote_id = rid;
        p->fails = 0;
    }
    mptcp_pm_action *a = out_next(o);
    if (!a)
        return false;
    p->state = MPTCP_PM_PATH_OPENING;
    p->retry_at = UINT64_MAX;
    a->type = MPTCP_PM_ACT_OPEN_SUBFLOW;
    a->local_id = lid;
    a->local = *laddr;
    a->local.port = 0;
    a->remote_id = rid;
    a->addr = *raddr;
    if (a->addr.port == 0)
        a->addr.port = pm->remote0.port; /* no port in ADD_ADDR: the connection's */
    a->backup = backup;
    bit_set(pm->local_ids, lid, true);
    return true;
}

/* Fullmesh endpoints serve accepted ADD_ADDRs whether or not they also have
 * the SUBFLOW flag: Linux's in-kernel PM pairs every FULLMESH endpoint of the
 * announced address's family with it (fill_local_addresses_vec). */
static bool any_fullmesh(const mptcp_pm *pm, uint8_t family)
{
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
        const mptcp_pm_endpoint *e = &pm->cfg->ep[i];
        if (e->id && (e->flags & MPTCP_PM_F_FULLMESH) && e->addr.family == family)
            return true;
    }
    return false;
}

/* The first remote address learnt from ADD_ADDR, by table order. */
static const mptcp_pm_remote *first_remote(const mptcp_pm *pm, uint8_t family)
{
    for (size_t i = 0; i < MPTCP_MAX_ADDRS; i++)
        if (pm->remote[i].used && pm->remote[i].addr.family == family)
            return &pm->remote[i];
    return NULL;
}

static void poll_open(mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n, out_buf *o)
{
    /* 1. "subflow" endpoints, in table order (Linux walks its list). The
     * endpoint holding the initial subflow's address is that subflow (ID 0)
     * and opens nothing more here (Linux marks it used at establishment). */
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
        const mptcp_pm_endpoint *e = &pm->cfg->ep[i];
        if (e->id == 0 || !(e->flags & MPTCP_PM_F_SUBFLOW))
            continue;
        if (ip_eq(&e->addr, &pm->local0))
            continue;
        bool backup = (e->flags & MPTCP_PM_F_BACKUP) != 0;
        if (e->flags & MPTCP_PM_F_FULLMESH) {
            /* Subflow + fullmesh: one subflow to every known remote address. */
            if (!try_open(pm, sf, n, o, e->id, &e->addr, backup, 0, &pm->remote0))
                return;
            for (size_t r = 0; r < MPTCP_MAX_ADDRS; r++) {
                const mptcp_pm_remote *ra = &pm->remote[r];
                if (ra->used &&
                    !try_open(pm, sf, n, o, e->id, &e->addr, backup, ra->id, &ra->addr))
                    return;
            }
            continue;
        }
        /* Plain subflow endpoint: one subflow to the peer's initial address;
         * when the C flag forbids that, to the first address it announced. */
        if (!pm->deny_join_id0) {
            if (!try_open(pm, sf, n, o, e->id, &e->addr, backup, 0, &pm->remote0))
                return;
        } else {
            const mptcp_pm_remote *ra = first_remote(pm, e->addr.family);
            if (ra && !try_open(pm, sf, n, o, e->id, &e->addr, backup, ra->id, &ra->addr))
                return;
        }
    }
    /* 2. Accepted ADD_ADDRs (Linux's add_addr_received path): every fullmesh
     * endpoint of the family opens a subflow to it, SUBFLOW flag or not; the
     * one holding the initial address does so as local ID 0 (RFC 8684
     * section 3.4.1: ID 0 names the initial subflow's address). Without
     * any fullmesh endpoint, one subflow from the initial local address. */
    for (size_t r = 0; r < MPTCP_MAX_ADDRS; r++) {
        const mptcp_pm_remote *ra = &pm->remote[r];
        if (!ra->used)
            continue;
        if (!any_fullmesh(pm, ra->addr.family)) {
            /* (In the C-flag case only the subflow endpoints join it, as
             * Linux's fill_local_addresses_vec_c_flag.) */
            if (!(pm->deny_join_id0 && pm->cfg->add_addr_accept_max == 0) &&
                !try_open(pm, sf, n, o, 0, &pm->local0, false, ra->id, &ra->addr))
                return;
            continue;
        }
        for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
            const mptcp_pm_endpoint *e = &pm->cfg->ep[i];
            if (e->id == 0 || !(e->flags & MPTCP_PM_F_FULLMESH) ||
                e->addr.family != ra->addr.family)
                continue;
            bool id0 = ip_eq(&e->addr, &pm->local0);
            bool backup = (e->flags & MPTCP_PM_F_BACKUP) != 0;
            if (!try_open(pm, sf, n, o, id0 ? 0 : e->id, id0 ? &pm->local0 : &e->addr, backup,
                          ra->id, &ra->addr))
                return;
        }
    }
}

size_t mptcp_pm_poll(mptcp_pm *pm, const mptcp_pm_subflow *sf, size_t n_sf,
                     mptcp_pm_action *out, size_t cap, uint64_t now_us)
{
    out_buf o = {out, 0, cap};
    /* Subflows the PM opened that are now listed are no longer "opening";
     * they are never reopened by the PM if they later close (Linux). */
    for (size_t i = 0; i < MPTCP_PM_MAX_PATHS; i++) {
        mptcp_pm_path *p = &pm->path[i];
        if (p->state == MPTCP_PM_PATH_OPENING && sf_has_pair(sf, n_sf, p->local_id, p->remote_id))
            p->state = MPTCP_PM_PATH_OPEN;
    }
    /* The host announced a withdrawn address again (mptcp_announce fills an
     * announcement slot): it is re-added, usable again. */
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        if (pm->ann[i].state != MPTCP_PM_ANN_FREE)
            bit_set(pm->removed, pm->ann[i].id, false);
    poll_closes(pm, sf, n_sf, &o);
    poll_rm(pm, &o);
    poll_prio(pm, sf, n_sf, &o);
    poll_echo(pm, &o);
    if (!pm->established)
        return o.n;
    poll_announce(pm, &o, now_us);
    poll_open(pm, sf, n_sf, &o);
    return o.n;
}

/* ------------------------------------------------------------------ */
/* Timers. */

uint64_t mptcp_pm_next_deadline(const mptcp_pm *pm)
{
    uint64_t d = UINT64_MAX;
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        if (pm->ann[i].state == MPTCP_PM_ANN_SENT)
            d = MPTCP_MIN(d, pm->ann[i].deadline);
    for (size_t i = 0; i < MPTCP_PM_MAX_PATHS; i++)
        if (pm->path[i].state == MPTCP_PM_PATH_RETRY_WAIT)
            d = MPTCP_MIN(d, pm->path[i].retry_at);
    return d;
}

int mptcp_pm_timers_run(mptcp_pm *pm, uint64_t now_us)
{
    int changed = 0;
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++) {
        mptcp_pm_ann *a = &pm->ann[i];
        if (a->state != MPTCP_PM_ANN_SENT || a->deadline > now_us)
            continue;
        changed++;
        if (a->tx_count > pm->cfg->add_addr_retries) {
            /* Linux stops after ADD_ADDR_RETRANS_MAX retransmissions. */
            a->state = MPTCP_PM_ANN_GAVE_UP;
            a->deadline = UINT64_MAX;
            pm->stats.add_addr_gave_up++;
        } else {
            a->state = MPTCP_PM_ANN_PENDING;
            a->deadline = UINT64_MAX;
            pm->stats.add_addr_retrans++;
        }
    }
    for (size_t i = 0; i < MPTCP_PM_MAX_PATHS; i++) {
        mptcp_pm_path *p = &pm->path[i];
        if (p->state == MPTCP_PM_PATH_RETRY_WAIT && p->retry_at <= now_us) {
            p->state = MPTCP_PM_PATH_RETRY;
            p->retry_at = UINT64_MAX;
            changed++;
        }
    }
    return changed;
}
