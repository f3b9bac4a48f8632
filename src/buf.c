/*
 * buf.c - the send ring and the receive ring of a connection or subflow,
 * including the receive side's out-of-order range store that RFC 2018
 * section 4 SACK blocks are read from. Everything here is relative byte
 * offsets in caller-given memory; sequence numbers, window rules and which
 * segment is acceptable belong to the TCP and MPTCP layers, not here.
 * Rings wrap at |cap|, which need not be a power of two. A send ring may
 * keep acknowledged bytes before its offset 0 until released (an MPTCP
 * connection's, which its subflows read), or have no memory and only count
 * (a subflow's). The range table
 * exists only while out-of-order data is held (allocated through the
 * caller's mptcp_mem, freed when the in-order end absorbs the last range).
 */
#include "buf.h"

_Static_assert(MPTCP_OOO_MAX >= 1 && MPTCP_OOO_MAX <= 255, "n_ooo and recent are uint8_t");

/* Ring index |n| bytes after index |i| (i < cap, n <= cap), without the
 * uint32 overflow that i + n could hit for rings above 2 GiB. */
static uint32_t ring_add(uint32_t i, uint32_t n, uint32_t cap)
{
    return n >= cap - i ? n - (cap - i) : i + n;
}

/* Copies |len| bytes into the ring at index |at|, wrapping. */
static void ring_put(uint8_t *ring, uint32_t cap, uint32_t at, const uint8_t *src, uint32_t len)
{
    uint32_t first = MPTCP_MIN(len, cap - at);
    memcpy(ring + at, src, first);
    if (len > first)
        memcpy(ring, src + first, len - first);
}

/* Copies |len| bytes out of the ring from index |at|, wrapping. */
static void ring_get(const uint8_t *ring, uint32_t cap, uint32_t at, uint8_t *dst, uint32_t len)
{
    uint32_t first = MPTCP_MIN(len, cap - at);
    memcpy(dst, ring + at, first);
    if (len > first)
        memcpy(dst + first, ring, len - first);
}

/* ------------------------------------------------------------ send ring */

void mptcp_sndbuf_init(mptcp_sndbuf *sb, uint8_t *mem, uint32_t cap)
{
    sb->data = mem;
    sb->cap = mem != NULL ? cap : 0;
    sb->head = 0;
    sb->len = 0;
    sb->kept = 0;
}

uint32_t mptcp_sndbuf_append(mptcp_sndbuf *sb, const uint8_t *src, uint32_t len)
{
    uint32_t n = MPTCP_MIN(len, mptcp_sndbuf_free(sb));
    if (n == 0)
        return 0;
    ring_put(sb->data, sb->cap, ring_add(sb->head, sb->len, sb->cap), src, n);
    sb->len += n;
    return n;
}

uint32_t mptcp_sndbuf_copy(const mptcp_sndbuf *sb, uint32_t off, uint8_t *dst, uint32_t len)
{
    if (off >= sb->len)
        return 0;
    uint32_t n = MPTCP_MIN(len, sb->len - off);
    if (n != 0)
        ring_get(sb->data, sb->cap, ring_add(sb->head, off, sb->cap), dst, n);
    return n;
}

uint32_t mptcp_sndbuf_append_from(mptcp_sndbuf *sb, const mptcp_sndbuf *from, uint32_t off,
                                  uint32_t len)
{
    if (off >= from->len)
        return 0;
    uint32_t n = MPTCP_MIN(MPTCP_MIN(len, from->len - off), mptcp_sndbuf_free(sb));
    uint32_t at = ring_add(sb->head, sb->len, sb->cap);
    uint32_t src = ring_add(from->head, off, from->cap);
    for (uint32_t done = 0; done < n;) {
        /* Both rings may wrap: copy up to the nearer wrap point. */
        uint32_t k = MPTCP_MIN(n - done, MPTCP_MIN(sb->cap - at, from->cap - src));
        memcpy(sb->data + at, from->data + src, k);
        at = ring_add(at, k, sb->cap);
        src = ring_add(src, k, from->cap);
        done += k;
    }
    sb->len += n;
    return n;
}

void mptcp_sndbuf_consume(mptcp_sndbuf *sb, uint32_t n)
{
    MPTCP_ASSERT(n <= sb->len);
    n = MPTCP_MIN(n, sb->len);
    sb->len -= n;
    /* An empty ring restarts at index 0 so later appends stay contiguous. */
    sb->head = sb->len == 0 && sb->kept == 0 ? 0 : ring_add(sb->head, n, sb->cap);
}

