/*
 * pcap_read.c - reads classic pcap files and finds the TCP segment in each
 * frame, for tests that check captures of real stacks (the kernel interop
 * tests). Owns: file/record parsing and link/IP decapsulation. Does not
 * parse TCP itself (that is the codec under test: mptcp_seg_parse).
 * Formats: pcap (tcpdump.org "PCAP Capture File Format"), IPv4 (RFC 791),
 * IPv6 and its extension headers (RFC 8200).
 */
#include "helpers/pcap_read.h"

#include <stdlib.h>
#include <string.h>

#define PCAP_MAGIC_US 0xa1b2c3d4u
#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_RECORD_MAX (256u * 1024u)

static uint32_t rd32(const pcap_read_file *r, const uint8_t *p)
{
    uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    if (r->swap)
        v = (v >> 24) | ((v >> 8) & 0xff00u) | ((v << 8) & 0xff0000u) | (v << 24);
    return v;
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

int pcap_read_open(pcap_read_file *r, const char *path)
{
    uint8_t h[24];
    memset(r, 0, sizeof(*r));
    r->f = fopen(path, "rb");
    if (!r->f) {
        snprintf(r->err, sizeof(r->err), "cannot open %s", path);
        return -1;
    }
    if (fread(h, 1, sizeof(h), r->f) != sizeof(h)) {
        snprintf(r->err, sizeof(r->err), "%s: shorter than a pcap header", path);
        goto fail;
    }
    uint32_t magic = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                     (uint32_t)h[3] << 24;
    if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS) {
        r->swap = false;
    } else {
        r->swap = true;
        magic = rd32(r, h);
        if (magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS) {
            snprintf(r->err, sizeof(r->err), "%s: not a pcap file (pcapng is not read)", path);
            goto fail;
        }
    }
    r->nsec = magic == PCAP_MAGIC_NS;
    r->snaplen = rd32(r, h + 16);
    r->linktype = rd32(r, h + 20) & 0x0fffffffu; /* the top bits hold FCS info */
    return 0;
fail:
    fclose(r->f);
    r->f = NULL;
    return -1;
}

int pcap_read_next(pcap_read_file *r, pcap_read_pkt *p)
{
    uint8_t h[16];
    size_t n = fread(h, 1, sizeof(h), r->f);
    if (n == 0)
        return 0;
    if (n != sizeof(h)) {
        snprintf(r->err, sizeof(r->err), "record %llu: truncated header",
                 (unsigned long long)r->count + 1);
        return -1;
    }
    uint32_t sec = rd32(r, h), frac = rd32(r, h + 4);
    uint32_t caplen = rd32(r, h + 8), origlen = rd32(r, h + 12);
    if (caplen > PCAP_RECORD_MAX) {
        snprintf(r->err, sizeof(r->err), "record %llu: caplen %u too large",
                 (unsigned long long)r->count + 1, caplen);
        return -1;
    }
    if (caplen > r->cap) {
        uint8_t *nb = realloc(r->buf, caplen);
        if (!nb) {
            snprintf(r->err, sizeof(r->err), "out of memory");
            return -1;
        }
        r->buf = nb;
        r->cap = caplen;
    }
    if (fread(r->buf, 1, caplen, r->f) != caplen) {
        snprintf(r->err, sizeof(r->err), "record %llu: truncated data",
                 (unsigned long long)r->count + 1);
        return -1;
    }
    r->count++;
    p->ts_ns = (uint64_t)sec * 1000000000u + (uint64_t)frac * (r->nsec ? 1u : 1000u);
    p->data = r->buf;
    p->caplen = caplen;
    p->origlen = origlen;
    return 1;
}

void pcap_read_close(pcap_read_file *r)
{
    if (r->f)
        fclose(r->f);
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

/* IPv6 extension headers that may precede TCP (RFC 8200 section 4). */
static bool ip6_ext(uint8_t nh)
{
    return nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 || nh == 140;
}

static int tcp_of_ip(const uint8_t *p, size_t len, pcap_read_tcp *out)
{
    if (len < 1)
        return -1;
    memset(out, 0, sizeof(*out));
    unsigned ver = p[0] >> 4;
    size_t hl, total;
    uint8_t proto;
    if (ver == 4) {
        if (len < 20)
            return -1;
        hl = (size_t)(p[0] & 0x0f) * 4;
        total = be16(p + 2);
        if (hl < 20 || total < hl || len < hl)
            return -1;
        if ((be16(p + 6) & 0x1fff) != 0)
            return 0; /* not the first fragment */
        proto = p[9];
        out->ttl = p[8];
        out->src.family = out->dst.family = MPTCP_AF_INET;
        memcpy(out->src.ip, p + 12, 4);
        memcpy(out->dst.ip, p + 16, 4);
    } else if (ver == 6) {
        if (len < 40)
            return -1;
        total = 40 + (size_t)be16(p + 4);
        proto = p[6];
        out->ttl = p[7];
        out->src.family = out->dst.family = MPTCP_AF_INET6;
        memcpy(out->src.ip, p + 8, 16);
        memcpy(out->dst.ip, p + 24, 16);
        hl = 40;
        while (ip6_ext(proto)) {
            if (len < hl + 8)
                return -1;
            proto = p[hl];
            hl += ((size_t)p[hl + 1] + 1) * 8;
        }
        if (proto == 44)
            return 0; /* fragments are not reassembled */
        if (total < hl)
            return -1;
    } else {
        return -1;
    }
    if (proto != 6)
        return 0;
    out->ip_len = total - hl;
    size_t have = len < total ? len : total; /* drop link-layer padding */
    if (have < hl)
        return -1;
    out->seg = p + hl;
    out->len = have - hl;
    return 1;
}

int pcap_read_tcp_of(uint32_t linktype, const uint8_t *f, size_t len, pcap_read_tcp *out)
{
    size_t off;
    uint16_t et;
    switch (linktype) {
    case PCAP_READ_LINK_ETHERNET:
        if (len < 14)
            return -1;
        off = 12;
        et = be16(f + off);
        while ((et == 0x8100 || et == 0x88a8) && len >= off + 6) {
            off += 4;
            et = be16(f + off);
        }
        off += 2;
        break;
    case PCAP_READ_LINK_LINUX_SLL:
        if (len < 16)
            return -1;
        et = be16(f + 14);
        off = 16;
        break;
    case PCAP_READ_LINK_LINUX_SLL2:
        if (len < 20)
            return -1;
        et = be16(f);
        off = 20;
        break;
    case PCAP_READ_LINK_NULL:
        if (len < 4)
            return -1;
        /* AF_INET is 2 everywhere; AF_INET6 differs by OS, so trust the IP version. */
        et = 0;
        off = 4;
        break;
    case PCAP_READ_LINK_RAW:
    case PCAP_READ_LINK_IPV4:
    case PCAP_READ_LINK_IPV6:
        et = 0;
        off = 0;
        break;
    default:
        return 0;
    }
    if (et != 0 && et != 0x0800 && et != 0x86dd)
        return 0;
    if (off >= len)
        return -1;
    return tcp_of_ip(f + off, len - off, out);
}
