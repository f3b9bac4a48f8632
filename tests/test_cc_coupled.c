/*
 * Coupled congestion control (src/cc_coupled.c): the 128-bit mul/div
 * helper, LIA's alpha against a double-precision reference, exact Reno
 * behaviour of a lone member, group bookkeeping, the extremes under UBSan,
 * and a small deterministic fluid model that checks RFC 6356's goals and
 * the OLIA/BALIA claims (no more than TCP on a shared bottleneck, at least
 * the best path, traffic moved off the congested path, and responsiveness).
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#include "cc_coupled.h"

#define REQ(x)                                                           \
    do {                                                                 \
        if (!(x))                                                        \
            ck_abort_msg("%s:%d: %s is false", __FILE__, __LINE__, #x); \
    } while (0)

#define MSS 1448u

/* xorshift64*: deterministic test randomness. */
static uint64_t rnd_state;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 2685821657736338717ull;
}
/* Log-uniform in [lo, hi]. */
static uint32_t rnd_log(double lo, double hi)
{
    double u = (double)(rnd() >> 11) / 9007199254740992.0;
    return (uint32_t)exp(log(lo) + u * (log(hi) - log(lo)));
}

static const mptcp_cc_ops *const algos[] = {&mptcp_cc_lia, &mptcp_cc_olia, &mptcp_cc_balia};

/* ------------------------------------------------------------ muldiv */

START_TEST(muldiv_matches_128bit_reference)
{
    rnd_state = 0x1234567887654321ull;
    for (int i = 0; i < 200000; i++) {
        uint64_t a = rnd() >> (rnd() % 64), b = rnd() >> (rnd() % 64);
        uint64_t c = (rnd() >> (rnd() % 64)) | 1;
        unsigned __int128 q = (unsigned __int128)a * b / c;
        uint64_t want = q > UINT64_MAX ? UINT64_MAX : (uint64_t)q;
        REQ(mptcp_cc_muldiv(a, b, c) == want);
    }
    ck_assert_uint_eq(mptcp_cc_muldiv(UINT64_MAX, UINT64_MAX, UINT64_MAX), UINT64_MAX);
    ck_assert_uint_eq(mptcp_cc_muldiv(UINT64_MAX, 3, 4), UINT64_MAX / 4 * 3 + 2);
    ck_assert_uint_eq(mptcp_cc_muldiv(5, 7, 0), UINT64_MAX);
}
END_TEST

/* ------------------------------------------------------------ alpha */

typedef struct {
    mptcp_cc_group g;
    mptcp_cc_coupled_member m[MPTCP_MAX_SUBFLOWS];
} grp;

static void grp_make(grp *x, const mptcp_cc_ops *ops, unsigned n)
{
    memset(x, 0, sizeof(*x));
    mptcp_cc_group_init(&x->g);
    for (unsigned i = 0; i < n; i++) {
        x->m[i].cc.ops = ops;
        ck_assert_int_eq(mptcp_cc_group_add(&x->g, &x->m[i]), 0);
        ops->init(&x->m[i].cc, MSS, 0);
    }
}

static double alpha_ref(const double *w, const double *r, unsigned n)
{
    double total = 0, mx = 0, sum = 0;
    for (unsigned i = 0; i < n; i++) {
        total += w[i];
        mx = fmax(mx, w[i] / (r[i] * r[i]));
        sum += w[i] / r[i];
    }
    return total * mx / (sum * sum);
}

START_TEST(lia_alpha_matches_double_reference)
{
    rnd_state = 0x9e3779b97f4a7c15ull;
    grp x;
    double worst = 0;
    for (int it = 0; it < 20000; it++) {
        unsigned n = 1 + (unsigned)(rnd() % MPTCP_MAX_SUBFLOWS);
        grp_make(&x, &mptcp_cc_lia, n);
        double w[MPTCP_MAX_SUBFLOWS], r[MPTCP_MAX_SUBFLOWS];
        for (unsigned i = 0; i < n; i++) {
            /* windows from one MSS to 1 GiB, RTTs from 1 us to 4 s */
            x.m[i].cc.cwnd = rnd_log(MSS, 1073741824.0);
            x.g.slot[i].srtt_us = rnd_log(1, 4e6);
            w[i] = x.m[i].cc.cwnd;
            r[i] = x.g.slot[i].srtt_us;
        }
        double want = alpha_ref(w, r, n);
        double got = (double)mptcp_cc_lia_alpha(&x.g) / 4294967296.0;
        double rel = fabs(got - want) / want;
        worst = fmax(worst, rel);
        if (rel > 1e-6)
            ck_abort_msg("n=%u alpha %.12g want %.12g", n, got, want);
        /* RFC 6356 bounds: 1/n <= alpha (Cauchy-Schwarz); alpha == 1 for n == 1 */
        REQ(got >= 1.0 / n - 1e-9);
    }
    printf("lia alpha: worst relative error %.3g over 20000 random sets\n", worst);
}
END_TEST

