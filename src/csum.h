/*
 * csum.h - internal checksum helpers beside the public ones in mptcp.h
 * section 3 (mptcp_csum_add/fold/update16, mptcp_tcp_csum_fill/ok,
 * mptcp_dss_csum_begin/mptcp_dss_csum).
 */
#ifndef MPTCP_CSUM_H
#define MPTCP_CSUM_H

#include "common.h"

#define MPTCP_IPPROTO_TCP 6

/*
 * Partial sum of the TCP pseudo-header for a segment of |tcp_len| bytes:
 * IPv4 (RFC 9293 section 3.1) or IPv6 (RFC 8200 section 8.1). Lets a caller
 * that builds header and payload in separate buffers chain them with
 * mptcp_csum_add. Returns 0, or MPTCP_EINVAL when a pointer is NULL, the
 * families differ or are unknown, or |tcp_len| does not fit the length
 * field (16 bits for IPv4, 32 for IPv6).
 */
int mptcp_csum_pseudo(const mptcp_addr *src, const mptcp_addr *dst, size_t tcp_len,
                      uint32_t *sum);

/* Offset of the checksum field in the TCP header. */
#define MPTCP_TCP_CSUM_OFF 16

#endif /* MPTCP_CSUM_H */
