/*
 * tcp_in.c - everything a received segment does: header and option checks,
 * checksum, demultiplexing, then RFC 9293 section 3.10.7 per state: CLOSED
 * (RST reply), LISTEN, SYN-SENT, and the synchronized states in the order of
 * section 3.10.7.4 (PAWS per RFC 7323 section 5, sequence check, RST and SYN
 * with RFC 5961 challenge ACKs, ACK with RFC 5961 section 5 limits, SACK
 * input per RFC 2018, window update, data, FIN). It does not build segments
 * (tcp_out.c) or run timers (tcp_timer.c).
 *
 * Theory of operation. The state lives in the TCB (tcp.h); only this file,
 * tcp_timer.c (timeouts) and the host calls in stack.c change it:
 *   CLOSED -connect-> SYN_SENT -SYN/ACK-> ESTABLISHED           (active)
 *   LISTEN (a listener entry, no TCB) -SYN-> SYN_RECEIVED -ACK-> ESTABLISHED
 *   SYN_SENT -SYN-> SYN_RECEIVED                                (simultaneous open)
 *   ESTABLISHED -shutdown-> FIN_WAIT_1 -ACK of FIN-> FIN_WAIT_2 -FIN-> TIME_WAIT
 *   FIN_WAIT_1 -FIN-> CLOSING -ACK of FIN-> TIME_WAIT           (simultaneous close)
 *   ESTABLISHED -FIN-> CLOSE_WAIT -shutdown-> LAST_ACK -ACK of FIN-> CLOSED
 *   TIME_WAIT -timer-> CLOSED; any state -RST/abort/timeout-> CLOSED
 * Every dropped segment increments one mptcp_stack_stats counter named after
 * the check it failed. Accepted data is never discarded once acknowledged.
 */
#include "conn.h"
#include "csum.h"
#include "demux.h"
#include "rack.h"
#include "stack.h"
#include "tcp.h"

/* One received segment, decoded. */
typedef struct rx {
    mptcp_tcp_hdr h;
    mptcp_tcp_rx_opts o;
    const uint8_t *opts;
    size_t opts_len;
    const uint8_t *data;
    uint32_t dlen;    /* payload bytes */
    uint32_t seg_len; /* SEG.LEN: payload + SYN + FIN */
    uint32_t win;     /* window field scaled per the connection */
    mptcp_addr local, remote;
    uint64_t now;
} rx;

int mptcp_tcp_parse_opts(const uint8_t *p, size_t len, mptcp_tcp_rx_opts *o)
{
    o->present = o->bad = 0;
    o->sack_count = 0;
    if (len >= 12 && mptcp_get_be32(p) == 0x0101080au) { /* NOP NOP 8 10 */
        /* NOP NOP TS: what every segment of a connection with timestamps
         * carries (RFC 7323 appendix A layout), alone or followed by one
         * MPTCP option (an MPTCP subflow's DSS, RFC 8684 3.3) and NOP
         * padding; the walk below would find the same (it skips kind 30:
         * the upper layer reads it). */
        size_t end = 12;
        if (len > 13 && p[12] == MPTCP_TCPOPT_MPTCP && p[13] >= 2 && p[13] <= len - 12) {
            end += p[13];
            while (end < len && p[end] == 1)
                end++;
        }
        if (end == len) {
            o->ts_val = mptcp_get_be32(p + 4);
            o->ts_ecr = mptcp_get_be32(p + 8);
            o->present = MPTCP_TCPO_TS;
            return 0;
        }
    }
    size_t i = 0;
    while (i < len) {
        uint8_t kind = p[i];
        if (kind == 0) /* EOL */
            break;
        if (kind == 1) { /* NOP */
            i++;
            continue;
        }
        if (i + 1 >= len)
            return MPTCP_ETRUNCATED;
        uint8_t olen = p[i + 1];
        if (olen < 2 || olen > len - i)
            return MPTCP_EBADLEN;
        const uint8_t *v = p + i + 2;
        switch (kind) {
        case 2: /* MSS, RFC 9293 section 3.2 */
            if (olen == 4 && !(o->present & MPTCP_TCPO_MSS)) {
                o->mss = mptcp_get_be16(v);
                o->present |= MPTCP_TCPO_MSS;
            } else {
                o->bad |= MPTCP_TCPO_MSS;
            }
            break;
        case 3: /* window scale, RFC 7323 section 2.2 */
            if (olen == 3 && !(o->present & MPTCP_TCPO_WSCALE)) {
                o->wscale = v[0];
                o->present |= MPTCP_TCPO_WSCALE;
            } else {
                o->bad |= MPTCP_TCPO_WSCALE;
            }
            break;
        case 4: /* SACK-permitted, RFC 2018 section 2 */
            if (olen == 2)
                o->present |= MPTCP_TCPO_SACK_PERM;
            else
                o->bad |= MPTCP_TCPO_SACK_PERM;
            break;
        case 5: /* SACK, RFC 2018 section 3: 8n + 2 bytes */
            if (olen >= 10 && (olen - 2) % 8 == 0 && !(o->present & MPTCP_TCPO_SACK)) {
                uint8_t n = (uint8_t)MPTCP_MIN((olen - 2) / 8, 4);
                for (uint8_t k = 0; k < n; k++) {
                    o->sack[k].left = mptcp_get_be32(v + 8 * k);
                    o->sack[k].right = mptcp_get_be32(v + 8 * k + 4);
                }
                o->sack_count = n;
                o->present |= MPTCP_TCPO_SACK;
            } else {
                o->bad |= MPTCP_TCPO_SACK;
            }
            break;
        case 8: /* timestamps, RFC 7323 section 3.2 */
            if (olen == 10 && !(o->present & MPTCP_TCPO_TS)) {
                o->ts_val = mptcp_get_be32(v);
                o->ts_ecr = mptcp_get_be32(v + 4);
                o->present |= MPTCP_TCPO_TS;
            } else {
                o->bad |= MPTCP_TCPO_TS;
            }
            break;
        default: /* MPTCP and unknown kinds: the upper layer's business */
            break;
        }
        i += olen;
    }
    return 0;
}

