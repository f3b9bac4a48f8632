/*
 * cc_coupled.c - MPTCP coupled congestion control for the subflows of one
 * connection: LIA (RFC 6356 section 3), OLIA (Khalili et al., "MPTCP is not
 * Pareto-optimal", IEEE/ACM ToN 2013) and BALIA (Peng et al., "Multipath
 * TCP: Analysis, Design and Implementation", IEEE/ACM ToN 2016). Owns the
 * coupling group and the congestion-avoidance increase (and BALIA's
 * decrease); slow start, loss detection, recovery, RTO and idle restart are
 * NewReno's (src/cc.c), as RFC 6356 section 3 prescribes. Integer only.
 */
#include "cc_coupled.h"

/* Fixed-point scales (docs/cc-coupled.md). Windows are normalised to the
 * smallest RTT of the group: a_i = cwnd_i * 2^A_SHIFT * rtt_min / rtt_i,
 * which is proportional to the rate cwnd_i / rtt_i and below 2^60. */
#define A_SHIFT 28
#define Q32 ((uint64_t)1 << 32)

static void mul128(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *lo = mid << 32 | (uint32_t)ll;
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

uint64_t mptcp_cc_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t hi, lo;
    mul128(a, b, &hi, &lo);
    if (c == 0 || hi >= c)
        return UINT64_MAX; /* the quotient does not fit in 64 bits */
    if (hi == 0)
        return lo / c;
    /* Restoring long division of hi:lo by c; the partial remainder stays
     * below c, so one conditional subtraction per bit suffices. */
    uint64_t q = 0;
    for (int i = 0; i < 64; i++) {
        uint64_t top = hi >> 63;
        hi = hi << 1 | lo >> 63;
        lo <<= 1;
        q <<= 1;
        if (top != 0 || hi >= c) {
            hi -= c;
            q |= 1;
        }
    }
    return q;
}

