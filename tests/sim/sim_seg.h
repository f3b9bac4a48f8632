/*
 * sim_seg.h - the few TCP header and option accessors the simulator's
 * middleboxes and tests need, written independently of the library's codec
 * (src/wire_*.c) so that each can check the other. Offsets follow RFC 9293
 * section 3.1; nothing here validates more than bounds.
 */
#ifndef MPTCP_SIM_SEG_H
#define MPTCP_SIM_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/sim.h"

/* The fixed header's fields (host byte order). */
typedef struct sim_tcp {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint16_t flags; /* MPTCP_TH_* */
    uint16_t window;
} sim_tcp;

/* True when |len| bytes hold a 20-byte header and a data offset inside. */
bool sim_seg_valid(const uint8_t *seg, size_t len);
void sim_seg_get(const uint8_t *seg, sim_tcp *out);
/* Writes the fixed fields (not doff, not the checksum). */
void sim_seg_put(uint8_t *seg, const sim_tcp *in);
size_t sim_seg_doff(const uint8_t *seg); /* header length in bytes */
size_t sim_seg_payload_len(const uint8_t *seg, size_t len);

/*
 * Builds a segment into |out| (capacity |cap|): header |h|, |olen| option
 * bytes (NOP-padded to a multiple of 4), payload; the checksum is filled for
 * |src| -> |dst| when both are given. Returns the length, or -1 when it does
 * not fit or the options exceed 40 bytes.
 */
int sim_seg_build(uint8_t *out, size_t cap, const sim_tcp *h, const uint8_t *opts, size_t olen,
                  const uint8_t *payload, size_t plen, const mptcp_addr *src,
                  const mptcp_addr *dst);

/* Walks the options; for each calls |fn(ctx, opt, optlen)| with |opt| at the
 * kind byte (NOP/EOL have optlen 1). Stops at EOL or a bad length. Returns
 * the number of options seen, or -1 on a bad length. */
int sim_seg_walk_opts(const uint8_t *seg, size_t len,
                      void (*fn)(void *ctx, const uint8_t *opt, size_t optlen), void *ctx);
/* Offset (from the segment start) of the first option of |kind| (and MPTCP
 * |subtype| when kind is 30 and subtype >= 0), or -1. |*olen| gets its length. */
int sim_seg_find_opt(const uint8_t *seg, size_t len, uint8_t kind, int subtype, size_t *olen);

/* Checksum of a packet's segment for its addresses. */
bool sim_pkt_csum_ok(const sim_pkt *p);
void sim_pkt_csum_fill(sim_pkt *p);
/* After rewriting a packet: a fresh checksum if the old one was right,
 * a wrong one if it was wrong (what an incremental update preserves). */
void sim_pkt_csum_redo(sim_pkt *p, bool was_ok);

#endif /* MPTCP_SIM_SEG_H */
