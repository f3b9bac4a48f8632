/*
 * fuzz_host.h - host pieces the single-stack targets (stack.c, mptcp_conn.c)
 * share: the random callback's splitmix64 stream, seeded from the input so
 * that a run replays exactly, and a counting allocator that fails the
 * allocation the input names (the targets check the counts for leaks).
 * Header-only, as fuzz.mk makes a target of every .c file in fuzz/. What
 * differs per target (stack.c matches freed pointers to its records) stays
 * in the target.
 */
#ifndef MPTCP_FUZZ_HOST_H
#define MPTCP_FUZZ_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_input.h"

static inline uint64_t fuzz_splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* The body of an mptcp_callbacks.random: one splitmix64 step per byte. */
static inline void fuzz_random_fill(uint64_t *rng, uint8_t *out, size_t len)
{
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)fuzz_splitmix(rng);
}

/* The counting allocator: live bytes and blocks, and allocation number
 * |fail_at| (1-based; 0 never) returns NULL and sets |failed|. */
typedef struct fuzz_alloc {
    size_t live_bytes, live_blocks;
    uint64_t calls, fail_at;
    bool failed;
} fuzz_alloc;

static inline void *fuzz_alloc_take(fuzz_alloc *a, size_t size)
{
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at) {
        a->failed = true;
        return NULL;
    }
    void *p = malloc(size ? size : 1);
    if (p) {
        a->live_bytes += size;
        a->live_blocks++;
    }
    return p;
}

/* Counts the free of a |size|-byte block (p != NULL); the caller frees it. */
static inline void fuzz_alloc_count_free(fuzz_alloc *a, size_t size)
{
    FUZZ_CHECK(a->live_blocks > 0 && a->live_bytes >= size, "free of %zu bytes unbalanced", size);
    a->live_bytes -= size;
    a->live_blocks--;
}

/* mptcp_allocator hooks with |user| the fuzz_alloc itself. */
static inline void *fuzz_alloc_cb(void *user, size_t size)
{
    return fuzz_alloc_take(user, size);
}

static inline void fuzz_free_cb(void *user, void *p, size_t size)
{
    if (p == NULL)
        return;
    fuzz_alloc_count_free(user, size);
    free(p);
}

#endif /* MPTCP_FUZZ_HOST_H */
