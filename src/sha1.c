/*
 * sha1.c - SHA-1 (FIPS 180-4 section 6.1), incremental and one-shot.
 * Only RFC 6824 (MPTCP v0) compatibility uses it: the v0 token/IDSN and
 * HMAC-SHA1 for MP_JOIN. SHA-1 is not collision resistant, which is fine
 * for those uses (they need a keyed MAC and a key fingerprint) but is why
 * RFC 8684 moved to SHA-256. Owns the primitive only; see hmac.c, crypto.c.
 */
#include "sha1.h"

static inline uint32_t rol(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32u - n));
}

/* Section 4.1.1 functions; the constants of section 4.2.1 are folded in. */
#define F0(b, c, d) ((((c) ^ (d)) & (b)) ^ (d))
#define F1(b, c, d) ((b) ^ (c) ^ (d))
#define F2(b, c, d) (((b) & (c)) | ((d) & ((b) | (c))))

/* Schedule in a 16-word ring (section 6.1.3, the alternate method). */
#define W(i) (w[(i) & 15] = rol(w[((i) - 3) & 15] ^ w[((i) - 8) & 15] ^ \
                                w[((i) - 14) & 15] ^ w[(i) & 15], 1))

#define R(a, b, c, d, e, f, k, wi)                      \
    do {                                                \
        (e) += rol((a), 5) + f((b), (c), (d)) + (k) + (wi); \
        (b) = rol((b), 30);                             \
    } while (0)

static void compress(uint32_t st[5], const uint8_t *p, size_t nblocks)
{
    uint32_t w[16];
    while (nblocks--) {
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4];
        unsigned i;
        for (i = 0; i < 16; i++)
            w[i] = mptcp_get_be32(p + 4 * i);
        /* Five rounds per step with renamed variables, as in sha256.c. */
        for (i = 0; i < 15; i += 5) {
            R(a, b, c, d, e, F0, 0x5a827999u, w[i]);
            R(e, a, b, c, d, F0, 0x5a827999u, w[i + 1]);
            R(d, e, a, b, c, F0, 0x5a827999u, w[i + 2]);
            R(c, d, e, a, b, F0, 0x5a827999u, w[i + 3]);
            R(b, c, d, e, a, F0, 0x5a827999u, w[i + 4]);
        }
        R(a, b, c, d, e, F0, 0x5a827999u, w[15]);
        R(e, a, b, c, d, F0, 0x5a827999u, W(16));
        R(d, e, a, b, c, F0, 0x5a827999u, W(17));
        R(c, d, e, a, b, F0, 0x5a827999u, W(18));
        R(b, c, d, e, a, F0, 0x5a827999u, W(19));
        for (i = 20; i < 40; i += 5) {
            R(a, b, c, d, e, F1, 0x6ed9eba1u, W(i));
            R(e, a, b, c, d, F1, 0x6ed9eba1u, W(i + 1));
            R(d, e, a, b, c, F1, 0x6ed9eba1u, W(i + 2));
            R(c, d, e, a, b, F1, 0x6ed9eba1u, W(i + 3));
            R(b, c, d, e, a, F1, 0x6ed9eba1u, W(i + 4));
        }
        for (i = 40; i < 60; i += 5) {
            R(a, b, c, d, e, F2, 0x8f1bbcdcu, W(i));
            R(e, a, b, c, d, F2, 0x8f1bbcdcu, W(i + 1));
            R(d, e, a, b, c, F2, 0x8f1bbcdcu, W(i + 2));
            R(c, d, e, a, b, F2, 0x8f1bbcdcu, W(i + 3));
            R(b, c, d, e, a, F2, 0x8f1bbcdcu, W(i + 4));
        }
        for (i = 60; i < 80; i += 5) {
            R(a, b, c, d, e, F1, 0xca62c1d6u, W(i));
            R(e, a, b, c, d, F1, 0xca62c1d6u, W(i + 1));
            R(d, e, a, b, c, F1, 0xca62c1d6u, W(i + 2));
            R(c, d, e, a, b, F1, 0xca62c1d6u, W(i + 3));
            R(b, c, d, e, a, F1, 0xca62c1d6u, W(i + 4));
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e;
        p += MPTCP_SHA1_BLOCK;
    }
}

void mptcp_sha1_init(mptcp_sha1_ctx *ctx)
{
    /* Section 5.3.1: initial hash value. */
    ctx->h[0] = 0x67452301u;
    ctx->h[1] = 0xefcdab89u;
    ctx->h[2] = 0x98badcfeu;
    ctx->h[3] = 0x10325476u;
    ctx->h[4] = 0xc3d2e1f0u;
    ctx->total = 0;
    ctx->buf_len = 0;
}

void mptcp_sha1_update(mptcp_sha1_ctx *ctx, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len == 0)
        return;
    ctx->total += len;
    if (ctx->buf_len) {
        size_t take = MPTCP_MIN(len, MPTCP_SHA1_BLOCK - ctx->buf_len);
        memcpy(ctx->buf + ctx->buf_len, p, take);
        ctx->buf_len += take;
        p += take;
        len -= take;
        if (ctx->buf_len < MPTCP_SHA1_BLOCK)
            return;
        compress(ctx->h, ctx->buf, 1);
        ctx->buf_len = 0;
    }
    if (len >= MPTCP_SHA1_BLOCK) {
        size_t n = len / MPTCP_SHA1_BLOCK;
        compress(ctx->h, p, n);
        p += n * MPTCP_SHA1_BLOCK;
        len -= n * MPTCP_SHA1_BLOCK;
    }
    if (len) {
        memcpy(ctx->buf, p, len);
        ctx->buf_len = len;
    }
}

void mptcp_sha1_final(mptcp_sha1_ctx *ctx, uint8_t out[MPTCP_SHA1_LEN])
{
    /* Section 5.1.1: same padding as SHA-256. */
    uint64_t bits = ctx->total << 3;
    size_t n = ctx->buf_len;
    ctx->buf[n++] = 0x80;
    if (n > MPTCP_SHA1_BLOCK - 8) {
        memset(ctx->buf + n, 0, MPTCP_SHA1_BLOCK - n);
        compress(ctx->h, ctx->buf, 1);
        n = 0;
    }
    memset(ctx->buf + n, 0, MPTCP_SHA1_BLOCK - 8 - n);
    mptcp_put_be64(ctx->buf + MPTCP_SHA1_BLOCK - 8, bits);
    compress(ctx->h, ctx->buf, 1);
    for (unsigned i = 0; i < 5; i++)
        mptcp_put_be32(out + 4 * i, ctx->h[i]);
}

void mptcp_sha1(const void *data, size_t len, uint8_t out[MPTCP_SHA1_LEN])
{
    mptcp_sha1_ctx ctx;
    mptcp_sha1_init(&ctx);
    mptcp_sha1_update(&ctx, data, len);
    mptcp_sha1_final(&ctx, out);
}
