/*
 * tcp_out.c - building and sending segments: the header, our TCP options
 * (MSS, window scale, SACK-permitted, timestamps, SACK blocks) plus the
 * upper layer's option bytes, payload copied from the send ring, checksum.
 * Decides what to send: new data within min(cwnd, snd_wnd) with sender
 * silly-window avoidance (RFC 9293 section 3.8.6.2.1, Nagle), RFC 6675
 * NextSeg/pipe-driven retransmission in recovery, FIN, window updates with
 * receiver SWS avoidance (section 3.8.6.2.2), RST replies (section 3.10.7.1).
 * Segments are built in the stack's scratch buffer: no allocation here.
 */
#include "csum.h"
#include "rack.h"
#include "stack.h"
#include "tcp.h"

#define OPT_NOP 1

static uint32_t ts_now(const mptcp_tcb *t, uint64_t now_us)
{
    /* RFC 7323 section 5.4: a 1 ms clock with a per-connection offset. */
    return (uint32_t)(now_us / 1000) + t->iss;
}

uint32_t mptcp_tcp_rcv_window(const mptcp_tcb *t)
{
    uint32_t space = mptcp_rcvbuf_space(&t->rcv);
    uint32_t max = (uint32_t)65535 << t->rcv_wscale;
    if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->rcv_space) {
        /* An MPTCP subflow (RFC 8684 3.3.4): the window is the connection's,
         * relative to the DATA_ACK; the upper layer keeps that edge (and
         * does SWS avoidance there), this subflow's own edge may move left. */
        uint32_t up = mptcp_tcp_upper(t)->rcv_space(t->conn, t); /* once (MPTCP_MIN) */
        space = MPTCP_MIN(space, up);
        return MPTCP_MIN(space, max);
    }
    uint32_t cur = mptcp_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    /* Receiver SWS avoidance: move the right edge only by at least
     * min(buffer / 2, MSS); never take back what was offered. */
    uint32_t thresh = MPTCP_MIN(t->rcv.cap / 2, (uint32_t)t->st->cfg.mss);
    uint32_t wnd = space;
    if (wnd < cur || wnd - cur < thresh)
        wnd = cur;
    if (wnd > max)
        wnd = max;
    return wnd;
}

static void put_nop2(uint8_t *o)
{
    o[0] = OPT_NOP;
    o[1] = OPT_NOP;
}

/*
 * mptcp_sndbuf_copy that also sums the bytes for the TCP checksum (RFC 1071
 * partial sum from the payload's first byte, *sum): the payload is read
 * once, not copied and then read again by the checksum.
 */
static uint32_t copy_payload(const mptcp_sndbuf *sb, uint32_t off, uint8_t *dst, uint32_t len,
                             uint32_t *sum)
{
    if (off >= sb->len)
        return 0;
    uint32_t n = MPTCP_MIN(len, sb->len - off);
    /* ring index of |off|, wrapping at cap (see buf.c) */
    uint32_t at = off >= sb->cap - sb->head ? off - (sb->cap - sb->head) : sb->head + off;
    uint32_t first = MPTCP_MIN(n, sb->cap - at);
    uint32_t s = mptcp_csum_copy(0, dst, sb->data + at, first, 0);
    if (n > first)
        s = mptcp_csum_copy(s, dst + first, sb->data, n - first, first);
    *sum = s;
    return n;
}

/*
 * Writes one segment into the scratch buffer and sends it. |len| payload
 * bytes come from the send ring at |seq| (when len > 0). The payload is cut
 * so that options + payload fit the MSS (RFC 6691). Returns payload bytes
 * sent.
 */
