/*
 * common.h - small helpers every core file may use: big-endian loads and
 * stores (never overlay structs on packet bytes), min/max, assertions.
 * Only <stdint.h> <stddef.h> <stdbool.h> <string.h> are allowed in the core.
 */
#ifndef MPTCP_COMMON_H
#define MPTCP_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mptcp.h"

static inline uint16_t mptcp_get_be16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t mptcp_get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t mptcp_get_be64(const uint8_t *p)
{
    return (uint64_t)mptcp_get_be32(p) << 32 | mptcp_get_be32(p + 4);
}

static inline void mptcp_put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void mptcp_put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void mptcp_put_be64(uint8_t *p, uint64_t v)
{
    mptcp_put_be32(p, (uint32_t)(v >> 32));
    mptcp_put_be32(p + 4, (uint32_t)v);
}

#define MPTCP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define MPTCP_MAX(a, b) ((a) > (b) ? (a) : (b))
#define MPTCP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Internal invariants only, never for anything derived from input. */
#if defined(MPTCP_DEBUG) && !defined(MPTCP_NO_ASSERT)
#define MPTCP_ASSERT(x) ((x) ? (void)0 : __builtin_trap())
#else
#define MPTCP_ASSERT(x) ((void)0)
#endif

#endif /* MPTCP_COMMON_H */
