/*
 * sim.c - core of the simulator: clock, event queue (binary min-heap ordered
 * by time, then by insertion sequence, so equal-time events run in the order
 * they were scheduled), packet pool, nodes with routes and timers, taps and
 * pipes. Links are in sim_link.c, middleboxes in sim_mbox.c. Nothing here
 * knows TCP; it moves bytes and asks nodes for their deadlines.
 */
#include "sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROUTES 32
#define STUCK_LIMIT 10000 /* timer calls at one instant before we call it a loop */

typedef struct sim_event {
    uint64_t t, seq;
    sim_fn fn;
    void *arg;
    sim_pkt *p;
} sim_event;

typedef struct sim_owned {
    struct sim_owned *next;
    void (*dtor)(sim *s, void *obj);
    /* the object follows, aligned */
    _Alignas(max_align_t) unsigned char obj[];
} sim_owned;

typedef struct sim_route {
    bool any_src, any_dst;
    mptcp_addr src, dst;
    sim_elem *first;
} sim_route;

struct sim_node {
    sim_elem elem; /* first: delivery element */
    sim *s;
    const char *name;
    sim_node_ops ops;
    void *ctx;
    sim_route routes[MAX_ROUTES];
    size_t n_routes;
    uint64_t pkts_in, pkts_out;
    uint64_t stuck_at;
    uint32_t stuck_count;
    struct sim_node *next_node;
};

struct sim {
    uint64_t now, seq;
    sim_rng seeds;
    sim_event *heap;
    size_t n_ev, cap_ev;
    sim_pkt *free_pkts;
    size_t live_pkts;
    uint64_t next_pkt_id;
    sim_owned *owned;
    sim_node *nodes, *nodes_tail;
    sim_stats st;
};

/* ---------------------------------------------------------------- random */

uint64_t sim_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed)
{
    r->state = seed;
}

uint64_t sim_rng_next(sim_rng *r)
{
    r->state += 0x9e3779b97f4a7c15ull;
    return sim_mix64(r->state);
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Multiply-shift: bias is below 2^-32 for the small n used here. */
    return (uint64_t)(((unsigned __int128)sim_rng_next(r) * n) >> 64);
}

bool sim_rng_chance(sim_rng *r, uint32_t ppm)
{
    if (ppm == 0)
        return false;
    return sim_rng_below(r, 1000000) < ppm;
}

/* ---------------------------------------------------------------- memory */

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "sim: out of memory\n");
        abort();
    }
    return p;
}

void *sim_own(sim *s, size_t size, void (*dtor)(sim *s, void *obj))
{
    sim_owned *o = xcalloc(1, sizeof(*o) + size);
    o->dtor = dtor;
    o->next = s->owned;
    s->owned = o;
    return o->obj;
}

sim *sim_new(uint64_t seed, uint64_t start_us)
{
    sim *s = xcalloc(1, sizeof(*s));
    s->now = start_us;
    sim_rng_seed(&s->seeds, seed ^ 0x5eed5eed5eed5eedull);
    s->cap_ev = 1024;
    s->heap = xcalloc(s->cap_ev, sizeof(*s->heap));
    return s;
}

void sim_free(sim *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n_ev; i++)
        if (s->heap[i].p)
            sim_pkt_free(s, s->heap[i].p);
    s->n_ev = 0;
    while (s->owned) {
        sim_owned *o = s->owned;
        s->owned = o->next;
        if (o->dtor)
            o->dtor(s, o->obj);
        free(o);
    }
    while (s->free_pkts) {
        sim_pkt *p = s->free_pkts;
        s->free_pkts = p->next;
        free(p);
    }
    free(s->heap);
    free(s);
}

uint64_t sim_now(const sim *s)
{
    return s->now;
}

uint64_t sim_subseed(sim *s)
{
    return sim_rng_next(&s->seeds);
}

void sim_get_stats(const sim *s, sim_stats *out)
{
    *out = s->st;
}

/* ---------------------------------------------------------------- packets */

sim_pkt *sim_pkt_alloc(sim *s)
{
    sim_pkt *p = s->free_pkts;
    if (p)
        s->free_pkts = p->next;
    else
        p = xcalloc(1, sizeof(*p)); /* the pool grows to the peak in flight, then recycles */
    p->next = NULL;
    p->id = s->next_pkt_id++;
    p->len = 0;
    s->live_pkts++;
    s->st.pkts_created++;
    return p;
}

sim_pkt *sim_pkt_clone(sim *s, const sim_pkt *src)
{
    sim_pkt *p = sim_pkt_alloc(s);
    p->src = src->src;
    p->dst = src->dst;
    p->len = src->len;
    memcpy(p->data, src->data, src->len);
    return p;
}

void sim_pkt_free(sim *s, sim_pkt *p)
{
    if (!p)
        return;
    p->next = s->free_pkts;
    s->free_pkts = p;
    s->live_pkts--;
}