START_TEST(lia_alpha_known_values)
{
    grp x;
    /* Two equal paths: alpha = 2w * (w/r^2) / (2w/r)^2 = 1/2. */
    grp_make(&x, &mptcp_cc_lia, 2);
    x.m[0].cc.cwnd = x.m[1].cc.cwnd = 100 * MSS;
    x.g.slot[0].srtt_us = x.g.slot[1].srtt_us = 50000;
    ck_assert_uint_eq(mptcp_cc_lia_alpha(&x.g), 1ull << 31);
    /* One path: alpha = 1 exactly. */
    grp_make(&x, &mptcp_cc_lia, 1);
    x.m[0].cc.cwnd = 12345;
    x.g.slot[0].srtt_us = 777;
    ck_assert_uint_eq(mptcp_cc_lia_alpha(&x.g), 1ull << 32);
    /* No RTT yet: nothing to couple. */
    x.g.slot[0].srtt_us = 0;
    ck_assert_uint_eq(mptcp_cc_lia_alpha(&x.g), 0);
}
END_TEST

/* One congestion-avoidance ACK of one MSS on a random member of a random
 * group: the window change (cwnd plus the carried Q32 remainder) must equal
 * the algorithm's formula evaluated in double precision. */
static double ref_increase(int algo, const double *w, const double *r, const double *l,
                           unsigned n, unsigned i)
{
    double a = MSS, total = 0, sx = 0, mx = 0, xmax = 0, wmax = 0;
    for (unsigned k = 0; k < n; k++) {
        total += w[k];
        sx += w[k] / r[k];
        mx = fmax(mx, w[k] / (r[k] * r[k]));
        xmax = fmax(xmax, w[k] / r[k]);
        wmax = fmax(wmax, w[k]);
    }
    if (algo == 0) { /* RFC 6356 section 3 */
        double alpha = total * mx / (sx * sx);
        return fmin(alpha * a * MSS / total, a * MSS / w[i]);
    }
    double rate = a * MSS * (w[i] / (r[i] * r[i])) / (sx * sx);
    if (algo == 1) { /* OLIA */
        double best = 0;
        for (unsigned k = 0; k < n; k++)
            best = fmax(best, l[k] / (r[k] * r[k]));
        unsigned nm = 0, nbm = 0;
        for (unsigned k = 0; k < n; k++) {
            nm += w[k] == wmax;
            nbm += w[k] != wmax && l[k] / (r[k] * r[k]) == best;
        }
        double eps = 0;
        if (nbm > 0 && w[i] == wmax)
            eps = -1.0 / (n * nm);
        else if (nbm > 0 && l[i] / (r[i] * r[i]) == best)
            eps = 1.0 / (n * nbm);
        return rate + eps * a * MSS / w[i];
    }
    double al = xmax / (w[i] / r[i]); /* BALIA */
    return rate * (1 + al) / 2 * (4 + al) / 5;
}

