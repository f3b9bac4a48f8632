/*
 * buf.h - byte buffers of a connection: the send ring (bytes handed to us
 * and not yet acknowledged) and the receive ring (bytes accepted and not yet
 * read, plus out-of-order ranges placed in their final position). Offsets
 * are relative byte positions, never sequence numbers: the TCP layer maps
 * subflow sequence numbers onto them and the MPTCP layer maps 64-bit data
 * sequence numbers onto them, so both reassemble through the same code.
 * Ring memory is given by the caller. The out-of-order range table of a
 * receive ring is the one thing allocated here, through the allocator the
 * caller passes (mem.h): only while out-of-order data is held, so that an
 * idle connection carries a pointer instead of the table.
 */
#ifndef MPTCP_BUF_H
#define MPTCP_BUF_H

#include "common.h"
#include "mem.h"

/* Send ring. Offset 0 is the oldest unacknowledged byte. The |kept| bytes
 * before it are acknowledged but still stored because someone else reads
 * them (an MPTCP connection's ring: subflows send from it and may still
 * need them for a subflow-level retransmission, docs/mptcp-conn.md); they
 * take space until released. A plain TCP ring never keeps any. |data| may
 * be NULL with |cap| set: a ring that only counts bytes stored elsewhere
 * (an MPTCP subflow's, mptcp_sndbuf_extend). */
typedef struct mptcp_sndbuf {
    uint8_t *data;
    uint32_t cap;
    uint32_t head; /* ring index of offset 0 */
    uint32_t len;  /* bytes held from offset 0 on */
    uint32_t kept; /* bytes held before offset 0 (mptcp_sndbuf_consume_keep) */
} mptcp_sndbuf;

void mptcp_sndbuf_init(mptcp_sndbuf *sb, uint8_t *mem, uint32_t cap);
/* Appends up to |len| bytes; returns the number taken. */
uint32_t mptcp_sndbuf_append(mptcp_sndbuf *sb, const uint8_t *src, uint32_t len);
/* Copies |len| bytes starting at |off| into |dst|; returns bytes copied
 * (fewer when the buffer ends first). */
uint32_t mptcp_sndbuf_copy(const mptcp_sndbuf *sb, uint32_t off, uint8_t *dst, uint32_t len);
/* Appends up to |len| bytes that |from| holds at offset |off|, ring to ring
 * (no bounce buffer); returns the number taken (fewer when |sb| fills or
 * |from| ends first). */
uint32_t mptcp_sndbuf_append_from(mptcp_sndbuf *sb, const mptcp_sndbuf *from, uint32_t off,
                                  uint32_t len);
/* Drops the |n| oldest bytes (they were acknowledged). n <= len. */
void mptcp_sndbuf_consume(mptcp_sndbuf *sb, uint32_t n);
/* Moves offset 0 past the |n| oldest bytes (acknowledged) but keeps them
 * stored, before the new offset 0, until mptcp_sndbuf_unpin. n <= len. */
void mptcp_sndbuf_consume_keep(mptcp_sndbuf *sb, uint32_t n);
/* Frees kept bytes, oldest first, until at most |keep| remain. */
void mptcp_sndbuf_unpin(mptcp_sndbuf *sb, uint32_t keep);
/* Counts |n| more bytes as held without storing them (a ring without
 * memory whose bytes live elsewhere); n <= free. */
void mptcp_sndbuf_extend(mptcp_sndbuf *sb, uint32_t n);
/* The stored bytes from offset |off| up to the ring's wrap point, at most
 * |len|: *p gets their address, the count is returned (0 when none).
 * |off| is a 32-bit difference: (int32_t)off < 0 reads kept bytes, -off
 * bytes before offset 0 (0 when fewer are kept). */
uint32_t mptcp_sndbuf_span(const mptcp_sndbuf *sb, uint32_t off, uint32_t len,
                           const uint8_t **p);
static inline uint32_t mptcp_sndbuf_free(const mptcp_sndbuf *sb)
{
    return sb->cap - sb->len - sb->kept;
}

/* Out-of-order ranges kept beyond the in-order end: at most this many. */
#ifndef MPTCP_OOO_MAX
#define MPTCP_OOO_MAX 16
#endif

typedef struct mptcp_ooo_range {
    uint32_t start, end; /* offsets from the in-order end: [start, end), start > 0 */
} mptcp_ooo_range;

