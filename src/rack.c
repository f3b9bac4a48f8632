/*
 * rack.c - RACK-TLP (RFC 8985) for the TCP engine: per-segment transmit
 * records, the RACK update and time-based loss marking (section 6.2 steps
 * 1, 2, 4 without D-SACK, 5), the reordering timer (6.3), and the tail loss
 * probe: scheduling (7.2), sending (7.3) and the follow-up on its ACK (7.4,
 * with a timestamp echo instead of D-SACK). It does not build segments
 * (tcp_out.c does, asked through mptcp_tcp_send_data) and does not change
 * the RFC 6675 scoreboard (sack.c); recovery itself stays the engine's.
 */
#include "rack.h"

#include "mem.h"
#include "stack.h"
#include "tcp.h"

#define RACK_REC_PER_BYTES 512u
#define RACK_REC_MIN 16u
#define RACK_REC_MAX 1024u
#define RACK_WC_DELACK_US 200000u /* RFC 8985 section 7.2 WCDelAckT */
#define RACK_PTO_NO_RTT_US 1000000u /* section 7.2: no SRTT yet */
#define RACK_PTO_MIN_US 1000u

static int64_t tdiff(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b);
}

static mptcp_rack_rec *at(mptcp_rack *r, uint32_t i)
{
    uint32_t k = r->head + i;
    return &r->rec[k >= r->cap ? k - r->cap : k];
}

static const mptcp_rack_rec *cat(const mptcp_rack *r, uint32_t i)
{
    uint32_t k = r->head + i;
    return &r->rec[k >= r->cap ? k - r->cap : k];
}

static uint32_t start_of(const mptcp_rack *r, uint32_t i)
{
    return i == 0 ? r->base : cat(r, i - 1)->end;
}

uint32_t mptcp_rack_cap_for(uint32_t sndbuf)
{
    uint32_t c = sndbuf / RACK_REC_PER_BYTES;
    return MPTCP_MIN(MPTCP_MAX(c, RACK_REC_MIN), RACK_REC_MAX);
}

size_t mptcp_rack_size(uint32_t cap)
{
    return sizeof(mptcp_rack) + (size_t)cap * sizeof(mptcp_rack_rec);
}

void mptcp_rack_init(mptcp_rack *r, uint32_t cap, uint32_t base)
{
    memset(r, 0, sizeof(*r));
    r->cap = cap;
    r->base = base;
    r->fack = base;
    r->rto_at = r->reo_at = r->pto_at = MPTCP_TIMER_NONE;
}

/* A record stops being counted in |sacked| / |lost| as its flags change. */
static void set_flags(mptcp_rack *r, mptcp_rack_rec *e, uint8_t flags)
{
    if ((e->flags & MPTCP_RACK_SACKED) && !(flags & MPTCP_RACK_SACKED))
        r->sacked--;
    if (!(e->flags & MPTCP_RACK_SACKED) && (flags & MPTCP_RACK_SACKED))
        r->sacked++;
    if ((e->flags & MPTCP_RACK_LOST) && !(flags & MPTCP_RACK_LOST))
        r->lost--;
    if (!(e->flags & MPTCP_RACK_LOST) && (flags & MPTCP_RACK_LOST))
        r->lost++;
    e->flags = flags;
}

/* Splits record |i| at |seq| (strictly inside it): [start, seq) becomes
 * record i, [seq, end) record i + 1, both with the same time and flags.
 * False when the ring is full (the caller treats the record as a whole). */
static bool split(mptcp_rack *r, uint32_t i, uint32_t seq)
{
    if (r->n == r->cap)
        return false;
    for (uint32_t k = r->n; k > i; k--)
        *at(r, k) = *at(r, k - 1);
    r->n++;
    mptcp_rack_rec *e = at(r, i);
    e->end = seq;
    if (e->flags & MPTCP_RACK_SACKED)
        r->sacked++;
    if (e->flags & MPTCP_RACK_LOST)
        r->lost++;
    return true;
}