static void parse_hdr(const uint8_t *p, mptcp_tcp_hdr *h)
{
    h->sport = mptcp_get_be16(p);
    h->dport = mptcp_get_be16(p + 2);
    h->seq = mptcp_get_be32(p + 4);
    h->ack = mptcp_get_be32(p + 8);
    h->doff = (uint8_t)((p[12] >> 4) * 4);
    h->flags = (uint16_t)(((p[12] & 1u) << 8) | p[13]);
    h->window = mptcp_get_be16(p + 14);
    h->csum = mptcp_get_be16(p + 16);
    h->urg = mptcp_get_be16(p + 18);
}

static void ack_now(mptcp_tcb *t)
{
    t->flags |= MPTCP_TF_ACK_NOW;
}

/*
 * RFC 5961 section 7 ACK throttling: answers to segments a blind attacker
 * can provoke at will (challenge ACKs, ACKs for unacceptable segments) are
 * limited to cfg.ack_limit per cfg.ack_limit_us, per connection. A budget
 * shared by the whole stack would let an off-path host count our answers on
 * its own connection and learn whether a guessed RST or SYN hit another one
 * (CVE-2016-5696); a per-connection budget has nothing to share. Returns
 * whether the answer may go out (and spends it).
 */
static bool ack_allowed(mptcp_tcb *t, uint64_t now)
{
    const mptcp_config *cfg = &t->st->cfg;
    if (cfg->ack_limit == 0)
        return true;
    /* Low 32 bits of the clock like rtt_start: ack_limit_us < 2^31 (checked
     * at stack creation), and after 71 silent minutes the worst case is one
     * interval whose budget started too early. */
    uint32_t now32 = (uint32_t)now;
    if (now32 - t->ack_lim_at >= cfg->ack_limit_us) {
        t->ack_lim_at = now32;
        t->ack_lim_n = 0;
    }
    if (t->ack_lim_n < cfg->ack_limit) {
        t->ack_lim_n++;
        return true;
    }
    t->st->stats.acks_ratelimited++;
    return false;
}

static void challenge_ack(mptcp_tcb *t, uint64_t now)
{
    /* RFC 5961 sections 3.2 and 4.2: an ACK for the current state lets a
     * genuine peer (which lost its state) answer with an exact RST, while a
     * blind attacker learns nothing. */
    if (!ack_allowed(t, now))
        return;
    t->st->stats.challenge_acks++;
    ack_now(t);
}

/* RFC 2883 section 4: the next ACK of |t| reports [left, right), bytes
 * that arrived again, in its first SACK block (SACK permitted only). */
static void dsack_set(mptcp_tcb *t, uint32_t left, uint32_t right)
{
    if (!(t->flags & MPTCP_TF_SACK) || left == right)
        return;
    mptcp_stack *st = t->st;
    st->dsack_tcb = t;
    st->dsack_left = left;
    st->dsack_right = right;
    ack_now(t);
}

/*
 * Answers a segment that failed the sequence or PAWS test (RFC 9293 section
 * 3.10.7.4 and RFC 7323 section 5.3: an ACK, then drop). Two kinds are
 * always answered, because a genuine sender waits for that ACK: a copy of
 * data or a FIN we already took (it ends at or below rcv_nxt and starts
 * within one receive buffer of it: a retransmission whose ACK was lost; its
 * bytes go back as a D-SACK block), and data starting exactly at rcv_nxt
 * (a probe of our zero window, RFC 9293 section 3.8.6.1). Anything else is
 * what a blind attacker sends, and its answer is throttled (ack_allowed).
 */
static void answer_unacceptable(mptcp_tcb *t, const rx *s)
{
    uint32_t seq = s->h.seq;
    bool syn = (s->h.flags & MPTCP_TH_SYN) != 0;
    bool dup = s->seg_len > 0 && !syn && mptcp_seq_leq(seq + s->seg_len, t->rcv_nxt) &&
               t->rcv_nxt - seq <= t->st->cfg.rcvbuf + 1;
    bool probe = s->dlen > 0 && !syn && seq == t->rcv_nxt;
    if (dup) {
        ack_now(t);
        dsack_set(t, seq, seq + s->dlen);
    } else if (probe || ack_allowed(t, s->now)) {
        ack_now(t);
    }
}

/* ------------------------------------------------------------ LISTEN */