START_TEST(per_ack_increase_matches_double_reference)
{
    rnd_state = 0x0123456789abcdefull + (uint64_t)_i;
    grp x;
    double worst = 0;
    for (int it = 0; it < 20000; it++) {
        unsigned n = 2 + (unsigned)(rnd() % (MPTCP_MAX_SUBFLOWS - 1));
        grp_make(&x, algos[_i], n);
        double w[MPTCP_MAX_SUBFLOWS], r[MPTCP_MAX_SUBFLOWS], l[MPTCP_MAX_SUBFLOWS];
        for (unsigned k = 0; k < n; k++) {
            x.m[k].cc.cwnd = rnd_log(4 * MSS, 1e9);
            x.m[k].cc.ssthresh = 2 * MSS;
            x.g.slot[k].srtt_us = rnd_log(100, 4e6);
            x.g.slot[k].olia_l2 = rnd_log(1e3, 1e12);
            w[k] = x.m[k].cc.cwnd;
            r[k] = x.g.slot[k].srtt_us;
            l[k] = (double)x.g.slot[k].olia_l2;
        }
        if (_i == 1 && it % 4 == 0) { /* exercise |M| > 1 and ties in B */
            x.m[1].cc.cwnd = x.m[0].cc.cwnd;
            w[1] = w[0];
        }
        unsigned i = (unsigned)(rnd() % n);
        l[i] = fmax(l[i], MSS); /* on_ack counts the ACK into l1 first */
        double want = ref_increase(_i, w, r, l, n, i);
        mptcp_cc *c = &x.m[i].cc;
        double before = (double)c->cwnd * 4294967296.0;
        c->ops->on_ack(c, MSS, c->cwnd, x.g.slot[i].srtt_us, x.g.slot[i].srtt_us, 0);
        double got = ((double)c->cwnd * 4294967296.0 + (double)x.g.slot[i].inc_acc - before) /
                     4294967296.0;
        double err = fabs(got - want);
        worst = fmax(worst, err);
        if (err > 1e-6 * fabs(want) + 0.01)
            ck_abort_msg("%s n=%u i=%u: increase %.9g bytes, want %.9g", algos[_i]->name, n, i,
                         got, want);
    }
    printf("%s per-ACK increase: worst absolute error %.3g bytes over 20000 random groups\n",
           algos[_i]->name, worst);
}
END_TEST

/* OLIA moves window from the largest path to a better, smaller one: the
 * path in M shrinks while the best path outside M grows faster than the
 * coupled term alone would let it. */
START_TEST(olia_shifts_window_to_best_path)
{
    grp x;
    grp_make(&x, &mptcp_cc_olia, 2);
    x.m[0].cc.cwnd = 100 * MSS; /* M: largest window, few bytes between losses */
    x.m[1].cc.cwnd = 50 * MSS;  /* B\M: the same RTT, ten times the bytes */
    for (int k = 0; k < 2; k++) {
        x.m[k].cc.ssthresh = 2 * MSS;
        x.g.slot[k].srtt_us = 40000;
    }
    x.g.slot[0].olia_l2 = 1000000;
    x.g.slot[1].olia_l2 = 10000000;
    for (int i = 0; i < 2000; i++)
        x.m[0].cc.ops->on_ack(&x.m[0].cc, MSS, 0, 40000, 40000, 0);
    /* per ACK: 100/150^2 - 1/(2*100) = -0.000556 MSS: about -1.1 MSS */
    ck_assert_uint_eq(x.m[0].cc.cwnd, 99 * MSS);
    for (int i = 0; i < 200; i++)
        x.m[1].cc.ops->on_ack(&x.m[1].cc, MSS, 0, 40000, 40000, 0);
    /* per ACK: 50/149^2 + 1/(2*50) = 0.01225 MSS: about +2.45 MSS */
    ck_assert_uint_eq(x.m[1].cc.cwnd, 52 * MSS);
}
END_TEST

/* BALIA's decrease: w_r * min(alpha_r, 1.5) / 2. The fastest path halves;
 * a path at a tenth of the fastest rate cuts by 3/4. */
START_TEST(balia_decrease_depends_on_rate_ratio)
{
    grp x;
    grp_make(&x, &mptcp_cc_balia, 2);
    x.m[0].cc.cwnd = 100 * MSS;
    x.m[1].cc.cwnd = 10 * MSS;
    x.g.slot[0].srtt_us = x.g.slot[1].srtt_us = 40000;
    x.m[0].cc.ops->on_loss(&x.m[0].cc, 100 * MSS, 0);
    ck_assert_uint_eq(x.m[0].cc.ssthresh, 50 * MSS);
    ck_assert_uint_eq(x.m[0].cc.cwnd, 50 * MSS);
    x.m[0].cc.cwnd = 100 * MSS;
    x.m[1].cc.ops->on_loss(&x.m[1].cc, 40 * MSS, 0);
    ck_assert_uint_eq(x.m[1].cc.ssthresh, 10 * MSS);
    /* alpha 1.25 (rates 100:80): cut by 5/8 */
    x.m[1].cc.cwnd = 80 * MSS;
    x.m[1].cc.ops->on_loss(&x.m[1].cc, 80 * MSS, 0);
    ck_assert_uint_eq(x.m[1].cc.ssthresh, 30 * MSS);
}
END_TEST

