/*
 * token.c - the token table of one stack: token -> connection, used to
 * route MP_JOIN SYNs (RFC 8684 section 3.2), and local key generation with
 * regeneration while a token collides (section 3.1). Open addressing with
 * linear probing in caller memory. It does not own connections, demux by
 * 4-tuple (demux.c) or compute hashes other than the key derivation
 * (crypto.c).
 */
#include "token.h"

/* Tokens are SHA digests of random keys, but the lookups come from peers'
 * MP_JOINs; a multiplicative mix costs nothing and spreads any pattern. */
static inline uint32_t slot_of(const mptcp_token_table *t, uint32_t token)
{
    uint32_t h = token * 0x9e3779b1u;
    return (h ^ h >> 16) & t->mask;
}

static uint32_t slots_for(uint32_t max)
{
    uint32_t n = 4;
    while (n < 2u * max) /* load factor at most 1/2 */
        n <<= 1;
    return n;
}

size_t mptcp_token_table_size(uint32_t max)
{
    if (max == 0 || max > (1u << 30))
        return 0;
    return (size_t)slots_for(max) * sizeof(mptcp_token_slot);
}

int mptcp_token_init(mptcp_token_table *t, void *mem, size_t mem_len, uint32_t max)
{
    size_t need = mptcp_token_table_size(max);

    if (!t || !mem || need == 0 || mem_len < need ||
        ((uintptr_t)mem % _Alignof(mptcp_token_slot)) != 0)
        return MPTCP_EINVAL;
    memset(mem, 0, need);
    t->slot = mem;
    t->mask = slots_for(max) - 1u;
    t->max = max;
    t->count = 0;
    return 0;
}

/* Index of |token|'s slot, or of the empty slot ending its probe run. The
 * table is never full (load <= 1/2), so the loop ends. */
static uint32_t probe(const mptcp_token_table *t, uint32_t token)
{
    uint32_t i = slot_of(t, token);
    while (t->slot[i].conn && t->slot[i].token != token)
        i = (i + 1u) & t->mask;
    return i;
}

int mptcp_token_insert(mptcp_token_table *t, uint32_t token, void *conn)
{
    uint32_t i;

    if (!conn)
        return MPTCP_EINVAL;
    i = probe(t, token);
    if (t->slot[i].conn)
        return MPTCP_EADDRINUSE;
    if (t->count >= t->max)
        return MPTCP_ELIMIT;
    t->slot[i].conn = conn;
    t->slot[i].token = token;
    t->count++;
    return 0;
}

void *mptcp_token_lookup(const mptcp_token_table *t, uint32_t token)
{
    return t->slot[probe(t, token)].conn;
}

int mptcp_token_remove(mptcp_token_table *t, uint32_t token)
{
    uint32_t hole = probe(t, token), j, home;

    if (!t->slot[hole].conn)
        return MPTCP_ENOTFOUND;
    /* Backward-shift deletion (Knuth 6.4 Algorithm R): move later members
     * of the run into the hole when their home slot does not lie cyclically
     * in (hole, j], so every probe run stays unbroken without tombstones. */
    j = hole;
    for (;;) {
        t->slot[hole].conn = NULL;
        for (;;) {
            j = (j + 1u) & t->mask;
            if (!t->slot[j].conn) {
                t->count--;
                return 0;
            }
            home = slot_of(t, t->slot[j].token);
            if (((j - home) & t->mask) >= ((j - hole) & t->mask))
                break;
        }
        t->slot[hole] = t->slot[j];
        hole = j;
    }
}

int mptcp_token_new_key(const mptcp_token_table *t, mptcp_random_fn random_fn,
                        void *random_user, int version, uint64_t *key, uint32_t *token,
                        uint64_t *idsn)
{
    uint8_t b[8];
    unsigned tries;

    if (!t || !random_fn || !key || !token)
        return MPTCP_EINVAL;
    for (tries = 0; tries < MPTCP_TOKEN_MAX_TRIES; tries++) {
        uint64_t k;
        uint32_t tok;
        uint64_t isn;

        random_fn(random_user, b, sizeof(b));
        k = mptcp_get_be64(b);
        /* A zero key is what a broken random source gives; a zero token
         * lets the connection use 0 as "none". Both are simply redrawn. */
        if (k == 0)
            continue;
        mptcp_key_derive(version, k, &tok, &isn);
        if (tok == 0 || mptcp_token_lookup(t, tok))
            continue;
        *key = k;
        *token = tok;
        if (idsn)
            *idsn = isn;
        return 0;
    }
    return MPTCP_ELIMIT;
}
