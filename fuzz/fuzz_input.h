/*
 * fuzz_input.h - a small byte reader for the fuzz targets (a C stand-in for
 * libFuzzer's FuzzedDataProvider), plus FUZZ_CHECK, the one way a target
 * reports a broken invariant. Reads past the end yield zeros, so every
 * input, however short, drives a complete run.
 */
#ifndef MPTCP_FUZZ_INPUT_H
#define MPTCP_FUZZ_INPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_input {
    const uint8_t *p;
    size_t n;
} fuzz_input;

static inline fuzz_input fuzz_input_init(const uint8_t *p, size_t n)
{
    fuzz_input in = {p, n};
    return in;
}

static inline size_t fuzz_left(const fuzz_input *in)
{
    return in->n;
}

static inline uint8_t take_u8(fuzz_input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static inline bool take_bool(fuzz_input *in)
{
    return (take_u8(in) & 1) != 0;
}

static inline uint16_t take_u16(fuzz_input *in)
{
    uint16_t hi = take_u8(in);
    return (uint16_t)(hi << 8 | take_u8(in));
}

static inline uint32_t take_u32(fuzz_input *in)
{
    uint32_t hi = take_u16(in);
    return hi << 16 | take_u16(in);
}

static inline uint64_t take_u64(fuzz_input *in)
{
    uint64_t hi = take_u32(in);
    return hi << 32 | take_u32(in);
}

/* A value in [lo, hi] (inclusive); lo when the input is exhausted. */
static inline uint64_t take_range(fuzz_input *in, uint64_t lo, uint64_t hi)
{
    uint64_t span = hi - lo;
    uint64_t v;
    if (span == 0)
        return lo;
    if (span <= 0xff)
        v = take_u8(in);
    else if (span <= 0xffff)
        v = take_u16(in);
    else if (span <= 0xffffffffu)
        v = take_u32(in);
    else
        v = take_u64(in);
    if (span == UINT64_MAX)
        return v;
    return lo + v % (span + 1);
}

/* Copies |len| bytes into |dst|; the part past the input's end is zeroed.
 * Returns how many bytes came from the input. */
static inline size_t take_bytes(fuzz_input *in, void *dst, size_t len)
{
    size_t k = len < in->n ? len : in->n;
    if (k)
        memcpy(dst, in->p, k);
    if (len > k)
        memset((uint8_t *)dst + k, 0, len - k);
    in->p += k;
    in->n -= k;
    return k;
}

/* Takes everything that is left, without copying. */
static inline const uint8_t *take_rest(fuzz_input *in, size_t *len)
{
    const uint8_t *p = in->p;
    *len = in->n;
    in->p += in->n;
    in->n = 0;
    return p;
}

/* A broken invariant: say which and where, then abort so that libFuzzer
 * (or the replay driver) records the input as a crash. */
#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* MPTCP_FUZZ_INPUT_H */
