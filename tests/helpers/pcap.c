/*
 * pcap.c - writes classic pcap files (magic 0xa1b2c3d4, microsecond
 * timestamps, version 2.4) of IP packets built around TCP segments. The IPv4
 * header checksum is computed here, independently of the library's csum.c,
 * so that a dissector checking both checksums checks the library's TCP one
 * against a second implementation. It does not parse anything.
 */
#include "helpers/pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAPLEN 65535u
#define IP_PROTO_TCP 6

struct mptcp_test_pcap {
    FILE *f;
    uint32_t linktype;
    uint64_t count;
    int failed;
};

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 791 header checksum: one's complement of the one's complement sum. */
static uint16_t ip4_header_csum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)h[i] << 8 | h[i + 1];
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

mptcp_test_pcap *mptcp_test_pcap_open_linktype(const char *path, uint32_t linktype)
{
    if (linktype != MPTCP_TEST_LINKTYPE_RAW && linktype != MPTCP_TEST_LINKTYPE_IPV4 &&
        linktype != MPTCP_TEST_LINKTYPE_IPV6) {
        errno = EINVAL;
        return NULL;
    }
    mptcp_test_pcap *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return NULL;
    pc->f = fopen(path, "wb");
    if (!pc->f) {
        free(pc);
        return NULL;
    }
    pc->linktype = linktype;
    uint8_t gh[24];
    put_le32(gh, 0xa1b2c3d4u); /* written little-endian: readers detect the order */
    put_le16(gh + 4, 2);
    put_le16(gh + 6, 4);
    put_le32(gh + 8, 0);  /* thiszone */
    put_le32(gh + 12, 0); /* sigfigs */
    put_le32(gh + 16, SNAPLEN);
    put_le32(gh + 20, linktype);
    if (fwrite(gh, sizeof(gh), 1, pc->f) != 1) {
        fclose(pc->f);
        free(pc);
        return NULL;
    }
    return pc;
}

mptcp_test_pcap *mptcp_test_pcap_open(const char *path)
{
    return mptcp_test_pcap_open_linktype(path, MPTCP_TEST_LINKTYPE_RAW);
}

int mptcp_test_ip_header(uint8_t *out, size_t cap, const mptcp_addr *src, const mptcp_addr *dst,
                         size_t seg_len)
{
    if (!src || !dst || src->family != dst->family)
        return -1;
    if (src->family == MPTCP_AF_INET) {
        if (cap < 20 || seg_len > 65535 - 20)
            return -1;
        memset(out, 0, 20);
        out[0] = 0x45;                      /* version 4, IHL 5 */
        put_be16(out + 2, (uint16_t)(20 + seg_len));
        out[6] = 0x40;                      /* DF */
        out[8] = 64;                        /* TTL */
        out[9] = IP_PROTO_TCP;
        memcpy(out + 12, src->ip, 4);
        memcpy(out + 16, dst->ip, 4);
        put_be16(out + 10, ip4_header_csum(out, 20));
        return 20;
    }
    if (src->family == MPTCP_AF_INET6) {
        if (cap < 40 || seg_len > 65535)
            return -1;
        memset(out, 0, 40);
        out[0] = 0x60;                      /* version 6 */
        put_be16(out + 4, (uint16_t)seg_len);
        out[6] = IP_PROTO_TCP;
        out[7] = 64;                        /* hop limit */
        memcpy(out + 8, src->ip, 16);
        memcpy(out + 24, dst->ip, 16);
        return 40;
    }
    return -1;
}

static int write_record(mptcp_test_pcap *pc, uint64_t ts_us, const uint8_t *hdr, size_t hlen,
                        const uint8_t *body, size_t blen)
{
    size_t total = hlen + blen;
    if (total > SNAPLEN) {
        pc->failed = 1;
        return -1;
    }
    uint8_t rh[16];
    put_le32(rh, (uint32_t)(ts_us / 1000000u));
    put_le32(rh + 4, (uint32_t)(ts_us % 1000000u));
    put_le32(rh + 8, (uint32_t)total);
    put_le32(rh + 12, (uint32_t)total);
    if (fwrite(rh, sizeof(rh), 1, pc->f) != 1 || (hlen && fwrite(hdr, hlen, 1, pc->f) != 1) ||
        (blen && fwrite(body, blen, 1, pc->f) != 1)) {
        pc->failed = 1;
        return -1;
    }
    pc->count++;
    return 0;
}

int mptcp_test_pcap_write_tcp(mptcp_test_pcap *pc, uint64_t ts_us, const mptcp_addr *src,
                              const mptcp_addr *dst, const uint8_t *seg, size_t len)
{
    if (!pc || !src || (len && !seg))
        return -1;
    if ((pc->linktype == MPTCP_TEST_LINKTYPE_IPV4 && src->family != MPTCP_AF_INET) ||
        (pc->linktype == MPTCP_TEST_LINKTYPE_IPV6 && src->family != MPTCP_AF_INET6))
        return -1;
    uint8_t ip[40];
    int hlen = mptcp_test_ip_header(ip, sizeof(ip), src, dst, len);
    if (hlen < 0)
        return -1;
    return write_record(pc, ts_us, ip, (size_t)hlen, seg, len);
}

int mptcp_test_pcap_write_ip(mptcp_test_pcap *pc, uint64_t ts_us, const uint8_t *pkt, size_t len)
{
    if (!pc || !pkt || !len)
        return -1;
    return write_record(pc, ts_us, NULL, 0, pkt, len);
}

uint64_t mptcp_test_pcap_count(const mptcp_test_pcap *pc)
{
    return pc ? pc->count : 0;
}

int mptcp_test_pcap_flush(mptcp_test_pcap *pc)
{
    if (!pc)
        return 0;
    return fflush(pc->f) == 0 && !pc->failed ? 0 : -1;
}

int mptcp_test_pcap_close(mptcp_test_pcap *pc)
{
    if (!pc)
        return 0;
    int rc = pc->failed ? -1 : 0;
    if (fclose(pc->f) != 0)
        rc = -1;
    free(pc);
    return rc;
}
