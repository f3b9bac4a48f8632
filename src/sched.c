/*
 * sched.c - connection-level packet schedulers behind mptcp_sched_ops: the
 * default min-RTT scheduler with opportunistic retransmission and
 * penalization (Raiciu et al., NSDI 2012, section 4.2), plain min-RTT, round
 * robin and redundant; and the choice of a subflow for data stranded on a
 * failed one (RFC 8684 section 3.3.6). It decides only: sending, reinjecting
 * and cwnd changes are the connection's. It does not know CC internals.
 */
#include "sched.h"

/* Preference tiers: regular before backup (RFC 8684 section 3.3.8: backup
 * subflows carry data only when no regular one can), and subflows without a
 * recent RTO before potentially failed ones. -1: not usable. */
static int tier(const mptcp_sched_sf *s)
{
    if (!s->usable)
        return -1;
    return (s->pf ? 2 : 0) + (s->backup ? 1 : 0);
}

static int best_tier(const mptcp_sched_sf *sf, size_t n, int exclude)
{
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        int t = tier(&sf[i]);
        if (t < 0 || (exclude >= 0 && sf[i].id == exclude))
            continue;
        if (best < 0 || t < best)
            best = t;
    }
    return best;
}

uint32_t mptcp_sched_sf_space(const mptcp_sched_sf *s)
{
    uint32_t c = s->cwnd > s->inflight ? s->cwnd - s->inflight : 0;
    uint32_t sp = MPTCP_MIN(c, s->wnd_space);
    return sp > s->queued ? sp - s->queued : 0;
}

/* Bytes the next send needs from a subflow: a full segment, or all that
 * is left when less; never a sliver (no silly-window sends). */
static uint64_t need_of(const mptcp_sched_sf *s, const mptcp_sched_conn *c)
{
    uint64_t mss = s->mss ? s->mss : 536;
    uint64_t need = MPTCP_MIN(mss, c->avail);
    return need ? need : 1;
}

/* Strict order of the min-RTT schedulers: known RTT ascending, then unknown
 * RTT; ties by position. True when a goes before b. */
static bool rtt_before(const mptcp_sched_sf *a, size_t ia, const mptcp_sched_sf *b, size_t ib)
{
    if (a->srtt_us && b->srtt_us) {
        if (a->srtt_us != b->srtt_us)
            return a->srtt_us < b->srtt_us;
        return ia < ib;
    }
    if (a->srtt_us || b->srtt_us)
        return a->srtt_us != 0;
    return ia < ib;
}

static size_t clamp_n(size_t n)
{
    return MPTCP_MIN(n, (size_t)MPTCP_MAX_SUBFLOWS);
}

static void decision_none(mptcp_sched_decision *out)
{
    memset(out, 0, sizeof(*out));
    out->kind = MPTCP_SCHED_NONE;
}

/* Min-RTT choice in the best tier among subflows with room for |need|.
 * Unknown-RTT subflows come after every known one and rotate among
 * themselves (round robin from the one after rr_last), so each gets RTT
 * samples. Returns the index or -1. */
static int minrtt_choose(const mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                         const mptcp_sched_conn *c)
{
    int t = best_tier(sf, n, -1);
    if (t < 0)
        return -1;
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        if (tier(&sf[i]) != t || sf[i].srtt_us == 0)
            continue;
        if (mptcp_sched_sf_space(&sf[i]) < need_of(&sf[i], c))
            continue;
        if (best < 0 || rtt_before(&sf[i], i, &sf[best], (size_t)best))
            best = (int)i;
    }
    if (best >= 0)
        return best;
    /* Unknown RTT: start after the last one picked. */
    size_t start = 0;
    if (st->rr_valid)
        for (size_t i = 0; i < n; i++)
            if (sf[i].id == st->rr_last)
                start = i + 1;
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (tier(&sf[i]) == t && sf[i].srtt_us == 0 &&
            mptcp_sched_sf_space(&sf[i]) >= need_of(&sf[i], c))
            return (int)i;
    }
    return -1;
}

static bool conn_blocked(const mptcp_sched_conn *c, const mptcp_sched_sf *s)
{
    return c->avail > 0 && c->wnd_space < need_of(s, c);
}