void mptcp_rack_sent(mptcp_rack *r, uint32_t seq, uint32_t end, uint32_t now)
{
    /* Transmissions get strictly increasing times: segments sent within
     * the same microsecond keep their real order, which the sequence
     * tie-break of RFC 8985 section 6.2 gets wrong when a retransmission
     * follows new data (the clock runs ahead by at most a microsecond per
     * segment of a burst, which can only delay a detection). */
    if (r->stamped && tdiff(now, r->last_xmit) <= 0)
        now = r->last_xmit + 1;
    r->last_xmit = now;
    r->stamped = true;
    if (r->n == 0)
        r->base = seq;
    if (mptcp_seq_lt(seq, r->base))
        seq = r->base;
    if (!mptcp_seq_lt(seq, end))
        return;
    uint32_t tail = r->n ? cat(r, r->n - 1)->end : r->base;
    if (mptcp_seq_lt(seq, tail)) {
        /* Bytes sent before: a retransmission. Each record it covers gets
         * the new time and the RETRANS flag, and is no longer lost. */
        uint32_t stop = mptcp_seq_min(end, tail);
        for (uint32_t i = 0; i < r->n; i++) {
            uint32_t s = start_of(r, i);
            mptcp_rack_rec *e = at(r, i);
            if (mptcp_seq_leq(e->end, seq))
                continue;
            if (!mptcp_seq_lt(s, stop))
                break;
            if (mptcp_seq_lt(s, seq) && split(r, i, seq))
                continue; /* the part from seq on is record i + 1 */
            if (mptcp_seq_gt(e->end, stop))
                split(r, i, stop);
            e = at(r, i);
            e->xmit = now;
            set_flags(r, e, (uint8_t)((e->flags | MPTCP_RACK_RETRANS) & ~MPTCP_RACK_LOST));
        }
        seq = stop;
    }
    if (!mptcp_seq_lt(seq, end))
        return;
    /* New bytes (a gap above the tail cannot happen: data is sent in order). */
    if (r->n < r->cap) {
        mptcp_rack_rec *e = at(r, r->n++);
        e->end = end;
        e->xmit = now;
        e->flags = 0;
        return;
    }
    /* Full: the newest record grows and takes the newest time, which can
     * only delay its loss detection, never invent a loss. */
    mptcp_rack_rec *e = at(r, r->n - 1);
    e->end = end;
    e->xmit = now;
    set_flags(r, e, (uint8_t)(e->flags & MPTCP_RACK_RETRANS));
}

/* Section 6.2 step 1 (RACK.xmit_ts, end_seq, rtt; min RTT) and step 2
 * (fack, reordering) for one newly delivered record. */
static void deliver(mptcp_rack *r, const mptcp_rack_rec *e, uint32_t now, uint32_t *sample,
                    uint32_t *sample_xmit, bool *have_sample)
{
    uint32_t rtt = tdiff(now, e->xmit) > 0 ? now - e->xmit : 1;
    bool retrans = (e->flags & MPTCP_RACK_RETRANS) != 0;
    /* A retransmitted record delivered sooner than the minimum RTT was
     * acknowledged by its original: no RTT, not the RACK segment. */
    bool ambiguous = retrans && r->min_rtt_us != 0 && rtt < r->min_rtt_us;
    if (!ambiguous) {
        if (!retrans) {
            if (r->min_rtt_us == 0 || rtt < r->min_rtt_us)
                r->min_rtt_us = rtt;
            if (!*have_sample || tdiff(e->xmit, *sample_xmit) >= 0) {
                *sample = rtt;
                *sample_xmit = e->xmit;
                *have_sample = true;
            }
        }
        if (!r->have_xmit || tdiff(e->xmit, r->xmit_ts) > 0 ||
            (e->xmit == r->xmit_ts && mptcp_seq_gt(e->end, r->end_seq))) {
            r->xmit_ts = e->xmit;
            r->end_seq = e->end;
            r->rtt_us = rtt;
            r->have_xmit = true;
        }
    }
    if (mptcp_seq_gt(e->end, r->fack))
        r->fack = e->end;
    else if (mptcp_seq_lt(e->end, r->fack) && !retrans)
        r->reordering_seen = true;
}

