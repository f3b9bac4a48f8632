/*
 * tun_ip.h - the IP layer of the TUN host: parse the IPv4/IPv6 packets a
 * TUN device delivers down to their TCP segment, and build the IP header in
 * front of a segment the stack sends. The library never sees IP headers.
 */
#ifndef MPTCP_TUN_IP_H
#define MPTCP_TUN_IP_H

#include <stddef.h>
#include <stdint.h>

#include "mptcp.h"

/* Outcome of tun_ip_parse. */
enum {
    TUN_IP_TCP = 0,         /* a TCP segment: src, dst, l4_off, l4_len are set */
    TUN_IP_BAD = -1,        /* not a well-formed IPv4/IPv6 packet (or bad header checksum) */
    TUN_IP_NOT_TCP = -2,    /* well formed, but carries something else (ICMP, UDP, ...) */
    TUN_IP_FRAGMENT = -3,   /* a fragment: this host does not reassemble */
    TUN_IP_EXT_UNKNOWN = -4 /* an IPv6 extension header this host cannot walk (ESP, ...) */
};

typedef struct tun_ip_pkt {
    mptcp_addr src, dst; /* ports are 0: they are in the segment */
    size_t l4_off;       /* offset of the TCP header in the packet */
    size_t l4_len;       /* TCP header + payload (link padding removed) */
    uint8_t proto;       /* upper-layer protocol number (6 for TCP) */
} tun_ip_pkt;

/*
 * Parses one IP packet as read from a TUN device (no packet-information
 * prefix). IPv4: version, IHL, total length and header checksum are checked;
 * fragments are refused (MF or an offset). IPv6: the payload length is
 * checked; hop-by-hop, routing, destination options, AH and atomic fragment
 * headers (RFC 6946) are skipped; other fragments and ESP are refused.
 * Returns one of TUN_IP_*; |out| is fully written only for TUN_IP_TCP.
 */
int tun_ip_parse(const uint8_t *pkt, size_t len, tun_ip_pkt *out);

/*
 * Writes the IP header for a TCP segment of |l4_len| bytes from |src| to
 * |dst| at |out| (capacity |cap|): IPv4 20 bytes (DF, TTL 64, identification
 * |ip_id|, header checksum) or IPv6 40 bytes (hop limit 64, flow label 0).
 * Returns the header length, or 0 when the families differ, the family is
 * unknown, the packet would exceed 65535 bytes, or |cap| is too small.
 */
size_t tun_ip_header(uint8_t *out, size_t cap, const mptcp_addr *src, const mptcp_addr *dst,
                     size_t l4_len, uint16_t ip_id);

/* Address helpers. */
size_t tun_addr_len(const mptcp_addr *a);                       /* 4, 16 or 0 */
bool tun_addr_eq(const mptcp_addr *a, const mptcp_addr *b);     /* family + ip, not port */
bool tun_addr_in_prefix(const mptcp_addr *a, const mptcp_addr *prefix, unsigned plen);
/* Parses "1.2.3.4", "2001:db8::1" (also bracketed "[2001:db8::1]"). */
int tun_addr_parse(const char *s, mptcp_addr *out);
/* Parses "ADDR:PORT" / "[V6]:PORT" (port required) or, when |port_only_ok|,
 * a bare "PORT" (the address stays all-zero with family 0). */
int tun_addr_port_parse(const char *s, mptcp_addr *out, bool port_only_ok);
/* "1.2.3.4:80" / "[2001:db8::1]:80" (port omitted when 0) into |buf|. */
const char *tun_addr_str(const mptcp_addr *a, char *buf, size_t cap);

#endif /* MPTCP_TUN_IP_H */