static uint32_t xmit(mptcp_tcb *t, uint32_t seq, uint16_t flags, uint32_t len, uint64_t now)
{
    mptcp_stack *st = t->st;
    uint8_t *p = st->scratch;
    uint8_t *o = p + MPTCP_TCP_HDR_LEN;
    size_t ol = 0;
    const bool syn = (flags & MPTCP_TH_SYN) != 0;
    const bool active_syn = syn && !(flags & MPTCP_TH_ACK);
    if (syn) {
        o[0] = 2;
        o[1] = 4;
        mptcp_put_be16(o + 2, st->cfg.mss);
        ol = 4;
        bool ws = st->cfg.window_scaling && (active_syn || (t->flags & MPTCP_TF_WSCALE));
        bool sp = st->cfg.sack && (active_syn || (t->flags & MPTCP_TF_SACK));
        bool ts = st->cfg.timestamps && (active_syn || (t->flags & MPTCP_TF_TS));
        if (ts) {
            if (sp) {
                o[ol] = 4;
                o[ol + 1] = 2;
            } else {
                put_nop2(o + ol);
            }
            o[ol + 2] = 8;
            o[ol + 3] = 10;
            mptcp_put_be32(o + ol + 4, ts_now(t, now));
            mptcp_put_be32(o + ol + 8, active_syn ? 0 : t->ts_recent);
            ol += 12;
        } else if (sp) {
            put_nop2(o + ol);
            o[ol + 2] = 4;
            o[ol + 3] = 2;
            ol += 4;
        }
        if (ws) {
            o[ol] = OPT_NOP;
            o[ol + 1] = 3;
            o[ol + 2] = 3;
            o[ol + 3] = t->rcv_wscale;
            ol += 4;
        }
    } else if (t->flags & MPTCP_TF_TS) {
        put_nop2(o);
        o[2] = 8;
        o[3] = 10;
        mptcp_put_be32(o + 4, ts_now(t, now));
        mptcp_put_be32(o + 8, t->ts_recent);
        ol = 12;
    }
    /* The window is computed once: the upper layer's DATA_ACK edge (RFC
     * 8684 3.3.4) is this segment's window field. */
    uint32_t wnd = mptcp_tcp_rcv_window(t);
    if (mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->opts_out) {
        size_t n = mptcp_tcp_upper(t)->opts_out(t->conn, t, flags, seq, len, wnd, o + ol,
                                      MPTCP_TCP_OPT_SPACE - ol);
        ol += MPTCP_MIN(n, MPTCP_TCP_OPT_SPACE - ol);
        while (ol % 4)
            o[ol++] = OPT_NOP;
        if (syn) /* its options may have ended MPTCP (simultaneous open) */
            wnd = mptcp_tcp_rcv_window(t);
    }
    bool dsack = st->dsack_tcb == t && (flags & MPTCP_TH_ACK);
    if (!syn && (t->flags & MPTCP_TF_SACK) && (t->rcv.n_ooo || dsack) &&
        !(flags & MPTCP_TH_RST) && MPTCP_TCP_OPT_SPACE - ol >= 12) {
        /* RFC 2018 section 4: the block with the newest data first; RFC 2883
         * section 4: a D-SACK block before it, once. */
        uint32_t max = MPTCP_MIN((uint32_t)(MPTCP_TCP_OPT_SPACE - ol - 4) / 8, 4u);
        uint32_t k = 0;
        if (dsack) {
            mptcp_put_be32(o + ol + 4, st->dsack_left);
            mptcp_put_be32(o + ol + 8, st->dsack_right);
            st->dsack_tcb = NULL;
            st->stats.dsack_out++;
            k = 1;
        }
        mptcp_ooo_range r[4];
        uint32_t n = mptcp_rcvbuf_sack_ranges(&t->rcv, r, max - k);
        for (uint32_t i = 0; i < n; i++, k++) {
            mptcp_put_be32(o + ol + 4 + 8 * k, t->rcv_nxt + r[i].start);
            mptcp_put_be32(o + ol + 8 + 8 * k, t->rcv_nxt + r[i].end);
        }
        if (k > 0) {
            put_nop2(o + ol);
            o[ol + 2] = 5;
            o[ol + 3] = (uint8_t)(2 + 8 * k);
            ol += 4 + 8 * k;
        }
    }
    /* RFC 6691: the MSS bounds options + payload; an upper layer may bound
     * it further (an MPTCP segment never crosses a mapping). */
    uint32_t room = t->mss > ol ? (uint32_t)(t->mss - ol) : 0;
    if (len > 0 && mptcp_tcp_upper(t) && mptcp_tcp_upper(t)->seg_room) {
        uint32_t up = mptcp_tcp_upper(t)->seg_room(t->conn, t, seq); /* once (MPTCP_MIN) */
        room = MPTCP_MIN(room, up);
    }
    if (len > room) {
        len = room;
        flags &= (uint16_t)~MPTCP_TH_FIN; /* FIN only rides on the last byte */
    }
    uint32_t psum = 0;
    if (len > 0 && t->snd.data != NULL) {
        len = copy_payload(&t->snd, seq - t->snd_una, p + MPTCP_TCP_HDR_LEN + ol, len, &psum);
    } else if (len > 0) {
        /* no send ring memory: the upper layer keeps the bytes */
        const mptcp_tcp_upper_ops *u = mptcp_tcp_upper(t);
        len = u && u->snd_read ? u->snd_read(t->conn, t, seq, p + MPTCP_TCP_HDR_LEN + ol, len, &psum)
                               : 0;
    }
    uint16_t wfield = syn ? (uint16_t)MPTCP_MIN(wnd, 65535u)
                          : (uint16_t)MPTCP_MIN(wnd >> t->rcv_wscale, 65535u);
    if (flags & MPTCP_TH_ACK) {
        uint32_t edge = t->rcv_nxt + (syn ? wfield : (uint32_t)wfield << t->rcv_wscale);
        if (mptcp_seq_gt(edge, t->rcv_adv))
            t->rcv_adv = edge;
        t->last_ack_sent = t->rcv_nxt;
        t->t_delack = MPTCP_TIMER_NONE;
        t->flags &= ~(uint32_t)MPTCP_TF_ACK_NOW;
    }
    size_t doff = MPTCP_TCP_HDR_LEN + ol;
    mptcp_put_be16(p, t->local.port);
    mptcp_put_be16(p + 2, t->remote.port);
    mptcp_put_be32(p + 4, seq);
    mptcp_put_be32(p + 8, (flags & MPTCP_TH_ACK) ? t->rcv_nxt : 0);
    p[12] = (uint8_t)((doff / 4) << 4);
    p[13] = (uint8_t)flags;
    mptcp_put_be16(p + 14, wfield);
    mptcp_put_be16(p + 16, 0);
    mptcp_put_be16(p + 18, 0);
    t->ctr.segs_out++;
    t->ctr.bytes_sent += len;
    mptcp_stack_emit_payload(st, &t->local, &t->remote, p, doff + len, doff, psum);
    return len;
}

