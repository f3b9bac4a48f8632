/*
 * fixture.h - test fixtures for the stack and the TCP engine: a seeded
 * deterministic random callback (splitmix64), a counting allocator that can
 * fail on demand and is checked for zero at teardown, captured output
 * segments and events, a segment builder, and a tiny two-stack "pair"
 * harness: segments move between two stacks with a fixed one-way delay in
 * simulated time, and chosen segments (by per-direction index, or by a
 * callback) are dropped, duplicated or delayed (reordered). The full network
 * simulator is tests/sim/.
 */
#ifndef MPTCP_TEST_FIXTURE_H
#define MPTCP_TEST_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mptcp.h"

/* ---------------------------------------------------------------- random */
uint64_t fx_splitmix64(uint64_t *state);
/* An mptcp_callbacks.random: |user| must start with a uint64_t state, or be
 * a fx_end / fx_single (both do). */
void fx_random(void *user, uint8_t *out, size_t len);

/* ---------------------------------------------------------------- memory */
typedef struct fx_alloc {
    size_t live_bytes, live_blocks, peak_bytes;
    uint64_t calls;
    uint64_t fail_at; /* 1-based allocation number to fail; 0 = never */
} fx_alloc;
/* An mptcp_allocator counting into |a| (asserts sizes match on free). */
mptcp_allocator fx_allocator(fx_alloc *a);

/* ---------------------------------------------------------------- segments */
typedef struct fx_cap {
    uint64_t at;
    mptcp_addr src, dst;
    size_t len;
    uint8_t data[1600];
} fx_cap;

/* Header fields plus raw option bytes, for building test input. */
typedef struct fx_segspec {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t flags, window;
    const uint8_t *opts;
    size_t opts_len; /* multiple of 4 */
    const uint8_t *payload;
    size_t payload_len;
} fx_segspec;
/* Builds the segment into |out| with a correct checksum; returns its length. */
size_t fx_seg_build(uint8_t *out, size_t cap, const fx_segspec *s, const mptcp_addr *src,
                    const mptcp_addr *dst);
/* Parses a captured segment (mptcp_seg_parse); asserts it parses. */
void fx_seg_decode(const fx_cap *c, mptcp_seg *out);

/* Addresses used by the fixtures: 10.0.0.1 and 10.0.0.2 (and ports). */
mptcp_addr fx_addr(uint8_t last, uint16_t port);
/* Any IPv4 address a.b.c.d with a port. */
mptcp_addr fx_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);

/* ---------------------------------------------------------------- one stack */
#define FX_CAP_MAX 256
#define FX_EV_MAX 64
typedef struct fx_single {
    uint64_t rng;
    fx_alloc alloc;
    mptcp_stack *st;
    fx_cap *out;           /* FX_CAP_MAX captured segments (ring: the latest kept) */
    size_t n_out;          /* total captured */
    mptcp_event ev[FX_EV_MAX];
    mptcp_conn *ev_conn[FX_EV_MAX];
    size_t n_ev;
    uint64_t now;
} fx_single;

/* |cfg| NULL: defaults (plain TCP: cfg.mptcp is forced off unless
 * fx_single_init_mp is used). Asserts the stack was created. */
void fx_single_init_mp(fx_single *f, const mptcp_config *cfg, uint64_t seed);
void fx_single_init(fx_single *f, const mptcp_config *cfg, uint64_t seed);
/* Frees the stack and asserts the allocator is back to zero. */
void fx_single_fini(fx_single *f);
/* The |i|-th captured segment counting from the latest (0 = last). */
const fx_cap *fx_single_last(const fx_single *f, size_t i);
/* Feeds a built segment from |src| to |dst|; asserts mptcp_input returned 0. */
void fx_single_input(fx_single *f, const mptcp_addr *src, const mptcp_addr *dst,
                     const fx_segspec *s);
/* Counts events of |type| seen so far. */
size_t fx_single_count_ev(const fx_single *f, mptcp_ev_type type);

/* ---------------------------------------------------------------- the pair */
enum { FX_PASS = 0, FX_DROP, FX_DUP, FX_DELAY };

typedef struct fx_rule {
    int from;        /* 0 or 1 */
    uint32_t idx;    /* segment index in that direction (0-based) */
    int action;      /* FX_DROP, FX_DUP, FX_DELAY */
    uint64_t extra;  /* FX_DELAY: extra delay in us */
} fx_rule;

