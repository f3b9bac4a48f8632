/*
 * tcp_timer.c - the timers of one TCB, as deadlines (no ticks): RFC 6298
 * retransmission timeout with exponential backoff and Karn's rule (samples
 * come from tcp_in.c only for segments sent once), the persist timer and
 * zero-window probes (RFC 9293 section 3.8.6.1), delayed ACK (RFC 1122
 * 4.2.3.2 / RFC 5681 section 4.2), keepalive (RFC 9293 section 3.8.4),
 * FIN_WAIT_2 for orphans and TIME_WAIT. It does not keep the heap
 * (timer.c) and does not decide what a retransmission contains (tcp_out.c).
 */
#include "rack.h"
#include "stack.h"
#include "tcp.h"

uint64_t mptcp_tcp_next_deadline(const mptcp_tcb *t)
{
    uint64_t d = t->t_rexmit;
    if (t->t_delack < d)
        d = t->t_delack;
    if (t->t_misc < d)
        d = t->t_misc;
    return d;
}

static uint32_t clamp_rto(const mptcp_tcb *t, uint64_t rto)
{
    const mptcp_config *cfg = &t->st->cfg;
    if (rto < cfg->rto_min_us)
        rto = cfg->rto_min_us;
    if (rto > cfg->rto_max_us)
        rto = cfg->rto_max_us;
    return (uint32_t)rto;
}

void mptcp_tcp_rtt_sample(mptcp_tcb *t, uint32_t rtt_us)
{
    /* RFC 6298 section 2 with alpha = 1/8, beta = 1/4, G folded into rto_min.
     * rtt_us == 0 only recomputes the RTO from the current estimate. */
    if (rtt_us != 0) {
        if (t->srtt_us == 0) {
            t->srtt_us = rtt_us;
            t->rttvar_us = rtt_us / 2;
        } else {
            uint32_t err = t->srtt_us > rtt_us ? t->srtt_us - rtt_us : rtt_us - t->srtt_us;
            t->rttvar_us = t->rttvar_us - t->rttvar_us / 4 + err / 4;
            t->srtt_us = t->srtt_us - t->srtt_us / 8 + rtt_us / 8;
        }
    }
    if (t->srtt_us == 0)
        return;
    uint64_t rto = (uint64_t)t->srtt_us + MPTCP_MAX(4ull * t->rttvar_us, 1ull);
    t->rto_us = clamp_rto(t, rto);
}

void mptcp_tcp_rexmit_arm(mptcp_tcb *t, uint64_t now_us)
{
    uint64_t rto = t->rto_us;
    if (t->flags & MPTCP_TF_PERSIST)
        rto = clamp_rto(t, (uint64_t)t->rto_us << MPTCP_MIN(t->backoff, 16));
    t->t_rexmit = now_us + rto;
    if (t->rack && !(t->flags & MPTCP_TF_PERSIST))
        mptcp_rack_arm(t, t->t_rexmit, now_us); /* RFC 8985: PTO or RACK timer if earlier */
}

void mptcp_tcp_rexmit_stop(mptcp_tcb *t)
{
    t->t_rexmit = MPTCP_TIMER_NONE;
    t->flags &= ~(uint32_t)MPTCP_TF_PERSIST;
    if (t->rack) {
        t->rack->rto_at = t->rack->reo_at = t->rack->pto_at = MPTCP_TIMER_NONE;
        t->rack->mode = MPTCP_RACK_T_RTO;
    }
}

void mptcp_tcp_delack_arm(mptcp_tcb *t, uint64_t now_us)
{
    if (t->t_delack == MPTCP_TIMER_NONE)
        t->t_delack = now_us + t->st->cfg.delack_us;
}

void mptcp_tcp_keepalive_reset(mptcp_tcb *t, uint64_t now_us)
{
    t->keep_probes = 0;
    t->flags &= ~(uint32_t)MPTCP_TF_KEEP_PROBING;
    uint32_t idle = t->st->cfg.keepalive_idle_us;
    if (idle && (t->state == MPTCP_TCP_ESTABLISHED || t->state == MPTCP_TCP_CLOSE_WAIT ||
                 (t->state == MPTCP_TCP_FIN_WAIT_2 && !(t->flags & MPTCP_TF_HOST_CLOSED))))
        t->t_misc = now_us + idle;
}