void mptcp_sndbuf_consume_keep(mptcp_sndbuf *sb, uint32_t n)
{
    MPTCP_ASSERT(n <= sb->len);
    n = MPTCP_MIN(n, sb->len);
    sb->len -= n;
    sb->kept += n;
    sb->head = ring_add(sb->head, n, sb->cap);
}

void mptcp_sndbuf_unpin(mptcp_sndbuf *sb, uint32_t keep)
{
    if (keep >= sb->kept)
        return;
    sb->kept = keep;
    if (sb->len == 0 && sb->kept == 0)
        sb->head = 0; /* empty: later appends stay contiguous */
}

void mptcp_sndbuf_extend(mptcp_sndbuf *sb, uint32_t n)
{
    MPTCP_ASSERT(n <= mptcp_sndbuf_free(sb));
    sb->len += MPTCP_MIN(n, mptcp_sndbuf_free(sb));
}

uint32_t mptcp_sndbuf_span(const mptcp_sndbuf *sb, uint32_t off, uint32_t len,
                           const uint8_t **p)
{
    uint32_t at, avail;
    if ((int32_t)off < 0) {
        uint32_t back = 0u - off;
        if (back > sb->kept)
            return 0;
        /* ring index |back| bytes before head */
        at = back > sb->head ? sb->cap - (back - sb->head) : sb->head - back;
        avail = back + sb->len;
    } else {
        if (off >= sb->len)
            return 0;
        at = ring_add(sb->head, off, sb->cap);
        avail = sb->len - off;
    }
    *p = sb->data + at;
    return MPTCP_MIN(MPTCP_MIN(len, avail), sb->cap - at);
}

/* --------------------------------------------------------- receive ring */

void mptcp_rcvbuf_init(mptcp_rcvbuf *rb, uint8_t *mem, uint32_t cap)
{
    memset(rb, 0, sizeof(*rb));
    rb->data = mem;
    rb->cap = mem != NULL ? MPTCP_MIN(cap, (uint32_t)INT32_MAX) : 0;
}

#define OOO_TABLE_SIZE (MPTCP_OOO_MAX * sizeof(mptcp_ooo_range))

void mptcp_rcvbuf_release(mptcp_rcvbuf *rb, const mptcp_mem *m)
{
    mptcp_mem_free(m->a, m->used, rb->ooo, OOO_TABLE_SIZE);
    rb->ooo = NULL;
    rb->n_ooo = 0;
    rb->recent = 0;
}

bool mptcp_rcvbuf_held(const mptcp_rcvbuf *rb, uint32_t off, uint32_t len, uint32_t *s,
                       uint32_t *e)
{
    uint32_t end = off + len;
    for (uint32_t i = 0; i < rb->n_ooo; i++) {
        const mptcp_ooo_range *r = &rb->ooo[i];
        if (r->end <= off)
            continue;
        if (r->start >= end)
            break;
        *s = MPTCP_MAX(off, r->start);
        *e = MPTCP_MIN(end, r->end);
        return true;
    }
    return false;
}

/* Ring index of relative offset |off| past the in-order end (off < space). */
static uint32_t rcv_index(const mptcp_rcvbuf *rb, uint32_t off)
{
    return ring_add(ring_add(rb->head, rb->len, rb->cap), off, rb->cap);
}

/* Copies the part of [s, e) (offsets from the in-order end) that no
 * existing out-of-order range holds: "bytes already held are not
 * rewritten", so a retransmission with different payload cannot change
 * bytes that may already have been SACKed or checksummed. */
static void store_gaps(mptcp_rcvbuf *rb, uint32_t s, uint32_t e, const uint8_t *src)
{
    uint32_t pos = s;
    for (uint32_t i = 0; i < rb->n_ooo && pos < e; i++) {
        const mptcp_ooo_range *r = &rb->ooo[i];
        if (r->end <= pos)
            continue;
        if (r->start >= e)
            break;
        if (r->start > pos)
            ring_put(rb->data, rb->cap, rcv_index(rb, pos), src + (pos - s), r->start - pos);
        pos = r->end;
    }
    if (pos < e)
        ring_put(rb->data, rb->cap, rcv_index(rb, pos), src + (pos - s), e - pos);
}