static void send_on(mptcp_sched_decision *out, const mptcp_sched_sf *s,
                    const mptcp_sched_conn *c, uint64_t cap)
{
    uint64_t len = MPTCP_MIN((uint64_t)mptcp_sched_sf_space(s), c->avail);
    len = MPTCP_MIN(len, c->wnd_space);
    len = MPTCP_MIN(len, cap);
    out->kind = MPTCP_SCHED_SEND;
    out->n_ids = 1;
    out->ids[0] = s->id;
    out->len = (uint32_t)len;
}

static void note_pick(mptcp_sched_state *st, const mptcp_sched_sf *s)
{
    if (s->srtt_us == 0) {
        st->rr_last = s->id;
        st->rr_valid = true;
    }
}

static int index_of(const mptcp_sched_sf *sf, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (sf[i].id == id)
            return (int)i;
    return -1;
}

bool mptcp_sched_sf_failed_over(const mptcp_sched_sf *sf, size_t n, uint8_t id)
{
    n = clamp_n(n);
    int h = index_of(sf, n, id);
    if (h < 0)
        return false;
    int own = tier(&sf[h]);
    if (own >= 0 && !sf[h].pf)
        return false; /* usable and not failing: merely busy at worst */
    int best = best_tier(sf, n, id);
    return best >= 0 && (own < 0 || best < own);
}

/*
 * Failover of the oldest unacknowledged chunk: its holder is potentially
 * failed and a better tier took over. Until that chunk arrives the peer's
 * data-level window cannot move, so it is resent first (once per DSN) on the
 * fastest subflow of the best tier with room (RFC 8684 section 3.3.6). No
 * penalization: the RTO already collapsed the holder's cwnd.
 */
static bool pf_reinject(mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                        const mptcp_sched_conn *c, mptcp_sched_decision *out)
{
    if (c->una_holder < 0 || c->una_len == 0)
        return false;
    if (st->reinj_valid && st->reinj_dsn == c->una_dsn)
        return false;
    if (!mptcp_sched_sf_failed_over(sf, n, (uint8_t)c->una_holder))
        return false;
    int t = best_tier(sf, n, c->una_holder);
    int f = -1;
    for (size_t i = 0; i < n; i++) {
        if (sf[i].id == c->una_holder || tier(&sf[i]) != t || mptcp_sched_sf_space(&sf[i]) == 0)
            continue;
        if (f < 0 || rtt_before(&sf[i], i, &sf[f], (size_t)f))
            f = (int)i;
    }
    if (f < 0)
        return false;
    out->kind = MPTCP_SCHED_REINJECT;
    out->n_ids = 1;
    out->ids[0] = sf[f].id;
    out->dsn = c->una_dsn;
    out->len = MPTCP_MIN(c->una_len, mptcp_sched_sf_space(&sf[f]));
    st->reinj_valid = true;
    st->reinj_dsn = c->una_dsn;
    return true;
}

static void sched_init(mptcp_sched_state *st)
{
    memset(st, 0, sizeof(*st));
}

static void minrtt_pick(mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                        const mptcp_sched_conn *c, uint64_t now_us, mptcp_sched_decision *out)
{
    (void)now_us;
    decision_none(out);
    n = clamp_n(n);
    if (pf_reinject(st, sf, n, c, out))
        return;
    if (c->avail == 0 || c->wnd_space == 0)
        return;
    int i = minrtt_choose(st, sf, n, c);
    if (i < 0 || conn_blocked(c, &sf[i]))
        return;
    send_on(out, &sf[i], c, UINT64_MAX);
    note_pick(st, &sf[i]);
}

/* Penalization history: slot of |id|, or a free / the oldest slot. */
static size_t pen_slot(mptcp_sched_state *st, uint8_t id, bool *found)
{
    size_t free_i = MPTCP_MAX_SUBFLOWS, old_i = 0;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        if (st->pen[i].used && st->pen[i].id == id) {
            *found = true;
            return i;
        }
        if (!st->pen[i].used && free_i == MPTCP_MAX_SUBFLOWS)
            free_i = i;
        if (st->pen[i].used && st->pen[i].at_us < st->pen[old_i].at_us)
            old_i = i;
    }
    *found = false;
    return free_i < MPTCP_MAX_SUBFLOWS ? free_i : old_i;
}