/* Payload bytes a full segment carries now (MSS minus our usual options). */
static uint32_t payload_mss(const mptcp_tcb *t)
{
    uint32_t opt = (t->flags & MPTCP_TF_TS) ? 12 : 0;
    return t->mss > opt ? t->mss - opt : 1;
}

void mptcp_tcp_send_ack(mptcp_tcb *t, uint64_t now_us)
{
    /* A pure ACK carries snd_max, not snd_nxt: after an RTO snd_nxt goes
     * back to snd_una (go-back-N), and an ACK numbered below what the peer
     * already received fails its acceptability test (RFC 9293 section
     * 3.10.7.4), so the peer would drop it unread and answer with its own
     * ACK: with both sides in that state, neither ever sees the other's
     * cumulative ACK. snd_max is always inside the peer's window (Linux
     * never moves snd_nxt back, so its ACKs carry the same number). */
    xmit(t, t->snd_max, MPTCP_TH_ACK, 0, now_us);
}

void mptcp_tcp_persist_fire(mptcp_tcb *t, uint64_t now_us)
{
    uint32_t off = t->snd_nxt - t->snd_una;
    uint32_t avail = off < t->snd.len ? t->snd.len - off : 0;
    if (t->snd_wnd > 0 && avail > 0 && t->snd_una == t->snd_max) {
        /* SWS override: send what the small window takes. */
        uint32_t len = MPTCP_MIN(MPTCP_MIN(avail, t->snd_wnd), payload_mss(t));
        t->flags &= ~(uint32_t)MPTCP_TF_PERSIST;
        mptcp_tcp_send_data(t, t->snd_nxt, len, false, now_us);
        return;
    }
    mptcp_tcp_send_probe(t, now_us);
    t->ctr.zero_window_probes++;
}

