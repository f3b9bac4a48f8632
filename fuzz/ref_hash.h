/*
 * ref_hash.h - deliberately plain reference SHA-1, SHA-256 (FIPS 180-4) and
 * HMAC (RFC 2104), one-shot and unoptimised, written for the crypto fuzz
 * target as an independent oracle: the library's versions must agree with
 * these for every length. Not used by the library.
 */
#ifndef MPTCP_FUZZ_REF_HASH_H
#define MPTCP_FUZZ_REF_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t ref_rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static inline uint32_t ref_rotl(uint32_t x, unsigned n)
{
    return (x << n) | (x >> (32 - n));
}

static inline uint32_t ref_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const uint32_t ref_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static inline void ref_sha256_block(uint32_t h[8], const uint8_t *blk)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = ref_be32(blk + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ref_rotr(w[i - 15], 7) ^ ref_rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ref_rotr(w[i - 2], 17) ^ ref_rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = k + (ref_rotr(e, 6) ^ ref_rotr(e, 11) ^ ref_rotr(e, 25)) +
                      ((e & f) ^ (~e & g)) + ref_sha256_k[i] + w[i];
        uint32_t t2 = (ref_rotr(a, 2) ^ ref_rotr(a, 13) ^ ref_rotr(a, 22)) +
                      ((a & b) ^ (a & c) ^ (b & c));
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d;
    h[4] += e; h[5] += f; h[6] += g; h[7] += k;
}

static inline void ref_sha1_block(uint32_t h[5], const uint8_t *blk)
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = ref_be32(blk + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = ref_rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5a827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ed9eba1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8f1bbcdc;
        } else {
            f = b ^ c ^ d;
            k = 0xca62c1d6;
        }
        uint32_t t = ref_rotl(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = ref_rotl(b, 30);
        b = a;
        a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

/* Both hashes share the Merkle-Damgard padding: 0x80, zeros, 64-bit
 * big-endian bit length, to a multiple of 64 bytes. */
static inline void ref_md(const uint8_t *msg, size_t len, uint32_t *h, int sha256)
{
    size_t full = len / 64;
    for (size_t i = 0; i < full; i++) {
        if (sha256)
            ref_sha256_block(h, msg + 64 * i);
        else
            ref_sha1_block(h, msg + 64 * i);
    }
    uint8_t tail[128];
    size_t rem = len - full * 64;
    memset(tail, 0, sizeof tail);
    if (rem)
        memcpy(tail, msg + full * 64, rem);
    tail[rem] = 0x80;
    size_t tlen = rem + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tlen - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < tlen; off += 64) {
        if (sha256)
            ref_sha256_block(h, tail + off);
        else
            ref_sha1_block(h, tail + off);
    }
}

static inline void ref_sha256(const uint8_t *msg, size_t len, uint8_t out[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    ref_md(msg, len, h, 1);
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

static inline void ref_sha1(const uint8_t *msg, size_t len, uint8_t out[20])
{
    uint32_t h[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
    ref_md(msg, len, h, 0);
    for (int i = 0; i < 20; i++)
        out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* HMAC (RFC 2104) with a 64-byte block; |msg_len| up to 64 KiB - 64. */
static inline void ref_hmac(int sha256, const uint8_t *key, size_t key_len, const uint8_t *msg,
                            size_t msg_len, uint8_t *out)
{
    size_t dl = sha256 ? 32 : 20;
    uint8_t k[64], kh[32];
    memset(k, 0, sizeof k);
    if (key_len > 64) {
        if (sha256)
            ref_sha256(key, key_len, kh);
        else
            ref_sha1(key, key_len, kh);
        memcpy(k, kh, dl);
    } else if (key_len) {
        memcpy(k, key, key_len);
    }
    static uint8_t buf[64 + 65536];
    for (int i = 0; i < 64; i++)
        buf[i] = k[i] ^ 0x36;
    if (msg_len)
        memcpy(buf + 64, msg, msg_len);
    uint8_t inner[32];
    if (sha256)
        ref_sha256(buf, 64 + msg_len, inner);
    else
        ref_sha1(buf, 64 + msg_len, inner);
    for (int i = 0; i < 64; i++)
        buf[i] = k[i] ^ 0x5c;
    memcpy(buf + 64, inner, dl);
    if (sha256)
        ref_sha256(buf, 64 + dl, out);
    else
        ref_sha1(buf, 64 + dl, out);
}

#endif /* MPTCP_FUZZ_REF_HASH_H */