/* ------------------------------------------------------------ lone member = Reno */

START_TEST(single_member_is_exactly_reno)
{
    const mptcp_cc_ops *ops = algos[_i];
    rnd_state = 0xabcdef0123456789ull + (uint64_t)_i;
    mptcp_cc reno;
    memset(&reno, 0, sizeof(reno));
    reno.ops = &mptcp_cc_reno;
    reno.ops->init(&reno, MSS, 0);
    grp x;
    grp_make(&x, ops, 1);
    mptcp_cc *c = &x.m[0].cc;
    uint64_t now = 0;
    for (int i = 0; i < 200000; i++) {
        now += 1000;
        uint64_t k = rnd() % 1000;
        uint32_t flight = c->cwnd;
        if (k < 3) {
            reno.ops->on_loss(&reno, flight, now);
            c->ops->on_loss(c, flight, now);
            reno.ops->on_recovery_end(&reno, now);
            c->ops->on_recovery_end(c, now);
        } else if (k == 3) {
            reno.ops->on_rto(&reno, flight, now);
            c->ops->on_rto(c, flight, now);
        } else if (k == 4) {
            reno.ops->on_idle(&reno, now);
            c->ops->on_idle(c, now);
        } else {
            uint32_t acked = (uint32_t)(1 + rnd() % (3 * MSS));
            uint32_t srtt = (uint32_t)(1000 + rnd() % 100000);
            reno.ops->on_ack(&reno, acked, flight, srtt, srtt, now);
            c->ops->on_ack(c, acked, flight, srtt, srtt, now);
        }
        REQ(c->cwnd == reno.cwnd);
        REQ(c->ssthresh == reno.ssthresh);
    }
    ck_assert_uint_gt(reno.cwnd, 0);
}
END_TEST

START_TEST(member_outside_group_is_reno)
{
    mptcp_cc_coupled_member m;
    memset(&m, 0, sizeof(m));
    m.cc.ops = algos[_i];
    m.cc.ops->init(&m.cc, MSS, 0);
    mptcp_cc reno;
    memset(&reno, 0, sizeof(reno));
    reno.ops = &mptcp_cc_reno;
    reno.ops->init(&reno, MSS, 0);
    for (int i = 0; i < 5000; i++) {
        m.cc.ops->on_ack(&m.cc, MSS, m.cc.cwnd, 20000, 20000, (uint64_t)i);
        reno.ops->on_ack(&reno, MSS, reno.cwnd, 20000, 20000, (uint64_t)i);
        if (i % 700 == 699) {
            m.cc.ops->on_loss(&m.cc, m.cc.cwnd, (uint64_t)i);
            reno.ops->on_loss(&reno, reno.cwnd, (uint64_t)i);
        }
        REQ(m.cc.cwnd == reno.cwnd && m.cc.ssthresh == reno.ssthresh);
    }
    ck_assert_str_eq(m.cc.ops->name, _i == 0 ? "lia" : _i == 1 ? "olia" : "balia");
}
END_TEST

/* ------------------------------------------------------------ group */

START_TEST(group_add_remove_limits)
{
    mptcp_cc_group g;
    mptcp_cc_coupled_member m[MPTCP_MAX_SUBFLOWS + 1];
    memset(m, 0, sizeof(m));
    mptcp_cc_group_init(&g);
    for (unsigned i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        m[i].cc.ops = &mptcp_cc_lia;
        ck_assert_int_eq(mptcp_cc_group_add(&g, &m[i]), 0);
        ck_assert_ptr_eq(m[i].group, &g);
    }
    ck_assert_uint_eq(mptcp_cc_group_count(&g), MPTCP_MAX_SUBFLOWS);
    ck_assert_int_eq(mptcp_cc_group_add(&g, &m[MPTCP_MAX_SUBFLOWS]), MPTCP_ELIMIT);
    ck_assert_ptr_null(m[MPTCP_MAX_SUBFLOWS].group);
    ck_assert_int_eq(mptcp_cc_group_add(&g, &m[0]), MPTCP_EINVAL); /* already in */
    ck_assert_int_eq(mptcp_cc_group_add(NULL, &m[0]), MPTCP_EINVAL);
    ck_assert_int_eq(mptcp_cc_group_add(&g, NULL), MPTCP_EINVAL);
    mptcp_cc_group_remove(&m[3]);
    ck_assert_ptr_null(m[3].group);
    ck_assert_ptr_null(mptcp_cc_coupled_slot(&m[3].cc));
    ck_assert_uint_eq(mptcp_cc_group_count(&g), MPTCP_MAX_SUBFLOWS - 1);
    mptcp_cc_group_remove(&m[3]); /* twice: nothing */
    ck_assert_int_eq(mptcp_cc_group_add(&g, &m[MPTCP_MAX_SUBFLOWS]), 0);
    ck_assert_ptr_eq(mptcp_cc_coupled_slot(&m[MPTCP_MAX_SUBFLOWS].cc)->member,
                     &m[MPTCP_MAX_SUBFLOWS]);
}
END_TEST

