/*
 * pcap.h - a small pcap (libpcap classic format) writer for tests, the
 * simulator and the TUN host: wraps a TCP segment in an IPv4 or IPv6 header
 * so that Wireshark/tshark/tcpdump can read what the stack sent.
 */
#ifndef MPTCP_TEST_PCAP_H
#define MPTCP_TEST_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "mptcp.h"

/* Link types (https://www.tcpdump.org/linktypes.html). RAW carries IPv4 and
 * IPv6 packets mixed; IPV4/IPV6 carry only that family. */
#define MPTCP_TEST_LINKTYPE_RAW 101
#define MPTCP_TEST_LINKTYPE_IPV4 228
#define MPTCP_TEST_LINKTYPE_IPV6 229

typedef struct mptcp_test_pcap mptcp_test_pcap;

/* Creates |path| (truncating it) with LINKTYPE_RAW. NULL on failure (errno). */
mptcp_test_pcap *mptcp_test_pcap_open(const char *path);
/* Same with an explicit link type (one of MPTCP_TEST_LINKTYPE_*). */
mptcp_test_pcap *mptcp_test_pcap_open_linktype(const char *path, uint32_t linktype);

/*
 * Writes one packet: an IPv4 (20 bytes, DF, TTL 64, header checksum filled)
 * or IPv6 (40 bytes, hop limit 64) header from |src| to |dst| (ports are not
 * used: they are in the segment), then the |len| bytes of TCP segment |seg|
 * as they are. |ts_us| is the capture time in microseconds. Returns 0, or -1
 * (families differ or do not match the link type, too long, write error).
 */
int mptcp_test_pcap_write_tcp(mptcp_test_pcap *pc, uint64_t ts_us, const mptcp_addr *src,
                              const mptcp_addr *dst, const uint8_t *seg, size_t len);

/* Writes one already-built IP packet as it is. Returns 0 or -1. */
int mptcp_test_pcap_write_ip(mptcp_test_pcap *pc, uint64_t ts_us, const uint8_t *pkt, size_t len);

/*
 * Builds the IP header for a TCP segment of |seg_len| bytes into |out|
 * (capacity |cap|): 20 bytes for IPv4, 40 for IPv6. Returns the header length
 * or -1. Exposed for hosts that write IP packets to a TUN device.
 */
int mptcp_test_ip_header(uint8_t *out, size_t cap, const mptcp_addr *src, const mptcp_addr *dst,
                         size_t seg_len);

/* Packets written so far. */
uint64_t mptcp_test_pcap_count(const mptcp_test_pcap *pc);

/* Writes out what is buffered, so that the file is whole even if the
 * process then aborts (a fuzz replay that fails). Returns 0 or -1. */
int mptcp_test_pcap_flush(mptcp_test_pcap *pc);

/* Flushes and closes; |pc| may be NULL. Returns 0 or -1 (a write failed). */
int mptcp_test_pcap_close(mptcp_test_pcap *pc);

#endif /* MPTCP_TEST_PCAP_H */