uint32_t mptcp_rack_delivered(mptcp_rack *r, uint32_t ack, const mptcp_sack_block *blk,
                              uint32_t nblk, uint32_t now)
{
    uint32_t sample = 0, sample_xmit = 0;
    bool have_sample = false;
    /* Cumulatively acknowledged records first (ascending), then SACKed ones
     * in ascending order, so that fack only grows for in-order delivery. */
    uint32_t i = 0;
    for (; i < r->n; i++) {
        mptcp_rack_rec *e = at(r, i);
        if (mptcp_seq_gt(e->end, ack))
            break;
        if (!(e->flags & MPTCP_RACK_SACKED))
            deliver(r, e, now, &sample, &sample_xmit, &have_sample);
    }
    mptcp_sack_block b[4];
    uint32_t nb = 0;
    for (uint32_t k = 0; k < nblk && k < 4; k++) {
        if (!mptcp_seq_lt(blk[k].left, blk[k].right) || !mptcp_seq_gt(blk[k].right, ack))
            continue;
        uint32_t j = nb++;
        while (j > 0 && mptcp_seq_gt(b[j - 1].left, blk[k].left)) {
            b[j] = b[j - 1];
            j--;
        }
        b[j] = blk[k];
    }
    for (uint32_t k = 0; k < nb; k++) {
        for (uint32_t j = i; j < r->n; j++) {
            mptcp_rack_rec *e = at(r, j);
            uint32_t s = start_of(r, j);
            if (mptcp_seq_leq(e->end, b[k].left))
                continue;
            if (mptcp_seq_geq(s, b[k].right))
                break;
            if (mptcp_seq_lt(s, b[k].left) || mptcp_seq_gt(e->end, b[k].right) ||
                (e->flags & MPTCP_RACK_SACKED))
                continue; /* only records the block covers whole */
            set_flags(r, e, (uint8_t)((e->flags | MPTCP_RACK_SACKED) & ~MPTCP_RACK_LOST));
            deliver(r, e, now, &sample, &sample_xmit, &have_sample);
        }
    }
    /* Drop what the cumulative ACK covers. */
    while (r->n > 0 && mptcp_seq_leq(cat(r, 0)->end, ack)) {
        mptcp_rack_rec *e = at(r, 0);
        set_flags(r, e, 0);
        r->base = e->end;
        r->head = r->head + 1 == r->cap ? 0 : r->head + 1;
        r->n--;
    }
    if (mptcp_seq_gt(ack, r->base))
        r->base = ack;
    if (mptcp_seq_gt(ack, r->fack))
        r->fack = ack;
    return have_sample ? sample : 0;
}

uint32_t mptcp_rack_reo_wnd(const mptcp_rack *r, bool recovering, uint32_t srtt_us)
{
    if (!r->reordering_seen && (recovering || r->sacked >= MPTCP_DUPTHRESH))
        return 0;
    uint32_t w = r->min_rtt_us / 4;
    if (srtt_us != 0 && w > srtt_us)
        w = srtt_us;
    return w;
}

uint32_t mptcp_rack_detect(mptcp_rack *r, uint32_t now, uint32_t reo_wnd, uint32_t *newly,
                           uint32_t *lost_rexmit)
{
    *newly = *lost_rexmit = 0;
    if (!r->have_xmit)
        return 0;
    int64_t timeout = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        mptcp_rack_rec *e = at(r, i);
        if (e->flags & (MPTCP_RACK_SACKED | MPTCP_RACK_LOST))
            continue;
        /* Only records sent before the RACK segment can be judged. */
        int64_t d = tdiff(r->xmit_ts, e->xmit);
        if (d < 0 || (d == 0 && !mptcp_seq_gt(r->end_seq, e->end))) {
            /* A record sent once and after the RACK segment: every record
             * above it was sent even later (new data goes out in sequence
             * order, a retransmission after its original), so none can be
             * judged either. This keeps a lossless ACK O(1). */
            if (!(e->flags & MPTCP_RACK_RETRANS))
                break;
            continue;
        }
        int64_t remaining = tdiff(e->xmit, now) + (int64_t)r->rtt_us + reo_wnd;
        if (remaining <= 0) {
            set_flags(r, e, (uint8_t)(e->flags | MPTCP_RACK_LOST));
            (*newly)++;
            if (e->flags & MPTCP_RACK_RETRANS)
                (*lost_rexmit)++;
        } else if (remaining > timeout) {
            timeout = remaining;
        }
    }
    return (uint32_t)timeout;
}

