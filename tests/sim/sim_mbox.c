/*
 * sim_mbox.c - middleboxes: the transforms that RFC 8684 section 3.7 and
 * its appendix list as what MPTCP must survive (option stripping, sequence
 * number rewriting, NAT, segment splitting and coalescing, payload
 * rewriting), applied to real segment bytes. It owns no TCP state beyond
 * the NAT table, the sequence deltas and one held segment per direction.
 */
#include "sim/sim_mbox.h"

#include <string.h>

#include "sim/sim_seg.h"

#define NAT_MAX 16

typedef struct mbox_dir {
    sim_elem elem;
    struct sim_mbox *m;
    unsigned dir; /* SIM_A2B or SIM_B2A */
    bool delta_set;
    sim_pkt *held; /* coalescing */
    uint64_t held_since;
} mbox_dir;

typedef struct nat_entry {
    mptcp_addr ip;
    uint16_t port, mapped;
} nat_entry;

struct sim_mbox {
    mbox_dir d[2];
    sim *s;
    sim_mbox_cfg cfg;
    uint32_t delta[2]; /* [0]: added to A's sequence numbers, [1]: B's */
    nat_entry nat[NAT_MAX];
    size_t n_nat;
    sim_mbox_stats st;
};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static bool ip_eq(const mptcp_addr *a, const mptcp_addr *b)
{
    return a->family == b->family &&
           memcmp(a->ip, b->ip, a->family == MPTCP_AF_INET ? 4 : 16) == 0;
}

/* ---------------------------------------------------------------- options */

static bool strip_this(const sim_mbox_cfg *c, const uint8_t *opt, size_t olen)
{
    for (size_t i = 0; i < c->n_strip_kinds; i++)
        if (opt[0] == c->strip_kinds[i])
            return true;
    return opt[0] == MPTCP_TCPOPT_MPTCP && olen >= 3 && (c->strip_mptcp >> (opt[2] >> 4)) & 1u;
}

/* Removes or NOPs out the selected options. Returns true if anything went. */
static bool strip_opts(sim_mbox *m, sim_pkt *p)
{
    const sim_mbox_cfg *c = &m->cfg;
    uint8_t *seg = p->data;
    size_t doff = sim_seg_doff(seg), i = 20, w = 20;
    uint8_t keep[40];
    size_t nkeep = 0;
    bool changed = false;
    while (i < doff) {
        uint8_t k = seg[i];
        if (k == 0)
            break;
        size_t l = k == 1 ? 1 : seg[i + 1];
        if (k != 1 && (i + 1 >= doff || l < 2 || i + l > doff))
            return changed; /* unwalkable: leave it alone, the receiver decides */
        if (k != 1 && strip_this(c, seg + i, l)) {
            m->st.opts_stripped++;
            changed = true;
            if (c->strip_to_nop)
                memset(seg + i, 1, l);
        } else if (!c->strip_to_nop) {
            memcpy(keep + nkeep, seg + i, l);
            nkeep += l;
        }
        i += l;
    }
    if (!changed || c->strip_to_nop)
        return changed;
    size_t padded = (nkeep + 3) & ~(size_t)3;
    memset(keep + nkeep, 0, padded - nkeep); /* EOL padding after the last option */
    size_t plen = p->len - doff;
    memcpy(seg + w, keep, padded);
    memmove(seg + 20 + padded, seg + doff, plen);
    seg[12] = (uint8_t)((((20 + padded) / 4) << 4) | (seg[12] & 0x0f));
    p->len = (uint32_t)(20 + padded + plen);
    return true;
}

static bool rewrite_opt(sim_mbox *m, sim_pkt *p)
{
    const sim_mbox_cfg *c = &m->cfg;
    size_t olen;
    int off = sim_seg_find_opt(p->data, p->len, c->rw_kind, c->rw_subtype, &olen);
    if (off < 0 || olen != c->rw_len)
        return false;
    memcpy(p->data + off, c->rw_bytes, olen);
    m->st.opts_rewritten++;
    return true;
}

