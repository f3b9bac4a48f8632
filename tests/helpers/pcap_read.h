/*
 * pcap_read.h - a small reader for classic pcap files (both byte orders,
 * microsecond and nanosecond magic) and a decoder that finds the TCP
 * segment in a captured frame (Ethernet, VLAN, Linux cooked v1/v2, raw IP,
 * BSD loopback; IPv4 and IPv6 with extension headers). Test-only code;
 * the pcap writer is tests/helpers/pcap.c.
 */
#ifndef TESTS_PCAP_READ_H
#define TESTS_PCAP_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mptcp.h"

/* Link types (tcpdump.org LINKTYPE_*). */
#define PCAP_READ_LINK_NULL 0
#define PCAP_READ_LINK_ETHERNET 1
#define PCAP_READ_LINK_RAW 101
#define PCAP_READ_LINK_LINUX_SLL 113
#define PCAP_READ_LINK_IPV4 228
#define PCAP_READ_LINK_IPV6 229
#define PCAP_READ_LINK_LINUX_SLL2 276

typedef struct pcap_read_file {
    FILE *f;
    bool swap;          /* file byte order differs from ours */
    bool nsec;          /* timestamps in nanoseconds */
    uint32_t linktype;
    uint32_t snaplen;
    uint8_t *buf;       /* the current packet */
    size_t cap;
    uint64_t count;     /* packets read so far */
    char err[128];      /* why open or next failed */
} pcap_read_file;

typedef struct pcap_read_pkt {
    uint64_t ts_ns;
    const uint8_t *data; /* valid until the next pcap_read_next */
    size_t caplen;
    size_t origlen;
} pcap_read_pkt;

/* Opens |path|; returns 0, or -1 with r->err set. */
int pcap_read_open(pcap_read_file *r, const char *path);
/* Reads the next packet: 1, 0 at a clean end of file, -1 with r->err set
 * (a truncated record or a record longer than 256 KiB). */
int pcap_read_next(pcap_read_file *r, pcap_read_pkt *p);
void pcap_read_close(pcap_read_file *r);

/* A TCP segment found in a frame. */
typedef struct pcap_read_tcp {
    mptcp_addr src, dst;  /* ip and family; port is taken from the TCP header */
    const uint8_t *seg;   /* TCP header onward, bounded by the IP length */
    size_t len;           /* bytes present in the capture */
    size_t ip_len;        /* TCP length according to the IP header */
    uint8_t ttl;          /* IPv4 TTL or IPv6 hop limit */
} pcap_read_tcp;

/*
 * Finds the TCP segment in a frame of link type |linktype|. Returns 1 (found;
 * out->len < out->ip_len when the capture was truncated), 0 (not TCP: ARP,
 * UDP, a non-first fragment, an unknown link type), -1 (malformed IP).
 */
int pcap_read_tcp_of(uint32_t linktype, const uint8_t *frame, size_t caplen,
                     pcap_read_tcp *out);

#endif