/*
 * Opportunistic retransmission (NSDI 2012, section 4.2): the connection-level
 * receive window blocks new data, and what blocks it is the oldest
 * unacknowledged chunk, held by a slower subflow. Resending that chunk on the
 * fastest subflow with cwnd space lets the window move one RTT of the slow
 * path sooner; halving the slow subflow's cwnd (at most once per its RTT)
 * makes it hold less of the window next time.
 */
static bool orp(mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                const mptcp_sched_conn *c, uint64_t now_us, mptcp_sched_decision *out)
{
    if (c->una_holder < 0 || c->una_len == 0)
        return false;
    if (st->reinj_valid && st->reinj_dsn == c->una_dsn)
        return false; /* this chunk was resent already */
    int t = best_tier(sf, n, -1);
    int f = -1;
    for (size_t i = 0; i < n; i++) {
        if (tier(&sf[i]) != t || sf[i].srtt_us == 0 || mptcp_sched_sf_space(&sf[i]) == 0)
            continue;
        if (f < 0 || rtt_before(&sf[i], i, &sf[f], (size_t)f))
            f = (int)i;
    }
    if (f < 0)
        return false;
    int h = -1;
    for (size_t i = 0; i < n; i++)
        if (sf[i].id == c->una_holder)
            h = (int)i;
    if (h < 0 || h == f)
        return false;
    bool holder_failed = mptcp_sched_sf_failed_over(sf, n, sf[h].id);
    if (!holder_failed && sf[h].srtt_us != 0 && sf[h].srtt_us <= sf[f].srtt_us)
        return false; /* the holder is not the slow one */
    out->kind = MPTCP_SCHED_REINJECT;
    out->n_ids = 1;
    out->ids[0] = sf[f].id;
    out->dsn = c->una_dsn;
    out->len = MPTCP_MIN(c->una_len, mptcp_sched_sf_space(&sf[f]));
    st->reinj_valid = true;
    st->reinj_dsn = c->una_dsn;

    if (holder_failed)
        return true; /* its RTO already cut its cwnd */
    bool found;
    size_t k = pen_slot(st, sf[h].id, &found);
    if (!found || now_us - st->pen[k].at_us >= sf[h].srtt_us) {
        uint32_t mss = sf[h].mss ? sf[h].mss : 536;
        out->penalize = true;
        out->penalize_id = sf[h].id;
        out->penalize_cwnd = MPTCP_MAX(sf[h].cwnd / 2, mss);
        st->pen[k].used = true;
        st->pen[k].id = sf[h].id;
        st->pen[k].at_us = now_us;
    }
    return true;
}

static void default_pick(mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                         const mptcp_sched_conn *c, uint64_t now_us, mptcp_sched_decision *out)
{
    decision_none(out);
    n = clamp_n(n);
    if (pf_reinject(st, sf, n, c, out))
        return;
    if (c->avail == 0)
        return;
    int i = minrtt_choose(st, sf, n, c);
    if (i >= 0 && !conn_blocked(c, &sf[i])) {
        send_on(out, &sf[i], c, UINT64_MAX);
        note_pick(st, &sf[i]);
        return;
    }
    /* New data is waiting: either the receive window blocks it (ORP) or
     * every subflow is busy (nothing to do). */
    const mptcp_sched_sf *ref = i >= 0 ? &sf[i] : NULL;
    if (ref ? conn_blocked(c, ref) : (c->wnd_space == 0))
        (void)orp(st, sf, n, c, now_us, out);
}

static void sched_subflow_closed(mptcp_sched_state *st, uint8_t id)
{
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
        if (st->pen[i].used && st->pen[i].id == id)
            memset(&st->pen[i], 0, sizeof(st->pen[i]));
    if (st->rr_valid && st->rr_last == id)
        st->rr_valid = false;
}

static void sched_data_acked(mptcp_sched_state *st, uint64_t data_una)
{
    if (st->reinj_valid && (int64_t)(data_una - st->reinj_dsn) > 0)
        st->reinj_valid = false;
}

/* Round robin: one segment per pick, rotating over the best tier's subflows
 * that have room, starting after the last one served. */