static void rexmit_expired(mptcp_tcb *t, uint64_t now)
{
    const mptcp_config *cfg = &t->st->cfg;
    t->t_rexmit = MPTCP_TIMER_NONE;
    if (t->flags & MPTCP_TF_PERSIST) {
        /* Zero-window probe. The peer answering resets backoff (tcp_in.c); a
         * peer that stays silent is given up like a retransmission. */
        if (t->backoff >= cfg->data_retries) {
            mptcp_tcp_terminate(t, MPTCP_CLOSE_TIMEOUT);
            return;
        }
        mptcp_tcp_persist_fire(t, now);
        if (t->flags & MPTCP_TF_PERSIST) {
            t->backoff++;
            mptcp_tcp_rexmit_arm(t, now);
        }
        return;
    }
    if (t->state == MPTCP_TCP_SYN_SENT || t->state == MPTCP_TCP_SYN_RECEIVED) {
        if (t->backoff >= cfg->syn_retries) {
            mptcp_tcp_terminate(t, MPTCP_CLOSE_TIMEOUT);
            return;
        }
        t->backoff++;
        t->ctr.rto_expiries++;
        t->rto_us = clamp_rto(t, (uint64_t)t->rto_us * 2);
        t->flags &= ~(uint32_t)MPTCP_TF_RTT_TIMING;
        mptcp_tcp_send_syn(t, now);
        mptcp_tcp_rexmit_arm(t, now);
        return;
    }
    if (t->snd_una == t->snd_max)
        return; /* nothing outstanding (raced with an ACK) */
    if (mptcp_rack_timer(t, now))
        return; /* RFC 8985: the reordering timer or a tail loss probe */
    if (t->backoff >= cfg->data_retries) {
        mptcp_tcp_terminate(t, MPTCP_CLOSE_TIMEOUT);
        return;
    }
    /* RFC 6298 section 5.4-5.6: back off, retransmit the earliest segment;
     * RFC 5681 section 3.1: cwnd to one segment; RFC 6675 section 5.1 and
     * RFC 2018 section 5: forget SACK information (the receiver may renege)
     * and resend from snd_una (go-back-N, skipping nothing). */
    t->backoff++;
    t->ctr.rto_expiries++;
    t->rto_us = clamp_rto(t, (uint64_t)t->rto_us * 2);
    t->cc.ops->on_rto(&t->cc, t->snd_max - t->snd_una, now);
    mptcp_sack_reset(&t->sack, &t->st->mem);
    mptcp_rack_on_rto(t);
    t->sack.in_recovery = false;
    t->sack.recover = t->snd_max; /* RFC 6582 section 3.2 step 4 */
    t->sack.high_rxt = t->snd_una;
    t->dupacks = 0;
    t->flags &= ~(uint32_t)MPTCP_TF_RTT_TIMING;
    t->snd_nxt = t->snd_una;
    if ((t->flags & MPTCP_TF_FIN_SENT) && t->snd_una == t->fin_seq) {
        mptcp_tcp_output(t, now); /* only the FIN is outstanding */
    } else {
        uint32_t len = t->snd_max - t->snd_una;
        if ((t->flags & MPTCP_TF_FIN_SENT) && mptcp_seq_gt(t->snd_max, t->fin_seq))
            len--;
        len = MPTCP_MIN(len, (uint32_t)t->mss);
        mptcp_tcp_send_data(t, t->snd_una, len, true, now);
    }
    mptcp_tcp_rexmit_arm(t, now);
}

static void misc_expired(mptcp_tcb *t, uint64_t now)
{
    const mptcp_config *cfg = &t->st->cfg;
    t->t_misc = MPTCP_TIMER_NONE;
    switch (t->state) {
    case MPTCP_TCP_TIME_WAIT:
        mptcp_tcp_terminate(t, MPTCP_CLOSE_NORMAL);
        return;
    case MPTCP_TCP_FIN_WAIT_2:
        if (t->flags & MPTCP_TF_HOST_CLOSED) {
            /* An orphan whose peer never closes (Linux: tcp_fin_timeout). */
            mptcp_tcp_terminate(t, MPTCP_CLOSE_TIMEOUT);
            return;
        }
        /* Half-closed and still held by the host: keepalive (tcp.c). */
        /* fall through */
    case MPTCP_TCP_ESTABLISHED:
    case MPTCP_TCP_CLOSE_WAIT:
        if (cfg->keepalive_idle_us == 0)
            return;
        if (t->keep_probes >= cfg->keepalive_probes) {
            mptcp_tcp_terminate(t, MPTCP_CLOSE_TIMEOUT);
            return;
        }
        mptcp_tcp_send_probe(t, now);
        t->keep_probes++;
        t->flags |= MPTCP_TF_KEEP_PROBING;
        t->t_misc = now + cfg->keepalive_intvl_us;
        return;
    default:
        return;
    }
}

void mptcp_tcp_timers_run(mptcp_tcb *t, uint64_t now_us)
{
    if (t->t_misc <= now_us) {
        misc_expired(t, now_us);
        if (t->state == MPTCP_TCP_CLOSED)
            return;
    }
    if (t->t_rexmit <= now_us) {
        rexmit_expired(t, now_us);
        if (t->state == MPTCP_TCP_CLOSED)
            return;
    }
    if (t->t_delack <= now_us) {
        t->t_delack = MPTCP_TIMER_NONE;
        t->flags |= MPTCP_TF_ACK_NOW;
        mptcp_tcp_output(t, now_us);
    }
}