START_TEST(not_cwnd_limited_keeps_window)
{
    grp x;
    grp_make(&x, algos[_i], 2);
    for (int k = 0; k < 2; k++) {
        x.m[k].cc.cwnd = 20 * MSS;
        x.m[k].cc.ssthresh = 10 * MSS;
        x.m[k].cc.ops->on_ack(&x.m[k].cc, MSS, 20 * MSS, 30000, 30000, 1);
    }
    mptcp_cc_coupled_set_cwnd_limited(&x.m[0].cc, false);
    uint32_t w = x.m[0].cc.cwnd;
    for (int i = 0; i < 1000; i++)
        x.m[0].cc.ops->on_ack(&x.m[0].cc, MSS, w, 30000, 30000, 2);
    ck_assert_uint_eq(x.m[0].cc.cwnd, w);
    mptcp_cc_coupled_set_cwnd_limited(&x.m[0].cc, true);
    for (int i = 0; i < 1000; i++)
        x.m[0].cc.ops->on_ack(&x.m[0].cc, MSS, w, 30000, 30000, 2);
    ck_assert_uint_gt(x.m[0].cc.cwnd, w);
}
END_TEST

/* Two identical members in congestion avoidance: LIA, OLIA and BALIA all
 * give each 1/4 MSS per RTT (alpha = 1/2 over cwnd_total = 2w for LIA;
 * (w/r^2)/(2w/r)^2 = 1/(4w) per ACK for OLIA; BALIA's factor is 1 at
 * alpha = 1), against Reno's 1 MSS. */
START_TEST(two_equal_members_grow_quarter_mss_per_rtt)
{
    grp x;
    grp_make(&x, algos[_i], 2);
    uint32_t w0 = 100 * MSS;
    for (int k = 0; k < 2; k++) {
        x.m[k].cc.cwnd = w0;
        x.m[k].cc.ssthresh = w0 / 2;
        x.g.slot[k].srtt_us = 40000;
    }
    /* 40 rounds of w0 bytes acknowledged per member, alternately */
    for (int rnd_i = 0; rnd_i < 40; rnd_i++) {
        for (uint32_t b = 0; b < w0; b += MSS)
            for (int k = 0; k < 2; k++)
                x.m[k].cc.ops->on_ack(&x.m[k].cc, MSS, x.m[k].cc.cwnd, 40000, 40000, 0);
    }
    /* ~10 MSS each (windows grow a little over the run: 9..10) */
    for (int k = 0; k < 2; k++) {
        uint32_t grown = (x.m[k].cc.cwnd - w0) / MSS;
        ck_assert_uint_ge(grown, 9);
        ck_assert_uint_le(grown, 10);
    }
}
END_TEST

/* ------------------------------------------------------------ extremes */

START_TEST(extremes_do_not_overflow)
{
    const mptcp_cc_ops *ops = algos[_i];
    grp x;
    static const uint32_t cw[] = {1, 536, MPTCP_CC_CWND_MAX, UINT32_MAX};
    static const uint32_t rt[] = {1, 2, 4000000, UINT32_MAX};
    static const uint32_t ack[] = {0, 1, MSS, UINT32_MAX};
    for (unsigned a = 0; a < 4; a++)
        for (unsigned b = 0; b < 4; b++)
            for (unsigned c = 0; c < 4; c++)
                for (unsigned d = 0; d < 4; d++) {
                    grp_make(&x, ops, MPTCP_MAX_SUBFLOWS);
                    for (unsigned i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
                        x.m[i].cc.cwnd = (i & 1) ? cw[a] : cw[b];
                        x.m[i].cc.ssthresh = 1;
                        x.m[i].cc.mss = i == 0 ? 0 : 65535;
                        x.g.slot[i].srtt_us = (i & 2) ? rt[c] : rt[(c + 1) % 4];
                        x.g.slot[i].olia_l1 = (i & 4) ? UINT64_MAX : 0;
                        x.g.slot[i].olia_l2 = UINT64_MAX / (i + 1);
                    }
                    (void)mptcp_cc_lia_alpha(&x.g);
                    for (unsigned i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
                        mptcp_cc *cc = &x.m[i].cc;
                        cc->ops->on_ack(cc, ack[d], cc->cwnd, x.g.slot[i].srtt_us, 0, 0);
                        cc->ops->on_ack(cc, ack[d], cc->cwnd, x.g.slot[i].srtt_us, 0, 0);
                        REQ(cc->cwnd >= 1);
                        if (i == 1)
                            cc->ops->on_loss(cc, cc->cwnd, 0);
                        if (i == 2)
                            cc->ops->on_rto(cc, UINT32_MAX, 0);
                    }
                }
}
END_TEST