size_t sim_pkts_live(const sim *s)
{
    return s->live_pkts;
}

/* ---------------------------------------------------------------- events */

static bool ev_before(const sim_event *a, const sim_event *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

void sim_at(sim *s, uint64_t t, sim_fn fn, void *arg, sim_pkt *p)
{
    if (t < s->now)
        t = s->now;
    if (s->n_ev == s->cap_ev) {
        s->cap_ev *= 2;
        sim_event *h = realloc(s->heap, s->cap_ev * sizeof(*h));
        if (!h) {
            fprintf(stderr, "sim: out of memory\n");
            abort();
        }
        s->heap = h;
    }
    sim_event ev = {t, s->seq++, fn, arg, p};
    size_t i = s->n_ev++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!ev_before(&ev, &s->heap[parent]))
            break;
        s->heap[i] = s->heap[parent];
        i = parent;
    }
    s->heap[i] = ev;
}

static sim_event heap_pop(sim *s)
{
    sim_event top = s->heap[0];
    sim_event last = s->heap[--s->n_ev];
    size_t i = 0, n = s->n_ev;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && ev_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!ev_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

void sim_forward(sim *s, sim_elem *e, sim_pkt *p)
{
    if (!e) {
        s->st.drop_no_next++;
        sim_pkt_free(s, p);
        return;
    }
    e->recv(e, s, p);
}

/* The earliest node timer; ties go to the node created first. */
static sim_node *next_node_timer(sim *s, uint64_t *t)
{
    sim_node *best = NULL;
    uint64_t bt = UINT64_MAX;
    for (sim_node *n = s->nodes; n; n = n->next_node) {
        if (!n->ops.next_timeout)
            continue;
        uint64_t nt = n->ops.next_timeout(n->ctx);
        if (nt < bt) {
            bt = nt;
            best = n;
        }
    }
    *t = bt;
    return best;
}

uint64_t sim_next_time(sim *s)
{
    uint64_t tn;
    next_node_timer(s, &tn);
    uint64_t te = s->n_ev ? s->heap[0].t : UINT64_MAX;
    uint64_t t = tn < te ? tn : te;
    if (t != UINT64_MAX && t < s->now)
        t = s->now;
    return t;
}

/* One step: 1 done, 0 nothing due by |until|, -1 stuck timer. */
static int step(sim *s, uint64_t until)
{
    uint64_t tn;
    sim_node *n = next_node_timer(s, &tn);
    uint64_t te = s->n_ev ? s->heap[0].t : UINT64_MAX;
    if (tn == UINT64_MAX && te == UINT64_MAX)
        return 0;
    if (tn <= te) {
        uint64_t t = tn < s->now ? s->now : tn;
        if (t > until)
            return 0;
        s->now = t;
        /* A node whose deadline does not move after its timeout ran would
         * make the simulation spin at one instant forever. */
        if (n->stuck_at == t) {
            if (++n->stuck_count > STUCK_LIMIT) {
                s->st.stuck_timers++;
                fprintf(stderr, "sim: node %s: timer stuck at %llu us\n", n->name,
                        (unsigned long long)t);
                return -1;
            }
        } else {
            n->stuck_at = t;
            n->stuck_count = 0;
        }
        s->st.timer_calls++;
        n->ops.timeout(n->ctx, s, t);
        return 1;
    }
    if (te > until)
        return 0;
    sim_event ev = heap_pop(s);
    if (ev.t > s->now)
        s->now = ev.t;
    s->st.events++;
    ev.fn(s, ev.arg, ev.p);
    return 1;
}

long sim_run_until(sim *s, uint64_t until)
{
    long steps = 0;
    for (;;) {
        int r = step(s, until);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        steps++;
    }
    if (until != UINT64_MAX && until > s->now)
        s->now = until;
    return steps;
}

int sim_run_while(sim *s, uint64_t until, bool (*done)(void *arg), void *arg)
{
    if (done && done(arg))
        return 1;
    for (;;) {
        int r = step(s, until);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        if (done && done(arg))
            return 1;
    }
    if (until != UINT64_MAX && until > s->now)
        s->now = until;
    return 0;
}

/* ---------------------------------------------------------------- nodes */

static void node_recv(sim_elem *e, sim *s, sim_pkt *p)
{
    sim_node *n = (sim_node *)e;
    n->pkts_in++;
    if (n->ops.input)
        n->ops.input(n->ctx, s, p);
    sim_pkt_free(s, p);
}

sim_node *sim_node_new(sim *s, const char *name, const sim_node_ops *ops, void *ctx)
{
    sim_node *n = sim_own(s, sizeof(*n), NULL);
    n->elem.recv = node_recv;
    n->elem.name = name;
    n->s = s;
    n->name = name;
    n->ops = *ops;
    n->ctx = ctx;
    n->stuck_at = UINT64_MAX;
    if (s->nodes_tail)
        s->nodes_tail->next_node = n;
    else
        s->nodes = n;
    s->nodes_tail = n;
    return n;
}

const char *sim_node_name(const sim_node *n)
{
    return n->name;
}

sim_elem *sim_node_elem(sim_node *n)
{
    return &n->elem;
}

int sim_node_route(sim_node *n, const mptcp_addr *src, const mptcp_addr *dst, sim_elem *first)
{
    if (n->n_routes == MAX_ROUTES)
        return -1;
    sim_route *r = &n->routes[n->n_routes++];
    memset(r, 0, sizeof(*r));
    r->any_src = !src;
    r->any_dst = !dst;
    if (src)
        r->src = *src;
    if (dst)
        r->dst = *dst;
    r->first = first;
    return 0;
}

static bool ip_eq(const mptcp_addr *a, const mptcp_addr *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->ip, b->ip, a->family == MPTCP_AF_INET ? 4 : 16) == 0;
}

