/*
 * tun_netem.h - path emulation inside the TUN host (tc netem is not always
 * available): per device and direction, random loss from a seeded PRNG and a
 * fixed delay through a timed FIFO queue with a byte limit.
 */
#ifndef MPTCP_TUN_NETEM_H
#define MPTCP_TUN_NETEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mptcp.h"

/* One queued packet: the whole IP packet plus what the parser found, so a
 * delayed inbound packet is not parsed twice. */
typedef struct tun_netem_pkt {
    struct tun_netem_pkt *next;
    uint64_t due_us;
    mptcp_addr src, dst;
    size_t l4_off, len;
    uint8_t data[];
} tun_netem_pkt;

typedef struct tun_netem {
    uint32_t loss_ppm;     /* drop probability in parts per million */
    uint64_t delay_us;     /* added one-way delay */
    size_t limit_bytes;    /* queue limit (tail drop beyond it) */
    uint64_t rng;          /* splitmix64 state */
    tun_netem_pkt *head, *tail;
    size_t queued_bytes;
    /* counters */
    uint64_t offered, passed, delayed, dropped_loss, dropped_queue, dropped_nomem;
} tun_netem;

/* Outcome of tun_netem_offer. */
enum { TUN_NETEM_PASS = 0, TUN_NETEM_QUEUED = 1, TUN_NETEM_DROP = 2 };

void tun_netem_init(tun_netem *n, uint64_t seed);
/* Decides one packet's fate: dropped (loss or a full queue), passed on now
 * (no delay configured and nothing queued), or copied into the queue until
 * now + delay. */
int tun_netem_offer(tun_netem *n, const uint8_t *pkt, size_t len, const mptcp_addr *src,
                    const mptcp_addr *dst, size_t l4_off, uint64_t now_us);
/* The head packet if it is due at |now_us| (the caller frees it with free()). */
tun_netem_pkt *tun_netem_pop_due(tun_netem *n, uint64_t now_us);
/* When the head packet is due; UINT64_MAX when the queue is empty. */
uint64_t tun_netem_next_due(const tun_netem *n);
/* Drops every queued packet. */
void tun_netem_clear(tun_netem *n);
/* True when loss or delay is configured. */
bool tun_netem_active(const tun_netem *n);
/* splitmix64: also the host's PRNG for --seed. */
uint64_t tun_splitmix64(uint64_t *state);

#endif /* MPTCP_TUN_NETEM_H */