int32_t mptcp_rcvbuf_write(mptcp_rcvbuf *rb, const mptcp_mem *m, uint32_t off,
                           const uint8_t *src, uint32_t len)
{
    if (off > (uint32_t)INT32_MAX) {
        /* Starts before the in-order end (a retransmission overlapping
         * bytes already accepted): keep only what lies beyond it. */
        uint32_t behind = 0u - off;
        if (len <= behind)
            return 0;
        src += behind;
        len -= behind;
        off = 0;
    }
    uint32_t space = mptcp_rcvbuf_space(rb);
    if (len == 0 || off >= space)
        return 0;
    uint32_t s = off;
    uint32_t e = len > space - off ? space : off + len; /* cut at the window's edge */

    /* Ranges that overlap or touch [s, e) merge with it. ooo[] is sorted and
     * no two ranges touch, so those form one run [first, last). */
    uint32_t first = 0;
    while (first < rb->n_ooo && rb->ooo[first].end < s)
        first++;
    uint32_t last = first;
    while (last < rb->n_ooo && rb->ooo[last].start <= e)
        last++;

    if (s > 0 && first == last && rb->n_ooo >= MPTCP_OOO_MAX)
        return MPTCP_RCVBUF_NO_RANGE; /* would need a new range: drop before storing */
    if (s > 0 && rb->ooo == NULL) {
        /* The first out-of-order range: the table comes now (an idle or
         * in-order connection does not carry it). */
        rb->ooo = mptcp_mem_zalloc(m->a, m->used, OOO_TABLE_SIZE);
        if (rb->ooo == NULL)
            return MPTCP_RCVBUF_NO_MEM;
    }

    store_gaps(rb, s, e, src);

    uint32_t ms = s, me = e;
    if (first < last) {
        ms = MPTCP_MIN(ms, rb->ooo[first].start);
        me = MPTCP_MAX(me, rb->ooo[last - 1].end);
    }
    uint32_t n_old = rb->n_ooo;

    if (ms == 0) {
        /* In order (first == 0): the write and every range it reaches become
         * readable; the remaining ranges move down by the advance because
         * their offsets are relative to the in-order end. */
        MPTCP_ASSERT(first == 0);
        uint32_t adv = me;
        uint32_t old_recent = rb->recent;
        rb->len += adv;
        for (uint32_t i = last; i < n_old; i++) {
            rb->ooo[i - last].start = rb->ooo[i].start - adv;
            rb->ooo[i - last].end = rb->ooo[i].end - adv;
        }
        rb->n_ooo = (uint8_t)(n_old - last);
        /* RFC 2018 section 4: a segment that advanced the ACK has no block
         * of its own; the blocks reported most recently are repeated, so the
         * previous first block stays first if it is still out of order. */
        if (rb->n_ooo == 0 || old_recent < last)
            rb->recent = 0;
        else
            rb->recent = (uint8_t)(old_recent - last);
        if (rb->n_ooo == 0 && rb->ooo != NULL)
            mptcp_rcvbuf_release(rb, m); /* nothing out of order any more */
        return (int32_t)adv;
    }

    /* Out of order: ooo[first, last) collapse into one range at |first|, or a
     * new range is inserted there when nothing touched. */
    if (first == last) {
        memmove(&rb->ooo[first + 1], &rb->ooo[first], (n_old - first) * sizeof(rb->ooo[0]));
        rb->n_ooo++;
    } else if (last - first > 1) {
        memmove(&rb->ooo[first + 1], &rb->ooo[last], (n_old - last) * sizeof(rb->ooo[0]));
        rb->n_ooo = (uint8_t)(n_old - (last - first - 1));
    }
    rb->ooo[first].start = ms;
    rb->ooo[first].end = me;
    /* RFC 2018 section 4: the first SACK block holds the segment that
     * triggered this ACK, even when it only repeated bytes already held. */
    rb->recent = (uint8_t)first;
    return 0;
}

uint32_t mptcp_rcvbuf_span(const mptcp_rcvbuf *rb, uint32_t off, uint32_t len,
                           const uint8_t **p)
{
    if (off >= rb->len)
        return 0;
    uint32_t at = ring_add(rb->head, off, rb->cap);
    *p = rb->data + at;
    return MPTCP_MIN(MPTCP_MIN(len, rb->len - off), rb->cap - at);
}

uint32_t mptcp_rcvbuf_read(mptcp_rcvbuf *rb, uint8_t *dst, uint32_t len)
{
    uint32_t n = MPTCP_MIN(len, rb->len);
    if (n == 0)
        return 0;
    ring_get(rb->data, rb->cap, rb->head, dst, n);
    rb->head = ring_add(rb->head, n, rb->cap);
    rb->len -= n;
    return n;
}

uint32_t mptcp_rcvbuf_sack_ranges(const mptcp_rcvbuf *rb, mptcp_ooo_range *out, uint32_t max)
{
    if (max == 0 || rb->n_ooo == 0)
        return 0;
    uint32_t n = 0;
    uint32_t recent = rb->recent < rb->n_ooo ? rb->recent : 0;
    out[n++] = rb->ooo[recent];
    for (uint32_t i = 0; i < rb->n_ooo && n < max; i++) {
        if (i != recent)
            out[n++] = rb->ooo[i];
    }
    return n;
}
