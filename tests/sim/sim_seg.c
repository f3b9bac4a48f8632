/*
 * sim_seg.c - bounds-checked accessors for TCP headers and the option list
 * (RFC 9293 section 3.1), a segment builder for tests, and checksum
 * bookkeeping for middleboxes. Independent of src/wire_*.c on purpose; uses
 * the library's checksum (src/csum.c) only.
 */
#include "sim/sim_seg.h"

#include <string.h>

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

bool sim_seg_valid(const uint8_t *seg, size_t len)
{
    if (len < 20)
        return false;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    return doff >= 20 && doff <= len;
}

void sim_seg_get(const uint8_t *seg, sim_tcp *out)
{
    out->sport = be16(seg);
    out->dport = be16(seg + 2);
    out->seq = be32(seg + 4);
    out->ack = be32(seg + 8);
    out->flags = (uint16_t)((seg[12] & 0x01) << 8 | seg[13]);
    out->window = be16(seg + 14);
}

void sim_seg_put(uint8_t *seg, const sim_tcp *in)
{
    put16(seg, in->sport);
    put16(seg + 2, in->dport);
    put32(seg + 4, in->seq);
    put32(seg + 8, in->ack);
    seg[12] = (uint8_t)((seg[12] & 0xf0) | ((in->flags >> 8) & 0x01));
    seg[13] = (uint8_t)in->flags;
    put16(seg + 14, in->window);
}

size_t sim_seg_doff(const uint8_t *seg)
{
    return (size_t)(seg[12] >> 4) * 4;
}

size_t sim_seg_payload_len(const uint8_t *seg, size_t len)
{
    if (!sim_seg_valid(seg, len))
        return 0;
    return len - sim_seg_doff(seg);
}

int sim_seg_build(uint8_t *out, size_t cap, const sim_tcp *h, const uint8_t *opts, size_t olen,
                  const uint8_t *payload, size_t plen, const mptcp_addr *src,
                  const mptcp_addr *dst)
{
    size_t padded = (olen + 3) & ~(size_t)3;
    if (padded > 40 || 20 + padded + plen > cap)
        return -1;
    memset(out, 0, 20);
    out[12] = (uint8_t)(((20 + padded) / 4) << 4);
    sim_seg_put(out, h);
    if (olen)
        memcpy(out + 20, opts, olen);
    memset(out + 20 + olen, 1, padded - olen); /* NOP padding */
    if (plen)
        memcpy(out + 20 + padded, payload, plen);
    size_t len = 20 + padded + plen;
    if (src && dst)
        mptcp_tcp_csum_fill(out, len, src, dst);
    return (int)len;
}

int sim_seg_walk_opts(const uint8_t *seg, size_t len,
                      void (*fn)(void *ctx, const uint8_t *opt, size_t optlen), void *ctx)
{
    if (!sim_seg_valid(seg, len))
        return -1;
    size_t end = sim_seg_doff(seg), i = 20;
    int n = 0;
    while (i < end) {
        uint8_t kind = seg[i];
        if (kind == 0) {
            if (fn)
                fn(ctx, seg + i, 1);
            return n + 1;
        }
        if (kind == 1) {
            if (fn)
                fn(ctx, seg + i, 1);
            i++;
            n++;
            continue;
        }
        if (i + 1 >= end || seg[i + 1] < 2 || i + seg[i + 1] > end)
            return -1;
        if (fn)
            fn(ctx, seg + i, seg[i + 1]);
        i += seg[i + 1];
        n++;
    }
    return n;
}

int sim_seg_find_opt(const uint8_t *seg, size_t len, uint8_t kind, int subtype, size_t *olen)
{
    if (!sim_seg_valid(seg, len))
        return -1;
    size_t end = sim_seg_doff(seg), i = 20;
    while (i < end) {
        uint8_t k = seg[i];
        if (k == 0)
            return -1;
        if (k == 1) {
            i++;
            continue;
        }
        if (i + 1 >= end || seg[i + 1] < 2 || i + seg[i + 1] > end)
            return -1;
        size_t l = seg[i + 1];
        if (k == kind && (k != MPTCP_TCPOPT_MPTCP || subtype < 0 ||
                          (l >= 3 && (seg[i + 2] >> 4) == subtype))) {
            if (olen)
                *olen = l;
            return (int)i;
        }
        i += l;
    }
    return -1;
}

bool sim_pkt_csum_ok(const sim_pkt *p)
{
    return mptcp_tcp_csum_ok(p->data, p->len, &p->src, &p->dst);
}

void sim_pkt_csum_fill(sim_pkt *p)
{
    if (p->len >= 20)
        mptcp_tcp_csum_fill(p->data, p->len, &p->src, &p->dst);
}

void sim_pkt_csum_redo(sim_pkt *p, bool was_ok)
{
    if (p->len < 20)
        return;
    sim_pkt_csum_fill(p);
    if (!was_ok)
        p->data[17] ^= 0x01; /* keep it wrong: the receiver must still see the damage */
}