/* Receive ring. Offset 0 of a write is the first byte not yet received in
 * order (rcv_nxt); readable bytes lie before it. */
typedef struct mptcp_rcvbuf {
    uint8_t *data;
    /* MPTCP_OOO_MAX ranges, sorted by start, disjoint, not adjacent; NULL
     * while n_ooo == 0 (allocated by the write that needs it, freed by the
     * write that absorbs the last range, or by mptcp_rcvbuf_release). */
    mptcp_ooo_range *ooo;
    uint32_t cap;
    uint32_t head;    /* ring index of the first unread byte */
    uint32_t len;     /* in-order bytes not yet read */
    uint8_t n_ooo;
    /* Index in ooo[] of the range holding the most recently received
     * out-of-order segment (RFC 2018 section 4: the first SACK block), or the
     * previous first block when the last write advanced the in-order end
     * (0 when that one was absorbed). Valid when n_ooo > 0. */
    uint8_t recent;
} mptcp_rcvbuf;

/* mptcp_rcvbuf_write results besides the advance (>= 0). */
#define MPTCP_RCVBUF_NO_RANGE (-1) /* all MPTCP_OOO_MAX ranges in use */
#define MPTCP_RCVBUF_NO_MEM (-2)   /* the range table could not be allocated */

/* |cap| above INT32_MAX is cut to INT32_MAX: offsets and the advance that
 * mptcp_rcvbuf_write returns are signed 32-bit quantities. The ring holds
 * no range table afterwards: release a used one first. */
void mptcp_rcvbuf_init(mptcp_rcvbuf *rb, uint8_t *mem, uint32_t cap);
/* Frees the out-of-order range table, if any, and forgets those ranges. */
void mptcp_rcvbuf_release(mptcp_rcvbuf *rb, const mptcp_mem *m);
/* Room for new bytes beyond the in-order end: the receive window. */
static inline uint32_t mptcp_rcvbuf_space(const mptcp_rcvbuf *rb) { return rb->cap - rb->len; }
/*
 * Stores |len| bytes that belong at offset |off| from the in-order end.
 * |off| is a 32-bit difference like a sequence-number one: when (int32_t)off
 * is negative the segment starts -off bytes before the in-order end, and the
 * bytes already received in order are skipped (so seq - rcv_nxt can be
 * passed as is). Bytes beyond the space are cut off; bytes already held are
 * not rewritten.
 * When off == 0, the in-order end advances over the new bytes and over every
 * out-of-order range that becomes contiguous. Returns the number of bytes by
 * which the in-order end advanced (0 for out-of-order data), or, with
 * nothing stored (the caller counts a drop): MPTCP_RCVBUF_NO_RANGE when the
 * data would need a new out-of-order range and MPTCP_OOO_MAX are in use,
 * MPTCP_RCVBUF_NO_MEM when it needs the range table and |m| fails.
 */
int32_t mptcp_rcvbuf_write(mptcp_rcvbuf *rb, const mptcp_mem *m, uint32_t off,
                           const uint8_t *src, uint32_t len);
/* Whether some of the |len| bytes at offset |off| (as for write, off > 0)
 * are already held out of order; if so [*s, *e) gets the first such run
 * (RFC 2883: a duplicate to report in a D-SACK block). */
bool mptcp_rcvbuf_held(const mptcp_rcvbuf *rb, uint32_t off, uint32_t len, uint32_t *s,
                       uint32_t *e);
/* The in-order bytes from unread offset |off| (off < len) up to the ring's
 * wrap point, at most |len|: *p gets their address, the count is returned
 * (0 when off >= the bytes held). Lets a caller move bytes ring to ring. */
uint32_t mptcp_rcvbuf_span(const mptcp_rcvbuf *rb, uint32_t off, uint32_t len,
                           const uint8_t **p);
/* Copies up to |len| in-order bytes out and frees their space. */
uint32_t mptcp_rcvbuf_read(mptcp_rcvbuf *rb, uint8_t *dst, uint32_t len);
/* Out-of-order ranges for SACK: the most recent first, then the others in
 * ascending order; returns the count written (<= max). */
uint32_t mptcp_rcvbuf_sack_ranges(const mptcp_rcvbuf *rb, mptcp_ooo_range *out, uint32_t max);

#endif /* MPTCP_BUF_H */