void mptcp_tcp_send_probe(mptcp_tcb *t, uint64_t now_us)
{
    /* An already-acknowledged sequence number and no data: the peer must
     * answer with an ACK (RFC 9293 section 3.8.6.1 and 3.8.4 permit this
     * form; Linux probes the same way). */
    xmit(t, t->snd_una - 1, MPTCP_TH_ACK, 0, now_us);
}

void mptcp_tcp_send_rst(mptcp_tcb *t, uint64_t now_us)
{
    t->st->stats.rst_out++;
    xmit(t, t->snd_max, MPTCP_TH_RST | MPTCP_TH_ACK, 0, now_us);
}

void mptcp_tcp_send_syn(mptcp_tcb *t, uint64_t now_us)
{
    uint16_t flags = MPTCP_TH_SYN;
    if (t->state == MPTCP_TCP_SYN_RECEIVED)
        flags |= MPTCP_TH_ACK;
    if (t->snd_max == t->iss && !(t->flags & MPTCP_TF_RTT_TIMING)) {
        t->flags |= MPTCP_TF_RTT_TIMING;
        t->rtt_seq = t->iss + 1;
        t->rtt_start = (uint32_t)now_us;
    } else {
        t->ctr.retrans_segs++;
        t->st->stats.retrans_segs++;
    }
    xmit(t, t->iss, flags, 0, now_us);
    t->snd_nxt = t->iss + 1;
    t->snd_max = t->iss + 1;
    if (t->t_rexmit == MPTCP_TIMER_NONE)
        mptcp_tcp_rexmit_arm(t, now_us);
}

void mptcp_tcp_send_data(mptcp_tcb *t, uint32_t seq, uint32_t len, bool rexmit,
                         uint64_t now_us)
{
    uint16_t flags = MPTCP_TH_ACK;
    uint32_t end_of_data = t->snd_una + t->snd.len;
    if (seq + len == end_of_data) {
        flags |= MPTCP_TH_PSH;
        if (t->flags & MPTCP_TF_FIN_PENDING)
            flags |= MPTCP_TH_FIN; /* the FIN rides on the last data segment */
    }
    uint32_t sent = xmit(t, seq, flags, len, now_us);
    uint32_t end = seq + sent;
    bool fin = (flags & MPTCP_TH_FIN) && end == end_of_data;
    if (fin) {
        t->flags |= MPTCP_TF_FIN_SENT;
        t->fin_seq = end;
        end++;
    }
    if (rexmit) {
        t->ctr.retrans_segs++;
        t->st->stats.retrans_segs++;
        t->flags &= ~(uint32_t)MPTCP_TF_RTT_TIMING; /* Karn's rule */
    } else if (!(t->flags & MPTCP_TF_RTT_TIMING) && sent > 0) {
        t->flags |= MPTCP_TF_RTT_TIMING;
        t->rtt_seq = end;
        t->rtt_start = (uint32_t)now_us;
    }
    if (mptcp_seq_gt(end, t->snd_nxt))
        t->snd_nxt = end;
    if (mptcp_seq_gt(end, t->snd_max))
        t->snd_max = end;
    if (t->sack.in_recovery && mptcp_seq_gt(end, t->sack.high_rxt) && rexmit)
        t->sack.high_rxt = end;
    mptcp_rack_on_send(t, seq, sent, now_us);
    if (t->t_rexmit == MPTCP_TIMER_NONE || (t->flags & MPTCP_TF_PERSIST)) {
        t->flags &= ~(uint32_t)MPTCP_TF_PERSIST;
        mptcp_tcp_rexmit_arm(t, now_us);
    }
}

