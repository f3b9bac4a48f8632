/*
 * mem_malloc.c - the default allocator, malloc/free, used when the host's
 * config leaves alloc.alloc NULL. The only core file that may include
 * <stdlib.h>; RTOS builds drop it with -DMPTCP_NO_MALLOC (make cross does).
 */
#ifndef MPTCP_NO_MALLOC
#include <stdlib.h>

#include "mem.h"

static void *default_alloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void default_free(void *user, void *ptr, size_t size)
{
    (void)user;
    (void)size;
    free(ptr);
}

void mptcp_mem_default(mptcp_allocator *a)
{
    a->alloc = default_alloc;
    a->free = default_free;
    a->user = NULL;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int mptcp_mem_malloc_unused;
#endif