static bool clamp_mss(sim_mbox *m, sim_pkt *p)
{
    size_t olen;
    int off = sim_seg_find_opt(p->data, p->len, 2, -1, &olen);
    if (off < 0 || olen != 4)
        return false;
    uint16_t mss = (uint16_t)(p->data[off + 2] << 8 | p->data[off + 3]);
    if (mss <= m->cfg.mss_clamp)
        return false;
    p->data[off + 2] = (uint8_t)(m->cfg.mss_clamp >> 8);
    p->data[off + 3] = (uint8_t)m->cfg.mss_clamp;
    m->st.mss_clamped++;
    return true;
}

static bool rewrite_payload(sim_mbox *m, sim_pkt *p)
{
    size_t n = m->cfg.pay_len, doff = sim_seg_doff(p->data);
    bool changed = false;
    if (p->len < doff + n)
        return false;
    for (size_t i = doff; i + n <= p->len; i++) {
        if (m->cfg.pay_max && m->st.payload_rewrites >= m->cfg.pay_max)
            break;
        if (m->cfg.pay_budget && *m->cfg.pay_budget == 0)
            break;
        if (memcmp(p->data + i, m->cfg.pay_from, n) == 0) {
            memcpy(p->data + i, m->cfg.pay_to, n);
            m->st.payload_rewrites++;
            if (m->cfg.pay_budget)
                (*m->cfg.pay_budget)--;
            changed = true;
            i += n - 1;
        }
    }
    return changed;
}

/* ---------------------------------------------------------------- sequence */

/* Shifts the SACK blocks (RFC 2018: kind 5) by -|back|. */
static void shift_sack(sim_pkt *p, uint32_t back)
{
    size_t olen;
    int off = sim_seg_find_opt(p->data, p->len, 5, -1, &olen);
    if (off < 0 || olen < 10 || (olen - 2) % 8)
        return;
    for (size_t i = (size_t)off + 2; i + 8 <= (size_t)off + olen; i += 8) {
        wr32(p->data + i, rd32(p->data + i) - back);
        wr32(p->data + i + 4, rd32(p->data + i + 4) - back);
    }
}

static void rewrite_seq(sim_mbox *m, mbox_dir *d, sim_pkt *p)
{
    int me = d->dir == SIM_A2B ? 0 : 1, peer = 1 - me;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    /* The first SYN from a side fixes its delta when a target ISN is set. */
    if (m->cfg.seq_target && (h.flags & MPTCP_TH_SYN) && !d->delta_set) {
        m->delta[me] = (me == 0 ? m->cfg.isn_a : m->cfg.isn_b) - h.seq;
        d->delta_set = true;
    }
    h.seq += m->delta[me];
    if (h.flags & MPTCP_TH_ACK) {
        h.ack -= m->delta[peer];
        if (!m->cfg.seq_leave_sack)
            shift_sack(p, m->delta[peer]);
    }
    sim_seg_put(p->data, &h);
    m->st.seq_rewritten++;
}

/* ---------------------------------------------------------------- NAT */

static bool nat(sim_mbox *m, mbox_dir *d, sim_pkt *p)
{
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (d->dir == SIM_A2B) {
        nat_entry *e = NULL;
        for (size_t i = 0; i < m->n_nat; i++)
            if (ip_eq(&m->nat[i].ip, &p->src) && m->nat[i].port == h.sport)
                e = &m->nat[i];
        if (!e) {
            if (m->n_nat == NAT_MAX) {
                m->st.nat_drop++;
                return false;
            }
            e = &m->nat[m->n_nat];
            e->ip = p->src;
            e->port = h.sport;
            e->mapped = (uint16_t)(m->cfg.nat_port_base + m->n_nat);
            m->n_nat++;
        }
        p->src = m->cfg.nat_ip;
        p->src.port = 0;
        h.sport = e->mapped;
        m->st.nat_out++;
    } else {
        nat_entry *e = NULL;
        if (ip_eq(&p->dst, &m->cfg.nat_ip))
            for (size_t i = 0; i < m->n_nat; i++)
                if (m->nat[i].mapped == h.dport)
                    e = &m->nat[i];
        if (!e) {
            m->st.nat_drop++; /* no mapping: a NAT drops unsolicited inbound segments */
            return false;
        }
        p->dst = e->ip;
        p->dst.port = 0;
        h.dport = e->port;
        m->st.nat_in++;
    }
    sim_seg_put(p->data, &h);
    return true;
}