static void rr_pick(mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                    const mptcp_sched_conn *c, uint64_t now_us, mptcp_sched_decision *out)
{
    (void)now_us;
    decision_none(out);
    n = clamp_n(n);
    if (pf_reinject(st, sf, n, c, out))
        return;
    int t = best_tier(sf, n, -1);
    if (c->avail == 0 || t < 0)
        return;
    size_t start = 0;
    if (st->rr_valid)
        for (size_t i = 0; i < n; i++)
            if (sf[i].id == st->rr_last)
                start = i + 1;
    for (size_t k = 0; k < n; k++) {
        size_t i = (start + k) % n;
        if (tier(&sf[i]) != t || mptcp_sched_sf_space(&sf[i]) < need_of(&sf[i], c))
            continue;
        if (conn_blocked(c, &sf[i]))
            return;
        send_on(out, &sf[i], c, sf[i].mss ? sf[i].mss : 536);
        st->rr_last = sf[i].id;
        st->rr_valid = true;
        return;
    }
}

/* Redundant: the same bytes on every subflow of the best tier that has room
 * for a segment; the length is one segment of the smallest MSS. */
static void redundant_pick(mptcp_sched_state *st, const mptcp_sched_sf *sf, size_t n,
                           const mptcp_sched_conn *c, uint64_t now_us,
                           mptcp_sched_decision *out)
{
    (void)now_us;
    decision_none(out);
    n = clamp_n(n);
    if (pf_reinject(st, sf, n, c, out))
        return;
    int t = best_tier(sf, n, -1);
    if (c->avail == 0 || t < 0)
        return;
    uint64_t min_mss = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (tier(&sf[i]) == t)
            min_mss = MPTCP_MIN(min_mss, (uint64_t)(sf[i].mss ? sf[i].mss : 536));
    uint64_t len = MPTCP_MIN(MPTCP_MIN(c->avail, c->wnd_space), min_mss);
    /* Window blocked: less room than one segment of the tier's smallest MSS
     * (or than what is left to send). A fixed 536 here once starved paths
     * whose MSS is below it (fuzz/mptcp_pair). */
    if (len == 0 || len < MPTCP_MIN(c->avail, min_mss))
        return;
    for (size_t i = 0; i < n; i++) {
        if (tier(&sf[i]) != t || mptcp_sched_sf_space(&sf[i]) < len)
            continue;
        out->ids[out->n_ids++] = sf[i].id;
    }
    if (out->n_ids == 0)
        return;
    out->kind = MPTCP_SCHED_SEND;
    out->len = (uint32_t)len;
}

const mptcp_sched_ops mptcp_sched_default = {
    "default", sched_init, default_pick, sched_subflow_closed, sched_data_acked,
};
const mptcp_sched_ops mptcp_sched_minrtt = {
    "minrtt", sched_init, minrtt_pick, sched_subflow_closed, sched_data_acked,
};
const mptcp_sched_ops mptcp_sched_roundrobin = {
    "roundrobin", sched_init, rr_pick, sched_subflow_closed, sched_data_acked,
};
const mptcp_sched_ops mptcp_sched_redundant = {
    "redundant", sched_init, redundant_pick, sched_subflow_closed, sched_data_acked,
};

int mptcp_sched_reinject_target(const mptcp_sched_sf *sf, size_t n, uint8_t failed_id,
                                const mptcp_sched_range *ranges, size_t n_ranges,
                                uint64_t data_una, mptcp_sched_range *out, size_t cap,
                                size_t *n_out)
{
    n = clamp_n(n);
    *n_out = 0;
    int t = best_tier(sf, n, failed_id);
    if (t < 0)
        return -1;
    int best = -1;
    bool best_room = false;
    for (size_t i = 0; i < n; i++) {
        if (sf[i].id == failed_id || tier(&sf[i]) != t)
            continue;
        bool room = mptcp_sched_sf_space(&sf[i]) > 0;
        if (best < 0 || (room && !best_room) ||
            (room == best_room && rtt_before(&sf[i], i, &sf[best], (size_t)best))) {
            best = (int)i;
            best_room = room;
        }
    }
    /* Bytes below data_una reached the peer by another path: skip them
     * (modular compare: the DSN space wraps at 2^64). */
    for (size_t k = 0; k < n_ranges && *n_out < cap; k++) {
        uint64_t start = ranges[k].dsn, end = ranges[k].dsn + ranges[k].len;
        if ((int64_t)(end - data_una) <= 0)
            continue;
        if ((int64_t)(data_una - start) > 0)
            start = data_una;
        out[*n_out].dsn = start;
        out[*n_out].len = (uint32_t)(end - start);
        (*n_out)++;
    }
    return sf[best].id;
}
