/*
 * wire_tcp.c - the fixed TCP header and the TCP options libmptcp speaks:
 * EOL, NOP, MSS, window scale, SACK-permitted, SACK, timestamps, TFO.
 * Owns: parse and write, strict lengths, the conventional option layout.
 * Does not know MPTCP: kind 30 and unknown kinds go to the caller's hook.
 * Implements RFC 9293 §3.1-3.2, RFC 7323 §2.2/§3.2, RFC 2018 §2-3,
 * RFC 7413 §4.1.1.
 */
#include "wire_tcp.h"

enum {
    KIND_EOL = 0,
    KIND_NOP = 1,
    KIND_MSS = 2,
    KIND_WS = 3,
    KIND_SACK_PERM = 4,
    KIND_SACK = 5,
    KIND_TS = 8,
    KIND_TFO = 34,
};

void mptcp_wire_tcp_hdr_parse(const uint8_t *p, mptcp_tcp_hdr *h)
{
    h->sport = mptcp_get_be16(p);
    h->dport = mptcp_get_be16(p + 2);
    h->seq = mptcp_get_be32(p + 4);
    h->ack = mptcp_get_be32(p + 8);
    h->doff = (uint8_t)((p[12] >> 4) * 4);
    /* RFC 9293 §3.1 + RFC 9768: the low bit of byte 12 is AE; the three
     * bits above it are reserved and dropped. */
    h->flags = (uint16_t)((uint16_t)(p[12] & 0x01) << 8 | p[13]);
    h->window = mptcp_get_be16(p + 14);
    h->csum = mptcp_get_be16(p + 16);
    h->urg = mptcp_get_be16(p + 18);
}

void mptcp_wire_tcp_hdr_write(uint8_t *p, const mptcp_tcp_hdr *h, size_t doff)
{
    mptcp_put_be16(p, h->sport);
    mptcp_put_be16(p + 2, h->dport);
    mptcp_put_be32(p + 4, h->seq);
    mptcp_put_be32(p + 8, h->ack);
    p[12] = (uint8_t)((doff / 4) << 4 | ((h->flags >> 8) & 0x01));
    p[13] = (uint8_t)h->flags;
    mptcp_put_be16(p + 14, h->window);
    mptcp_put_be16(p + 16, h->csum);
    mptcp_put_be16(p + 18, h->urg);
}

/* Records one recognised option: a second copy of the same kind makes it
 * ambiguous, so it moves to |bad| (our strict reading; RFC 9293 is silent). */
static void mark(mptcp_tcp_opts *o, uint32_t bit, bool ok)
{
    if (!ok || (o->present & bit)) {
        o->present &= ~bit;
        o->bad |= bit;
        return;
    }
    if (!(o->bad & bit))
        o->present |= bit;
}

/* Decodes one option of a kind this file owns; |q| is the kind byte and
 * |n| the (already bounded) length byte. Returns false for other kinds. */
static bool parse_known(const uint8_t *q, uint8_t n, mptcp_tcp_opts *o)
{
    bool ok;

    switch (q[0]) {
    case KIND_MSS: /* RFC 9293 §3.2: length 4 */
        ok = n == 4;
        if (ok && !(o->present & MPTCP_TCPO_MSS))
            o->mss = mptcp_get_be16(q + 2);
        mark(o, MPTCP_TCPO_MSS, ok);
        return true;
    case KIND_WS: /* RFC 7323 §2.2: length 3; shift above 14 kept as sent */
        ok = n == 3;
        if (ok && !(o->present & MPTCP_TCPO_WSCALE))
            o->wscale = q[2];
        mark(o, MPTCP_TCPO_WSCALE, ok);
        return true;
    case KIND_SACK_PERM: /* RFC 2018 §2: length 2 */
        mark(o, MPTCP_TCPO_SACK_PERM, n == 2);
        return true;
    case KIND_SACK: /* RFC 2018 §3: 2 + 8n, at most 4 blocks in 40 bytes */
        ok = n >= 10 && (n - 2) % 8 == 0 && (n - 2) / 8 <= 4;
        if (ok && !(o->present & MPTCP_TCPO_SACK)) {
            o->sack_count = (uint8_t)((n - 2) / 8);
            for (unsigned i = 0; i < o->sack_count; i++) {
                o->sack[i].left = mptcp_get_be32(q + 2 + 8 * i);
                o->sack[i].right = mptcp_get_be32(q + 6 + 8 * i);
            }
        }
        mark(o, MPTCP_TCPO_SACK, ok);
        return true;
    case KIND_TS: /* RFC 7323 §3.2: length 10 */
        ok = n == 10;
        if (ok && !(o->present & MPTCP_TCPO_TS)) {
            o->ts_val = mptcp_get_be32(q + 2);
            o->ts_ecr = mptcp_get_be32(q + 6);
        }
        mark(o, MPTCP_TCPO_TS, ok);
        return true;
    case KIND_TFO: /* RFC 7413 §4.1.1: 2 = cookie request, else 4..16-byte cookie */
        ok = n == 2 || (n >= 2 + MPTCP_TFO_COOKIE_MIN && n <= 2 + MPTCP_TFO_COOKIE_MAX);
        if (ok && !(o->present & MPTCP_TCPO_TFO)) {
            o->tfo_cookie_len = (uint8_t)(n - 2);
            memcpy(o->tfo_cookie, q + 2, (size_t)(n - 2));
        }
        mark(o, MPTCP_TCPO_TFO, ok);
        return true;
    default:
        return false;
    }
}

