/*
 * token.h - the per-stack token table (RFC 8684 section 3.1/3.2: a 32-bit
 * token names a connection in MP_JOIN) and local key generation that keeps
 * tokens unique in the stack. Memory is the caller's; nothing is allocated.
 */
#ifndef MPTCP_TOKEN_H
#define MPTCP_TOKEN_H

#include "common.h"

/* Draws at most this many keys before mptcp_token_new_key gives up. */
#ifndef MPTCP_TOKEN_MAX_TRIES
#define MPTCP_TOKEN_MAX_TRIES 8
#endif

/* Same shape as mptcp_callbacks.random. */
typedef void (*mptcp_random_fn)(void *user, uint8_t *out, size_t len);

typedef struct mptcp_token_slot {
    void *conn;     /* NULL: empty slot */
    uint32_t token;
} mptcp_token_slot;

/* Open addressing, linear probing, deletion by backward shift (no
 * tombstones, so probe lengths never degrade with churn); at most half the
 * slots are in use. */
typedef struct mptcp_token_table {
    mptcp_token_slot *slot;
    uint32_t mask;  /* slots - 1 (a power of two) */
    uint32_t max;   /* entries allowed */
    uint32_t count;
} mptcp_token_table;

/* Bytes of memory mptcp_token_init needs for |max| entries (1..2^30);
 * 0 when |max| is out of range. */
size_t mptcp_token_table_size(uint32_t max);

/* Sets up |t| over |mem| (|mem_len| >= mptcp_token_table_size(max), aligned
 * for a pointer). Returns 0 or MPTCP_EINVAL. */
int mptcp_token_init(mptcp_token_table *t, void *mem, size_t mem_len, uint32_t max);

/* Returns 0, MPTCP_EINVAL (|conn| NULL), MPTCP_EADDRINUSE (token present)
 * or MPTCP_ELIMIT (|max| entries held). */
int mptcp_token_insert(mptcp_token_table *t, uint32_t token, void *conn);

/* The connection of |token|, or NULL. */
void *mptcp_token_lookup(const mptcp_token_table *t, uint32_t token);

/* Returns 0 or MPTCP_ENOTFOUND. */
int mptcp_token_remove(mptcp_token_table *t, uint32_t token);

/*
 * Draws a local key from |random_fn| (8 bytes, big-endian) and derives its
 * token and IDSN with mptcp_key_derive(|version|). Keys of 0 and tokens of
 * 0 or already in |t| are drawn again (RFC 8684 section 3.1: "the token
 * MUST be unique"), at most MPTCP_TOKEN_MAX_TRIES draws in all. The key is
 * not inserted: the caller inserts the token before drawing again. Returns
 * 0, MPTCP_EINVAL (NULL argument) or MPTCP_ELIMIT (no usable key drawn).
 */
int mptcp_token_new_key(const mptcp_token_table *t, mptcp_random_fn random_fn,
                        void *random_user, int version, uint64_t *key, uint32_t *token,
                        uint64_t *idsn);

#endif /* MPTCP_TOKEN_H */