struct fx_pair;
typedef struct fx_end {
    uint64_t rng;           /* first member: fx_random reads it */
    struct fx_pair *pair;
    int id;
    fx_alloc alloc;
    mptcp_stack *st;
    mptcp_addr addr;
    mptcp_conn *conn;       /* the connection (connected or accepted) */
    size_t n_ev[MPTCP_EV_TYPE_COUNT]; /* per mptcp_ev_type */
    mptcp_event last_ev[MPTCP_EV_TYPE_COUNT]; /* the latest of each type */
    mptcp_close_reason close_reason;
    /* application behaviour, driven from the event callback */
    bool auto_read;         /* read everything on MPTCP_EV_READABLE */
    uint8_t *rx;            /* bytes read */
    size_t rx_len, rx_cap;
    bool rx_eof;            /* mptcp_recv returned 0 */
    const uint8_t *tx;      /* bytes to send, pushed as room allows */
    size_t tx_len, tx_off;
    int after_tx;           /* 0 nothing, 1 shutdown, 2 close, once all is taken */
    bool after_done;
    bool close_on_eof;      /* mptcp_close when the peer's FIN is read */
} fx_end;

typedef struct fx_pkt {
    struct fx_pkt *next;
    uint64_t at;
    uint64_t order;
    int to;
    mptcp_addr src, dst;
    size_t len;
    uint8_t data[1600];
} fx_pkt;

typedef struct fx_pair {
    fx_end e[2];
    bool mp;                /* fx_pair_init_mp: MPTCP as configured */
    uint64_t now;
    uint64_t delay_us;      /* one-way delay */
    fx_pkt *q;              /* in flight, sorted by (at, order) */
    uint64_t order;
    uint32_t sent[2];       /* segments emitted per direction (index of the next) */
    uint32_t delivered[2];
    fx_rule rules[32];
    size_t n_rules;
    /* optional: decide per segment; returns FX_* (rules are checked first) */
    int (*filter)(struct fx_pair *p, int from, uint32_t idx, const uint8_t *seg, size_t len,
                  uint64_t *extra);
    void *filter_arg;
    /* optional: rewrite a segment in flight (a middlebox); the checksum is
     * fixed afterwards. |*len| may shrink. */
    void (*mangle)(struct fx_pair *p, int from, uint32_t idx, uint8_t *seg, size_t *len);
    void *mangle_arg;
    /* a capture of every segment emitted (both directions), optional */
    fx_cap *log;
    size_t log_cap, n_log;
    int log_from[4096];
} fx_pair;

/* Two stacks (|cfg| for both, NULL: defaults), seeds derived from |seed|,
 * one-way delay |delay_us|. Stack 1 listens on port 80. fx_pair_init runs
 * plain TCP (cfg.mptcp forced off: the TCP engine's tests); fx_pair_init_mp
 * keeps cfg as given (NULL: defaults with cfg.mptcp on) and stack 1 listens on
 * every IPv4 address, port 80. */
void fx_pair_init(fx_pair *p, const mptcp_config *cfg0, const mptcp_config *cfg1, uint64_t seed,
                  uint64_t delay_us);
void fx_pair_init_mp(fx_pair *p, const mptcp_config *cfg0, const mptcp_config *cfg1,
                     uint64_t seed, uint64_t delay_us);
/* Frees both stacks, pending packets and buffers; asserts no memory leaks. */
void fx_pair_fini(fx_pair *p);
/* Stack 0 connects to stack 1 port 80. */
void fx_pair_connect(fx_pair *p);
/* Runs until simulated time |until| or until nothing is pending. Returns
 * the number of steps (packets delivered + timer runs). */
uint64_t fx_pair_run(fx_pair *p, uint64_t until);
/* Runs until |done(p)| is true or |until|; returns true if done. */
bool fx_pair_run_until(fx_pair *p, bool (*done)(fx_pair *), uint64_t until);
void fx_pair_rule(fx_pair *p, int from, uint32_t idx, int action, uint64_t extra);
/* Starts sending |len| bytes of |data| from end |i| (pushed from callbacks). */
void fx_pair_send(fx_pair *p, int i, const uint8_t *data, size_t len, int after_tx);
/* Overwrites the MPTCP options of |subtype| (-1: all) in |seg| with NOPs,
 * as an option-stripping middlebox does. Returns how many were removed. */
size_t fx_strip_mptcp(uint8_t *seg, size_t len, int subtype);
/* Deterministic test data. */
void fx_fill(uint8_t *buf, size_t len, uint64_t seed);

#endif /* MPTCP_TEST_FIXTURE_H */