/* ---------------------------------------------------------------- coalesce */

static void coalesce_flush(sim_mbox *m, mbox_dir *d)
{
    if (!d->held)
        return;
    sim_pkt *p = d->held;
    d->held = NULL;
    m->st.coalesce_out++;
    sim_forward(m->s, d->elem.next, p);
}

static void coalesce_timer(sim *s, void *arg, sim_pkt *unused)
{
    (void)unused;
    mbox_dir *d = arg;
    if (d->held && sim_now(s) >= d->held_since + d->m->cfg.coalesce_hold_us)
        coalesce_flush(d->m, d);
}

/* Only plain data segments (ACK, optionally PSH) with a good checksum are
 * merged, as GRO does: anything else is a flush point. */
static bool coalescable(const sim_pkt *p)
{
    sim_tcp h;
    sim_seg_get(p->data, &h);
    return (h.flags & ~(unsigned)MPTCP_TH_PSH) == MPTCP_TH_ACK &&
           sim_seg_payload_len(p->data, p->len) > 0 && sim_pkt_csum_ok(p);
}

static bool try_merge(sim_mbox *m, sim_pkt *held, const sim_pkt *p)
{
    sim_tcp a, b;
    sim_seg_get(held->data, &a);
    sim_seg_get(p->data, &b);
    size_t da = sim_seg_doff(held->data), db = sim_seg_doff(p->data);
    size_t pa = held->len - da, pb = p->len - db;
    if (!ip_eq(&held->src, &p->src) || !ip_eq(&held->dst, &p->dst) || a.sport != b.sport ||
        a.dport != b.dport || b.seq != a.seq + (uint32_t)pa || a.ack != b.ack || da != db ||
        memcmp(held->data + 20, p->data + 20, da - 20) != 0 || (a.flags & MPTCP_TH_PSH) ||
        pa + pb > m->cfg.coalesce_max || held->len + pb > SIM_PKT_CAP)
        return false;
    memcpy(held->data + held->len, p->data + db, pb);
    held->len += (uint32_t)pb;
    a.flags |= b.flags & MPTCP_TH_PSH;
    a.window = b.window;
    sim_seg_put(held->data, &a);
    sim_pkt_csum_fill(held);
    return true;
}

static void coalesce(sim_mbox *m, mbox_dir *d, sim_pkt *p)
{
    m->st.coalesce_in++;
    if (!coalescable(p)) {
        coalesce_flush(m, d);
        m->st.coalesce_out++;
        sim_forward(m->s, d->elem.next, p);
        return;
    }
    if (d->held && try_merge(m, d->held, p)) {
        sim_pkt_free(m->s, p);
        return;
    }
    coalesce_flush(m, d);
    d->held = p;
    d->held_since = sim_now(m->s);
    sim_at(m->s, d->held_since + m->cfg.coalesce_hold_us, coalesce_timer, d, NULL);
}

/* ---------------------------------------------------------------- split */

static void out(sim_mbox *m, mbox_dir *d, sim_pkt *p)
{
    if (m->cfg.coalesce_max && (m->cfg.dirs & d->dir))
        coalesce(m, d, p);
    else
        sim_forward(m->s, d->elem.next, p);
}

/* TSO-like: every piece carries the original header and options (as TSO
 * hardware copies them); SYN stays on the first piece, FIN and PSH on the last. */
static void split(sim_mbox *m, mbox_dir *d, sim_pkt *p, bool was_ok)
{
    size_t doff = sim_seg_doff(p->data), plen = p->len - doff, max = m->cfg.split_max;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (plen <= max || (h.flags & (MPTCP_TH_SYN | MPTCP_TH_RST))) {
        out(m, d, p);
        return;
    }
    m->st.split_in++;
    for (size_t off = 0; off < plen; off += max) {
        size_t n = plen - off < max ? plen - off : max;
        bool last = off + n == plen;
        sim_pkt *q = sim_pkt_alloc(m->s);
        q->src = p->src;
        q->dst = p->dst;
        memcpy(q->data, p->data, doff);
        memcpy(q->data + doff, p->data + doff + off, n);
        q->len = (uint32_t)(doff + n);
        sim_tcp qh = h;
        qh.seq = h.seq + (uint32_t)off;
        if (!last)
            qh.flags &= (uint16_t) ~(MPTCP_TH_FIN | MPTCP_TH_PSH);
        sim_seg_put(q->data, &qh);
        sim_pkt_csum_redo(q, was_ok);
        m->st.split_out++;
        out(m, d, q);
    }
    sim_pkt_free(m->s, p);
}