/* Compares a*b with c*d exactly: <0, 0, >0. */
static int cmp_prod(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t h1, l1, h2, l2;
    mul128(a, b, &h1, &l1);
    mul128(c, d, &h2, &l2);
    if (h1 != h2)
        return h1 < h2 ? -1 : 1;
    return l1 < l2 ? -1 : l1 > l2 ? 1 : 0;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int64_t to_s64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* ------------------------------------------------------------ group */

void mptcp_cc_group_init(mptcp_cc_group *g)
{
    memset(g, 0, sizeof(*g));
}

static void slot_reset(mptcp_cc_group_slot *s, mptcp_cc_coupled_member *m)
{
    memset(s, 0, sizeof(*s));
    s->member = m;
    s->cwnd_limited = true;
}

int mptcp_cc_group_add(mptcp_cc_group *g, mptcp_cc_coupled_member *m)
{
    if (g == NULL || m == NULL || m->group != NULL)
        return MPTCP_EINVAL;
    for (size_t i = 0; i < MPTCP_ARRAY_LEN(g->slot); i++) {
        if (g->slot[i].member == NULL) {
            slot_reset(&g->slot[i], m);
            m->group = g;
            return 0;
        }
    }
    return MPTCP_ELIMIT;
}

void mptcp_cc_group_remove(mptcp_cc_coupled_member *m)
{
    if (m == NULL || m->group == NULL)
        return;
    mptcp_cc_group *g = m->group;
    for (size_t i = 0; i < MPTCP_ARRAY_LEN(g->slot); i++) {
        if (g->slot[i].member == m)
            memset(&g->slot[i], 0, sizeof(g->slot[i]));
    }
    m->group = NULL;
}

unsigned mptcp_cc_group_count(const mptcp_cc_group *g)
{
    unsigned n = 0;
    for (size_t i = 0; i < MPTCP_ARRAY_LEN(g->slot); i++)
        n += g->slot[i].member != NULL;
    return n;
}

mptcp_cc_group_slot *mptcp_cc_coupled_slot(mptcp_cc *cc)
{
    /* A coupled controller is the first member of its wrapper (cc_coupled.h),
     * so the pointer converts back (C11 6.7.2.1p15). */
    mptcp_cc_coupled_member *m = (mptcp_cc_coupled_member *)(void *)cc;
    if (m->group == NULL)
        return NULL;
    for (size_t i = 0; i < MPTCP_ARRAY_LEN(m->group->slot); i++) {
        if (m->group->slot[i].member == m)
            return &m->group->slot[i];
    }
    return NULL;
}

void mptcp_cc_coupled_set_cwnd_limited(mptcp_cc *cc, bool limited)
{
    mptcp_cc_group_slot *s = mptcp_cc_coupled_slot(cc);
    if (s != NULL)
        s->cwnd_limited = limited;
}

/* ------------------------------------------------------------ group view */

/* The members with an RTT sample, normalised once per computation. */
typedef struct view {
    unsigned n;
    int self;                            /* index of the calling member, -1 none */
    const mptcp_cc_group_slot *s[MPTCP_MAX_SUBFLOWS];
    uint64_t w[MPTCP_MAX_SUBFLOWS];      /* cwnd, bytes */
    uint64_t a[MPTCP_MAX_SUBFLOWS];      /* w * 2^28 * rtt_min / rtt (rate) */
    uint64_t b[MPTCP_MAX_SUBFLOWS];      /* a * rtt_min / rtt (cwnd / rtt^2) */
    uint64_t total;                      /* sum of w, < 2^35 */
    uint64_t sum_a;                      /* S = sum of a, < 2^63 */
    uint64_t max_a, max_b;
} view;

static void view_build(view *v, const mptcp_cc_group *g, const mptcp_cc_group_slot *self)
{
    uint64_t rmin = UINT64_MAX;
    memset(v, 0, sizeof(*v));
    v->self = -1;
    for (size_t i = 0; i < MPTCP_ARRAY_LEN(g->slot); i++) {
        const mptcp_cc_group_slot *s = &g->slot[i];
        if (s->member == NULL || s->srtt_us == 0)
            continue;
        if (s == self)
            v->self = (int)v->n;
        v->s[v->n] = s;
        /* cwnd below one byte would make a rate of zero; the engine never
         * sets it, but the arithmetic must stay defined. */
        v->w[v->n] = MPTCP_MAX(s->member->cc.cwnd, 1u);
        v->total += v->w[v->n];
        rmin = MPTCP_MIN(rmin, s->srtt_us);
        v->n++;
    }
    for (unsigned i = 0; i < v->n; i++) {
        uint64_t r = v->s[i]->srtt_us;
        /* rtt_min <= r, so a <= w * 2^28 < 2^60 and b <= a. */
        v->a[i] = mptcp_cc_muldiv(v->w[i] << A_SHIFT, rmin, r);
        v->b[i] = mptcp_cc_muldiv(v->a[i], rmin, r);
        v->sum_a += v->a[i];
        v->max_a = MPTCP_MAX(v->max_a, v->a[i]);
        v->max_b = MPTCP_MAX(v->max_b, v->b[i]);
    }
}

/* RFC 6356 section 3 alpha in Q32. With S and D = max b in the normalised
 * units above, alpha = total * D * 2^28 / S^2; dividing by S twice keeps
 * every intermediate inside 64 bits: D <= S, so the first quotient is at
 * most total * 2^28 < 2^63, and it equals alpha * S >= S / n. */
static uint64_t view_alpha(const view *v)
{
    if (v->n == 0 || v->sum_a == 0)
        return 0;
    uint64_t t = mptcp_cc_muldiv(v->max_b, v->total << A_SHIFT, v->sum_a);
    return mptcp_cc_muldiv(t, Q32, v->sum_a);
}

uint64_t mptcp_cc_lia_alpha(const mptcp_cc_group *g)
{
    view v;
    view_build(&v, g, NULL);
    return view_alpha(&v);
}

/* ------------------------------------------------------------ increase */

/* Adds |inc| (bytes, Q32) to the member's pending increase and moves whole
 * segments into cwnd, as Reno's byte counting does (RFC 3465): cwnd changes
 * in MSS steps, the remainder carries over to the next ACK. */
static void apply_increase(mptcp_cc *cc, mptcp_cc_group_slot *s, int64_t inc)
{
    uint32_t mss = mptcp_cc_smss(cc);
    int64_t unit = (int64_t)mss << 32;
    int64_t acc = s->inc_acc;
    if (inc > 0 && acc > INT64_MAX - inc)
        acc = INT64_MAX;
    else if (inc < 0 && acc < INT64_MIN - inc)
        acc = INT64_MIN;
    else
        acc += inc;
    if (acc >= unit) {
        uint64_t n = (uint64_t)(acc / unit);
        acc -= (int64_t)n * unit;
        uint64_t w = (uint64_t)cc->cwnd + n * mss;
        cc->cwnd = w > MPTCP_CC_CWND_MAX ? MPTCP_CC_CWND_MAX : (uint32_t)w;
    } else if (acc <= -unit) {
        /* OLIA's negative term: shrink by whole segments, never below one
         * segment (Linux: max(1, snd_cwnd - 1)). */
        uint64_t n = (uint64_t)(-(acc / unit));
        acc += (int64_t)n * unit;
        uint64_t dec = n * mss;
        cc->cwnd = cc->cwnd > dec + mss ? (uint32_t)(cc->cwnd - dec) : mss;
    }
    s->inc_acc = acc;
}

/* RFC 6356 section 3: per ACK, cwnd_i grows by
 *   min(alpha * bytes_acked * MSS_i / cwnd_total, bytes_acked * MSS_i / cwnd_i). */
static int64_t lia_increase(const view *v, uint64_t am)
{
    uint64_t alpha = view_alpha(v);
    uint64_t coupled = mptcp_cc_muldiv(alpha, am, v->total);
    uint64_t single = mptcp_cc_muldiv(am, Q32, v->w[v->self]);
    return to_s64(MPTCP_MIN(coupled, single));
}

/* The term OLIA and BALIA share, bytes_acked * MSS * (w_r / rtt_r^2) /
 * (sum_p w_p / rtt_p)^2, in Q32: am * b_r * 2^60 / S^2. */
static uint64_t rate_term(const view *v, uint64_t am)
{
    uint64_t t = mptcp_cc_muldiv(am, v->b[v->self], v->sum_a); /* <= am, b <= S */
    return mptcp_cc_muldiv(t, (uint64_t)1 << (2 * A_SHIFT + 4), v->sum_a);
}

/* OLIA's l_r / rtt_r^2 ordering: which paths are presumably best. */
static uint64_t olia_l(const mptcp_cc_group_slot *s)
{
    return MPTCP_MAX(s->olia_l1, s->olia_l2);
}

static int olia_cmp(const mptcp_cc_group_slot *x, const mptcp_cc_group_slot *y)
{
    uint64_t rx = x->srtt_us, ry = y->srtt_us;
    return cmp_prod(olia_l(x), ry * ry, olia_l(y), rx * rx);
}

/* OLIA (Khalili et al. 2013, section V): per ACK on path r, in packets,
 *   w_r += (w_r / rtt_r^2) / (sum_p w_p / rtt_p)^2 + alpha_r / w_r,
 * where, with M the paths of largest window and B the paths of largest
 * l_p / rtt_p^2 (l: bytes between losses), alpha_r = 1 / (|P| |B\M|) for r
 * in B\M, -1 / (|P| |M|) for r in M when B\M is not empty, else 0. */
static int64_t olia_increase(const view *v, uint64_t am)
{
    uint64_t wmax = 0;
    unsigned best = 0, in_m = 0, b_not_m = 0;
    for (unsigned i = 0; i < v->n; i++) {
        wmax = MPTCP_MAX(wmax, v->w[i]);
        if (olia_cmp(v->s[i], v->s[best]) > 0)
            best = i;
    }
    bool self_m = false, self_bm = false;
    for (unsigned i = 0; i < v->n; i++) {
        bool m = v->w[i] == wmax;
        bool b = olia_cmp(v->s[i], v->s[best]) == 0;
        in_m += m;
        b_not_m += b && !m;
        if ((int)i == v->self) {
            self_m = m;
            self_bm = b && !m;
        }
    }
    int64_t inc = to_s64(rate_term(v, am));
    if (b_not_m == 0 || (!self_m && !self_bm))
        return inc;
    /* alpha_r * bytes_acked * MSS / w_r in Q32 bytes. */
    uint64_t den = v->w[v->self] * v->n * (self_bm ? b_not_m : in_m);
    int64_t eps = to_s64(mptcp_cc_muldiv(am, Q32, den));
    return self_bm ? (inc > INT64_MAX - eps ? INT64_MAX : inc + eps) : inc - eps;
}

/* BALIA (Peng et al. 2016, section VI): with x_p = w_p / rtt_p and
 * alpha_r = max_p x_p / x_r, per ACK on path r, in packets,
 *   w_r += x_r / (rtt_r (sum_p x_p)^2) * (1 + alpha_r)/2 * (4 + alpha_r)/5.
 * Since x_r / rtt_r = w_r / rtt_r^2 and w_r alpha_r^2 x_r^2 = w_r max^2,
 * in bytes this is am * (x_r + max)(4 x_r + max) / (10 w_r (sum x)^2). */
static int64_t balia_increase(const view *v, uint64_t am)
{
    uint64_t ar = v->a[v->self], x = v->max_a;
    uint64_t p = mptcp_cc_muldiv(ar + x, Q32, v->sum_a);            /* <= 2^33 */
    uint64_t q = mptcp_cc_muldiv(4 * ar + x, (uint64_t)1 << 30, v->sum_a); /* <= 5 * 2^30 */
    uint64_t r = mptcp_cc_muldiv(p, q, 10 * v->w[v->self]);
    return to_s64(mptcp_cc_muldiv(r, am, (uint64_t)1 << 30));
}

/* ------------------------------------------------------------ ops */

enum algo { LIA, OLIA, BALIA };

static void coupled_init(mptcp_cc *cc, uint32_t mss, uint64_t now_us)
{
    mptcp_cc_reno.init(cc, mss, now_us); /* keeps cc->ops */
    mptcp_cc_group_slot *s = mptcp_cc_coupled_slot(cc);
    if (s != NULL)
        slot_reset(s, s->member);
}

static void coupled_on_ack(enum algo algo, mptcp_cc *cc, uint32_t acked, uint32_t flight,
                           uint32_t srtt_us, uint32_t rtt_us, uint64_t now_us)
{
    mptcp_cc_group_slot *s = mptcp_cc_coupled_slot(cc);
    if (s == NULL) {
        mptcp_cc_reno.on_ack(cc, acked, flight, srtt_us, rtt_us, now_us);
        return;
    }
    uint32_t rtt = srtt_us != 0 ? srtt_us : rtt_us;
    if (rtt != 0)
        s->srtt_us = rtt;
    s->olia_l1 = sat_add(s->olia_l1, acked);
    if (acked == 0 || !s->cwnd_limited)
        return;
    view v;
    view_build(&v, s->member->group, s);
    if (v.n < 2 || v.self < 0) {
        /* Alone (or without an RTT): every algorithm reduces to Reno, and
         * Reno's own code keeps that exact. */
        mptcp_cc_reno.on_ack(cc, acked, flight, srtt_us, rtt_us, now_us);
        return;
    }
    if (cc->cwnd < cc->ssthresh) {
        /* RFC 6356 section 3: slow start is each subflow's own. */
        acked = mptcp_cc_slow_start(cc, acked);
        if (acked == 0)
            return;
        view_build(&v, s->member->group, s); /* with the new window */
    }
    uint64_t am = (uint64_t)acked * mptcp_cc_smss(cc); /* < 2^48 */
    int64_t inc = algo == LIA    ? lia_increase(&v, am)
                  : algo == OLIA ? olia_increase(&v, am)
                                 : balia_increase(&v, am);
    apply_increase(cc, s, inc);
}

static void lia_on_ack(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t srtt_us,
                       uint32_t rtt_us, uint64_t now_us)
{
    coupled_on_ack(LIA, cc, acked, flight, srtt_us, rtt_us, now_us);
}

static void olia_on_ack(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t srtt_us,
                        uint32_t rtt_us, uint64_t now_us)
{
    coupled_on_ack(OLIA, cc, acked, flight, srtt_us, rtt_us, now_us);
}

static void balia_on_ack(mptcp_cc *cc, uint32_t acked, uint32_t flight, uint32_t srtt_us,
                         uint32_t rtt_us, uint64_t now_us)
{
    coupled_on_ack(BALIA, cc, acked, flight, srtt_us, rtt_us, now_us);
}

/* A loss ends OLIA's current inter-loss interval (Linux: only when bytes
 * were acknowledged since the previous one, so back-to-back timeouts do not
 * erase l2). */
static void olia_note_loss(mptcp_cc *cc)
{
    mptcp_cc_group_slot *s = mptcp_cc_coupled_slot(cc);
    if (s == NULL)
        return;
    if (s->olia_l1 != 0) {
        s->olia_l2 = s->olia_l1;
        s->olia_l1 = 0;
    }
}

static void clear_acc(mptcp_cc *cc)
{
    mptcp_cc_group_slot *s = mptcp_cc_coupled_slot(cc);
    if (s != NULL)
        s->inc_acc = 0;
}

static void coupled_on_loss(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    /* LIA and OLIA halve the window like Reno (RFC 6356 section 3). */
    mptcp_cc_reno.on_loss(cc, flight, now_us);
    clear_acc(cc);
}

static void olia_on_loss(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    olia_note_loss(cc);
    coupled_on_loss(cc, flight, now_us);
}

static void coupled_on_rto(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    mptcp_cc_reno.on_rto(cc, flight, now_us);
    clear_acc(cc);
}

static void olia_on_rto(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    olia_note_loss(cc);
    coupled_on_rto(cc, flight, now_us);
}

/* BALIA's decrease: w_r -= (w_r / 2) * min(alpha_r, 1.5), applied to the
 * flight size as Reno's ssthresh rule is; 0 when the member is alone (Reno). */
static uint32_t balia_ssthresh(mptcp_cc *cc, uint32_t flight)
{
    mptcp_cc_group_slot *s = mptcp_cc_coupled_slot(cc);
    if (s == NULL)
        return 0;
    view v;
    view_build(&v, s->member->group, s);
    if (v.n < 2 || v.self < 0 || v.a[v.self] == 0)
        return 0;
    uint64_t alpha_q16 = mptcp_cc_muldiv(v.max_a, 1u << 16, v.a[v.self]);
    alpha_q16 = MPTCP_MIN(alpha_q16, 3u << 15);
    uint64_t cut = ((uint64_t)flight * alpha_q16) >> 17; /* <= 0.75 flight */
    return MPTCP_MAX(flight - (uint32_t)cut, 2 * mptcp_cc_smss(cc));
}

static void balia_on_loss(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    uint32_t ss = balia_ssthresh(cc, flight);
    mptcp_cc_reno.on_loss(cc, flight, now_us);
    if (ss != 0) {
        cc->ssthresh = ss;
        cc->cwnd = MPTCP_MIN(ss, MPTCP_CC_CWND_MAX);
    }
    clear_acc(cc);
}

static void balia_on_rto(mptcp_cc *cc, uint32_t flight, uint64_t now_us)
{
    uint32_t ss = balia_ssthresh(cc, flight);
    mptcp_cc_reno.on_rto(cc, flight, now_us);
    if (ss != 0)
        cc->ssthresh = ss;
    clear_acc(cc);
}

static void coupled_on_recovery_end(mptcp_cc *cc, uint64_t now_us)
{
    mptcp_cc_reno.on_recovery_end(cc, now_us);
    clear_acc(cc);
}

static void coupled_on_idle(mptcp_cc *cc, uint64_t now_us)
{
    mptcp_cc_reno.on_idle(cc, now_us);
    clear_acc(cc);
}

const mptcp_cc_ops mptcp_cc_lia = {
    .name = "lia",
    .init = coupled_init,
    .on_ack = lia_on_ack,
    .on_loss = coupled_on_loss,
    .on_rto = coupled_on_rto,
    .on_recovery_end = coupled_on_recovery_end,
    .on_idle = coupled_on_idle,
};

const mptcp_cc_ops mptcp_cc_olia = {
    .name = "olia",
    .init = coupled_init,
    .on_ack = olia_on_ack,
    .on_loss = olia_on_loss,
    .on_rto = olia_on_rto,
    .on_recovery_end = coupled_on_recovery_end,
    .on_idle = coupled_on_idle,
};

const mptcp_cc_ops mptcp_cc_balia = {
    .name = "balia",
    .init = coupled_init,
    .on_ack = balia_on_ack,
    .on_loss = balia_on_loss,
    .on_rto = balia_on_rto,
    .on_recovery_end = coupled_on_recovery_end,
    .on_idle = coupled_on_idle,
};