/* A bare FIN (no data left to carry it). */
static void send_fin(mptcp_tcb *t, uint64_t now_us)
{
    bool rexmit = (t->flags & MPTCP_TF_FIN_SENT) != 0;
    t->flags |= MPTCP_TF_FIN_SENT;
    t->fin_seq = t->snd_una + t->snd.len;
    xmit(t, t->fin_seq, MPTCP_TH_FIN | MPTCP_TH_ACK, 0, now_us);
    if (rexmit) {
        t->ctr.retrans_segs++;
        t->st->stats.retrans_segs++;
    }
    t->snd_nxt = t->fin_seq + 1;
    if (mptcp_seq_gt(t->snd_nxt, t->snd_max))
        t->snd_max = t->snd_nxt;
    if (t->t_rexmit == MPTCP_TIMER_NONE || (t->flags & MPTCP_TF_PERSIST)) {
        t->flags &= ~(uint32_t)MPTCP_TF_PERSIST;
        mptcp_tcp_rexmit_arm(t, now_us);
    }
}

static bool can_send_state(uint8_t state)
{
    return state == MPTCP_TCP_ESTABLISHED || state == MPTCP_TCP_CLOSE_WAIT ||
           state == MPTCP_TCP_FIN_WAIT_1 || state == MPTCP_TCP_CLOSING ||
           state == MPTCP_TCP_LAST_ACK;
}

/* True when the |len| bytes at snd_nxt end an MPTCP mapping whose earlier
 * bytes already went out (the byte before snd_nxt is in the same mapping)
 * on a path shorter than the delayed-ACK timeout. The connection gave these
 * bytes to this subflow and the other subflows send the data after them;
 * held for an ACK, they leave a data-level hole at the receiver, and on
 * such a path the wait is the peer's delayed ACK of the mapping's last full
 * segment (the Nagle/delayed-ACK interaction, RFC 1122 4.2.3.4; Linux's
 * Minshall variant would not hold them), many round trips in which the
 * other subflows can fill the peer's window beyond the hole (Linux 6.18
 * then stalls for good: docs/conformance.md, bug I). On longer paths the
 * hold costs about one round trip, as for TCP. The query only reads a
 * mapping that a segment already carried. */
static bool mapping_tail(mptcp_tcb *t, uint32_t len)
{
    const mptcp_tcp_upper_ops *u = mptcp_tcp_upper(t);
    if (!(t->flags & MPTCP_TF_SUBFLOW) || u == NULL || u->seg_room == NULL ||
        t->srtt_us >= t->st->cfg.delack_us)
        return false;
    return u->seg_room(t->conn, t, t->snd_nxt - 1u) == len + 1u;
}

/* Sends new data at snd_nxt if the windows and SWS avoidance allow. Returns
 * the bytes sent (0: nothing to do now). */
static uint32_t send_new(mptcp_tcb *t, uint32_t usable, uint64_t now)
{
    uint32_t off = t->snd_nxt - t->snd_una;
    if (off >= t->snd.len)
        return 0;
    uint32_t avail = t->snd.len - off;
    uint32_t full = payload_mss(t);
    uint32_t len = MPTCP_MIN(MPTCP_MIN(avail, usable), full);
    if (len == 0)
        return 0;
    if (len < full) {
        /* Sender SWS avoidance (section 3.8.6.2.1): a short segment goes out
         * when it is all we have and nothing is in flight (Nagle, RFC 896),
         * when the FIN follows it, or when it is at least half the largest
         * window the peer ever offered. */
        bool all = len == avail;
        bool idle = t->snd_nxt == t->snd_una;
        bool fin = all && (t->flags & MPTCP_TF_FIN_PENDING);
        if (!((all && (idle || mapping_tail(t, len))) || fin || len >= t->max_snd_wnd / 2))
            return 0;
    }
    bool rexmit = mptcp_seq_lt(t->snd_nxt, t->snd_max);
    uint32_t before = t->snd_nxt;
    mptcp_tcp_send_data(t, t->snd_nxt, len, rexmit, now);
    return t->snd_nxt - before;
}