bool mptcp_rack_next_lost(const mptcp_rack *r, uint32_t mss, uint32_t *seq, uint32_t *len)
{
    if (r->lost == 0)
        return false;
    for (uint32_t i = 0; i < r->n; i++) {
        const mptcp_rack_rec *e = cat(r, i);
        if ((e->flags & MPTCP_RACK_LOST) && !(e->flags & MPTCP_RACK_SACKED)) {
            uint32_t s = start_of(r, i);
            *seq = s;
            *len = MPTCP_MIN(e->end - s, mss);
            return true;
        }
    }
    return false;
}

uint32_t mptcp_rack_pipe(const mptcp_rack *r)
{
    uint32_t pipe = 0;
    for (uint32_t i = 0; i < r->n; i++) {
        const mptcp_rack_rec *e = cat(r, i);
        if (!(e->flags & (MPTCP_RACK_SACKED | MPTCP_RACK_LOST)))
            pipe += e->end - start_of(r, i);
    }
    return pipe;
}

void mptcp_rack_forget(mptcp_rack *r)
{
    for (uint32_t i = 0; i < r->n; i++) {
        mptcp_rack_rec *e = at(r, i);
        set_flags(r, e, (uint8_t)(e->flags & MPTCP_RACK_RETRANS));
    }
}

bool mptcp_rack_last(const mptcp_rack *r, uint32_t mss, uint32_t *seq, uint32_t *len)
{
    if (r->n == 0)
        return false;
    uint32_t end = cat(r, r->n - 1)->end;
    *len = MPTCP_MIN(end - start_of(r, r->n - 1), mss);
    *seq = end - *len;
    return true;
}

/* ------------------------------------------------------------ engine hooks */

/* Payload bytes of a full segment (MSS minus the timestamp option). */
static uint32_t full_seg(const mptcp_tcb *t)
{
    uint32_t opt = (t->flags & MPTCP_TF_TS) ? 12 : 0;
    return t->mss > opt ? t->mss - opt : 1;
}

/* Section 7.2: a probe is scheduled when data is in flight, no probe is
 * outstanding, and the connection is neither recovering nor backing off. */
static bool pto_eligible(const mptcp_tcb *t)
{
    const mptcp_rack *r = t->rack;
    return r->n > 0 && !r->tlp_active && !t->sack.in_recovery && t->backoff == 0 &&
           !(t->flags & MPTCP_TF_PERSIST);
}

/* Section 7.2: PTO = 2 * SRTT, plus the worst-case delayed ACK when only
 * one segment is in flight; 1 s without an RTT sample. */
static uint64_t pto_us(const mptcp_tcb *t)
{
    if (t->srtt_us == 0)
        return RACK_PTO_NO_RTT_US;
    uint64_t pto = 2ull * t->srtt_us;
    if (t->snd_max - t->snd_una <= full_seg(t))
        pto += RACK_WC_DELACK_US;
    return MPTCP_MAX(pto, (uint64_t)RACK_PTO_MIN_US);
}

/* t_rexmit = the earliest of the three deadlines; a tie goes to the RACK
 * timers (a probe or a detection is cheaper than a timeout). */
static void recompute(mptcp_tcb *t)
{
    mptcp_rack *r = t->rack;
    if (t->flags & MPTCP_TF_PERSIST)
        return;
    if (r->pto_at != MPTCP_TIMER_NONE && !pto_eligible(t))
        r->pto_at = MPTCP_TIMER_NONE; /* e.g. recovery started since */
    uint64_t d = r->rto_at;
    r->mode = MPTCP_RACK_T_RTO;
    if (r->pto_at <= d) {
        d = r->pto_at;
        r->mode = MPTCP_RACK_T_PTO;
    }
    if (r->reo_at <= d) {
        d = r->reo_at;
        r->mode = MPTCP_RACK_T_REO;
    }
    if (d == MPTCP_TIMER_NONE)
        r->mode = MPTCP_RACK_T_RTO;
    t->t_rexmit = d;
}