static void listen_input(mptcp_stack *st, const rx *s)
{
    const uint16_t f = s->h.flags;
    if (f & MPTCP_TH_RST)
        return; /* section 3.10.7.2: an incoming RST is ignored */
    if (f & MPTCP_TH_ACK) {
        st->stats.drop_no_conn++;
        mptcp_tcp_send_rst_reply(st, &s->local, &s->remote, &s->h, s->seg_len, s->now);
        return;
    }
    if (!(f & MPTCP_TH_SYN)) {
        st->stats.drop_no_conn++;
        return;
    }
    if (st->conns >= st->cfg.max_conns) {
        st->stats.drop_listen_overflow++;
        return;
    }
    /* An MPTCP subflow's TCB has no send ring of its own (conn.c). */
    mptcp_tcb *t = mptcp_conn_syn_subflow(st, s->opts, s->opts_len)
                       ? mptcp_tcp_new_extern(st, &s->local, &s->remote, s->now)
                       : mptcp_tcp_new(st, &s->local, &s->remote, s->now);
    if (t == NULL) {
        st->stats.drop_no_mem++;
        return;
    }
    mptcp_demux_insert(&st->demux, t);
    t->irs = s->h.seq;
    t->rcv_nxt = s->h.seq + 1;
    t->rcv_adv = t->rcv_nxt;
    mptcp_tcp_apply_syn_opts(t, &s->o);
    t->iss = mptcp_isn_generate(st->isn_secret, &t->local, &t->remote, s->now);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss;
    t->snd_wnd = s->h.window; /* never scaled in a SYN (RFC 7323 section 2.2) */
    t->max_snd_wnd = t->snd_wnd;
    t->snd_wl1 = s->h.seq;
    t->state = MPTCP_TCP_SYN_RECEIVED;
    /* The connection layer takes the TCB: a new connection (MPTCP or plain)
     * or, for an MP_JOIN, a subflow of an existing one (RFC 8684 section
     * 3.2). A refused SYN is answered with a RST. */
    uint8_t rst_opt[MPTCP_CONN_RST_OPT_MAX];
    size_t rst_opt_len = 0;
    if (mptcp_conn_syn_in(st, t, &s->h, s->opts, s->opts_len, s->now, rst_opt, &rst_opt_len) <
        0) {
        mptcp_tcp_free(t);
        mptcp_tcp_send_rst_reply_opts(st, &s->local, &s->remote, &s->h, s->seg_len, rst_opt,
                                      rst_opt_len, s->now);
        return;
    }
    /* Data on a SYN is not taken (no TFO): it is not acknowledged, so the
     * peer sends it again after the handshake. */
    mptcp_tcp_send_syn(t, s->now);
    mptcp_tcp_touch(t);
}

/* ------------------------------------------------------------ SYN-SENT */

static void syn_sent_input(mptcp_tcb *t, const rx *s)
{
    mptcp_stack *st = t->st;
    const uint16_t f = s->h.flags;
    if (f & MPTCP_TH_ACK) {
        if (mptcp_seq_leq(s->h.ack, t->iss) || mptcp_seq_gt(s->h.ack, t->snd_max)) {
            st->stats.drop_bad_ack++;
            if (!(f & MPTCP_TH_RST))
                mptcp_tcp_send_rst_reply(st, &s->local, &s->remote, &s->h, s->seg_len, s->now);
            return;
        }
    }
    if (f & MPTCP_TH_RST) {
        st->stats.rst_in++;
        /* RFC 5961 section 3.2 / RFC 9293: only a RST acknowledging our
         * SYN counts; one without ACK is dropped. */
        if (f & MPTCP_TH_ACK) {
            if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->opts_in)
                mptcp_tcp_upper(t)->opts_in(t->conn, t, &s->h, s->opts, s->opts_len);
            mptcp_tcp_terminate(t, MPTCP_CLOSE_REFUSED);
        }
        else
            st->stats.drop_bad_flags++;
        return;
    }
    if (!(f & MPTCP_TH_SYN)) {
        st->stats.drop_bad_flags++;
        return;
    }
    t->irs = s->h.seq;
    t->rcv_nxt = s->h.seq + 1;
    t->rcv_adv = t->rcv_nxt;
    mptcp_tcp_apply_syn_opts(t, &s->o);
    t->snd_wnd = s->h.window;
    t->max_snd_wnd = t->snd_wnd;
    t->snd_wl1 = s->h.seq;
    if (f & MPTCP_TH_ACK) {
        /* The upper layer reads the SYN/ACK's options (MP_CAPABLE key,
         * MP_JOIN HMAC) before the connection is established; it may reset. */
        if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->opts_in) {
            mptcp_tcp_upper(t)->opts_in(t->conn, t, &s->h, s->opts, s->opts_len);
            if (t->state == MPTCP_TCP_CLOSED)
                return;
        }
        t->snd_una = s->h.ack;
        if (t->flags & MPTCP_TF_RTT_TIMING) {
            /* Karn: only a SYN that was sent once gives a sample. */
            t->flags &= ~(uint32_t)MPTCP_TF_RTT_TIMING;
            if (t->backoff == 0)
                mptcp_tcp_rtt_sample(t, (uint32_t)s->now - t->rtt_start);
        }
        mptcp_tcp_rexmit_stop(t);
        mptcp_tcp_established(t, s->now);
        ack_now(t);
        mptcp_tcp_output(t, s->now);
        return;
    }
    /* Simultaneous open (section 3.10.7.3, fourth check): SYN without ACK.
     * The upper layer reads its options first: an MPTCP join has no
     * simultaneous-open form (RFC 8684 3.2) and resets it here. */
    t->state = MPTCP_TCP_SYN_RECEIVED;
    if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->opts_in) {
        mptcp_tcp_upper(t)->opts_in(t->conn, t, &s->h, s->opts, s->opts_len);
        if (t->state == MPTCP_TCP_CLOSED)
            return;
    }
    mptcp_tcp_send_syn(t, s->now);
}

/* ------------------------------------------------------------ ACK */

