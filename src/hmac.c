/*
 * hmac.c - HMAC (RFC 2104) with SHA-256 (RFC 4231 vectors) and SHA-1
 * (RFC 2202 vectors). RFC 8684 section 3.2 and RFC 6824 section 3.2 use the
 * standard ipad/opad construction with the 16-byte key Key-A || Key-B.
 * Owns the construction only: which key and message MPTCP feeds it is in
 * crypto.c. No allocation; the pad blocks live on the stack.
 */
#include "hmac.h"
#include "sha1.h"
#include "sha256.h"

#define HMAC_BLOCK 64 /* both SHA-1 and SHA-256 have 64-byte blocks */

/* K0 of RFC 2104 section 2: keys longer than the block are hashed first,
 * shorter ones are zero padded. The pads are K0 xor 0x36 / xor 0x5c. */
static void make_pads(const uint8_t *key, size_t key_len, bool sha256, uint8_t ipad[HMAC_BLOCK],
                      uint8_t opad[HMAC_BLOCK])
{
    uint8_t k0[HMAC_BLOCK];
    memset(k0, 0, sizeof(k0));
    if (key_len > HMAC_BLOCK) {
        if (sha256)
            mptcp_sha256(key, key_len, k0);
        else
            mptcp_sha1(key, key_len, k0);
    } else if (key_len) {
        memcpy(k0, key, key_len);
    }
    for (size_t i = 0; i < HMAC_BLOCK; i++) {
        ipad[i] = (uint8_t)(k0[i] ^ 0x36);
        opad[i] = (uint8_t)(k0[i] ^ 0x5c);
    }
}

void mptcp_hmac_sha256_parts(const uint8_t *key, size_t key_len, const mptcp_hmac_part *parts,
                             size_t n, uint8_t out[MPTCP_SHA256_LEN])
{
    uint8_t ipad[HMAC_BLOCK], opad[HMAC_BLOCK], inner[MPTCP_SHA256_LEN];
    mptcp_sha256_ctx ctx;

    make_pads(key, key_len, true, ipad, opad);
    mptcp_sha256_init(&ctx);
    mptcp_sha256_update(&ctx, ipad, HMAC_BLOCK);
    for (size_t i = 0; i < n; i++)
        mptcp_sha256_update(&ctx, parts[i].p, parts[i].len);
    mptcp_sha256_final(&ctx, inner);

    mptcp_sha256_init(&ctx);
    mptcp_sha256_update(&ctx, opad, HMAC_BLOCK);
    mptcp_sha256_update(&ctx, inner, sizeof(inner));
    mptcp_sha256_final(&ctx, out);
}

void mptcp_hmac_sha1_parts(const uint8_t *key, size_t key_len, const mptcp_hmac_part *parts,
                           size_t n, uint8_t out[MPTCP_SHA1_LEN])
{
    uint8_t ipad[HMAC_BLOCK], opad[HMAC_BLOCK], inner[MPTCP_SHA1_LEN];
    mptcp_sha1_ctx ctx;

    make_pads(key, key_len, false, ipad, opad);
    mptcp_sha1_init(&ctx);
    mptcp_sha1_update(&ctx, ipad, HMAC_BLOCK);
    for (size_t i = 0; i < n; i++)
        mptcp_sha1_update(&ctx, parts[i].p, parts[i].len);
    mptcp_sha1_final(&ctx, inner);

    mptcp_sha1_init(&ctx);
    mptcp_sha1_update(&ctx, opad, HMAC_BLOCK);
    mptcp_sha1_update(&ctx, inner, sizeof(inner));
    mptcp_sha1_final(&ctx, out);
}

void mptcp_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                       uint8_t out[MPTCP_SHA256_LEN])
{
    mptcp_hmac_part part = { msg, msg_len };
    mptcp_hmac_sha256_parts(key, key_len, &part, 1, out);
}

void mptcp_hmac_sha1(const uint8_t *key, size_t key_len, const uint8_t *msg, size_t msg_len,
                     uint8_t out[MPTCP_SHA1_LEN])
{
    mptcp_hmac_part part = { msg, msg_len };
    mptcp_hmac_sha1_parts(key, key_len, &part, 1, out);
}