static void deferred_forward(sim *s, void *arg, sim_pkt *p)
{
    sim_forward(s, arg, p);
}

int sim_node_send(sim_node *n, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                  size_t len)
{
    sim *s = n->s;
    sim_route *r = NULL;
    for (size_t i = 0; i < n->n_routes; i++) {
        sim_route *c = &n->routes[i];
        if ((c->any_src || ip_eq(&c->src, src)) && (c->any_dst || ip_eq(&c->dst, dst))) {
            r = c;
            break;
        }
    }
    if (!r || len > SIM_PKT_CAP) {
        s->st.drop_no_route++;
        return -1;
    }
    sim_pkt *p = sim_pkt_alloc(s);
    p->src = *src;
    p->dst = *dst;
    p->src.port = 0;
    p->dst.port = 0;
    p->len = (uint32_t)len;
    memcpy(p->data, seg, len);
    n->pkts_out++;
    /* Deferred to an event at the current time, never delivered inside the
     * sender's call: the sender is usually a stack inside mptcp_input, which
     * must not be re-entered. */
    sim_at(s, s->now, deferred_forward, r->first, p);
    return 0;
}

uint64_t sim_node_pkts_in(const sim_node *n)
{
    return n->pkts_in;
}

uint64_t sim_node_pkts_out(const sim_node *n)
{
    return n->pkts_out;
}

/* ---------------------------------------------------------------- taps */

struct sim_tap {
    sim_elem elem;
    mptcp_test_pcap *pc;
    uint64_t max_bytes, bytes, written, skipped;
};

static void tap_recv(sim_elem *e, sim *s, sim_pkt *p)
{
    sim_tap *t = (sim_tap *)e;
    if (t->pc && (t->max_bytes == 0 || t->bytes + p->len <= t->max_bytes) &&
        mptcp_test_pcap_write_tcp(t->pc, s->now, &p->src, &p->dst, p->data, p->len) == 0) {
        t->bytes += p->len;
        t->written++;
    } else {
        t->skipped++;
    }
    sim_forward(s, e->next, p);
}

sim_tap *sim_tap_new(sim *s, mptcp_test_pcap *pc, uint64_t max_bytes, sim_elem *next)
{
    sim_tap *t = sim_own(s, sizeof(*t), NULL);
    t->elem.recv = tap_recv;
    t->elem.next = next;
    t->elem.name = "tap";
    t->pc = pc;
    t->max_bytes = max_bytes;
    return t;
}

sim_elem *sim_tap_elem(sim_tap *t)
{
    return &t->elem;
}

void sim_tap_set_next(sim_tap *t, sim_elem *next)
{
    t->elem.next = next;
}

uint64_t sim_tap_written(const sim_tap *t)
{
    return t->written;
}

uint64_t sim_tap_skipped(const sim_tap *t)
{
    return t->skipped;
}

/* ---------------------------------------------------------------- pipes */

typedef struct sim_pipe {
    sim_elem elem;
    sim_pipe_fn fn;
    void *ctx;
} sim_pipe;

static void pipe_recv(sim_elem *e, sim *s, sim_pkt *p)
{
    sim_pipe *pp = (sim_pipe *)e;
    if (pp->fn(pp->ctx, s, p))
        sim_forward(s, e->next, p);
    else
        sim_pkt_free(s, p);
}

sim_elem *sim_pipe_new(sim *s, sim_pipe_fn fn, void *ctx, sim_elem *next)
{
    sim_pipe *pp = sim_own(s, sizeof(*pp), NULL);
    pp->elem.recv = pipe_recv;
    pp->elem.next = next;
    pp->elem.name = "pipe";
    pp->fn = fn;
    pp->ctx = ctx;
    return &pp->elem;
}