int mptcp_wire_tcp_opts_parse(const uint8_t *p, size_t len, mptcp_tcp_opts *o,
                              mptcp_wire_tcp_other_fn other, void *ctx)
{
    size_t i = 0;

    while (i < len) {
        uint8_t kind = p[i];
        if (kind == KIND_EOL) { /* RFC 9293 §3.2: end of the list; the rest is padding */
            o->present |= MPTCP_TCPO_EOL;
            return 0;
        }
        if (kind == KIND_NOP) {
            i++;
            continue;
        }
        /* A length byte past the header is a length past the header. */
        if (len - i < 2)
            return MPTCP_EBADLEN;
        uint8_t n = p[i + 1];
        if (n < 2 || n > len - i)
            return MPTCP_EBADLEN;
        if (!parse_known(p + i, n, o) && other)
            other(ctx, p + i, n, i);
        i += n;
    }
    return 0;
}

int mptcp_wire_tcp_opts_check(const mptcp_tcp_opts *o, uint32_t bits, uint8_t sack_count)
{
    if (bits & ~(uint32_t)MPTCP_WIRE_TCPO_WRITABLE)
        return MPTCP_EINVAL;
    if ((bits & MPTCP_TCPO_SACK) && (sack_count < 1 || sack_count > 4))
        return MPTCP_EINVAL;
    if ((bits & MPTCP_TCPO_TFO) && o->tfo_cookie_len != 0 &&
        (o->tfo_cookie_len < MPTCP_TFO_COOKIE_MIN || o->tfo_cookie_len > MPTCP_TFO_COOKIE_MAX))
        return MPTCP_EINVAL;
    return 0;
}

static size_t tfo_len(const mptcp_tcp_opts *o)
{
    return ((size_t)2 + o->tfo_cookie_len + 3) & ~(size_t)3;
}

size_t mptcp_wire_tcp_opts_len(const mptcp_tcp_opts *o, uint32_t bits, uint8_t sack_count)
{
    size_t n = 0;

    if (bits & MPTCP_TCPO_MSS)
        n += 4;
    if (bits & MPTCP_TCPO_TS)
        n += 12; /* SACK_PERM + TS, or NOP NOP TS */
    else if (bits & MPTCP_TCPO_SACK_PERM)
        n += 4; /* NOP NOP SACK_PERM */
    if (bits & MPTCP_TCPO_WSCALE)
        n += 4; /* NOP WS */
    if (bits & MPTCP_TCPO_SACK)
        n += 4 + 8 * (size_t)sack_count; /* NOP NOP SACK */
    if (bits & MPTCP_TCPO_TFO)
        n += tfo_len(o);
    return n;
}

size_t mptcp_wire_tcp_opts_write(uint8_t *dst, const mptcp_tcp_opts *o, uint32_t bits,
                                 uint8_t sack_count)
{
    uint8_t *q = dst;

    /* The conventional layout (as most stacks send it): every option group
     * starts on a 32-bit boundary so that receivers can read fields aligned. */
    if (bits & MPTCP_TCPO_MSS) {
        q[0] = KIND_MSS;
        q[1] = 4;
        mptcp_put_be16(q + 2, o->mss);
        q += 4;
    }
    if (bits & MPTCP_TCPO_TS) {
        if (bits & MPTCP_TCPO_SACK_PERM) {
            q[0] = KIND_SACK_PERM;
            q[1] = 2;
        } else {
            q[0] = KIND_NOP;
            q[1] = KIND_NOP;
        }
        q[2] = KIND_TS;
        q[3] = 10;
        mptcp_put_be32(q + 4, o->ts_val);
        mptcp_put_be32(q + 8, o->ts_ecr);
        q += 12;
    } else if (bits & MPTCP_TCPO_SACK_PERM) {
        q[0] = KIND_NOP;
        q[1] = KIND_NOP;
        q[2] = KIND_SACK_PERM;
        q[3] = 2;
        q += 4;
    }
    if (bits & MPTCP_TCPO_WSCALE) {
        q[0] = KIND_NOP;
        q[1] = KIND_WS;
        q[2] = 3;
        q[3] = o->wscale;
        q += 4;
    }
    if (bits & MPTCP_TCPO_SACK) {
        q[0] = KIND_NOP;
        q[1] = KIND_NOP;
        q[2] = KIND_SACK;
        q[3] = (uint8_t)(2 + 8 * sack_count);
        for (unsigned i = 0; i < sack_count; i++) {
            mptcp_put_be32(q + 4 + 8 * i, o->sack[i].left);
            mptcp_put_be32(q + 8 + 8 * i, o->sack[i].right);
        }
        q += 4 + 8 * (size_t)sack_count;
    }
    if (bits & MPTCP_TCPO_TFO) {
        size_t total = tfo_len(o), pad = total - 2 - o->tfo_cookie_len;
        memset(q, KIND_NOP, pad);
        q[pad] = KIND_TFO;
        q[pad + 1] = (uint8_t)(2 + o->tfo_cookie_len);
        memcpy(q + pad + 2, o->tfo_cookie, o->tfo_cookie_len);
        q += total;
    }
    return (size_t)(q - dst);
}
