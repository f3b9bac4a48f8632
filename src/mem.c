/*
 * mem.c - thin wrapper over the host allocator: zeroing, usage accounting.
 * It does not pick an allocator (stack.c does, from the config) and holds no
 * state of its own. The optional malloc default lives in mem_malloc.c so
 * that a -DMPTCP_NO_MALLOC build has no libc allocator reference at all.
 */
#include "mem.h"

void *mptcp_mem_zalloc(const mptcp_allocator *a, size_t *used, size_t n)
{
    if (n == 0)
        return NULL;
    void *p = a->alloc(a->user, n);
    if (p == NULL)
        return NULL;
    memset(p, 0, n);
    *used += n;
    return p;
}

void mptcp_mem_free(const mptcp_allocator *a, size_t *used, void *p, size_t n)
{
    if (p == NULL)
        return;
    a->free(a->user, p, n);
    *used -= n;
}