/* ------------------------------------------------------------ fluid model */

/*
 * A deterministic fluid model. Each subflow or TCP flow crosses one link.
 * Every tick of DT seconds a flow sends cwnd/rtt * DT bytes; a link's queue
 * grows by what enters beyond its capacity and its RTT share is queue/cap.
 * When the queue passes the buffer (one BDP), the overflow is charged to
 * the flows in proportion to their rates; a flow with a segment's worth of
 * loss charged sees one loss event (at most one per RTT, as fast recovery
 * makes it). ACKs of one MSS are fed to the controller as bytes arrive.
 */
#define NLINK 2
#define NFLOW 10
#define DT 0.0005

typedef struct {
    double cap, base_rtt, q;
} link_t;

typedef struct {
    mptcp_cc_coupled_member m; /* Reno flows are members outside any group */
    int link;
    double start, stop; /* active in [start, stop) */
    double ack_credit, loss_credit, hold_until, rate;
    double bytes;             /* acknowledged within the measuring window */
    double bytes_w2;          /* acknowledged within the second window */
} flow_t;

typedef struct {
    link_t link[NLINK];
    flow_t f[NFLOW];
    int nf;
    mptcp_cc_group g;
    double m0, m1, w2a, w2b; /* measuring windows */
} model;

static void model_init(model *s)
{
    memset(s, 0, sizeof(*s));
    mptcp_cc_group_init(&s->g);
}

static void model_link(model *s, int l, double mbit, double rtt_ms)
{
    s->link[l].cap = mbit * 1e6 / 8;
    s->link[l].base_rtt = rtt_ms / 1000;
}

/* Adds a flow on |link|: coupled (joins the model's group) or not. */
static int model_flow(model *s, int link, const mptcp_cc_ops *ops, bool coupled, double start,
                      double stop)
{
    flow_t *f = &s->f[s->nf];
    f->link = link;
    f->start = start;
    f->stop = stop;
    f->m.cc.ops = ops;
    if (coupled)
        ck_assert_int_eq(mptcp_cc_group_add(&s->g, &f->m), 0);
    ops->init(&f->m.cc, MSS, 0);
    return s->nf++;
}

static void model_run(model *s, double seconds)
{
    long ticks = (long)(seconds / DT);
    for (long t = 0; t < ticks; t++) {
        double now = t * DT;
        uint64_t now_us = (uint64_t)(now * 1e6);
        double in[NLINK] = {0};
        for (int i = 0; i < s->nf; i++) {
            flow_t *f = &s->f[i];
            link_t *l = &s->link[f->link];
            f->rate = 0;
            if (now < f->start || now >= f->stop)
                continue;
            double rtt = l->base_rtt + l->q / l->cap;
            f->rate = f->m.cc.cwnd / rtt;
            in[f->link] += f->rate;
        }
        for (int l = 0; l < NLINK; l++) {
            link_t *k = &s->link[l];
            if (k->cap == 0)
                continue;
            k->q += (in[l] - k->cap) * DT;
            if (k->q < 0)
                k->q = 0;
            double buf = k->cap * k->base_rtt;
            if (k->q > buf) {
                double excess = k->q - buf;
                k->q = buf;
                for (int i = 0; i < s->nf; i++)
                    if (s->f[i].link == l && s->f[i].rate > 0)
                        s->f[i].loss_credit += excess * s->f[i].rate / in[l];
            }
        }
        for (int i = 0; i < s->nf; i++) {
            flow_t *f = &s->f[i];
            if (f->rate == 0)
                continue;
            link_t *l = &s->link[f->link];
            double rtt = l->base_rtt + l->q / l->cap;
            uint32_t rtt_us = (uint32_t)(rtt * 1e6);
            mptcp_cc *c = &f->m.cc;
            f->ack_credit += f->rate * DT;
            while (f->ack_credit >= MSS) {
                f->ack_credit -= MSS;
                c->ops->on_ack(c, MSS, c->cwnd, rtt_us, rtt_us, now_us);
                if (now >= s->m0 && now < s->m1)
                    f->bytes += MSS;
                if (now >= s->w2a && now < s->w2b)
                    f->bytes_w2 += MSS;
            }
            if (f->loss_credit >= MSS) {
                if (now >= f->hold_until) {
                    c->ops->on_loss(c, c->cwnd, now_us);
                    c->ops->on_recovery_end(c, now_us);
                    f->hold_until = now + rtt;
                }
                f->loss_credit = 0;
            }
        }
    }
}