static void enter_recovery(mptcp_tcb *t, uint64_t now)
{
    uint32_t flight = t->snd_max - t->snd_una;
    t->sack.in_recovery = true;
    t->sack.recover = t->snd_max;
    t->sack.high_rxt = t->snd_una;
    t->cc.ops->on_loss(&t->cc, flight, now);
    t->ctr.fast_retrans++;
    /* RFC 6675 section 5 step (4.2) / RFC 5681 fast retransmit: resend the
     * first unacknowledged segment now, then let the pipe drive output. */
    uint32_t len = MPTCP_MIN(t->snd_max - t->snd_una, (uint32_t)t->mss);
    if (t->flags & MPTCP_TF_FIN_SENT && t->snd_una == t->fin_seq)
        len = 0;
    if (len > 0)
        mptcp_tcp_send_data(t, t->snd_una, len, true, now);
}

/* The SACK option of an acceptable ACK (RFC 2018 section 4). A D-SACK
 * block (RFC 2883) reports a duplicate, not new data: it is counted and left
 * out of the scoreboard. Without memory for the scoreboard the blocks are
 * ignored and recovery runs as without SACK (mptcp_tcp_sack_usable). */
static void sack_input(mptcp_tcb *t, const rx *s)
{
    mptcp_stack *st = t->st;
    const mptcp_sack_block *b = s->o.sack;
    uint32_t n = s->o.sack_count;
    if (mptcp_sack_is_dsack(s->h.ack, b, n)) {
        st->stats.dsack_in++;
        b++;
        n--;
    }
    int v = mptcp_sack_update(&t->sack, &st->mem, t->snd_una, t->snd_max, b, n);
    if (v < 0) {
        st->stats.sack_no_mem++;
        t->flags |= MPTCP_TF_SACK_NOMEM;
    } else {
        t->ctr.sack_blocks_in += (uint32_t)v;
    }
}

/* Returns false when the segment must be dropped here. */
static bool ack_input(mptcp_tcb *t, const rx *s)
{
    mptcp_stack *st = t->st;
    const uint32_t ack = s->h.ack;
    /* RFC 5961 section 5.2: acceptable is SND.UNA - MAX.SND.WND <= ACK <= SND.NXT
     * (SND.NXT being the highest sequence sent). */
    if (mptcp_seq_gt(ack, t->snd_max) || mptcp_seq_lt(ack, t->snd_una - t->max_snd_wnd)) {
        st->stats.drop_bad_ack++;
        if (ack_allowed(t, s->now)) /* RFC 5961 sections 5.2 and 7 */
            ack_now(t);
        return false;
    }
    /* RFC 8985: RACK sees every acceptable ACK before it is consumed. */
    uint32_t rack_rtt = mptcp_rack_on_ack(t, ack, &s->o, s->now);
    bool is_dup = false;
    if (mptcp_seq_gt(ack, t->snd_una)) {
        uint32_t acked = ack - t->snd_una;
        uint32_t data_acked = acked;
        if ((t->flags & MPTCP_TF_FIN_SENT) && mptcp_seq_gt(ack, t->fin_seq))
            data_acked--; /* the FIN's sequence number */
        data_acked = MPTCP_MIN(data_acked, t->snd.len);
        mptcp_sndbuf_consume(&t->snd, data_acked);
        t->ctr.bytes_acked += data_acked;
        t->snd_una = ack;
        if (mptcp_seq_lt(t->snd_nxt, ack))
            t->snd_nxt = ack;
        uint32_t rtt = 0;
        if ((t->flags & MPTCP_TF_RTT_TIMING) && mptcp_seq_geq(ack, t->rtt_seq)) {
            t->flags &= ~(uint32_t)MPTCP_TF_RTT_TIMING;
            rtt = (uint32_t)s->now - t->rtt_start;
            if (rtt == 0)
                rtt = 1;
            mptcp_tcp_rtt_sample(t, rtt);
        }
        if (t->backoff && !(t->flags & MPTCP_TF_PERSIST)) {
            /* New data was acknowledged: the path works again, drop the
             * exponential backoff (RFC 6298 section 5.7 keeps the RTO until a
             * sample; recomputing from SRTT is the common practice). */
            t->backoff = 0;
            if (t->srtt_us)
                mptcp_tcp_rtt_sample(t, 0);
        }
        mptcp_sack_trim(&t->sack, &st->mem, ack);
        uint32_t flight = t->snd_max - t->snd_una;
        if (t->sack.in_recovery) {
            if (mptcp_seq_geq(ack, t->sack.recover)) {
                t->sack.in_recovery = false;
                t->cc.ops->on_recovery_end(&t->cc, s->now);
            } else if (!mptcp_tcp_sack_usable(t)) {
                /* RFC 6582 partial ACK: the next hole starts at snd_una. */
                uint32_t len = MPTCP_MIN(flight, (uint32_t)t->mss);
                if (len && !((t->flags & MPTCP_TF_FIN_SENT) && t->snd_una == t->fin_seq))
                    mptcp_tcp_send_data(t, t->snd_una, len, true, s->now);
            }
        } else {
            t->cc.ops->on_ack(&t->cc, data_acked, flight + acked, t->srtt_us,
                              rtt ? rtt : rack_rtt, s->now);
        }
        t->dupacks = 0;
        if (!t->sack.in_recovery && t->sack.n == 0)
            t->flags &= ~(uint32_t)MPTCP_TF_SACK_NOMEM; /* SACK state is whole again */
        if (t->snd_una == t->snd_max)
            mptcp_tcp_rexmit_stop(t);
        else if (!(t->flags & MPTCP_TF_PERSIST))
            mptcp_tcp_rexmit_arm(t, s->now); /* RFC 6298 section 5.3 */
        if ((t->flags & MPTCP_TF_WANT_WRITE) && mptcp_sndbuf_free(&t->snd) > 0) {
            t->flags &= ~(uint32_t)MPTCP_TF_WANT_WRITE;
            mptcp_tcp_event(t, MPTCP_EVB_WRITABLE);
        }
    } else if (ack == t->snd_una) {
        /* RFC 5681 section 2 "duplicate ACK" (window unchanged, nothing else). */
        is_dup = t->snd_max != t->snd_una && s->dlen == 0 &&
                 !(s->h.flags & (MPTCP_TH_SYN | MPTCP_TH_FIN)) && s->win == t->snd_wnd;
    }
    if ((t->flags & MPTCP_TF_SACK) && (s->o.present & MPTCP_TCPO_SACK))
        sack_input(t, s);
    /* Window update (section 3.10.7.4, fifth check, ESTABLISHED): only from
     * an ACK at or above SND.UNA, and not from an older segment (the
     * WL2 =< SEG.ACK half of the test always holds here, see tcp.h). */
    if (mptcp_seq_geq(ack, t->snd_una) &&
        mptcp_seq_leq(t->snd_wl1, s->h.seq)) {
        t->snd_wnd = s->win;
        t->snd_wl1 = s->h.seq;
        if (s->win > t->max_snd_wnd)
            t->max_snd_wnd = s->win;
        if (s->win > 0 && (t->flags & MPTCP_TF_PERSIST)) {
            mptcp_tcp_rexmit_stop(t);
            t->backoff = 0;
            if (t->snd_una != t->snd_max)
                mptcp_tcp_rexmit_arm(t, s->now);
        }
    }
    if ((t->flags & MPTCP_TF_PERSIST) && t->backoff)
        t->backoff = 0; /* the peer answers our probes: keep probing patiently */
    if (is_dup) {
        t->ctr.dup_acks_in++;
        if (t->dupacks < 255)
            t->dupacks++;
    }
    /* RFC 6675 section 5: enter recovery on DupThresh duplicate ACKs or when
     * the SACK scoreboard says the first hole is lost; once per window
     * (RFC 6582 section 3.2 step 2: not while snd_una <= previous recover). */
    if (!t->sack.in_recovery && t->snd_una != t->snd_max &&
        mptcp_seq_geq(t->snd_una, t->sack.recover) &&
        ((is_dup && t->dupacks >= MPTCP_DUPTHRESH) ||
         (mptcp_tcp_sack_usable(t) && t->sack.n &&
          mptcp_sack_is_lost(&t->sack, t->snd_una, t->mss)) ||
         mptcp_rack_has_lost(t)))
        enter_recovery(t, s->now);
    /* FIN acknowledged: per-state transitions. */
    bool fin_acked = (t->flags & MPTCP_TF_FIN_SENT) && mptcp_seq_gt(t->snd_una, t->fin_seq);
    if (fin_acked) {
        switch (t->state) {
        case MPTCP_TCP_FIN_WAIT_1:
            mptcp_tcp_set_state(t, MPTCP_TCP_FIN_WAIT_2, s->now);
            break;
        case MPTCP_TCP_CLOSING:
            mptcp_tcp_set_state(t, MPTCP_TCP_TIME_WAIT, s->now);
            break;
        case MPTCP_TCP_LAST_ACK:
            t->flags |= MPTCP_TF_TCP_DONE;
            mptcp_tcp_maybe_finish(t);
            mptcp_tcp_terminate(t, MPTCP_CLOSE_NORMAL);
            return false;
        default:
            break;
        }
    }
    return true;
}

