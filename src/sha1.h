/*
 * sha1.h - incremental SHA-1 (FIPS 180-4), used only for RFC 6824 (MPTCP v0)
 * compatibility: v0 token/IDSN and HMAC-SHA1 for MP_JOIN. The one-shot
 * mptcp_sha1() is public in mptcp.h.
 */
#ifndef MPTCP_SHA1_H
#define MPTCP_SHA1_H

#include "common.h"

#define MPTCP_SHA1_BLOCK 64

typedef struct mptcp_sha1_ctx {
    uint32_t h[5];
    uint64_t total;
    uint8_t buf[MPTCP_SHA1_BLOCK];
    size_t buf_len;
} mptcp_sha1_ctx;

void mptcp_sha1_init(mptcp_sha1_ctx *ctx);
void mptcp_sha1_update(mptcp_sha1_ctx *ctx, const void *data, size_t len);
/* Writes the digest; the context must be re-initialised before reuse. */
void mptcp_sha1_final(mptcp_sha1_ctx *ctx, uint8_t out[MPTCP_SHA1_LEN]);

#endif /* MPTCP_SHA1_H */
