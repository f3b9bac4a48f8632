/*
 * sack.h - the sender's SACK scoreboard (RFC 2018) and the RFC 6675 loss
 * recovery helpers built on it: IsLost, the pipe estimate and the choice of
 * the next segment to retransmit. Ranges are sequence numbers; the TCB
 * passes snd_una / snd_max in, the scoreboard keeps no pointer to it.
 * The block table is allocated (through the mptcp_mem the caller passes)
 * when the first valid SACK block arrives and freed when the cumulative ACK
 * passes the last block, so a connection without SACK state carries none.
 */
#ifndef MPTCP_SACK_H
#define MPTCP_SACK_H

#include "common.h"
#include "mem.h"

/* SACKed ranges the sender remembers (the lowest ones are kept when more
 * arrive: they decide what is retransmitted next). */
#ifndef MPTCP_SACK_SB_MAX
#define MPTCP_SACK_SB_MAX 6
#endif

#define MPTCP_DUPTHRESH 3 /* RFC 6675 DupThresh */

/* Modular sequence comparisons (RFC 9293 section 3.4). */
static inline bool mptcp_seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline bool mptcp_seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline bool mptcp_seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline bool mptcp_seq_geq(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }
static inline uint32_t mptcp_seq_max(uint32_t a, uint32_t b) { return mptcp_seq_gt(a, b) ? a : b; }
static inline uint32_t mptcp_seq_min(uint32_t a, uint32_t b) { return mptcp_seq_lt(a, b) ? a : b; }

typedef struct mptcp_sack_sb {
    /* MPTCP_SACK_SB_MAX ranges, sorted, disjoint, above snd_una; NULL
     * while none is held (n == 0). */
    mptcp_sack_block *blk;
    uint32_t high_rxt;   /* RFC 6675 HighRxt: end of the highest retransmission */
    uint32_t recover;    /* RFC 6675 RecoveryPoint (also NewReno "recover") */
    uint32_t sacked;     /* bytes covered by blk[] */
    uint8_t n;           /* ranges in blk[] */
    bool in_recovery;
} mptcp_sack_sb;

/* Forgets every SACKed range and frees the table; leaves recovery (HighRxt
 * and the recovery point stay). */
void mptcp_sack_reset(mptcp_sack_sb *sb, const mptcp_mem *m);
/* Forgets what lies at or below |snd_una| (cumulatively acknowledged);
 * frees the table when nothing is left. */
void mptcp_sack_trim(mptcp_sack_sb *sb, const mptcp_mem *m, uint32_t snd_una);
/* Merges received SACK blocks. Blocks outside (snd_una, snd_max] or empty
 * are ignored (RFC 2018 section 4: they may be stale or bogus). Returns the
 * number of blocks that were valid, or MPTCP_ENOMEM when the table was
 * needed and could not be allocated (then nothing is merged: the sender
 * goes on as without SACK information). A D-SACK block (mptcp_sack_is_dsack)
 * must not be passed. */
int mptcp_sack_update(mptcp_sack_sb *sb, const mptcp_mem *m, uint32_t snd_una,
                      uint32_t snd_max, const mptcp_sack_block *blk, uint32_t n);
/* RFC 2883 section 4 (and its section 5 sender rule): the first of the |n|
 * blocks received with cumulative ACK |ack| reports a duplicate (D-SACK)
 * when it starts below |ack| or lies inside the second block. */
static inline bool mptcp_sack_is_dsack(uint32_t ack, const mptcp_sack_block *blk, uint32_t n)
{
    if (n == 0 || !mptcp_seq_lt(blk[0].left, blk[0].right))
        return false;
    if (mptcp_seq_lt(blk[0].left, ack))
        return true;
    return n > 1 && mptcp_seq_geq(blk[0].left, blk[1].left) &&
           mptcp_seq_leq(blk[0].right, blk[1].right);
}
/* RFC 6675 IsLost(seq): DupThresh SACKed ranges, or more than
 * (DupThresh - 1) * mss SACKed bytes, above |seq|. */
bool mptcp_sack_is_lost(const mptcp_sack_sb *sb, uint32_t seq, uint32_t mss);
/* Whether |seq| lies in a SACKed range; if so |*end| gets the range's end. */
bool mptcp_sack_covers(const mptcp_sack_sb *sb, uint32_t seq, uint32_t *end);
/* RFC 6675 SetPipe(): bytes estimated in flight. */
uint32_t mptcp_sack_pipe(const mptcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_max,
                         uint32_t mss);
/* RFC 6675 NextSeg() rule 1: the first un-SACKed, lost byte above HighRxt
 * (and at or above snd_una); |*len| is how far the hole runs (capped at
 * |mss|). False when no such byte exists. */
bool mptcp_sack_next_lost(const mptcp_sack_sb *sb, uint32_t snd_una, uint32_t mss,
                          uint32_t *seq, uint32_t *len);

#endif /* MPTCP_SACK_H */
