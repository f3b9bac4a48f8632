/*
 * sim.h - the deterministic discrete-event network simulator of the tests
 * and the demo. Real TCP segment bytes travel between nodes along paths made
 * of elements: links (rate, propagation delay, drop-tail queue, random and
 * scripted loss, reordering, duplication, bit corruption), middleboxes (option
 * stripping and rewriting, sequence rewriting, NAT, TSO-like splitting,
 * LRO-like coalescing, payload rewriting) and taps (pcap of a hop).
 *
 * Determinism: events run in (time, insertion order), and a node timer due
 * at t runs before the events at t; every random choice comes from a
 * per-component generator seeded from the simulation seed; no clock is read. A node is anything that consumes segments and has a timer:
 * sim_host.h binds an mptcp_stack to one, tests bind fakes.
 *
 * Multipath: a node has any number of addresses and routes; a route picks
 * the first element of a path by (source address, destination address), so
 * two nodes can be joined by several independent paths, each with its own
 * links and middleboxes.
 */
#ifndef MPTCP_SIM_H
#define MPTCP_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpers/pcap.h"
#include "mptcp.h"

/* Largest segment a packet holds: enough for coalesced (LRO) segments. */
#define SIM_PKT_CAP (16384u + 64u)

typedef struct sim sim;
typedef struct sim_elem sim_elem;
typedef struct sim_node sim_node;

/* A packet: IP addresses (ports unused; they are in the segment) and the TCP
 * segment bytes. Packets come from a per-simulation pool. */
typedef struct sim_pkt {
    struct sim_pkt *next; /* free list */
    uint64_t id;          /* unique per simulation, in creation order */
    mptcp_addr src, dst;
    uint32_t len;
    uint8_t data[SIM_PKT_CAP];
} sim_pkt;

/* An element of a path. |recv| owns the packet from then on: it forwards it
 * (sim_forward), keeps it, or frees it. */
struct sim_elem {
    void (*recv)(sim_elem *e, sim *s, sim_pkt *p);
    sim_elem *next;
    const char *name;
};

/* ---------------------------------------------------------------- random */