/* ---------------------------------------------------------------- pipeline */

static void mbox_recv(sim_elem *e, sim *s, sim_pkt *p)
{
    mbox_dir *d = (mbox_dir *)e;
    sim_mbox *m = d->m;
    const sim_mbox_cfg *c = &m->cfg;
    m->st.pkts[d->dir == SIM_A2B ? 0 : 1]++;
    if (!sim_seg_valid(p->data, p->len)) {
        m->st.not_tcp++;
        sim_forward(s, d->elem.next, p);
        return;
    }
    if (c->hook && !c->hook(c->hook_ctx, s, d->dir, p)) {
        m->st.hook_drops++;
        sim_pkt_free(s, p);
        return;
    }
    bool was_ok = sim_pkt_csum_ok(p), changed = false;
    bool mine = (c->dirs & d->dir) != 0;
    sim_tcp h;
    sim_seg_get(p->data, &h);
    if (mine && (c->n_strip_kinds || c->strip_mptcp) &&
        (!c->strip_syn_only || (h.flags & MPTCP_TH_SYN)))
        changed |= strip_opts(m, p);
    if (mine && c->rw_opt)
        changed |= rewrite_opt(m, p);
    if (mine && c->mss_clamp && (h.flags & MPTCP_TH_SYN))
        changed |= clamp_mss(m, p);
    if (mine && c->pay_len)
        changed |= rewrite_payload(m, p);
    if (c->seq_rewrite) {
        rewrite_seq(m, d, p);
        changed = true;
    }
    if (c->nat) {
        if (!nat(m, d, p)) {
            sim_pkt_free(s, p);
            return;
        }
        changed = true;
    }
    if (changed)
        sim_pkt_csum_redo(p, was_ok);
    if (mine && c->split_max)
        split(m, d, p, was_ok);
    else
        out(m, d, p);
}

static void mbox_dtor(sim *s, void *obj)
{
    sim_mbox *m = obj;
    for (int i = 0; i < 2; i++) {
        sim_pkt_free(s, m->d[i].held);
        m->d[i].held = NULL;
    }
}

sim_mbox *sim_mbox_new(sim *s, const char *name, const sim_mbox_cfg *cfg, sim_elem *next_a2b,
                       sim_elem *next_b2a)
{
    sim_mbox *m = sim_own(s, sizeof(*m), mbox_dtor);
    m->s = s;
    m->cfg = *cfg;
    m->delta[0] = cfg->delta_a;
    m->delta[1] = cfg->delta_b;
    for (int i = 0; i < 2; i++) {
        m->d[i].elem.recv = mbox_recv;
        m->d[i].elem.name = name;
        m->d[i].m = m;
        m->d[i].dir = i == 0 ? SIM_A2B : SIM_B2A;
    }
    m->d[0].elem.next = next_a2b;
    m->d[1].elem.next = next_b2a;
    return m;
}

sim_elem *sim_mbox_a2b(sim_mbox *m)
{
    return &m->d[0].elem;
}

sim_elem *sim_mbox_b2a(sim_mbox *m)
{
    return &m->d[1].elem;
}

void sim_mbox_set_next(sim_mbox *m, sim_elem *next_a2b, sim_elem *next_b2a)
{
    m->d[0].elem.next = next_a2b;
    m->d[1].elem.next = next_b2a;
}

void sim_mbox_get_stats(const sim_mbox *m, sim_mbox_stats *outp)
{
    *outp = m->st;
}

uint32_t sim_mbox_delta_a(const sim_mbox *m)
{
    return m->delta[0];
}

uint32_t sim_mbox_delta_b(const sim_mbox *m)
{
    return m->delta[1];
}
