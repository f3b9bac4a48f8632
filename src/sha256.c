/*
 * sha256.c - SHA-256 (FIPS 180-4 section 6.2), incremental and one-shot.
 * Owns the hash primitive only: HMAC lives in hmac.c, the MPTCP uses of the
 * digest (RFC 8684 section 3.1 token/IDSN, section 3.2 MP_JOIN, section 3.4.1
 * ADD_ADDR) in crypto.c. Portable C, no tables besides the round constants,
 * no allocation; the context lives wherever the caller puts it.
 */
#include "sha256.h"

/* FIPS 180-4 section 4.2.2: the first 32 bits of the fractional parts of
 * the cube roots of the first 64 primes. */
static const uint32_t K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

static inline uint32_t ror(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

#define CH(x, y, z) (((x) & ((y) ^ (z))) ^ (z))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))
#define BSIG0(x) (ror((x), 2) ^ ror((x), 13) ^ ror((x), 22))
#define BSIG1(x) (ror((x), 6) ^ ror((x), 11) ^ ror((x), 25))
#define SSIG0(x) (ror((x), 7) ^ ror((x), 18) ^ ((x) >> 3))
#define SSIG1(x) (ror((x), 17) ^ ror((x), 19) ^ ((x) >> 10))

/* Message schedule (section 6.2.2 step 1) kept in a 16-word ring:
 * w[k] holds W[t-16] on entry and W[t] on exit, for t = 16 * j + k. */
#define SCHED(k)                                                            \
    (w[k] += SSIG1(w[((k) + 14) & 15]) + w[((k) + 9) & 15] + SSIG0(w[((k) + 1) & 15]))

/* Round t = j + k, with the working variables renamed instead of shifted:
 * the caller rotates the argument order, so no register moves are needed.
 * |k| is a constant in every expansion, so w[] indices are too. */
#define ROUND(a, b, c, d, e, f, g, h, k)                                    \
    do {                                                                    \
        uint32_t t1_ = (h) + BSIG1(e) + CH((e), (f), (g)) + K[j + (k)] +    \
                       (j ? SCHED(k) : w[k]);                               \
        (d) += t1_;                                                         \
        (h) = t1_ + BSIG0(a) + MAJ((a), (b), (c));                          \
    } while (0)

static void compress(uint32_t st[8], const uint8_t *p, size_t nblocks)
{
    uint32_t w[16];
    while (nblocks--) {
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
        uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
        for (unsigned i = 0; i < 16; i++)
            w[i] = mptcp_get_be32(p + 4 * i);
        for (unsigned j = 0; j < 64; j += 16) {
            ROUND(a, b, c, d, e, f, g, h, 0);
            ROUND(h, a, b, c, d, e, f, g, 1);
            ROUND(g, h, a, b, c, d, e, f, 2);
            ROUND(f, g, h, a, b, c, d, e, 3);
            ROUND(e, f, g, h, a, b, c, d, 4);
            ROUND(d, e, f, g, h, a, b, c, 5);
            ROUND(c, d, e, f, g, h, a, b, 6);
            ROUND(b, c, d, e, f, g, h, a, 7);
            ROUND(a, b, c, d, e, f, g, h, 8);
            ROUND(h, a, b, c, d, e, f, g, 9);
            ROUND(g, h, a, b, c, d, e, f, 10);
            ROUND(f, g, h, a, b, c, d, e, 11);
            ROUND(e, f, g, h, a, b, c, d, 12);
            ROUND(d, e, f, g, h, a, b, c, 13);
            ROUND(c, d, e, f, g, h, a, b, 14);
            ROUND(b, c, d, e, f, g, h, a, 15);
        }
        st[0] += a; st[1] += b; st[2] += c; st[3] += d;
        st[4] += e; st[5] += f; st[6] += g; st[7] += h;
        p += MPTCP_SHA256_BLOCK;
    }
}

void mptcp_sha256_init(mptcp_sha256_ctx *ctx)
{
    /* Section 5.3.3: initial hash value. */
    static const uint32_t iv[8] = {
        0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
        0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
    };
    memcpy(ctx->h, iv, sizeof(iv));
    ctx->total = 0;
    ctx->buf_len = 0;
}

void mptcp_sha256_update(mptcp_sha256_ctx *ctx, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (len == 0)
        return;
    ctx->total += len;
    if (ctx->buf_len) {
        size_t take = MPTCP_MIN(len, MPTCP_SHA256_BLOCK - ctx->buf_len);
        memcpy(ctx->buf + ctx->buf_len, p, take);
        ctx->buf_len += take;
        p += take;
        len -= take;
        if (ctx->buf_len < MPTCP_SHA256_BLOCK)
            return;
        compress(ctx->h, ctx->buf, 1);
        ctx->buf_len = 0;
    }
    /* Whole blocks straight from the caller's memory, no copy. */
    if (len >= MPTCP_SHA256_BLOCK) {
        size_t n = len / MPTCP_SHA256_BLOCK;
        compress(ctx->h, p, n);
        p += n * MPTCP_SHA256_BLOCK;
        len -= n * MPTCP_SHA256_BLOCK;
    }
    if (len) {
        memcpy(ctx->buf, p, len);
        ctx->buf_len = len;
    }
}

void mptcp_sha256_final(mptcp_sha256_ctx *ctx, uint8_t out[MPTCP_SHA256_LEN])
{
    /* Section 5.1.1: a 1 bit, zeros to 56 mod 64 bytes, the bit length. */
    uint64_t bits = ctx->total << 3;
    size_t n = ctx->buf_len;
    ctx->buf[n++] = 0x80;
    if (n > MPTCP_SHA256_BLOCK - 8) {
        memset(ctx->buf + n, 0, MPTCP_SHA256_BLOCK - n);
        compress(ctx->h, ctx->buf, 1);
        n = 0;
    }
    memset(ctx->buf + n, 0, MPTCP_SHA256_BLOCK - 8 - n);
    mptcp_put_be64(ctx->buf + MPTCP_SHA256_BLOCK - 8, bits);
    compress(ctx->h, ctx->buf, 1);
    for (unsigned i = 0; i < 8; i++)
        mptcp_put_be32(out + 4 * i, ctx->h[i]);
}

void mptcp_sha256(const void *data, size_t len, uint8_t out[MPTCP_SHA256_LEN])
{
    mptcp_sha256_ctx ctx;
    mptcp_sha256_init(&ctx);
    mptcp_sha256_update(&ctx, data, len);
    mptcp_sha256_final(&ctx, out);
}