void mptcp_tcp_output(mptcp_tcb *t, uint64_t now_us)
{
    if (!can_send_state(t->state) || !mptcp_tcp_has_buffers(t)) {
        if ((t->flags & MPTCP_TF_ACK_NOW) && t->state != MPTCP_TCP_CLOSED &&
            t->state != MPTCP_TCP_SYN_SENT && t->state != MPTCP_TCP_LISTEN) {
            if (t->state == MPTCP_TCP_SYN_RECEIVED)
                mptcp_tcp_send_syn(t, now_us);
            else
                mptcp_tcp_send_ack(t, now_us);
        }
        return;
    }
    const uint32_t mss = payload_mss(t);
    for (unsigned guard = 0; guard < 1024; guard++) {
        uint32_t cwnd = t->cc.cwnd;
        if (t->sack.in_recovery) {
            /* RFC 6675 section 5 step (C): send while cwnd - pipe >= 1 SMSS. */
            uint32_t pipe;
            if (t->rack)
                pipe = mptcp_rack_pipe(t->rack); /* RFC 8985: RACK's loss marks count */
            else if (mptcp_tcp_sack_usable(t))
                pipe = mptcp_sack_pipe(&t->sack, t->snd_una, t->snd_max, mss);
            else {
                uint32_t out = t->snd_max - t->snd_una, dup = (uint32_t)t->dupacks * mss;
                pipe = out > dup ? out - dup : 0;
            }
            if (pipe + mss > cwnd)
                break;
            uint32_t seq, len, rseq, rlen;
            bool lost = mptcp_tcp_sack_usable(t) &&
                        mptcp_sack_next_lost(&t->sack, t->snd_una, mss, &seq, &len);
            if (t->rack && mptcp_rack_next_lost(t->rack, mss, &rseq, &rlen) &&
                (!lost || mptcp_seq_lt(rseq, seq))) {
                /* RACK's lowest lost record, also a lost retransmission
                 * (below HighRxt), which NextSeg cannot see. */
                seq = rseq;
                len = rlen;
                lost = true;
            }
            if (lost) {
                if ((t->flags & MPTCP_TF_FIN_SENT) && mptcp_seq_geq(seq, t->fin_seq))
                    break;
                len = MPTCP_MIN(len, t->snd_max - seq);
                mptcp_tcp_send_data(t, seq, len, true, now_us);
                if (mptcp_seq_gt(seq + len, t->sack.high_rxt))
                    t->sack.high_rxt = seq + len;
                continue;
            }
            /* Rule 2: new data, within the peer's window. */
            uint32_t out = t->snd_nxt - t->snd_una;
            uint32_t usable = t->snd_wnd > out ? t->snd_wnd - out : 0;
            if (send_new(t, MPTCP_MIN(usable, cwnd - pipe), now_us) == 0)
                break;
            continue;
        }
        uint32_t out = t->snd_nxt - t->snd_una;
        uint32_t wnd = MPTCP_MIN(t->snd_wnd, cwnd);
        uint32_t usable = wnd > out ? wnd - out : 0;
        if (send_new(t, usable, now_us) == 0)
            break;
    }
    /* FIN once every byte has gone out (it needs no window). */
    if ((t->flags & MPTCP_TF_FIN_PENDING) && t->snd_nxt == t->snd_una + t->snd.len &&
        (!(t->flags & MPTCP_TF_FIN_SENT) || t->snd_nxt == t->fin_seq))
        send_fin(t, now_us);
    /* Data waiting, nothing in flight, and the window is zero or too small
     * for SWS avoidance to send: the persist timer probes the zero window
     * (RFC 9293 section 3.8.6.1) or, on a small window, is the "override
     * timeout" of section 3.8.6.2.1 (tcp_timer.c). */
    uint32_t off = t->snd_nxt - t->snd_una;
    if (off < t->snd.len && t->snd_una == t->snd_max && t->t_rexmit == MPTCP_TIMER_NONE) {
        t->flags |= MPTCP_TF_PERSIST;
        t->backoff = 0;
        mptcp_tcp_rexmit_arm(t, now_us);
    }
    if (t->flags & MPTCP_TF_ACK_NOW)
        mptcp_tcp_send_ack(t, now_us);
    /* Sending may have set or moved t_rexmit (RTO, RFC 8985 probe): the
     * heap must see it even when the caller (MPTCP's scheduler pushing data
     * onto a subflow) does not touch the TCB afterwards. */
    mptcp_tcp_touch(t);
}

