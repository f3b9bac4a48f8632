/*
 * tun_netem.c - loss and delay emulation for one device direction. Loss is
 * Bernoulli per packet, drawn from a splitmix64 stream seeded per device and
 * direction, so a run with --seed drops the same packet numbers every time.
 * Delay is constant, so the timed queue is a FIFO; the queue is bounded in
 * bytes (tail drop). It does not reorder, duplicate or rate-limit.
 */
#include "tun_netem.h"

#include <stdlib.h>
#include <string.h>

uint64_t tun_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void tun_netem_init(tun_netem *n, uint64_t seed)
{
    memset(n, 0, sizeof *n);
    n->rng = seed;
    n->limit_bytes = 8u << 20;
}

bool tun_netem_active(const tun_netem *n)
{
    return n->loss_ppm > 0 || n->delay_us > 0;
}

int tun_netem_offer(tun_netem *n, const uint8_t *pkt, size_t len, const mptcp_addr *src,
                    const mptcp_addr *dst, size_t l4_off, uint64_t now_us)
{
    n->offered++;
    /* Draw for every packet, lossy or not, so that the stream position
     * depends only on the packet count. */
    uint64_t r = tun_splitmix64(&n->rng) % 1000000u;
    if (r < n->loss_ppm) {
        n->dropped_loss++;
        return TUN_NETEM_DROP;
    }
    if (n->delay_us == 0 && n->head == NULL) {
        n->passed++;
        return TUN_NETEM_PASS;
    }
    if (n->queued_bytes + len > n->limit_bytes) {
        n->dropped_queue++;
        return TUN_NETEM_DROP;
    }
    tun_netem_pkt *q = malloc(sizeof *q + len);
    if (!q) {
        n->dropped_nomem++;
        return TUN_NETEM_DROP;
    }
    q->next = NULL;
    q->due_us = now_us + n->delay_us;
    if (src)
        q->src = *src;
    if (dst)
        q->dst = *dst;
    q->l4_off = l4_off;
    q->len = len;
    memcpy(q->data, pkt, len);
    if (n->tail)
        n->tail->next = q;
    else
        n->head = q;
    n->tail = q;
    n->queued_bytes += len;
    n->delayed++;
    return TUN_NETEM_QUEUED;
}

tun_netem_pkt *tun_netem_pop_due(tun_netem *n, uint64_t now_us)
{
    tun_netem_pkt *q = n->head;
    if (!q || q->due_us > now_us)
        return NULL;
    n->head = q->next;
    if (!n->head)
        n->tail = NULL;
    n->queued_bytes -= q->len;
    n->passed++;
    return q;
}

uint64_t tun_netem_next_due(const tun_netem *n)
{
    return n->head ? n->head->due_us : UINT64_MAX;
}

void tun_netem_clear(tun_netem *n)
{
    while (n->head) {
        tun_netem_pkt *q = n->head;
        n->head = q->next;
        free(q);
    }
    n->tail = NULL;
    n->queued_bytes = 0;
}
