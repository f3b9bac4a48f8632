/*
 * tun_ip.c - IPv4 (RFC 791) and IPv6 (RFC 8200) header parsing and building
 * for the TUN host, plus address text conversion. It owns nothing but bytes:
 * no routing (tun_route.c), no devices (tun_dev.c). It does not reassemble
 * fragments (the stack's segments never need it: the MSS fits the MTU) and
 * answers nothing (no ICMP): non-TCP packets are only counted by the caller.
 */
#include "tun_ip.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPPROTO_TCP_NUM 6
#define IP6_HOPOPTS 0
#define IP6_ROUTING 43
#define IP6_FRAGMENT 44
#define IP6_ESP 50
#define IP6_AH 51
#define IP6_NONE 59
#define IP6_DSTOPTS 60
#define IP6_MAX_EXT 8 /* extension headers walked before giving up */

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 1071 sum over an IPv4 header; 0 when a header with its checksum is intact. */
static uint16_t ip4_csum(const uint8_t *h, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(h + i);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static int parse4(const uint8_t *p, size_t len, tun_ip_pkt *out)
{
    if (len < 20)
        return TUN_IP_BAD;
    size_t ihl = (size_t)(p[0] & 0x0f) * 4;
    size_t total = get16(p + 2);
    if (ihl < 20 || ihl > len || total < ihl || total > len)
        return TUN_IP_BAD;
    if (ip4_csum(p, ihl) != 0)
        return TUN_IP_BAD;
    uint16_t frag = get16(p + 6);
    if ((frag & 0x2000) || (frag & 0x1fff)) /* MF set or a non-zero offset */
        return TUN_IP_FRAGMENT;
    out->proto = p[9];
    if (out->proto != IPPROTO_TCP_NUM)
        return TUN_IP_NOT_TCP;
    memset(&out->src, 0, sizeof out->src);
    memset(&out->dst, 0, sizeof out->dst);
    out->src.family = out->dst.family = MPTCP_AF_INET;
    memcpy(out->src.ip, p + 12, 4);
    memcpy(out->dst.ip, p + 16, 4);
    out->l4_off = ihl;
    out->l4_len = total - ihl; /* bytes past |total| are link padding */
    return TUN_IP_TCP;
}

static int parse6(const uint8_t *p, size_t len, tun_ip_pkt *out)
{
    if (len < 40)
        return TUN_IP_BAD;
    size_t plen = get16(p + 4);
    if (plen == 0 || 40 + plen > len) /* 0 would mean a jumbogram (RFC 2675) */
        return TUN_IP_BAD;
    size_t end = 40 + plen;
    size_t off = 40;
    uint8_t nh = p[6];
    for (int i = 0; nh != IPPROTO_TCP_NUM; i++) {
        if (i == IP6_MAX_EXT)
            return TUN_IP_EXT_UNKNOWN;
        size_t hl;
        switch (nh) {
        case IP6_HOPOPTS:
        case IP6_ROUTING:
        case IP6_DSTOPTS:
            if (off + 8 > end)
                return TUN_IP_BAD;
            hl = ((size_t)p[off + 1] + 1) * 8;
            break;
        case IP6_AH: /* RFC 4302: length in 4-octet units, minus 2 */
            if (off + 8 > end)
                return TUN_IP_BAD;
            hl = ((size_t)p[off + 1] + 2) * 4;
            break;
        case IP6_FRAGMENT:
            if (off + 8 > end)
                return TUN_IP_BAD;
            /* RFC 6946: an atomic fragment (offset 0, M clear) is a whole packet. */
            if ((get16(p + off + 2) & 0xfff9) != 0)
                return TUN_IP_FRAGMENT;
            hl = 8;
            break;
        case IP6_ESP:
            return TUN_IP_EXT_UNKNOWN;
        case IP6_NONE:
        default:
            out->proto = nh;
            return TUN_IP_NOT_TCP;
        }
        if (off + hl > end)
            return TUN_IP_BAD;
        nh = p[off];
        off += hl;
    }
    out->proto = nh;
    memset(&out->src, 0, sizeof out->src);
    memset(&out->dst, 0, sizeof out->dst);
    out->src.family = out->dst.family = MPTCP_AF_INET6;
    memcpy(out->src.ip, p + 8, 16);
    memcpy(out->dst.ip, p + 24, 16);
    out->l4_off = off;
    out->l4_len = end - off;
    return TUN_IP_TCP;
}

int tun_ip_parse(const uint8_t *pkt, size_t len, tun_ip_pkt *out)
{
    if (len < 1)
        return TUN_IP_BAD;
    switch (pkt[0] >> 4) {
    case 4: return parse4(pkt, len, out);
    case 6: return parse6(pkt, len, out);
    default: return TUN_IP_BAD;
    }
}

size_t tun_ip_header(uint8_t *out, size_t cap, const mptcp_addr *src, const mptcp_addr *dst,
                     size_t l4_len, uint16_t ip_id)
{
    if (src->family != dst->family)
        return 0;
    if (src->family == MPTCP_AF_INET) {
        if (cap < 20 || l4_len > 65535 - 20)
            return 0;
        memset(out, 0, 20);
        out[0] = 0x45;
        put16(out + 2, (uint16_t)(20 + l4_len));
        put16(out + 4, ip_id);
        put16(out + 6, 0x4000); /* DF: the stack sizes segments to the path (RFC 1191) */
        out[8] = 64;
        out[9] = IPPROTO_TCP_NUM;
        memcpy(out + 12, src->ip, 4);
        memcpy(out + 16, dst->ip, 4);
        put16(out + 10, ip4_csum(out, 20));
        return 20;
    }
    if (src->family == MPTCP_AF_INET6) {
        if (cap < 40 || l4_len > 65535)
            return 0;
        memset(out, 0, 40);
        out[0] = 0x60;
        put16(out + 4, (uint16_t)l4_len);
        out[6] = IPPROTO_TCP_NUM;
        out[7] = 64;
        memcpy(out + 8, src->ip, 16);
        memcpy(out + 24, dst->ip, 16);
        return 40;
    }
    return 0;
}

size_t tun_addr_len(const mptcp_addr *a)
{
    return a->family == MPTCP_AF_INET ? 4 : a->family == MPTCP_AF_INET6 ? 16 : 0;
}

bool tun_addr_eq(const mptcp_addr *a, const mptcp_addr *b)
{
    size_t n = tun_addr_len(a);
    return n && a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

bool tun_addr_in_prefix(const mptcp_addr *a, const mptcp_addr *prefix, unsigned plen)
{
    size_t n = tun_addr_len(prefix);
    if (!n || a->family != prefix->family || plen > n * 8)
        return false;
    size_t whole = plen / 8;
    if (memcmp(a->ip, prefix->ip, whole) != 0)
        return false;
    unsigned rest = plen % 8;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a->ip[whole] & mask) == (prefix->ip[whole] & mask);
}

int tun_addr_parse(const char *s, mptcp_addr *out)
{
    char tmp[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(s);
    if (n >= sizeof tmp)
        return -1;
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = '\0';
    } else {
        memcpy(tmp, s, n + 1);
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, tmp, out->ip) == 1) {
        out->family = MPTCP_AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, tmp, out->ip) == 1) {
        out->family = MPTCP_AF_INET6;
        return 0;
    }
    return -1;
}