void mptcp_rack_attach(mptcp_tcb *t)
{
    if (t->rack != NULL || !mptcp_tcp_has_buffers(t) || !(t->flags & MPTCP_TF_SACK))
        return; /* RACK needs SACK (RFC 8985 section 4) */
    mptcp_stack *st = t->st;
    uint32_t cap = mptcp_rack_cap_for(st->cfg.sndbuf);
    mptcp_rack *r = mptcp_mem_zalloc(&st->alloc, &st->mem_used, mptcp_rack_size(cap));
    if (r == NULL)
        return; /* without memory: RFC 6675 and the RTO alone */
    mptcp_rack_init(r, cap, t->snd_una);
    t->rack = r;
}

void mptcp_rack_on_send(mptcp_tcb *t, uint32_t seq, uint32_t len, uint64_t now_us)
{
    mptcp_rack *r = t->rack;
    if (len == 0 || r == NULL)
        return;
    uint32_t tail = r->n ? cat(r, r->n - 1)->end : r->base;
    bool fresh = r->n == 0 || mptcp_seq_gt(seq + len, tail);
    mptcp_rack_sent(r, seq, seq + len, (uint32_t)now_us);
    /* Section 7.2: new data restarts a scheduled probe. */
    if (fresh && r->pto_at != MPTCP_TIMER_NONE && pto_eligible(t)) {
        r->pto_at = now_us + pto_us(t);
        recompute(t);
    }
}

bool mptcp_rack_has_lost(const mptcp_tcb *t)
{
    return t->rack != NULL && t->rack->lost > 0;
}

/* RFC 6675 section 5 step (4) entry, for losses RACK found: the window is
 * cut once and the recovery loop in tcp_out.c retransmits the marked
 * records first. Once per window, as in tcp_in.c (RFC 6582 section 3.2). */
static void start_recovery(mptcp_tcb *t, uint64_t now)
{
    if (t->sack.in_recovery || t->snd_una == t->snd_max ||
        mptcp_seq_lt(t->snd_una, t->sack.recover) || t->backoff)
        return;
    t->sack.in_recovery = true;
    t->sack.recover = t->snd_max;
    t->sack.high_rxt = t->snd_una;
    t->cc.ops->on_loss(&t->cc, t->snd_max - t->snd_una, now);
    t->ctr.fast_retrans++;
}

/* Marks lost records (section 6.2 step 5) and sets the reordering timer
 * for those whose time is not up yet (section 6.3). */
static void detect(mptcp_tcb *t, uint64_t now)
{
    mptcp_rack *r = t->rack;
    uint32_t reo = mptcp_rack_reo_wnd(r, t->sack.in_recovery || t->backoff, t->srtt_us);
    uint32_t newly, lost_rexmit;
    uint32_t to = mptcp_rack_detect(r, (uint32_t)now, reo, &newly, &lost_rexmit);
    r->lost_rexmits += lost_rexmit;
    r->reo_at = to ? now + to : MPTCP_TIMER_NONE;
    if (lost_rexmit && t->sack.in_recovery &&
        !(r->cut_twice && r->cut_recover == t->sack.recover)) {
        /* RFC 5681 section 4.3 (RFC 8985 section 3.4 points at it): the
         * loss of a retransmission is a second indication of congestion,
         * the window is lowered twice; once more per episode. */
        r->cut_twice = true;
        r->cut_recover = t->sack.recover;
        t->cc.ops->on_loss(&t->cc, t->cc.cwnd, now);
    }
}

