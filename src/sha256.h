/*
 * sha256.h - incremental SHA-256 (FIPS 180-4) for the library's own use:
 * token/IDSN derivation, HMAC-SHA256, and hashing data in pieces (tests and
 * the simulator compare transfers by digest). The one-shot mptcp_sha256()
 * is public in mptcp.h.
 */
#ifndef MPTCP_SHA256_H
#define MPTCP_SHA256_H

#include "common.h"

#define MPTCP_SHA256_BLOCK 64

typedef struct mptcp_sha256_ctx {
    uint32_t h[8];                 /* chaining state */
    uint64_t total;                /* bytes hashed so far */
    uint8_t buf[MPTCP_SHA256_BLOCK]; /* partial block */
    size_t buf_len;                /* bytes in buf, < 64 */
} mptcp_sha256_ctx;

void mptcp_sha256_init(mptcp_sha256_ctx *ctx);
void mptcp_sha256_update(mptcp_sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest; the context must be re-initialised before reuse. */
void mptcp_sha256_final(mptcp_sha256_ctx *ctx, uint8_t out[MPTCP_SHA256_LEN]);

#endif /* MPTCP_SHA256_H */
