/*
 * mem.h - the stack's allocator: every byte the library holds comes through
 * here, from the host's mptcp_allocator (or malloc when none is given and
 * the build has one). Allocation happens at stack and connection creation,
 * and for the two tables an idle connection does without (buf.h, sack.h):
 * when the first out-of-order segment or SACK block arrives, never per
 * segment otherwise.
 */
#ifndef MPTCP_MEM_H
#define MPTCP_MEM_H

#include "common.h"

/* An allocator and the running total it charges, handed to the structures
 * that allocate lazily (buf.c's range table, sack.c's scoreboard). */
typedef struct mptcp_mem {
    const mptcp_allocator *a;
    size_t *used;
} mptcp_mem;

/* Allocates |n| bytes, zeroed. NULL when the allocator fails. |*used| grows
 * by |n| on success (the stack keeps a running total for diagnostics). */
void *mptcp_mem_zalloc(const mptcp_allocator *a, size_t *used, size_t n);
/* Frees |p| (NULL allowed) of size |n| as given to mptcp_mem_zalloc. */
void mptcp_mem_free(const mptcp_allocator *a, size_t *used, void *p, size_t n);

#ifndef MPTCP_NO_MALLOC
/* The default allocator: malloc/free (mem_malloc.c, left out of RTOS builds). */
void mptcp_mem_default(mptcp_allocator *a);
#endif

#endif /* MPTCP_MEM_H */
