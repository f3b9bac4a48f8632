/*
 * timer.c - binary min-heap of deadline nodes (see timer.h). Knows nothing
 * about TCP: connections compute their own next deadline (tcp_timer.c) and
 * the stack files it here when an entry point is done with a connection.
 * No periodic tick anywhere: an idle connection costs nothing.
 */
#include "timer.h"

void mptcp_timer_node_init(mptcp_timer_node *tn)
{
    tn->key = MPTCP_TIMER_NONE;
    tn->idx = MPTCP_TIMER_NOT_QUEUED;
}

static void place(mptcp_timer_heap *h, uint32_t i, mptcp_timer_node *tn)
{
    h->v[i] = tn;
    tn->idx = i;
}

static void sift_up(mptcp_timer_heap *h, uint32_t i)
{
    mptcp_timer_node *tn = h->v[i];
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (h->v[parent]->key <= tn->key)
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, tn);
}

static void sift_down(mptcp_timer_heap *h, uint32_t i)
{
    mptcp_timer_node *tn = h->v[i];
    for (;;) {
        uint32_t l = 2 * i + 1, best = i;
        uint64_t best_key = tn->key;
        if (l < h->n && h->v[l]->key < best_key) {
            best = l;
            best_key = h->v[l]->key;
        }
        if (l + 1 < h->n && h->v[l + 1]->key < best_key)
            best = l + 1;
        if (best == i)
            break;
        place(h, i, h->v[best]);
        i = best;
    }
    place(h, i, tn);
}

void mptcp_timer_set(mptcp_timer_heap *h, mptcp_timer_node *tn, uint64_t key)
{
    uint64_t old = tn->key;
    tn->key = key;
    if (tn->idx == MPTCP_TIMER_NOT_QUEUED) {
        if (key == MPTCP_TIMER_NONE || h->n >= h->cap)
            return;
        place(h, h->n++, tn);
        sift_up(h, tn->idx);
        return;
    }
    if (key == MPTCP_TIMER_NONE) {
        uint32_t i = tn->idx;
        tn->idx = MPTCP_TIMER_NOT_QUEUED;
        h->n--;
        if (i == h->n)
            return;
        mptcp_timer_node *moved = h->v[h->n];
        place(h, i, moved);
        sift_up(h, i);
        sift_down(h, moved->idx);
        return;
    }
    if (key < old)
        sift_up(h, tn->idx);
    else if (key > old)
        sift_down(h, tn->idx);
}