uint32_t mptcp_rack_on_ack(mptcp_tcb *t, uint32_t ack, const mptcp_tcp_rx_opts *o,
                           uint64_t now_us)
{
    mptcp_rack *r = t->rack;
    if (r == NULL)
        return 0;
    bool sack = (o->present & MPTCP_TCPO_SACK) != 0;
    uint32_t sample =
        mptcp_rack_delivered(r, ack, o->sack, sack ? o->sack_count : 0, (uint32_t)now_us);
    if (r->tlp_active && mptcp_seq_geq(ack, r->tlp_end)) {
        /* Section 7.4: the probe episode ends. A probe of new data says
         * nothing; a retransmitted one repaired a loss unless the ACK echoes
         * a timestamp older than the probe (the original arrived: the
         * D-SACK test of section 7.4.2 done with RFC 7323 timestamps). */
        r->tlp_active = false;
        bool spurious = (t->flags & MPTCP_TF_TS) && (o->present & MPTCP_TCPO_TS) &&
                        mptcp_seq_lt(o->ts_ecr, r->tlp_tsval);
        if (r->tlp_retrans && !spurious && !t->sack.in_recovery) {
            /* One loss, repaired: the congestion response of a recovery
             * episode that ends at once (RFC 5681 section 3.2 / 9438 4.6). */
            t->cc.ops->on_loss(&t->cc, t->cc.cwnd, now_us);
            t->cc.ops->on_recovery_end(&t->cc, now_us);
        }
    }
    detect(t, now_us);
    recompute(t);
    return sample;
}

void mptcp_rack_arm(mptcp_tcb *t, uint64_t rto_at, uint64_t now_us)
{
    mptcp_rack *r = t->rack;
    r->rto_at = rto_at;
    r->pto_at = pto_eligible(t) ? now_us + pto_us(t) : MPTCP_TIMER_NONE;
    recompute(t);
}

/* Section 7.3: new data if the peer's window takes it (cwnd does not
 * matter), else the last segment again. */
static bool send_probe(mptcp_tcb *t, uint64_t now)
{
    mptcp_rack *r = t->rack;
    uint32_t mss = full_seg(t);
    uint32_t off = t->snd_nxt - t->snd_una;
    uint32_t avail = t->snd.len > off ? t->snd.len - off : 0;
    uint32_t room = t->snd_wnd > off ? t->snd_wnd - off : 0;
    uint32_t len = MPTCP_MIN(avail, mss);
    uint32_t seq;
    if (len > 0 && room >= len && t->snd_nxt == t->snd_max) {
        r->tlp_retrans = false;
        mptcp_tcp_send_data(t, t->snd_nxt, len, false, now);
    } else if (mptcp_rack_last(r, mss, &seq, &len)) {
        r->tlp_retrans = true;
        mptcp_tcp_send_data(t, seq, len, true, now);
    } else {
        return false;
    }
    r->tlp_active = true;
    r->tlp_end = t->snd_max;
    r->tlp_tsval = (uint32_t)(now / 1000) + t->iss; /* as tcp_out.c stamps it */
    r->tlp_probes++;
    return true;
}

bool mptcp_rack_timer(mptcp_tcb *t, uint64_t now_us)
{
    mptcp_rack *r = t->rack;
    if (r == NULL || r->mode == MPTCP_RACK_T_RTO)
        return false;
    if (r->mode == MPTCP_RACK_T_REO) {
        detect(t, now_us);
        if (r->lost)
            start_recovery(t, now_us);
        if (t->sack.in_recovery)
            mptcp_tcp_output(t, now_us);
        recompute(t);
        return true;
    }
    r->pto_at = MPTCP_TIMER_NONE;
    if (!send_probe(t, now_us)) {
        recompute(t);
        return t->t_rexmit != MPTCP_TIMER_NONE;
    }
    /* Section 7.3: after the probe, the RTO guards the flight. */
    mptcp_tcp_rexmit_arm(t, now_us);
    return true;
}

void mptcp_rack_on_rto(mptcp_tcb *t)
{
    mptcp_rack *r = t->rack;
    if (r == NULL)
        return;
    mptcp_rack_forget(r);
    r->tlp_active = false;
    r->reo_at = r->pto_at = MPTCP_TIMER_NONE;
    r->mode = MPTCP_RACK_T_RTO;
}

void mptcp_rack_free(mptcp_tcb *t)
{
    mptcp_rack *r = t->rack;
    if (r == NULL)
        return;
    mptcp_mem_free(&t->st->alloc, &t->st->mem_used, r, mptcp_rack_size(r->cap));
    t->rack = NULL;
}
