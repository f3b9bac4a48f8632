/*
 * timer.h - a min-heap of deadlines. Each connection embeds one node keyed
 * by its earliest deadline (the min of its own timers); the stack keeps the
 * heap, so finding what is due costs O(1) and updating one connection
 * O(log n), independent of how many connections sit idle.
 */
#ifndef MPTCP_TIMER_H
#define MPTCP_TIMER_H

#include "common.h"

#define MPTCP_TIMER_NONE UINT64_MAX
#define MPTCP_TIMER_NOT_QUEUED UINT32_MAX

typedef struct mptcp_timer_node {
    uint64_t key;  /* deadline in microseconds */
    uint32_t idx;  /* position in the heap, MPTCP_TIMER_NOT_QUEUED when absent */
    uint8_t kind;  /* what embeds the node: MPTCP_TIMER_KIND_* */
} mptcp_timer_node;

#define MPTCP_TIMER_KIND_TCB 0
#define MPTCP_TIMER_KIND_CONN 1

typedef struct mptcp_timer_heap {
    mptcp_timer_node **v;
    uint32_t n, cap;
} mptcp_timer_heap;

void mptcp_timer_node_init(mptcp_timer_node *tn);
/* Sets |tn|'s deadline: inserts, moves or (MPTCP_TIMER_NONE) removes it.
 * The heap never needs to grow beyond |cap| (one node per connection). */
void mptcp_timer_set(mptcp_timer_heap *h, mptcp_timer_node *tn, uint64_t key);
/* The node with the earliest deadline, or NULL. */
static inline mptcp_timer_node *mptcp_timer_top(const mptcp_timer_heap *h)
{
    return h->n ? h->v[0] : NULL;
}

#endif /* MPTCP_TIMER_H */
