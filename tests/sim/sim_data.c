/*
 * sim_data.c - seeded byte streams and their byte-for-byte checker. Each
 * 8-byte block of a stream is one splitmix64 output keyed by the seed and
 * the block number: random access, no state, fast enough for tens of MB.
 */
#include "sim/sim_data.h"

#include <string.h>

#include "sim/sim.h"

static uint64_t block(uint64_t seed, uint64_t k)
{
    return sim_mix64(seed * 0x9e3779b97f4a7c15ull + k + 1);
}

uint8_t sim_stream_byte(uint64_t seed, uint64_t off)
{
    return (uint8_t)(block(seed, off / 8) >> (8 * (off % 8)));
}

void sim_stream_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len)
{
    size_t i = 0;
    while (i < len && (off + i) % 8)
        buf[i] = sim_stream_byte(seed, off + i), i++;
    for (; i + 8 <= len; i += 8) {
        uint64_t b = block(seed, (off + i) / 8);
        for (int j = 0; j < 8; j++)
            buf[i + (size_t)j] = (uint8_t)(b >> (8 * j));
    }
    for (; i < len; i++)
        buf[i] = sim_stream_byte(seed, off + i);
}

void sim_check_init(sim_check *c, uint64_t seed)
{
    memset(c, 0, sizeof(*c));
    c->seed = seed;
    c->first_bad = UINT64_MAX;
    mptcp_sha256_init(&c->sha);
}

bool sim_check_feed(sim_check *c, const uint8_t *buf, size_t len)
{
    uint8_t want[4096];
    bool ok = true;
    mptcp_sha256_update(&c->sha, buf, len);
    for (size_t done = 0; done < len;) {
        size_t n = len - done < sizeof(want) ? len - done : sizeof(want);
        sim_stream_fill(c->seed, c->off + done, want, n);
        if (memcmp(want, buf + done, n) != 0) {
            for (size_t i = 0; i < n; i++) {
                if (want[i] != buf[done + i]) {
                    if (c->first_bad == UINT64_MAX)
                        c->first_bad = c->off + done + i;
                    c->errors++;
                }
            }
            ok = false;
        }
        done += n;
    }
    c->off += len;
    return ok;
}

void sim_check_digest(const sim_check *c, uint8_t out[32])
{
    mptcp_sha256_ctx copy = c->sha;
    mptcp_sha256_final(&copy, out);
}

void sim_stream_digest(uint64_t seed, uint64_t len, uint8_t out[32])
{
    mptcp_sha256_ctx ctx;
    uint8_t buf[4096];
    mptcp_sha256_init(&ctx);
    for (uint64_t off = 0; off < len;) {
        size_t n = len - off < sizeof(buf) ? (size_t)(len - off) : sizeof(buf);
        sim_stream_fill(seed, off, buf, n);
        mptcp_sha256_update(&ctx, buf, n);
        off += n;
    }
    mptcp_sha256_final(&ctx, out);
}
