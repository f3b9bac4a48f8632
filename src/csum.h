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

/*
 * Copies |len| bytes from |src| to |dst| and adds them to partial sum |sum|
 * as mptcp_csum_add(sum, dst, len, offset) would: one pass over the bytes
 * instead of a copy and a sum.
 */
uint32_t mptcp_csum_copy(uint32_t sum, uint8_t *dst, const uint8_t *src, size_t len,
                         size_t offset);

/*
 * mptcp_tcp_csum_fill for a segment whose payload (the bytes from |hlen|,
 * an even offset, to |len|) was already summed into |payload_sum| (a
 * partial sum from offset 0, as mptcp_csum_copy returns it): only the
 * pseudo-header and the first |hlen| bytes are read. Does nothing when the
 * addresses are unusable (the pseudo-header sum fails).
 */
void mptcp_tcp_csum_fill_payload(uint8_t *seg, size_t len, size_t hlen, uint32_t payload_sum,
                                 const mptcp_addr *src, const mptcp_addr *dst);

/* Offset of the checksum field in the TCP header. */
#define MPTCP_TCP_CSUM_OFF 16

#endif /* MPTCP_CSUM_H */