/* ------------------------------------------------------------ data, FIN */

static void take_fin(mptcp_tcb *t, uint64_t now)
{
    t->rcv_nxt++;
    t->flags |= MPTCP_TF_FIN_RCVD;
    t->flags &= ~(uint32_t)MPTCP_TF_FIN_OOO;
    ack_now(t);
    mptcp_tcp_event(t, MPTCP_EVB_PEER_SHUTDOWN);
    switch (t->state) {
    case MPTCP_TCP_SYN_RECEIVED:
    case MPTCP_TCP_ESTABLISHED:
        mptcp_tcp_set_state(t, MPTCP_TCP_CLOSE_WAIT, now);
        break;
    case MPTCP_TCP_FIN_WAIT_1:
        /* our FIN is not acknowledged yet (else we would be in FIN_WAIT_2) */
        mptcp_tcp_set_state(t, MPTCP_TCP_CLOSING, now);
        break;
    case MPTCP_TCP_FIN_WAIT_2:
        mptcp_tcp_set_state(t, MPTCP_TCP_TIME_WAIT, now);
        break;
    default:
        break;
    }
}

static void data_input(mptcp_tcb *t, const rx *s)
{
    mptcp_stack *st = t->st;
    const uint8_t *data = s->data;
    uint32_t dlen = s->dlen;
    uint32_t seq = s->h.seq;
    uint32_t fin_at = s->h.seq + s->dlen;
    if (dlen > 0 && (t->flags & MPTCP_TF_HOST_CLOSED)) {
        /* The host closed and will never read: tell the peer (RFC 9293
         * section 3.6 / RFC 2525 section 2.17) rather than ACK into the void. */
        mptcp_tcp_send_rst(t, s->now);
        mptcp_tcp_terminate(t, MPTCP_CLOSE_ABORTED);
        return;
    }
    if (mptcp_seq_lt(seq, t->rcv_nxt)) { /* old bytes in front: trim them */
        uint32_t skip = t->rcv_nxt - seq;
        skip = MPTCP_MIN(skip, dlen);
        dsack_set(t, seq, seq + skip); /* RFC 2883 section 4.1.1: partly duplicate */
        data += skip;
        dlen -= skip;
        seq += skip;
    }
    if (dlen > 0) {
        uint32_t off = seq - t->rcv_nxt;
        uint32_t space = mptcp_rcvbuf_space(&t->rcv);
        if (off >= space) {
            st->stats.drop_rcvbuf_full++;
            ack_now(t);
            return;
        }
        if (dlen > space - off)
            st->stats.drop_rcvbuf_full++; /* the tail beyond the buffer is cut */
        uint8_t had_ooo = t->rcv.n_ooo;
        uint32_t ds, de;
        if (off > 0 && mptcp_rcvbuf_held(&t->rcv, off, dlen, &ds, &de))
            dsack_set(t, t->rcv_nxt + ds, t->rcv_nxt + de); /* RFC 2883 section 4.2 */
        /* An MPTCP subflow hands in-order payload straight to the data level
         * when nothing waits in its ring (one copy instead of two). */
        const mptcp_tcp_upper_ops *up = mptcp_tcp_upper(t);
        bool direct = up && up->data_direct && off == 0 && !had_ooo && t->rcv.len == 0 &&
                      dlen <= space && up->data_direct(t->conn, t, seq, data, dlen);
        int32_t adv = direct ? (int32_t)dlen : mptcp_rcvbuf_write(&t->rcv, &st->mem, off, data, dlen);
        if (s->dlen > t->rcv_mss)
            t->rcv_mss = (uint16_t)MPTCP_MIN(s->dlen, 65535u);
        if (adv < 0) {
            /* Not stored, so not SACKed: the duplicate ACK tells the sender
             * nothing new and it sends the segment again. */
            if (adv == MPTCP_RCVBUF_NO_MEM)
                st->stats.drop_ooo_no_mem++;
            else
                st->stats.drop_rcvbuf_full++; /* no room for another hole */
            ack_now(t);
            return;
        }
        if (off > 0) {
            /* RFC 5681 section 4.2: out-of-order data is ACKed at once (a
             * duplicate ACK carrying SACK blocks). */
            t->ctr.ooo_segs_in++;
            ack_now(t);
        } else if (adv > 0) {
            uint32_t start = t->rcv_nxt;
            t->rcv_nxt += (uint32_t)adv;
            t->ctr.bytes_received += (uint32_t)adv;
            if (had_ooo)
                ack_now(t); /* a hole was filled: tell the sender now */
            if (!direct && up && up->data_in)
                up->data_in(t->conn, t, start, (uint32_t)adv);
            /* Bytes taken by data_direct are the upper layer's already:
             * nothing to read here, and it knows (its hook returned). */
            if (!direct)
                mptcp_tcp_event(t, MPTCP_EVB_READABLE);
            /* RFC 1122 4.2.3.2 / RFC 5681 4.2: ACK at least every second
             * full-sized segment, else within delack_us. */
            uint32_t every = (uint32_t)MPTCP_MAX(st->cfg.delack_segs, 1) * t->rcv_mss;
            if (t->rcv_nxt - t->last_ack_sent >= every || st->cfg.delack_segs <= 1)
                ack_now(t);
            else
                mptcp_tcp_delack_arm(t, s->now);
        }
    }
    if (s->h.flags & MPTCP_TH_FIN) {
        if (fin_at == t->rcv_nxt) {
            take_fin(t, s->now);
        } else if (mptcp_seq_gt(fin_at, t->rcv_nxt)) {
            t->flags |= MPTCP_TF_FIN_OOO;
            t->fin_rcv_seq = fin_at;
            ack_now(t);
        }
    }
    if ((t->flags & MPTCP_TF_FIN_OOO) && t->fin_rcv_seq == t->rcv_nxt)
        take_fin(t, s->now);
}

