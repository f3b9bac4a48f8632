/*
 * demux.c - 4-tuple hash table, listener table and ephemeral ports. It does
 * not create or free connections (stack.c and tcp.c do) and knows nothing of
 * TCP states. The hash is keyed with a random seed so a peer cannot choose
 * 4-tuples that pile up in one chain. Ephemeral range: RFC 6335 section 6
 * (49152-65535); the search starts at a random point (RFC 6056 spirit).
 */
#include "demux.h"

#include "tcp.h"

uint32_t mptcp_demux_buckets(uint32_t max_conns)
{
    uint32_t n = 16;
    while (n < max_conns && n < (1u << 24))
        n <<= 1;
    return n;
}

bool mptcp_addr_equal(const mptcp_addr *a, const mptcp_addr *b)
{
    if (a->family != b->family || a->port != b->port)
        return false;
    /* Constant lengths: the compiler compares inline, no library call. */
    if (a->family == MPTCP_AF_INET)
        return memcmp(a->ip, b->ip, 4) == 0;
    return memcmp(a->ip, b->ip, 16) == 0;
}

bool mptcp_addr_is_any(const mptcp_addr *a)
{
    size_t n = a->family == MPTCP_AF_INET ? 4 : 16;
    for (size_t i = 0; i < n; i++)
        if (a->ip[i] != 0)
            return false;
    return true;
}

static bool ip_equal(const mptcp_addr *a, const mptcp_addr *b)
{
    if (a->family != b->family)
        return false;
    return memcmp(a->ip, b->ip, a->family == MPTCP_AF_INET ? 4 : 16) == 0;
}

static uint32_t mix(uint32_t h, uint32_t v)
{
    h ^= v;
    h *= 0x9e3779b1u;
    return h ^ (h >> 15);
}

static uint32_t tuple_hash(const mptcp_demux *d, const mptcp_addr *l, const mptcp_addr *r)
{
    size_t n = l->family == MPTCP_AF_INET ? 4 : 16;
    uint32_t h = d->seed;
    for (size_t i = 0; i < n; i += 4) {
        h = mix(h, mptcp_get_be32(l->ip + i));
        h = mix(h, mptcp_get_be32(r->ip + i));
    }
    h = mix(h, (uint32_t)l->port << 16 | r->port);
    return h & d->mask;
}

mptcp_tcb *mptcp_demux_lookup(const mptcp_demux *d, const mptcp_addr *local,
                               const mptcp_addr *remote)
{
    for (mptcp_tcb *c = d->bucket[tuple_hash(d, local, remote)]; c; c = c->hnext)
        if (mptcp_addr_equal(&c->local, local) && mptcp_addr_equal(&c->remote, remote))
            return c;
    return NULL;
}

mptcp_tcb *mptcp_demux_lookup_rx(mptcp_demux *d, const mptcp_addr *local,
                                  const mptcp_addr *remote)
{
    mptcp_tcb *c = d->last;
    if (c && mptcp_addr_equal(&c->local, local) && mptcp_addr_equal(&c->remote, remote))
        return c;
    c = mptcp_demux_lookup(d, local, remote);
    if (c)
        d->last = c;
    return c;
}

void mptcp_demux_insert(mptcp_demux *d, mptcp_tcb *c)
{
    uint32_t b = tuple_hash(d, &c->local, &c->remote);
    c->hnext = d->bucket[b];
    d->bucket[b] = c;
    d->count++;
}

void mptcp_demux_remove(mptcp_demux *d, mptcp_tcb *c)
{
    if (d->last == c)
        d->last = NULL;
    mptcp_tcb **pp = &d->bucket[tuple_hash(d, &c->local, &c->remote)];
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == c) {
            *pp = c->hnext;
            c->hnext = NULL;
            d->count--;
            return;
        }
    }
}

const mptcp_addr *mptcp_demux_listener(const mptcp_demux *d, const mptcp_addr *local)
{
    const mptcp_addr *any = NULL;
    for (uint32_t i = 0; i < d->listen_cap; i++) {
        const mptcp_addr *l = &d->listen[i];
        if (l->port == 0 || l->port != local->port || l->family != local->family)
            continue;
        if (ip_equal(l, local))
            return l;
        if (mptcp_addr_is_any(l))
            any = l;
    }
    return any;
}

int mptcp_demux_listen(mptcp_demux *d, const mptcp_addr *local)
{
    mptcp_addr *slot = NULL;
    for (uint32_t i = 0; i < d->listen_cap; i++) {
        mptcp_addr *l = &d->listen[i];
        if (l->port == 0) {
            if (slot == NULL)
                slot = l;
        } else if (mptcp_addr_equal(l, local)) {
            return MPTCP_EADDRINUSE;
        }
    }
    if (slot == NULL)
        return MPTCP_ELIMIT;
    memset(slot, 0, sizeof *slot);
    slot->family = local->family;
    slot->port = local->port;
    memcpy(slot->ip, local->ip, local->family == MPTCP_AF_INET ? 4 : 16);
    return 0;
}

int mptcp_demux_unlisten(mptcp_demux *d, const mptcp_addr *local)
{
    for (uint32_t i = 0; i < d->listen_cap; i++) {
        mptcp_addr *l = &d->listen[i];
        if (l->port != 0 && mptcp_addr_equal(l, local)) {
            memset(l, 0, sizeof *l);
            return 0;
        }
    }
    return MPTCP_ENOTFOUND;
}

uint16_t mptcp_demux_ephemeral(mptcp_demux *d, const mptcp_addr *local,
                               const mptcp_addr *remote)
{
    const uint32_t span = MPTCP_EPHEMERAL_HI - MPTCP_EPHEMERAL_LO + 1;
    mptcp_addr l = *local;
    for (uint32_t tries = 0; tries < span; tries++) {
        uint32_t port = d->next_port;
        if (port < MPTCP_EPHEMERAL_LO || port > MPTCP_EPHEMERAL_HI)
            port = MPTCP_EPHEMERAL_LO;
        d->next_port = (uint16_t)(port == MPTCP_EPHEMERAL_HI ? MPTCP_EPHEMERAL_LO : port + 1);
        l.port = (uint16_t)port;
        if (mptcp_demux_lookup(d, &l, remote) == NULL && mptcp_demux_listener(d, &l) == NULL)
            return (uint16_t)port;
    }
    return 0;
}