void mptcp_tcp_rcv_window_opened(mptcp_tcb *t, uint64_t now_us)
{
    if (!can_send_state(t->state) && t->state != MPTCP_TCP_FIN_WAIT_2)
        return;
    if (t->flags & MPTCP_TF_FIN_RCVD)
        return; /* the peer sends nothing more */
    uint32_t cur = mptcp_seq_gt(t->rcv_adv, t->rcv_nxt) ? t->rcv_adv - t->rcv_nxt : 0;
    uint32_t wnd = mptcp_tcp_rcv_window(t);
    /* Tell the peer when the window grew by two segments or half the buffer,
     * or reopened from (nearly) zero: it may be waiting on it. */
    uint32_t grow = wnd > cur ? wnd - cur : 0;
    uint32_t mss = t->st->cfg.mss;
    if (grow >= MPTCP_MIN(2 * mss, t->rcv.cap / 2) || (cur < mss && wnd >= mss))
        mptcp_tcp_send_ack(t, now_us);
}

void mptcp_tcp_send_rst_reply(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                              const mptcp_tcp_hdr *h, uint32_t seg_len, uint64_t now_us)
{
    mptcp_tcp_send_rst_reply_opts(st, local, remote, h, seg_len, NULL, 0, now_us);
}

void mptcp_tcp_send_rst_reply_opts(mptcp_stack *st, const mptcp_addr *local,
                                   const mptcp_addr *remote, const mptcp_tcp_hdr *h,
                                   uint32_t seg_len, const uint8_t *opts, size_t opts_len,
                                   uint64_t now_us)
{
    (void)now_us;
    if (opts_len % 4 != 0 || opts_len > MPTCP_TCP_OPT_SPACE)
        opts_len = 0;
    uint8_t *p = st->scratch;
    uint16_t flags;
    uint32_t seq, ack;
    if (h->flags & MPTCP_TH_ACK) {
        seq = h->ack; /* <SEQ=SEG.ACK><CTL=RST> */
        ack = 0;
        flags = MPTCP_TH_RST;
    } else {
        seq = 0; /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
        ack = h->seq + seg_len;
        flags = MPTCP_TH_RST | MPTCP_TH_ACK;
    }
    memset(p, 0, MPTCP_TCP_HDR_LEN);
    mptcp_put_be16(p, local->port);
    mptcp_put_be16(p + 2, remote->port);
    mptcp_put_be32(p + 4, seq);
    mptcp_put_be32(p + 8, ack);
    p[12] = (uint8_t)((5 + opts_len / 4) << 4);
    p[13] = (uint8_t)flags;
    if (opts_len > 0)
        memcpy(p + MPTCP_TCP_HDR_LEN, opts, opts_len);
    st->stats.rst_out++;
    mptcp_stack_emit(st, local, remote, p, MPTCP_TCP_HDR_LEN + opts_len);
}