static double rate_mbit(const model *s, int i)
{
    return s->f[i].bytes * 8 / (s->m1 - s->m0) / 1e6;
}

/* RFC 6356 goal 2 (do no harm): two subflows through one 10 Mbit/s
 * bottleneck against one Reno flow; the multipath flow must not take more
 * than the Reno flow. The uncoupled control (two Reno subflows) takes
 * about twice as much, so the test can tell. */
static void shared_bottleneck(const mptcp_cc_ops *ops, bool coupled, double *mp, double *tcp)
{
    model s;
    model_init(&s);
    model_link(&s, 0, 10, 40);
    s.m0 = 50;
    s.m1 = 200;
    int a = model_flow(&s, 0, ops, coupled, 0, 1e9);
    int b = model_flow(&s, 0, ops, coupled, 0, 1e9);
    int r = model_flow(&s, 0, &mptcp_cc_reno, false, 0, 1e9);
    model_run(&s, 200);
    *mp = rate_mbit(&s, a) + rate_mbit(&s, b);
    *tcp = rate_mbit(&s, r);
}

START_TEST(fluid_shared_bottleneck_no_harm)
{
    double mp, tcp;
    shared_bottleneck(algos[_i], true, &mp, &tcp);
    printf("%s shared bottleneck: multipath %.2f Mbit/s, Reno %.2f Mbit/s (ratio %.2f)\n",
           algos[_i]->name, mp, tcp, mp / tcp);
    ck_assert_double_le(mp, tcp * 1.15);
    ck_assert_double_ge(mp + tcp, 9.0); /* the link stays used */
}
END_TEST

START_TEST(fluid_shared_bottleneck_uncoupled_control)
{
    double mp, tcp;
    shared_bottleneck(&mptcp_cc_reno, false, &mp, &tcp);
    printf("uncoupled control: two Reno subflows %.2f Mbit/s, Reno %.2f Mbit/s (ratio %.2f)\n",
           mp, tcp, mp / tcp);
    ck_assert_double_ge(mp, tcp * 1.6);
}
END_TEST

/* RFC 6356 goal 1 (improve throughput): path A 10 Mbit/s x 20 ms and path
 * B 4 Mbit/s x 80 ms, each shared with one Reno flow. The multipath flow
 * must get at least what a single Reno flow gets on the better path in
 * the same setting. */
static double disjoint(const mptcp_cc_ops *ops, int which, double *best)
{
    model s;
    model_init(&s);
    model_link(&s, 0, 10, 20);
    model_link(&s, 1, 4, 80);
    s.m0 = 50;
    s.m1 = 200;
    model_flow(&s, 0, &mptcp_cc_reno, false, 0, 1e9);
    model_flow(&s, 1, &mptcp_cc_reno, false, 0, 1e9);
    double got = 0;
    if (which < 0) {
        int a = model_flow(&s, 0, ops, true, 0, 1e9);
        int b = model_flow(&s, 1, ops, true, 0, 1e9);
        model_run(&s, 200);
        got = rate_mbit(&s, a) + rate_mbit(&s, b);
    } else {
        int a = model_flow(&s, which, &mptcp_cc_reno, false, 0, 1e9);
        model_run(&s, 200);
        got = rate_mbit(&s, a);
    }
    if (best != NULL)
        *best = got;
    return got;
}