/* ------------------------------------------------------------ synchronized */

static bool seq_acceptable(const mptcp_tcb *t, const rx *s)
{
    /* RFC 9293 section 3.10.7.4, the four cases of the acceptability test. */
    uint32_t wnd = mptcp_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    uint32_t seq = s->h.seq;
    if (s->seg_len == 0) {
        if (wnd == 0)
            return seq == t->rcv_nxt;
        return mptcp_seq_geq(seq, t->rcv_nxt) && mptcp_seq_lt(seq, t->rcv_nxt + wnd);
    }
    if (wnd == 0)
        return false;
    uint32_t last = seq + s->seg_len - 1;
    return (mptcp_seq_geq(seq, t->rcv_nxt) && mptcp_seq_lt(seq, t->rcv_nxt + wnd)) ||
           (mptcp_seq_geq(last, t->rcv_nxt) && mptcp_seq_lt(last, t->rcv_nxt + wnd));
}

static bool conn_input_synced(mptcp_tcb *t, rx *s);

/* Returns true when the segment should be handed to the listener instead
 * (a new SYN reusing a TIME_WAIT 4-tuple). */
static bool conn_input(mptcp_tcb *t, rx *s)
{
    const uint16_t f = s->h.flags;
    t->ctr.segs_in++;
    if (t->state == MPTCP_TCP_SYN_SENT) {
        syn_sent_input(t, s);
        return false;
    }
    s->win = (f & MPTCP_TH_SYN) ? s->h.window : (uint32_t)s->h.window << t->snd_wscale;

    if (t->state == MPTCP_TCP_TIME_WAIT && (f & MPTCP_TH_SYN) &&
        !(f & (MPTCP_TH_ACK | MPTCP_TH_RST))) {
        /* RFC 9293 section 3.10.7.4 / RFC 6191: a new incarnation may take
         * the 4-tuple when its SYN is beyond the old sequence space or has a
         * newer timestamp. */
        bool newer = mptcp_seq_gt(s->h.seq, t->rcv_nxt) ||
                     ((t->flags & MPTCP_TF_TS) && (s->o.present & MPTCP_TCPO_TS) &&
                      mptcp_seq_gt(s->o.ts_val, t->ts_recent));
        if (newer && !(t->flags & MPTCP_TF_OWNED)) {
            mptcp_tcp_terminate(t, MPTCP_CLOSE_NORMAL);
            return true;
        }
    }
    if (t->state == MPTCP_TCP_SYN_RECEIVED && (f & MPTCP_TH_SYN) && !(f & MPTCP_TH_ACK) &&
        !(f & MPTCP_TH_RST) && s->h.seq == t->irs) {
        mptcp_tcp_send_syn(t, s->now); /* our SYN/ACK was lost: answer again */
        return false;
    }
    if ((f & MPTCP_TH_SYN) && !(f & MPTCP_TH_RST) && s->h.seq == t->irs) {
        /* A copy of the peer's SYN we already took (its SYN/ACK in a
         * simultaneous open, or a SYN/ACK repeated because our ACK was lost):
         * drop the SYN bit and its sequence number, keep the rest, and make
         * sure the peer hears an ACK (RFC 9293 section 3.10.7.4, trimming). */
        s->h.flags = (uint16_t)(s->h.flags & ~MPTCP_TH_SYN);
        s->h.seq++;
        s->seg_len--;
        s->win = (uint32_t)s->h.window << t->snd_wscale;
        ack_now(t);
        return conn_input_synced(t, s);
    }
    return conn_input_synced(t, s);
}

