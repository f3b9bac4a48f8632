/*
 * sack.c - sender-side SACK scoreboard and RFC 6675 conservative loss
 * recovery arithmetic (IsLost, SetPipe, NextSeg rule 1). It keeps ranges,
 * not per-segment records, so its size is fixed. It does not send anything
 * or touch congestion state: tcp_in.c decides when recovery starts and ends,
 * tcp_out.c asks here what to retransmit. RFC 2018 section 4 (sender),
 * RFC 6675 sections 3-5. The range table is allocated on the first valid
 * block and freed when the cumulative ACK leaves it empty (sack.h).
 */
#include "sack.h"

#define SB_TABLE_SIZE (MPTCP_SACK_SB_MAX * sizeof(mptcp_sack_block))

void mptcp_sack_reset(mptcp_sack_sb *sb, const mptcp_mem *m)
{
    uint32_t high = sb->high_rxt, rec = sb->recover;
    mptcp_mem_free(m->a, m->used, sb->blk, SB_TABLE_SIZE);
    memset(sb, 0, sizeof *sb);
    sb->high_rxt = high;
    sb->recover = rec;
}

static void recount(mptcp_sack_sb *sb)
{
    uint32_t total = 0;
    for (uint8_t i = 0; i < sb->n; i++)
        total += sb->blk[i].right - sb->blk[i].left;
    sb->sacked = total;
}

void mptcp_sack_trim(mptcp_sack_sb *sb, const mptcp_mem *m, uint32_t snd_una)
{
    uint8_t w = 0;
    for (uint8_t i = 0; i < sb->n; i++) {
        mptcp_sack_block b = sb->blk[i];
        if (mptcp_seq_leq(b.right, snd_una))
            continue;
        if (mptcp_seq_lt(b.left, snd_una))
            b.left = snd_una;
        sb->blk[w++] = b;
    }
    sb->n = w;
    recount(sb);
    if (w == 0 && sb->blk != NULL) {
        mptcp_mem_free(m->a, m->used, sb->blk, SB_TABLE_SIZE);
        sb->blk = NULL;
    }
}

/* Inserts [l, r) keeping blk[] sorted and merged; when full, the highest
 * range is dropped (lower ranges matter first for retransmission). */
static void insert(mptcp_sack_sb *sb, uint32_t l, uint32_t r)
{
    uint8_t i = 0;
    while (i < sb->n && mptcp_seq_lt(sb->blk[i].right, l))
        i++;
    /* blk[i] is the first range that ends at or after l: merge forward. */
    uint8_t j = i;
    while (j < sb->n && mptcp_seq_leq(sb->blk[j].left, r)) {
        l = mptcp_seq_min(l, sb->blk[j].left);
        r = mptcp_seq_max(r, sb->blk[j].right);
        j++;
    }
    if (j > i) {
        /* ranges i..j-1 collapse into one */
        sb->blk[i].left = l;
        sb->blk[i].right = r;
        memmove(&sb->blk[i + 1], &sb->blk[j], (size_t)(sb->n - j) * sizeof sb->blk[0]);
        sb->n = (uint8_t)(sb->n - (j - i - 1));
        return;
    }
    if (sb->n == MPTCP_SACK_SB_MAX) {
        if (i == sb->n)
            return; /* above everything we keep: forget it */
        sb->n--;
    }
    memmove(&sb->blk[i + 1], &sb->blk[i], (size_t)(sb->n - i) * sizeof sb->blk[0]);
    sb->blk[i].left = l;
    sb->blk[i].right = r;
    sb->n++;
}

int mptcp_sack_update(mptcp_sack_sb *sb, const mptcp_mem *m, uint32_t snd_una,
                      uint32_t snd_max, const mptcp_sack_block *blk, uint32_t n)
{
    uint32_t valid = 0;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t l = blk[k].left, r = blk[k].right;
        if (!mptcp_seq_lt(l, r) || mptcp_seq_gt(r, snd_max) || mptcp_seq_leq(r, snd_una))
            continue; /* empty, beyond what we sent, or already acknowledged */
        if (mptcp_seq_lt(l, snd_una))
            l = snd_una;
        if (sb->blk == NULL) {
            sb->blk = mptcp_mem_zalloc(m->a, m->used, SB_TABLE_SIZE);
            if (sb->blk == NULL)
                return MPTCP_ENOMEM; /* n == 0 here: nothing was merged */
        }
        insert(sb, l, r);
        valid++;
    }
    recount(sb);
    return (int)valid;
}

bool mptcp_sack_is_lost(const mptcp_sack_sb *sb, uint32_t seq, uint32_t mss)
{
    uint32_t ranges = 0, bytes = 0;
    for (uint8_t i = 0; i < sb->n; i++) {
        const mptcp_sack_block *b = &sb->blk[i];
        if (mptcp_seq_leq(b->right, seq))
            continue;
        ranges++;
        bytes += b->right - mptcp_seq_max(b->left, seq + 1);
    }
    return ranges >= MPTCP_DUPTHRESH || bytes > (MPTCP_DUPTHRESH - 1) * mss;
}

bool mptcp_sack_covers(const mptcp_sack_sb *sb, uint32_t seq, uint32_t *end)
{
    for (uint8_t i = 0; i < sb->n; i++) {
        if (mptcp_seq_geq(seq, sb->blk[i].left) && mptcp_seq_lt(seq, sb->blk[i].right)) {
            if (end)
                *end = sb->blk[i].right;
            return true;
        }
    }
    return false;
}

/* Bytes of [l, r) that lie below HighRxt, i.e. were retransmitted. */
static uint32_t below_high_rxt(const mptcp_sack_sb *sb, uint32_t l, uint32_t r)
{
    if (!mptcp_seq_gt(sb->high_rxt, l))
        return 0;
    return mptcp_seq_min(r, sb->high_rxt) - l;
}

uint32_t mptcp_sack_pipe(const mptcp_sack_sb *sb, uint32_t snd_una, uint32_t snd_max,
                         uint32_t mss)
{
    /* Walk the holes between SACKed ranges. A hole counts once when it is not
     * judged lost (still in the network), and its retransmitted part counts
     * (again) because the retransmission is in flight (RFC 6675 SetPipe). */
    uint32_t pipe = 0, at = snd_una;
    for (uint8_t i = 0; i <= sb->n; i++) {
        uint32_t end = i < sb->n ? sb->blk[i].left : snd_max;
        if (mptcp_seq_lt(at, end)) {
            if (!mptcp_sack_is_lost(sb, at, mss))
                pipe += end - at;
            pipe += below_high_rxt(sb, at, end);
        }
        if (i < sb->n)
            at = mptcp_seq_max(at, sb->blk[i].right);
    }
    return pipe;
}

bool mptcp_sack_next_lost(const mptcp_sack_sb *sb, uint32_t snd_una, uint32_t mss,
                          uint32_t *seq, uint32_t *len)
{
    uint32_t at = mptcp_seq_max(snd_una, sb->high_rxt);
    for (uint8_t i = 0; i < sb->n; i++) {
        const mptcp_sack_block *b = &sb->blk[i];
        if (mptcp_seq_leq(b->right, at))
            continue;
        if (mptcp_seq_geq(at, b->left)) {
            at = b->right; /* inside a SACKed range: skip it */
            continue;
        }
        /* [at, b->left) is a hole with SACKed data above it */
        if (!mptcp_sack_is_lost(sb, at, mss))
            return false; /* holes further up have even less SACKed above */
        *seq = at;
        *len = MPTCP_MIN(b->left - at, mss);
        return true;
    }
    return false;
}