static int parse_port(const char *s, uint16_t *port)
{
    char *end;
    if (*s == '\0')
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (*end != '\0' || v == 0 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

int tun_addr_port_parse(const char *s, mptcp_addr *out, bool port_only_ok)
{
    char tmp[INET6_ADDRSTRLEN + 16];
    memset(out, 0, sizeof *out);
    const char *colon = strrchr(s, ':');
    if (!colon)
        return port_only_ok ? parse_port(s, &out->port) : -1;
    size_t alen = (size_t)(colon - s);
    if (alen == 0 || alen >= sizeof tmp)
        return -1;
    memcpy(tmp, s, alen);
    tmp[alen] = '\0';
    /* "2001:db8::1" alone has colons but no brackets: a v6 address must be
     * bracketed when a port follows. */
    if (strchr(tmp, ':') && tmp[0] != '[')
        return -1;
    if (tun_addr_parse(tmp, out) != 0)
        return -1;
    return parse_port(colon + 1, &out->port);
}

const char *tun_addr_str(const mptcp_addr *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (a->family == MPTCP_AF_INET)
        inet_ntop(AF_INET, a->ip, ip, sizeof ip);
    else if (a->family == MPTCP_AF_INET6)
        inet_ntop(AF_INET6, a->ip, ip, sizeof ip);
    else
        snprintf(ip, sizeof ip, "*");
    if (a->port == 0)
        snprintf(buf, cap, "%s", ip);
    else if (a->family == MPTCP_AF_INET6)
        snprintf(buf, cap, "[%s]:%u", ip, (unsigned)a->port);
    else
        snprintf(buf, cap, "%s:%u", ip, (unsigned)a->port);
    return buf;
}