static bool conn_input_synced(mptcp_tcb *t, rx *s)
{
    mptcp_stack *st = t->st;
    const uint16_t f = s->h.flags;
    /* RFC 7323 section 5.3 PAWS: a timestamp older than TS.Recent marks an old
     * duplicate. RSTs are exempt (section 5.3 R1 note). */
    if ((t->flags & MPTCP_TF_TS) && (s->o.present & MPTCP_TCPO_TS) && !(f & MPTCP_TH_RST) &&
        mptcp_seq_lt(s->o.ts_val, t->ts_recent)) {
        st->stats.drop_paws++;
        answer_unacceptable(t, s);
        goto out;
    }
    if (!seq_acceptable(t, s)) {
        st->stats.drop_out_of_window++;
        if (!(f & MPTCP_TH_RST))
            answer_unacceptable(t, s);
        if (t->state == MPTCP_TCP_TIME_WAIT && (f & MPTCP_TH_FIN))
            t->t_misc = s->now + st->cfg.time_wait_us; /* retransmitted FIN: restart 2MSL */
        goto out;
    }
    /* RFC 7323 section 4.3: TS.Recent follows the segment that covers the
     * byte we last acknowledged. */
    if ((t->flags & MPTCP_TF_TS) && (s->o.present & MPTCP_TCPO_TS) &&
        mptcp_seq_leq(s->h.seq, t->last_ack_sent) && !(f & MPTCP_TH_RST))
        t->ts_recent = s->o.ts_val;

    if (f & MPTCP_TH_RST) {
        st->stats.rst_in++;
        if (s->h.seq != t->rcv_nxt) {
            /* An in-window RST the upper layer can authenticate (MPTCP's
             * MP_FASTCLOSE carries our 64-bit key, RFC 8684 3.5) needs no
             * challenge: it is offered with MPTCP_TF_RST_INEXACT set. */
            if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->opts_in) {
                t->flags |= MPTCP_TF_RST_INEXACT;
                mptcp_tcp_upper(t)->opts_in(t->conn, t, &s->h, s->opts, s->opts_len);
                t->flags &= ~(uint32_t)MPTCP_TF_RST_INEXACT;
                if (t->state == MPTCP_TCP_CLOSED)
                    return false;
            }
            challenge_ack(t, s->now); /* RFC 5961 section 3.2 */
            goto out;
        }
        /* MP_TCPRST reason, MP_FASTCLOSE on a RST (RFC 8684 3.5, 3.6). */
        if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->opts_in)
            mptcp_tcp_upper(t)->opts_in(t->conn, t, &s->h, s->opts, s->opts_len);
        if (t->state == MPTCP_TCP_CLOSED)
            return false;
        if (t->state == MPTCP_TCP_SYN_RECEIVED)
            mptcp_tcp_terminate(t, MPTCP_CLOSE_REFUSED); /* silent when passive */
        else if (t->state == MPTCP_TCP_TIME_WAIT)
            mptcp_tcp_terminate(t, MPTCP_CLOSE_NORMAL); /* both FINs were exchanged */
        else
            mptcp_tcp_terminate(t, MPTCP_CLOSE_RESET);
        return false;
    }
    if (f & MPTCP_TH_SYN) {
        challenge_ack(t, s->now); /* RFC 5961 section 4.2, any SYN in a synchronized state */
        goto out;
    }
    if (!(f & MPTCP_TH_ACK)) {
        st->stats.drop_bad_flags++; /* section 3.10.7.4, fifth check: no ACK, drop */
        goto out;
    }
    mptcp_tcp_keepalive_reset(t, s->now);
    if (t->state == MPTCP_TCP_SYN_RECEIVED) {
        if (!mptcp_seq_gt(s->h.ack, t->snd_una) || mptcp_seq_gt(s->h.ack, t->snd_max)) {
            st->stats.drop_bad_ack++;
            mptcp_tcp_send_rst_reply(st, &s->local, &s->remote, &s->h, s->seg_len, s->now);
            goto out;
        }
        t->snd_una = s->h.ack;
        if ((t->flags & MPTCP_TF_RTT_TIMING) && t->backoff == 0)
            mptcp_tcp_rtt_sample(t, (uint32_t)s->now - t->rtt_start);
        t->flags &= ~(uint32_t)MPTCP_TF_RTT_TIMING;
        mptcp_tcp_rexmit_stop(t);
        t->snd_wnd = s->win;
        t->max_snd_wnd = s->win;
        t->snd_wl1 = s->h.seq;
            t->rcv_adv = mptcp_seq_max(t->rcv_adv, t->rcv_nxt);
        mptcp_tcp_established(t, s->now);
    } else if (!ack_input(t, s)) {
        if (t->state == MPTCP_TCP_CLOSED)
            return false;
        goto out;
    }
    if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->opts_in) {
        mptcp_tcp_upper(t)->opts_in(t->conn, t, &s->h, s->opts, s->opts_len);
        if (t->state == MPTCP_TCP_CLOSED)
            return false;
        if (t->flags & MPTCP_TF_DROP_DATA) {
            t->flags &= ~(uint32_t)MPTCP_TF_DROP_DATA;
            st->stats.drop_rcvbuf_full++;
            s->dlen = 0;
            s->h.flags = (uint16_t)(s->h.flags & ~MPTCP_TH_FIN);
            ack_now(t); /* a duplicate ACK: the peer resends */
        }
    }
    switch (t->state) {
    case MPTCP_TCP_ESTABLISHED:
    case MPTCP_TCP_FIN_WAIT_1:
    case MPTCP_TCP_FIN_WAIT_2:
        if (s->dlen || (f & MPTCP_TH_FIN))
            data_input(t, s);
        if (t->state == MPTCP_TCP_CLOSED)
            return false;
        break;
    case MPTCP_TCP_TIME_WAIT:
        if (f & MPTCP_TH_FIN) {
            ack_now(t);
            t->t_misc = s->now + st->cfg.time_wait_us;
        }
        break;
    default:
        /* CLOSE_WAIT, CLOSING, LAST_ACK: the peer already sent its FIN;
         * anything new is ignored (section 3.10.7.4, seventh check). */
        break;
    }