/* splitmix64: tiny, fast, good enough for test choices, fully reproducible. */
typedef struct sim_rng {
    uint64_t state;
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in [0, n); 0 when n == 0. */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/* True with probability ppm / 1,000,000. */
bool sim_rng_chance(sim_rng *r, uint32_t ppm);
/* splitmix64's output function on its own: a stateless hash of |x|. */
uint64_t sim_mix64(uint64_t x);

/* ---------------------------------------------------------------- core */

typedef void (*sim_fn)(sim *s, void *arg, sim_pkt *p);

/* A simulation with clock at |start_us|; |seed| drives every random choice. */
sim *sim_new(uint64_t seed, uint64_t start_us);
/* Frees the simulation, its pending events, packets, nodes, links,
 * middleboxes and taps (not what node contexts own). */
void sim_free(sim *s);

uint64_t sim_now(const sim *s);
/* A fresh seed for a component: the n-th call gives the same value for the
 * same simulation seed. */
uint64_t sim_subseed(sim *s);

sim_pkt *sim_pkt_alloc(sim *s);
sim_pkt *sim_pkt_clone(sim *s, const sim_pkt *p);
void sim_pkt_free(sim *s, sim_pkt *p);
/* Packets allocated and not yet freed (leak checks). */
size_t sim_pkts_live(const sim *s);

/* Runs |fn(s, arg, p)| at time |t| (not before now). Events at equal times
 * run in the order they were scheduled. */
void sim_at(sim *s, uint64_t t, sim_fn fn, void *arg, sim_pkt *p);
/* Hands |p| to |e| now; e == NULL drops it (counted in stats.drop_no_next). */
void sim_forward(sim *s, sim_elem *e, sim_pkt *p);

/*
 * Runs events and node timers in time order until nothing is left or the
 * next one lies after |until|; the clock then reads |until| (or stays at the
 * last event when until == UINT64_MAX). Returns the number of steps run, or
 * -1 when a node's timer kept firing without its deadline moving (a bug in
 * the node: it would loop forever).
 */
long sim_run_until(sim *s, uint64_t until);
/* Same, stopping early as soon as |done(arg)| is true (checked after every
 * step). Returns 1 when done, 0 when out of events or past |until|, -1 as
 * above. */
int sim_run_while(sim *s, uint64_t until, bool (*done)(void *arg), void *arg);
/* Time of the next event or node timer; UINT64_MAX when there is none. */
uint64_t sim_next_time(sim *s);

typedef struct sim_stats {
    uint64_t events;       /* events run */
    uint64_t timer_calls;  /* node timeouts run */
    uint64_t pkts_created;
    uint64_t drop_no_route; /* sim_node_send found no route */
    uint64_t drop_no_next;  /* an element had nowhere to forward */
    uint64_t stuck_timers;  /* sim_run_* returned -1 */
} sim_stats;
void sim_get_stats(const sim *s, sim_stats *out);

/* ---------------------------------------------------------------- nodes */

typedef struct sim_node_ops {
    /* A packet for one of the node's addresses arrives; the simulator frees
     * it after the call. */
    void (*input)(void *ctx, sim *s, const sim_pkt *p);
    /* When the node's timer is due (UINT64_MAX: none). May be NULL. */
    uint64_t (*next_timeout)(void *ctx);
    void (*timeout)(void *ctx, sim *s, uint64_t now);
} sim_node_ops;

sim_node *sim_node_new(sim *s, const char *name, const sim_node_ops *ops, void *ctx);
const char *sim_node_name(const sim_node *n);
/* The element at the end of a path that delivers to this node. */
sim_elem *sim_node_elem(sim_node *n);
/*
 * Adds a route: segments the node sends from |src| to |dst| (IP addresses
 * only; NULL matches any) go to |first|. The first matching route in the
 * order added wins. Returns 0 or -1 (table full).
 */
int sim_node_route(sim_node *n, const mptcp_addr *src, const mptcp_addr *dst, sim_elem *first);
/* Copies a segment into a packet and sends it along the matching route.
 * Returns 0, or -1 (no route or too long: dropped and counted). */
int sim_node_send(sim_node *n, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                  size_t len);
uint64_t sim_node_pkts_in(const sim_node *n);
uint64_t sim_node_pkts_out(const sim_node *n);

/* ---------------------------------------------------------------- links */

typedef struct sim_link sim_link;

typedef struct sim_link_cfg {
    uint64_t rate_bps;         /* serialization rate; 0 = infinite */
    uint64_t delay_us;         /* propagation delay */
    uint32_t queue_pkts;       /* drop-tail limit, packets queued incl. the one on the wire; 0 = none */
    uint32_t overhead;         /* extra bytes per packet on the wire (L2), added to the IP length */
    uint32_t loss_ppm;         /* random loss, after the queue (the packet used the link) */
    uint32_t dup_ppm;          /* duplication: a copy arrives right after the original */
    uint32_t reorder_ppm;      /* this packet is held back by reorder_delay_us */
    uint64_t reorder_delay_us;
    uint32_t corrupt_ppm;      /* one random bit of the segment flipped */
} sim_link_cfg;

typedef struct sim_link_stats {
    uint64_t pkts_in, pkts_out, bytes_out;
    uint64_t drop_queue, drop_loss, drop_script, drop_down;
    uint64_t dups, reorders, corrupted;
    uint32_t max_queue;
} sim_link_stats;

/* Scripted loss: return true to drop. |index| counts packets entering the
 * link from 0. */
typedef bool (*sim_link_filter)(void *ctx, const sim_pkt *p, uint64_t index);

sim_link *sim_link_new(sim *s, const char *name, const sim_link_cfg *cfg, sim_elem *next);
sim_elem *sim_link_elem(sim_link *l);
void sim_link_set_next(sim_link *l, sim_elem *next);
/* Changes parameters on the fly (the queue limit must not grow past the
 * initial one). */
void sim_link_set_cfg(sim_link *l, const sim_link_cfg *cfg);
const sim_link_cfg *sim_link_get_cfg(const sim_link *l);
/* Drops the packet with entry index |index| (up to 64 indices). */
int sim_link_drop_index(sim_link *l, uint64_t index);
void sim_link_set_filter(sim_link *l, sim_link_filter f, void *ctx);
/* A link that is down drops everything that enters it. */
void sim_link_set_down(sim_link *l, bool down);
/* Scripted outage: the link goes down at |from| and back up at |to|
 * (to == UINT64_MAX: stays down). Packets already on the wire still arrive. */
void sim_link_outage(sim *s, sim_link *l, uint64_t from, uint64_t to);
void sim_link_get_stats(const sim_link *l, sim_link_stats *out);

/* ---------------------------------------------------------------- taps */

/* A tap writes every packet passing through it to a pcap (at most
 * |max_bytes| of packet data, 0 = no limit), then forwards it unchanged.
 * Several taps may share one pcap: a file with every hop. */
typedef struct sim_tap sim_tap;
sim_tap *sim_tap_new(sim *s, mptcp_test_pcap *pc, uint64_t max_bytes, sim_elem *next);
sim_elem *sim_tap_elem(sim_tap *t);
void sim_tap_set_next(sim_tap *t, sim_elem *next);
uint64_t sim_tap_written(const sim_tap *t); /* packets written */
uint64_t sim_tap_skipped(const sim_tap *t); /* packets past the byte limit */

/* ---------------------------------------------------------------- pipes */

/* A pipe runs |fn| on every packet and forwards it unless fn returns false
 * (then the packet is freed): tests use it to watch or script a hop. */
typedef bool (*sim_pipe_fn)(void *ctx, sim *s, sim_pkt *p);
sim_elem *sim_pipe_new(sim *s, sim_pipe_fn fn, void *ctx, sim_elem *next);

/* ---------------------------------------------------------------- components */

/* Allocates a zeroed component owned by the simulation: |dtor| (may be NULL)
 * runs and the memory is freed at sim_free, in reverse order of creation.
 * Aborts the process when memory runs out (test code). */
void *sim_own(sim *s, size_t size, void (*dtor)(sim *s, void *obj));

#endif /* MPTCP_SIM_H */