START_TEST(fluid_disjoint_at_least_best_path)
{
    double a = disjoint(NULL, 0, NULL), b = disjoint(NULL, 1, NULL);
    double best = fmax(a, b);
    double mp = disjoint(algos[_i], -1, NULL);
    printf("%s disjoint paths: multipath %.2f Mbit/s; single Reno on A %.2f, on B %.2f\n",
           algos[_i]->name, mp, a, b);
    ck_assert_double_ge(mp, best * 0.95);
}
END_TEST

/* RFC 6356 goal 3 (balance congestion): two 10 Mbit/s x 40 ms paths, A
 * shared with one Reno flow, B with four. The multipath flow must put
 * clearly more traffic on A. With |stop_b| < end, B's four flows leave at
 * that time and the multipath flow must move traffic back to B
 * (responsiveness, Khalili et al. and Peng et al.). */
static void balance(const mptcp_cc_ops *ops, double stop_b, double *a_rate, double *b_rate,
                    double *b_after)
{
    model s;
    model_init(&s);
    model_link(&s, 0, 10, 40);
    model_link(&s, 1, 10, 40);
    s.m0 = 30;
    s.m1 = stop_b < 150 ? stop_b : 150;
    s.w2a = stop_b + 5;
    s.w2b = stop_b + 25;
    model_flow(&s, 0, &mptcp_cc_reno, false, 0, 1e9);
    for (int k = 0; k < 4; k++)
        model_flow(&s, 1, &mptcp_cc_reno, false, 0, stop_b);
    int a = model_flow(&s, 0, ops, true, 0, 1e9);
    int b = model_flow(&s, 1, ops, true, 0, 1e9);
    model_run(&s, stop_b < 150 ? stop_b + 25 : 150);
    *a_rate = rate_mbit(&s, a);
    *b_rate = rate_mbit(&s, b);
    if (b_after != NULL)
        *b_after = s.f[b].bytes_w2 * 8 / 20 / 1e6;
}

START_TEST(fluid_moves_traffic_off_congested_path)
{
    double a, b;
    balance(algos[_i], 1e9, &a, &b, NULL);
    printf("%s congestion balance: %.2f Mbit/s on the path with 1 competitor, %.2f on the "
           "path with 4 (ratio %.2f)\n",
           algos[_i]->name, a, b, a / b);
    ck_assert_double_ge(a, 2 * b);
}
END_TEST

START_TEST(fluid_responds_when_congestion_leaves)
{
    double a, b, after;
    balance(algos[_i], 80, &a, &b, &after);
    printf("%s responsiveness: path B %.2f Mbit/s with 4 competitors, %.2f Mbit/s 5-25 s "
           "after they left (path A %.2f before)\n",
           algos[_i]->name, b, after, a);
    ck_assert_double_ge(after, 3 * b);
    ck_assert_double_ge(after, 3.0);
}
END_TEST

Suite *cc_coupled_suite(void)
{
    Suite *s = suite_create("cc_coupled");
    TCase *tc = tcase_create("arith");
    tcase_add_test(tc, muldiv_matches_128bit_reference);
    tcase_add_test(tc, lia_alpha_matches_double_reference);
    tcase_add_test(tc, lia_alpha_known_values);
    tcase_add_loop_test(tc, extremes_do_not_overflow, 0, 3);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("rules");
    tcase_add_loop_test(tc, single_member_is_exactly_reno, 0, 3);
    tcase_add_loop_test(tc, member_outside_group_is_reno, 0, 3);
    tcase_add_test(tc, group_add_remove_limits);
    tcase_add_loop_test(tc, not_cwnd_limited_keeps_window, 0, 3);
    tcase_add_loop_test(tc, two_equal_members_grow_quarter_mss_per_rtt, 0, 3);
    tcase_add_loop_test(tc, per_ack_increase_matches_double_reference, 0, 3);
    tcase_add_test(tc, olia_shifts_window_to_best_path);
    tcase_add_test(tc, balia_decrease_depends_on_rate_ratio);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("fluid");
    tcase_add_loop_test(tc, fluid_shared_bottleneck_no_harm, 0, 3);
    tcase_add_test(tc, fluid_shared_bottleneck_uncoupled_control);
    tcase_add_loop_test(tc, fluid_disjoint_at_least_best_path, 0, 3);
    tcase_add_loop_test(tc, fluid_moves_traffic_off_congested_path, 0, 3);
    tcase_add_loop_test(tc, fluid_responds_when_congestion_leaves, 0, 3);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
