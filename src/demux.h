/*
 * demux.h - finding the connection of a segment: a hash table of
 * connections by 4-tuple (chained through mptcp_tcb.hnext, sized once at
 * stack creation), the listener table, and ephemeral port selection.
 */
#ifndef MPTCP_DEMUX_H
#define MPTCP_DEMUX_H

#include "common.h"

struct mptcp_tcb;

#define MPTCP_EPHEMERAL_LO 49152u
#define MPTCP_EPHEMERAL_HI 65535u

typedef struct mptcp_demux {
    struct mptcp_tcb **bucket;
    uint32_t mask;      /* buckets - 1 (a power of two) */
    uint32_t seed;      /* hash key from cb.random: chains cannot be aimed at */
    uint32_t count;     /* connections in the table */
    mptcp_addr *listen; /* listener addresses (port != 0 marks a used slot) */
    uint32_t listen_cap;
    uint16_t next_port; /* where the ephemeral port search starts */
    /* The connection that took the previous segment (a bulk transfer
     * sends many in a row): tried before hashing; NULL, or in the table
     * (mptcp_demux_remove forgets it). */
    struct mptcp_tcb *last;
} mptcp_demux;

/* Buckets for |max_conns| connections (a power of two, >= max_conns). */
uint32_t mptcp_demux_buckets(uint32_t max_conns);
bool mptcp_addr_equal(const mptcp_addr *a, const mptcp_addr *b);
bool mptcp_addr_is_any(const mptcp_addr *a);

struct mptcp_tcb *mptcp_demux_lookup(const mptcp_demux *d, const mptcp_addr *local,
                                      const mptcp_addr *remote);
/* mptcp_demux_lookup for an arriving segment: the connection that took the
 * previous one is tried first, and the one found is remembered. */
struct mptcp_tcb *mptcp_demux_lookup_rx(mptcp_demux *d, const mptcp_addr *local,
                                        const mptcp_addr *remote);
void mptcp_demux_insert(mptcp_demux *d, struct mptcp_tcb *c);
/* Removes |c| if it is in the table (no-op otherwise). */
void mptcp_demux_remove(mptcp_demux *d, struct mptcp_tcb *c);
/* The listener for |local| (exact address first, then the wildcard), or NULL. */
const mptcp_addr *mptcp_demux_listener(const mptcp_demux *d, const mptcp_addr *local);
int mptcp_demux_listen(mptcp_demux *d, const mptcp_addr *local);
int mptcp_demux_unlisten(mptcp_demux *d, const mptcp_addr *local);
/* Picks a free ephemeral port for local -> remote; 0 when all are taken. */
uint16_t mptcp_demux_ephemeral(mptcp_demux *d, const mptcp_addr *local,
                               const mptcp_addr *remote);

#endif /* MPTCP_DEMUX_H */
