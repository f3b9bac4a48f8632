/*
 * sim_link.c - a one-way link: serialization at a rate, propagation delay,
 * a drop-tail queue, then the impairments of the wire (random loss,
 * corruption, reordering, duplication) and scripted loss. It does not look
 * inside segments except to flip a bit when corrupting them.
 *
 * Timing: a packet entering at t starts transmission at max(t, busy_until),
 * takes ceil(8 * (IP length + overhead) / rate) microseconds on the wire and
 * arrives delay_us after its last bit left. The queue holds the packets whose
 * transmission has not finished; one more than queue_pkts is dropped.
 */
#include "sim/sim.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SCRIPT 64

struct sim_link {
    sim_elem elem;
    sim_link_cfg cfg;
    sim_rng rng;
    uint64_t busy_until;
    /* ring of the transmission end times of the queued packets */
    uint64_t *ring;
    uint32_t ring_cap, ring_head, ring_len;
    uint64_t drop_idx[MAX_SCRIPT];
    size_t n_drop_idx;
    sim_link_filter filter;
    void *filter_ctx;
    bool down;
    sim_link_stats st;
};

static void link_dtor(sim *s, void *obj)
{
    (void)s;
    free(((sim_link *)obj)->ring);
}

static void link_deliver(sim *s, void *arg, sim_pkt *p)
{
    sim_link *l = arg;
    l->st.pkts_out++;
    l->st.bytes_out += p->len;
    sim_forward(s, l->elem.next, p);
}

static bool scripted_drop(sim_link *l, const sim_pkt *p, uint64_t idx)
{
    for (size_t i = 0; i < l->n_drop_idx; i++)
        if (l->drop_idx[i] == idx)
            return true;
    return l->filter && l->filter(l->filter_ctx, p, idx);
}

static void link_recv(sim_elem *e, sim *s, sim_pkt *p)
{
    sim_link *l = (sim_link *)e;
    uint64_t now = sim_now(s);
    uint64_t idx = l->st.pkts_in++;
    if (l->down) {
        l->st.drop_down++;
        sim_pkt_free(s, p);
        return;
    }
    if (scripted_drop(l, p, idx)) {
        l->st.drop_script++;
        sim_pkt_free(s, p);
        return;
    }
    /* Packets whose last bit has left are out of the queue. */
    while (l->ring_len && l->ring[l->ring_head] <= now) {
        l->ring_head = (l->ring_head + 1) % l->ring_cap;
        l->ring_len--;
    }
    if (l->ring_cap && l->ring_len >= l->cfg.queue_pkts) {
        l->st.drop_queue++;
        sim_pkt_free(s, p);
        return;
    }
    uint64_t start = l->busy_until > now ? l->busy_until : now;
    uint64_t tx = 0;
    if (l->cfg.rate_bps) {
        uint64_t ip_hdr = p->src.family == MPTCP_AF_INET6 ? 40 : 20;
        uint64_t bits = 8 * (p->len + ip_hdr + l->cfg.overhead);
        tx = (bits * 1000000 + l->cfg.rate_bps - 1) / l->cfg.rate_bps;
    }
    uint64_t end = start + tx;
    l->busy_until = end;
    if (l->ring_cap) {
        l->ring[(l->ring_head + l->ring_len) % l->ring_cap] = end;
        l->ring_len++;
        if (l->ring_len > l->st.max_queue)
            l->st.max_queue = l->ring_len;
    }
    /* Impairments on the wire: the packet used the link. The random draws
     * happen in a fixed order for every packet so that changing one
     * probability does not shift the other choices. */
    uint64_t r_loss = sim_rng_next(&l->rng), r_corrupt = sim_rng_next(&l->rng);
    uint64_t r_reorder = sim_rng_next(&l->rng), r_dup = sim_rng_next(&l->rng);
    uint64_t r_bit = sim_rng_next(&l->rng);
    if (r_loss % 1000000 < l->cfg.loss_ppm) {
        l->st.drop_loss++;
        sim_pkt_free(s, p);
        return;
    }
    if (r_corrupt % 1000000 < l->cfg.corrupt_ppm && p->len) {
        uint64_t bit = r_bit % ((uint64_t)p->len * 8);
        p->data[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        l->st.corrupted++;
    }
    uint64_t arrive = end + l->cfg.delay_us;
    if (r_reorder % 1000000 < l->cfg.reorder_ppm) {
        arrive += l->cfg.reorder_delay_us;
        l->st.reorders++;
    }
    sim_pkt *dup = NULL;
    if (r_dup % 1000000 < l->cfg.dup_ppm) {
        dup = sim_pkt_clone(s, p);
        l->st.dups++;
    }
    sim_at(s, arrive, link_deliver, l, p);
    if (dup)
        sim_at(s, arrive, link_deliver, l, dup);
}

sim_link *sim_link_new(sim *s, const char *name, const sim_link_cfg *cfg, sim_elem *next)
{
    sim_link *l = sim_own(s, sizeof(*l), link_dtor);
    l->elem.recv = link_recv;
    l->elem.next = next;
    l->elem.name = name;
    l->cfg = *cfg;
    sim_rng_seed(&l->rng, sim_subseed(s));
    if (cfg->queue_pkts) {
        l->ring_cap = cfg->queue_pkts;
        l->ring = calloc(l->ring_cap, sizeof(*l->ring));
        if (!l->ring)
            abort();
    }
    return l;
}

sim_elem *sim_link_elem(sim_link *l)
{
    return &l->elem;
}

void sim_link_set_next(sim_link *l, sim_elem *next)
{
    l->elem.next = next;
}

void sim_link_set_cfg(sim_link *l, const sim_link_cfg *cfg)
{
    uint32_t q = cfg->queue_pkts;
    l->cfg = *cfg;
    if (!l->ring_cap || q == 0 || q > l->ring_cap)
        l->cfg.queue_pkts = l->ring_cap; /* the ring cannot grow or appear */
}

const sim_link_cfg *sim_link_get_cfg(const sim_link *l)
{
    return &l->cfg;
}

int sim_link_drop_index(sim_link *l, uint64_t index)
{
    if (l->n_drop_idx == MAX_SCRIPT)
        return -1;
    l->drop_idx[l->n_drop_idx++] = index;
    return 0;
}

void sim_link_set_filter(sim_link *l, sim_link_filter f, void *ctx)
{
    l->filter = f;
    l->filter_ctx = ctx;
}

void sim_link_set_down(sim_link *l, bool down)
{
    l->down = down;
}

static void link_down_ev(sim *s, void *arg, sim_pkt *p)
{
    (void)s, (void)p;
    ((sim_link *)arg)->down = true;
}

static void link_up_ev(sim *s, void *arg, sim_pkt *p)
{
    (void)s, (void)p;
    ((sim_link *)arg)->down = false;
}

void sim_link_outage(sim *s, sim_link *l, uint64_t from, uint64_t to)
{
    sim_at(s, from, link_down_ev, l, NULL);
    if (to != UINT64_MAX)
        sim_at(s, to, link_up_ev, l, NULL);
}

void sim_link_get_stats(const sim_link *l, sim_link_stats *out)
{
    *out = l->st;
}
