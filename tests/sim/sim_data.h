/*
 * sim_data.h - test data streams: byte i of stream |seed| is a pure function
 * of (seed, i), so a sender generates it at any offset and a receiver checks
 * every byte as it arrives, and both sides also hash the stream with
 * SHA-256 to compare the whole transfer at the end.
 */
#ifndef MPTCP_SIM_DATA_H
#define MPTCP_SIM_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sha256.h"

/* Writes bytes [off, off + len) of stream |seed| into |buf|. */
void sim_stream_fill(uint64_t seed, uint64_t off, uint8_t *buf, size_t len);
uint8_t sim_stream_byte(uint64_t seed, uint64_t off);

typedef struct sim_check {
    uint64_t seed;
    uint64_t off;        /* bytes checked so far */
    uint64_t errors;     /* bytes that differed */
    uint64_t first_bad;  /* offset of the first wrong byte (UINT64_MAX: none) */
    mptcp_sha256_ctx sha;
} sim_check;

void sim_check_init(sim_check *c, uint64_t seed);
/* Checks the next |len| received bytes. Returns true when all matched. */
bool sim_check_feed(sim_check *c, const uint8_t *buf, size_t len);
/* SHA-256 of the bytes fed so far (the context is not disturbed). */
void sim_check_digest(const sim_check *c, uint8_t out[32]);

/* SHA-256 of bytes [0, len) of stream |seed| (what a sender sent). */
void sim_stream_digest(uint64_t seed, uint64_t len, uint8_t out[32]);

#endif /* MPTCP_SIM_DATA_H */