out:
    mptcp_tcp_output(t, s->now);
    return false;
}

/* ------------------------------------------------------------ entry */

static void input(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                  const uint8_t *seg, size_t len, uint64_t now_us);

void mptcp_tcp_input(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                     const uint8_t *seg, size_t len, uint64_t now_us)
{
    st->dsack_tcb = NULL;
    input(st, src, dst, seg, len, now_us);
    st->dsack_tcb = NULL; /* a D-SACK not sent now is not sent later */
}

static void input(mptcp_stack *st, const mptcp_addr *src, const mptcp_addr *dst,
                  const uint8_t *seg, size_t len, uint64_t now_us)
{
    rx s;
    st->stats.segs_in++;
    st->stats.bytes_in += len;
    if (len < MPTCP_TCP_HDR_LEN) {
        st->stats.drop_malformed++;
        return;
    }
    parse_hdr(seg, &s.h);
    if (s.h.doff < MPTCP_TCP_HDR_LEN || s.h.doff > len || s.h.sport == 0 ||
        s.h.dport == 0) {
        st->stats.drop_malformed++;
        return;
    }
    if (!st->cfg.trust_checksum && !mptcp_tcp_csum_ok(seg, len, src, dst)) {
        st->stats.drop_bad_csum++;
        return;
    }
    s.opts = seg + MPTCP_TCP_HDR_LEN;
    s.opts_len = (size_t)s.h.doff - MPTCP_TCP_HDR_LEN;
    if (mptcp_tcp_parse_opts(s.opts, s.opts_len, &s.o) < 0) {
        st->stats.drop_malformed++;
        return;
    }
    if (s.o.bad)
        st->stats.bad_options++;
    const uint16_t f = s.h.flags;
    /* Impossible combinations: SYN with FIN or RST, or none of SYN/RST/ACK. */
    if (((f & MPTCP_TH_SYN) && (f & (MPTCP_TH_FIN | MPTCP_TH_RST))) ||
        !(f & (MPTCP_TH_SYN | MPTCP_TH_RST | MPTCP_TH_ACK))) {
        st->stats.drop_bad_flags++;
        return;
    }
    s.data = seg + s.h.doff;
    s.dlen = (uint32_t)(len - s.h.doff);
    s.seg_len = s.dlen + ((f & MPTCP_TH_SYN) ? 1u : 0u) + ((f & MPTCP_TH_FIN) ? 1u : 0u);
    s.win = s.h.window;
    s.now = now_us;
    s.local = *dst;
    s.local.port = s.h.dport;
    s.remote = *src;
    s.remote.port = s.h.sport;
    mptcp_tcb *t = mptcp_demux_lookup_rx(&st->demux, &s.local, &s.remote);
    if (t != NULL) {
        bool relisten = conn_input(t, &s);
        if (!relisten) {
            mptcp_tcp_touch(t);
            return;
        }
    }
    const mptcp_addr *l = mptcp_demux_listener(&st->demux, &s.local);
    if (l != NULL) {
        listen_input(st, &s);
        return;
    }
    /* RFC 9293 section 3.10.7.1: no connection. Never answer a RST. */
    st->stats.drop_no_conn++;
    if (f & MPTCP_TH_RST) {
        st->stats.rst_in++;
        return;
    }
    mptcp_tcp_send_rst_reply(st, &s.local, &s.remote, &s.h, s.seg_len, now_us);
}
