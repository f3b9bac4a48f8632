/*
 * subflow.c - MPTCP glue on one TCB through mptcp_tcp_upper_ops (RFC 8684):
 * MP_CAPABLE (3.1: SYN 4, SYN/ACK 12, third ACK 20, data 22/24 repeated
 * until the server shows it has our key), MP_JOIN (3.2: token and nonce,
 * truncated HMAC on the SYN/ACK, full HMAC on the third ACK, the fourth
 * ACK before the joiner sends data; bad HMAC -> RST + MP_TCPRST), DSS out
 * (one mapping per chunk, on its first segment and retransmissions, 3.3.1;
 * segments stop at chunk ends) and in (mapping table,
 * DATA_ACK, DATA_FIN), ADD_ADDR with HMAC / echo (3.4.1), REMOVE_ADDR
 * (3.4.2), MP_PRIO (3.3.8), MP_FAIL (3.7), MP_FASTCLOSE (3.5), MP_TCPRST
 * (3.6). Connection-wide decisions are conn.c's.
 */
#include "conn.h"

#include "crypto.h"
#include "stack.h"
#include "wire_mptcp.h"

/* The subflow slot of TCB |t| in connection |ctx| (the hooks' context is the
 * owning connection; at most MPTCP_MAX_SUBFLOWS slots to look at). */
static inline mptcp_subflow *sf_of(void *ctx, const mptcp_tcb *t)
{
    mptcp_conn *c = ctx;
    if (c == NULL || c->mp == NULL)
        return NULL;
    /* Every hook of a segment asks for the same subflow: try the last one
     * first (a TCB is in one slot at most, so the answer is the loop's). */
    mptcp_subflow *h = c->mp->sf_last;
    if (h != NULL && h->t == t && h->role != MPTCP_SF_FREE)
        return h;
    for (size_t i = 0; i < c->mp->sf_hi; i++)
        if (c->mp->sf[i].t == t && c->mp->sf[i].role != MPTCP_SF_FREE)
            return c->mp->sf_last = &c->mp->sf[i];
    return NULL;
}

/* ------------------------------------------------------------ helpers */

uint8_t mptcp_subflow_local_id(const mptcp_conn *c, const mptcp_addr *a)
{
    if (mptcp_addr_equal(a, &c->mp->local) || (a->family == c->mp->local.family &&
                                             memcmp(a->ip, c->mp->local.ip, 16) == 0))
        return 0;
    const mptcp_pm_config *pc = &c->st->pm;
    for (size_t i = 0; i < MPTCP_PM_MAX_ENDPOINTS; i++)
        if (pc->ep[i].id && pc->ep[i].addr.family == a->family &&
            memcmp(pc->ep[i].addr.ip, a->ip, 16) == 0)
            return pc->ep[i].id;
    return 0;
}

uint8_t mptcp_subflow_local_id_alloc(mptcp_conn *c, const mptcp_addr *a)
{
    uint8_t id = mptcp_subflow_local_id(c, a);
    if (id != 0 || (a->family == c->mp->local.family && memcmp(a->ip, c->mp->local.ip, 16) == 0))
        return id;
    /* An address that is no endpoint gets an ID of its own (an implicit
     * endpoint without flags, as Linux does) so that REMOVE_ADDR and
     * MP_JOIN can name it (RFC 8684 section 3.4). */
    mptcp_addr bare = *a;
    bare.port = 0;
    int rc = mptcp_pm_endpoint_add(&c->st->pm, &bare, 0, 0);
    if (rc <= 0)
        return 0;
    id = (uint8_t)rc;
    c->mp->pm.local_ids[id / 8] |= (uint8_t)(1u << (id % 8));
    return id;
}

void mptcp_subflow_queue_add_addr(mptcp_conn *c, uint8_t id, const mptcp_addr *a, bool echo)
{
    if (c->mp->aa_n >= MPTCP_ARRAY_LEN(c->mp->aa_q))
        return;
    mptcp_opt_add_addr *o = &c->mp->aa_q[c->mp->aa_n++];
    memset(o, 0, sizeof *o);
    o->echo = echo;
    o->addr_id = id;
    o->addr = *a;
    if (!echo)
        o->hmac = mptcp_add_addr_hmac(c->mp->lkey, c->mp->rkey, id, a);
}

void mptcp_subflow_queue_rm(mptcp_conn *c, const mptcp_opt_rm_addr *rm)
{
    if (!c->mp->rm_pending) {
        c->mp->rm_q = *rm;
        c->mp->rm_pending = true;
        return;
    }
    for (uint8_t i = 0; i < rm->count && c->mp->rm_q.count < MPTCP_RM_ADDR_MAX; i++)
        c->mp->rm_q.ids[c->mp->rm_q.count++] = rm->ids[i];
}

static size_t put(uint8_t *dst, size_t cap, size_t *used, const mptcp_opt *o)
{
    /* mptcp_opt_write sizes the option itself: nothing written (0) when it
     * is invalid or does not fit in what is left. */
    if (*used >= cap)
        return 0;
    mptcp_ssize n = mptcp_opt_write(dst + *used, cap - *used, o);
    if (n <= 0)
        return 0;
    *used += (size_t)n;
    return (size_t)n;
}

static bool fully_est(const mptcp_conn *c)
{
    return (c->flags & MPTCP_CF_FULLY_EST) != 0;
}

/* ------------------------------------------------------------ output */

/*
 * RFC 8684 3.3.1: a mapping "does not need to be included in every MPTCP
 * packet, as long as the subflow sequence space in that packet is covered by
 * a mapping known at the receiver". The chunk's mapping goes on its first
 * segment; a later segment of it carries DATA_ACK only (16 more payload
 * bytes each: 8 option bytes instead of 24) unless:
 * - it is a retransmission (|seq| below snd_max): the segment that carried
 *   the mapping may be the one lost, and the receiver holds bytes without a
 *   mapping only until one arrives (out of order in its TCP queue);
 * - checksums are on: the checksum covers the whole mapping, kept per
 *   segment as before;
 * - it ends a chunk with the DATA_FIN: the DATA_FIN is repeated where the
 *   stream ends (3.3.3).
 */
static bool chunk_map_needed(const mptcp_tcb *t, const mptcp_map *m, uint32_t seq,
                             uint32_t payload_len, int32_t room)
{
    if (m->has_csum || (uint32_t)(seq - t->iss) == m->ssn || mptcp_seq_lt(seq, t->snd_max))
        return true;
    return m->fin && payload_len >= (uint32_t)room;
}

static size_t sf_opts_out(void *ctx, mptcp_tcb *t, uint16_t flags, uint32_t seq,
                          uint32_t payload_len, uint32_t wnd, uint8_t *dst, size_t cap)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    if (sf == NULL)
        return 0;
    mptcp_conn *c = sf->c;
    size_t used = 0;
    mptcp_opt o; /* cleared where used: most segments take the in-place DSS */
    const bool syn = (flags & MPTCP_TH_SYN) != 0;
    const bool ack = (flags & MPTCP_TH_ACK) != 0;
    if (flags & MPTCP_TH_RST) {
        /* RFC 8684 3.6: every RST we send on a subflow says why; 3.5: the
         * connection-level abort rides on it. */
        memset(&o, 0, sizeof o);
        if (c->flags & MPTCP_CF_FASTCLOSE) {
            o.form = MPTCP_OPT_FASTCLOSE;
            o.u.fastclose.rcv_key = c->mp->rkey;
            put(dst, cap, &used, &o);
            memset(&o, 0, sizeof o);
        }
        o.form = MPTCP_OPT_TCPRST;
        o.u.tcprst.reason = sf->rst_send_code;
        put(dst, cap, &used, &o);
        return used;
    }
    if (syn && !ack) {
        memset(&o, 0, sizeof o);
        if (sf->role == MPTCP_SF_MPC) {
            o.form = MPTCP_OPT_MPC_SYN;
            o.u.mpc.version = 1;
            o.u.mpc.flags = MPTCP_MPC_H | (c->st->cfg.checksum ? MPTCP_MPC_A : 0) |
                            (c->st->cfg.deny_join_id0 ? MPTCP_MPC_C : 0);
        } else {
            o.form = MPTCP_OPT_JOIN_SYN;
            o.u.join.backup = sf->backup;
            o.u.join.addr_id = sf->local_id;
            o.u.join.token = c->mp->rtoken;
            o.u.join.nonce = sf->lnonce;
        }
        put(dst, cap, &used, &o);
        return used;
    }
    if (syn) {
        if (sf->role == MPTCP_SF_MPC && (c->flags & MPTCP_CF_ACTIVE)) {
            /* A simultaneous open: RFC 8684 gives MP_CAPABLE no form for
             * it; this connection goes on as plain TCP (section 3.7). */
            mptcp_conn_fallback(c, sf, c->st->now_us);
            return 0;
        }
        memset(&o, 0, sizeof o);
        if (sf->role == MPTCP_SF_MPC) {
            o.form = MPTCP_OPT_MPC_SYNACK;
            o.u.mpc.version = 1;
            o.u.mpc.flags = MPTCP_MPC_H | ((c->flags & MPTCP_CF_CSUM) ? MPTCP_MPC_A : 0) |
                            (c->st->cfg.deny_join_id0 ? MPTCP_MPC_C : 0);
            o.u.mpc.snd_key = c->mp->lkey;
        } else {
            if (sf->role == MPTCP_SF_JOIN_ACTIVE)
                return 0; /* only the responder has this form (3.2); see sf_opts_in */
            o.form = MPTCP_OPT_JOIN_SYNACK;
            o.u.join.backup = sf->backup;
            o.u.join.addr_id = sf->local_id;
            o.u.join.nonce = sf->lnonce;
            o.u.join.thmac = mptcp_join_thmac(1, c->mp->lkey, c->mp->rkey, sf->lnonce, sf->rnonce);
        }
        put(dst, cap, &used, &o);
        return used;
    }
    if (!(c->flags & MPTCP_CF_MP))
        return 0;
    if (c->flags & MPTCP_CF_FC_WAIT) {
        /* RFC 8684 3.5, first variant: the ACK carries MP_FASTCLOSE with
         * the peer's key, alone (Linux sends nothing beside it either). */
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_FASTCLOSE;
        o.u.fastclose.rcv_key = c->mp->rkey;
        put(dst, cap, &used, &o);
        return used;
    }
    if (c->flags & MPTCP_CF_FALLBACK) {
        if (payload_len > 0 && sf->id == c->mp->fb_id && mptcp_seq_lt(seq, c->mp->lin_ssn)) {
            /* Bytes we mapped before the fallback, sent again: with their
             * mapping, as any retransmission (3.3.1). A peer that has not
             * taken our infinite mapping yet, or fell back on its own and
             * still honours mappings (mptcp_conn_mp_fail_in), reads a chunk
             * whose mapping it lost as continuing the mapping before it,
             * which our chunks need not do (a reinjection, another
             * subflow's share: the peer of fuzz/mptcp_pair
             * regress-fallback-over-a-dsn-hole put a chunk 6,634 bytes too
             * low). sf_seg_room keeps the segment inside the chunk (the
             * lookup handed over as on the mapped path below). */
            mptcp_map m;
            int32_t room = mptcp_map_tx_for_seg(&sf->tx, seq, &m);
            sf->room_hint = true;
            sf->room_seq = seq;
            sf->room = room;
            if (room < 0)
                return 0;
            return mptcp_wire_dss_map_write(dst, cap, (uint32_t)c->mp->rcv_nxt, m.dsn, m.ssn,
                                            m.data_len, m.fin, m.has_csum, m.csum);
        }
        /* A pure ACK before lin_ssn: the rest of the last chunk we mapped
         * is still to go out (its mapping already did), and the mapping
         * cannot wait for it: see below. */
        bool ack_before = payload_len == 0 && mptcp_seq_lt(seq, c->mp->lin_ssn);
        if (!c->mp->inf_pending || (seq != c->mp->lin_ssn && !ack_before))
            return 0;
        /* The infinite mapping (3.7): data-level length 0, from subflow
         * byte lin_ssn on bytes map linearly; its checksum field is zero.
         * It goes on every segment at lin_ssn until data from there is
         * acknowledged: the data segment or FIN (the only place Linux reads
         * it), and each pure ACK before (our receiver takes it there, at
         * the subflow byte it names): a peer that never learns of our
         * fallback could close this subflow under its live connection, and
         * its FIN would read here as the end of its stream (3.3.3; fuzz/
         * mptcp_pair regress-fin-before-peer-learns-fallback), or, its
         * DATA_ACK stuck, resend DSNs at new subflow bytes that we, linear,
         * would read as new (regress-inf-mapping-before-the-chunk-ends). */
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_DSS;
        o.u.dss.has_ack = true;
        o.u.dss.data_ack = (uint32_t)c->mp->rcv_nxt;
        o.u.dss.has_map = true;
        o.u.dss.dsn64 = true;
        o.u.dss.dsn = c->mp->lin_dsn;
        o.u.dss.ssn = c->mp->lin_ssn - t->iss;
        o.u.dss.data_len = 0;
        o.u.dss.has_csum = (c->flags & MPTCP_CF_CSUM) != 0;
        put(dst, cap, &used, &o);
        return used;
    }
    if (sf->role == MPTCP_SF_JOIN_ACTIVE && !sf->join_ok)
        return 0; /* the third ACK's HMAC needs the nonce of a checked SYN/ACK (3.2) */
    if (sf->role == MPTCP_SF_JOIN_ACTIVE && !sf->join_acked) {
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_JOIN_ACK;
        mptcp_join_hmac(1, c->mp->lkey, c->mp->rkey, sf->lnonce, sf->rnonce, o.u.join.hmac);
        put(dst, cap, &used, &o);
        return used;
    }
    mptcp_map m;
    int32_t room = -1;
    if (payload_len > 0) {
        room = mptcp_map_tx_for_seg(&sf->tx, seq, &m);
        sf->room_hint = true;
        sf->room_seq = seq;
        sf->room = room;
    }
    if (sf->role == MPTCP_SF_MPC && (c->flags & MPTCP_CF_ACTIVE) && !fully_est(c)) {
        /* RFC 8684 3.1: until the server shows it has our key, the third
         * ACK's MP_CAPABLE is repeated: on the first data chunk in the
         * data form (its implicit mapping is IDSN+1 at subflow seq 1), else
         * in the 20-byte form. */
        if (payload_len == 0 || (room >= 0 && m.ssn == 1 && !m.fin)) {
            memset(&o, 0, sizeof o);
            o.form = payload_len ? MPTCP_OPT_MPC_DATA : MPTCP_OPT_MPC_ACK;
            o.u.mpc.version = 1;
            /* Linux: the C flag goes on every MP_CAPABLE form, and a Linux
             * server reads it from the third ACK. */
            o.u.mpc.flags = MPTCP_MPC_H | ((c->flags & MPTCP_CF_CSUM) ? MPTCP_MPC_A : 0) |
                            (c->st->cfg.deny_join_id0 ? MPTCP_MPC_C : 0);
            o.u.mpc.snd_key = c->mp->lkey;
            o.u.mpc.rcv_key = c->mp->rkey;
            if (payload_len) {
                o.u.mpc.data_len = m.data_len;
                o.u.mpc.has_csum = m.has_csum;
                o.u.mpc.csum = m.csum;
            }
            put(dst, cap, &used, &o);
            return used;
        }
    }
    /* DSS: DATA_ACK always (3.3.2); the mapping (3.3.1) once per chunk,
     * see chunk_map_needed; the DATA_FIN on a pure ACK once every byte was
     * scheduled (3.3.3). Written in place (the codec's DSS writers): no
     * mptcp_opt to fill for the option every segment carries. */
    uint32_t data_ack = (uint32_t)c->mp->rcv_nxt;
    /* The window field of this segment (|wnd|, scaled down by the TCP
     * layer) offers the data level up to DATA_ACK + window. */
    mptcp_conn_rcv_advertised(c, (wnd >> t->rcv_wscale) << t->rcv_wscale);
    bool map = room >= 0 && chunk_map_needed(t, &m, seq, payload_len, room);
    if (room < 0 && payload_len == 0 && (c->flags & MPTCP_CF_FIN_PENDING) &&
        c->mp->snd_nxt == c->mp->fin_dsn && !(c->flags & MPTCP_CF_FIN_ACKED)) {
        mptcp_map_tx_fin_only(c->mp->fin_dsn, (c->flags & MPTCP_CF_CSUM) != 0, &m);
        map = true;
    }
    /* (inside a chunk whose mapping went out already: DATA_ACK only) */
    used = map ? mptcp_wire_dss_map_write(dst, cap, data_ack, m.dsn, m.ssn, m.data_len, m.fin,
                                          m.has_csum, m.csum)
               : mptcp_wire_dss_ack_write(dst, cap, data_ack);
    if (c->flags & MPTCP_CF_SEND_FAIL) {
        /* Repeated until the infinite mapping answers it (3.7). */
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_FAIL;
        o.u.fail.dsn = c->mp->fail_dsn;
        put(dst, cap, &used, &o);
    }
    if (payload_len > 0)
        return used;
    /* Pure ACK: address management rides here (3.4). */
    if (sf->prio_pending) {
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_PRIO;
        o.u.prio.backup = sf->backup;
        if (put(dst, cap, &used, &o))
            sf->prio_pending = false;
    }
    if (c->mp->rm_pending) {
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_REMOVE_ADDR;
        o.u.rm_addr = c->mp->rm_q;
        if (put(dst, cap, &used, &o))
            c->mp->rm_pending = false;
    }
    while (c->mp->aa_n > 0) {
        memset(&o, 0, sizeof o);
        o.form = MPTCP_OPT_ADD_ADDR;
        o.u.add_addr = c->mp->aa_q[0];
        if (!put(dst, cap, &used, &o))
            break;
        memmove(&c->mp->aa_q[0], &c->mp->aa_q[1], (size_t)(c->mp->aa_n - 1) * sizeof c->mp->aa_q[0]);
        c->mp->aa_n--;
    }
    (void)t;
    return used;
}

static uint32_t sf_seg_room(void *ctx, mptcp_tcb *t, uint32_t seq)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    if (sf == NULL)
        return UINT32_MAX;
    (void)t;
    /* The TCP layer asks right after sf_opts_out looked this segment's
     * mapping up (nothing changes the map between): taken once. */
    bool hint = sf->room_hint && sf->room_seq == seq;
    sf->room_hint = false;
    if (!(sf->c->flags & MPTCP_CF_MP))
        return UINT32_MAX;
    if (sf->c->flags & MPTCP_CF_FALLBACK) {
        /* RFC 8684 3.7: the infinite mapping rides on the segment that
         * starts at lin_ssn (see sf_opts_out); a resent segment before it
         * stops there, or no segment would ever start at it. */
        const mptcp_mpc *m = sf->c->mp;
        if (sf->id != m->fb_id || !mptcp_seq_lt(seq, m->lin_ssn))
            return UINT32_MAX;
        /* Bytes mapped before the fallback go out with their chunk's
         * mapping (sf_opts_out): not past the chunk's end. */
        uint32_t lim = m->inf_pending ? m->lin_ssn - seq : UINT32_MAX;
        mptcp_map mm;
        int32_t r = hint ? sf->room : mptcp_map_tx_for_seg(&sf->tx, seq, &mm);
        if (r > 0 && (uint32_t)r < lim)
            lim = (uint32_t)r;
        return lim;
    }
    mptcp_map m;
    int32_t r = hint ? sf->room : mptcp_map_tx_for_seg(&sf->tx, seq, &m);
    return r > 0 ? (uint32_t)r : UINT32_MAX;
}

static uint32_t sf_rcv_space(void *ctx, const mptcp_tcb *t)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    if (sf == NULL)
        return UINT32_MAX;
    (void)t;
    return mptcp_conn_rcv_space(sf->c);
}

/* ------------------------------------------------------------ input */

typedef struct rx_opts {
    bool mpc, join, dss, fail, fastclose, tcprst, prio, rm;
    mptcp_opt_mpc m;
    mptcp_opt_join j;
    mptcp_opt_dss d;
    mptcp_opt_fail f;
    mptcp_opt_fastclose fc;
    mptcp_opt_tcprst rst;
    mptcp_opt_prio p;
    mptcp_opt_rm_addr rma;
    uint8_t n_aa;
    mptcp_opt_add_addr aa[2];
    mptcp_opt_form mpc_form, join_form;
    uint8_t n_exp;           /* MP_EXPERIMENTAL options (3 bytes each at least) */
    mptcp_opt_exp exp[MPTCP_TCP_OPT_SPACE / 3];
} rx_opts;

static bool parse_all(const uint8_t *p, size_t len, rx_opts *r)
{
    /* Per segment: only the presence flags are cleared (each option's
     * fields are read only when its flag is set); clearing the whole
     * struct was most of this function's time. Returns whether an option
     * other than DSS was kept: the caller tests that in a register, not by
     * reading the flags back (one wide load over the byte just stored for
     * the DSS stalled store forwarding on every data segment). */
    bool other = false;
    r->mpc = r->join = r->dss = r->fail = r->fastclose = r->tcprst = r->prio = r->rm = false;
    r->n_aa = 0;
    r->n_exp = 0;
    r->mpc_form = r->join_form = MPTCP_OPT_NONE;
    /* Most segments: NOP NOP timestamps (RFC 7323 appendix A) or nothing,
     * then one DSS (3.3), then NOP padding. Taken straight from the bytes,
     * with the result of the walk below: a malformed DSS is ignored, and
     * any other layout takes the walk. */
    size_t off = len >= 12 && mptcp_get_be32(p) == 0x0101080au ? 12 : 0; /* NOP NOP 8 10 */
    if (len >= off + 4 && p[off] == MPTCP_TCPOPT_MPTCP && (p[off + 2] >> 4) == MPTCP_SUB_DSS &&
        p[off + 1] >= 4 && p[off + 1] <= len - off) {
        size_t end = off + p[off + 1];
        while (end < len && p[end] == 1)
            end++;
        if (end == len) {
            r->dss = mptcp_wire_dss_parse(p + off, p[off + 1], &r->d) == 0;
            return false;
        }
    }
    size_t i = 0;
    while (i < len) {
        if (p[i] == 0)
            break;
        if (p[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= len || p[i + 1] < 2 || p[i + 1] > len - i)
            break;
        mptcp_opt o;
        if (p[i] == MPTCP_TCPOPT_MPTCP && mptcp_opt_parse(p + i, len - i, &o) > 0) {
            switch (o.form) {
            case MPTCP_OPT_MPC_SYN:
            case MPTCP_OPT_MPC_SYNACK:
            case MPTCP_OPT_MPC_ACK:
            case MPTCP_OPT_MPC_DATA:
                if (o.u.mpc.version == 1) {
                    r->mpc = true;
                    other = true;
                    r->m = o.u.mpc;
                    r->mpc_form = o.form;
                }
                break;
            case MPTCP_OPT_JOIN_SYN:
            case MPTCP_OPT_JOIN_SYNACK:
            case MPTCP_OPT_JOIN_ACK:
                r->join = true;
                other = true;
                r->j = o.u.join;
                r->join_form = o.form;
                break;
            case MPTCP_OPT_DSS:
                if (!r->dss) {
                    r->dss = true;
                    r->d = o.u.dss;
                }
                break;
            case MPTCP_OPT_ADD_ADDR:
                if (r->n_aa < 2) {
                    r->aa[r->n_aa++] = o.u.add_addr;
                    other = true;
                }
                break;
            case MPTCP_OPT_REMOVE_ADDR:
                r->rm = true;
                other = true;
                r->rma = o.u.rm_addr;
                break;
            case MPTCP_OPT_PRIO:
                if (!o.u.prio.has_addr_id) {
                    r->prio = true;
                    other = true;
                    r->p = o.u.prio;
                }
                break;
            case MPTCP_OPT_FAIL:
                r->fail = true;
                other = true;
                r->f = o.u.fail;
                break;
            case MPTCP_OPT_FASTCLOSE:
                r->fastclose = true;
                other = true;
                r->fc = o.u.fastclose;
                break;
            case MPTCP_OPT_TCPRST:
                r->tcprst = true;
                other = true;
                r->rst = o.u.tcprst;
                break;
            case MPTCP_OPT_EXPERIMENTAL:
                if (r->n_exp < MPTCP_ARRAY_LEN(r->exp)) {
                    r->exp[r->n_exp++] = o.u.exp;
                    other = true;
                }
                break;
            default:
                break;
            }
        }
        i += p[i + 1];
    }
    return other;
}

static void bad_join(mptcp_subflow *sf, uint64_t now_us)
{
    sf->c->mp->mst.join_bad_hmac++;
    mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
}

static void synack_in(mptcp_subflow *sf, mptcp_tcb *t, const rx_opts *r, uint64_t now_us)
{
    mptcp_conn *c = sf->c;
    if (sf->role == MPTCP_SF_MPC) {
        if (!r->mpc || r->mpc_form != MPTCP_OPT_MPC_SYNACK) {
            mptcp_conn_fallback(c, sf, now_us); /* 3.7: no MP_CAPABLE in the SYN/ACK */
            return;
        }
        mptcp_conn_set_remote_key(c, r->m.snd_key);
        if ((r->m.flags & MPTCP_MPC_A) || c->st->cfg.checksum)
            c->flags |= MPTCP_CF_CSUM;
        if (r->m.flags & MPTCP_MPC_C)
            c->flags |= MPTCP_CF_PEER_DENY0;
        c->mp->mst.checksum = (c->flags & MPTCP_CF_CSUM) != 0;
        mptcp_map_rx_init(&sf->rx, t->irs, (c->flags & MPTCP_CF_CSUM) != 0);
        mptcp_map_tx_init(&sf->tx, t->iss, (c->flags & MPTCP_CF_CSUM) != 0);
        return;
    }
    /* MP_JOIN (3.2): the responder proves it knows both keys. */
    if (!r->join || r->join_form != MPTCP_OPT_JOIN_SYNACK) {
        bad_join(sf, now_us);
        return;
    }
    uint64_t want = mptcp_join_thmac(1, c->mp->rkey, c->mp->lkey, r->j.nonce, sf->lnonce);
    if (!mptcp_crypto_equal64(want, r->j.thmac)) {
        bad_join(sf, now_us);
        return;
    }
    sf->rnonce = r->j.nonce;
    sf->remote_id = r->j.addr_id;
    sf->peer_backup = r->j.backup;
    sf->join_ok = true;
    c->mp->joined = true;
    mptcp_map_rx_init(&sf->rx, t->irs, (c->flags & MPTCP_CF_CSUM) != 0);
    mptcp_map_tx_init(&sf->tx, t->iss, (c->flags & MPTCP_CF_CSUM) != 0);
}

static void rst_in(mptcp_subflow *sf, const rx_opts *r, uint64_t now_us)
{
    mptcp_conn *c = sf->c;
    bool inexact = sf->t && (sf->t->flags & MPTCP_TF_RST_INEXACT);
    if (inexact && !(r->fastclose && (c->flags & MPTCP_CF_MP) &&
                     mptcp_crypto_equal64(r->fc.rcv_key, c->mp->lkey)))
        return; /* only the key makes a RST off rcv_nxt acceptable */
    if (r->tcprst) {
        sf->has_rst_code = true;
        sf->rst_code = r->rst.reason;
        c->mp->mst.rst_in_code[MPTCP_MIN(r->rst.reason, 7)]++;
    }
    if (r->fastclose && (c->flags & MPTCP_CF_MP) &&
        mptcp_crypto_equal64(r->fc.rcv_key, c->mp->lkey)) {
        if (r->tcprst) {
            c->close_has_code = true;
            c->close_code = r->rst.reason;
        }
        mptcp_conn_fastclosed(c, true, now_us);
    }
}

static void map_in(mptcp_subflow *sf, mptcp_tcb *t, const mptcp_tcp_hdr *h,
                   const mptcp_opt_dss *d, uint64_t now_us);

/* (inline: the common segment's fast path in sf_opts_in calls it too) */
static inline void dss_in(mptcp_subflow *sf, mptcp_tcb *t, const mptcp_tcp_hdr *h,
                          const rx_opts *r, uint64_t now_us)
{
    mptcp_conn *c = sf->c;
    const mptcp_opt_dss *d = &r->d;
    if (d->has_ack) {
        uint64_t ack = mptcp_dsn_expand_opt(c->mp->snd_una, d->data_ack, d->ack64);
        uint32_t wnd = (uint32_t)h->window << t->snd_wscale;
        mptcp_conn_data_ack(c, ack, wnd, now_us);
        if (sf->role == MPTCP_SF_MPC && !fully_est(c)) {
            c->flags |= MPTCP_CF_FULLY_EST; /* the server has our key */
            c->mp->mst.fully_established = true;
        }
    }
    if (d->has_map) /* (most DSS carry none: no call for them) */
        map_in(sf, t, h, d, now_us);
}

/* The mapping part of a DSS (RFC 8684 3.3.1). */
static void map_in(mptcp_subflow *sf, mptcp_tcb *t, const mptcp_tcp_hdr *h,
                   const mptcp_opt_dss *d, uint64_t now_us)
{
    mptcp_conn *c = sf->c;
    if (!d->has_map)
        return;
    if (d->data_len == 0 || sf->fail_wait)
        return; /* the infinite mapping: handled in sf_opts_in; after our
                   MP_FAIL mappings no longer matter */
    if (h->seq != t->rcv_nxt && sf->rx.n >= MPTCP_MAP_RX_MAX - 1) {
        /* Out of order and only the last slot is free: keep it for the
         * in-order data (else the hole could never be filled); this
         * segment comes again unless its mapping is already held. */
        bool held = false;
        uint32_t pay = (uint32_t)d->data_len - (d->fin ? 1u : 0u);
        for (uint8_t i = 0; i < sf->rx.n; i++)
            held |= sf->rx.ent[i].m.ssn == d->ssn && sf->rx.ent[i].len == pay;
        if (!held) {
            t->flags |= MPTCP_TF_DROP_DATA;
            return;
        }
    }
    mptcp_map m;
    int rc = mptcp_map_rx_add_dss(&sf->rx, d, c->mp->rcv_nxt, &m);
    if (rc == MPTCP_MAP_FIN_ONLY || (rc >= 0 && m.fin && mptcp_map_payload(&m) == 0)) {
        mptcp_conn_peer_fin(c, t, mptcp_map_fin_dsn(&m), now_us);
        /* Answered at once only when our DATA_ACK covers it (taken, now or
         * before: the peer resends it until it sees that). With bytes
         * missing before it the ACK would acknowledge nothing new, and two
         * ends that both wait so would answer each other's pure ACKs for
         * ever (fuzz/mptcp_pair regress-storm-after-close). */
        if (c->flags & MPTCP_CF_PEER_FIN)
            t->flags |= MPTCP_TF_ACK_NOW;
        return;
    }
    if ((rc == MPTCP_MAP_DUP_FIN || rc == MPTCP_MAP_OLD) && m.fin) {
        /* 3.3.3: a mapping seen before (or whose bytes are consumed), now
         * or again with the DATA_FIN: it ends the stream there. */
        mptcp_conn_peer_fin(c, t, mptcp_map_fin_dsn(&m), now_us);
        return;
    }
    if (rc == MPTCP_MAP_EFULL) {
        /* No room for this mapping: leave the payload, it comes again. */
        t->flags |= MPTCP_TF_DROP_DATA;
        return;
    }
    if (rc < 0) {
        c->mp->mst.map_errors++;
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
    }
}

static void addr_in(mptcp_subflow *sf, const rx_opts *r, uint64_t now_us)
{
    mptcp_conn *c = sf->c;
    (void)now_us;
    for (uint8_t i = 0; i < r->n_aa; i++) {
        const mptcp_opt_add_addr *a = &r->aa[i];
        if (!a->echo) {
            uint64_t want = mptcp_add_addr_hmac(c->mp->rkey, c->mp->lkey, a->addr_id, &a->addr);
            if (!mptcp_crypto_equal64(want, a->hmac)) {
                c->mp->mst.add_addr_bad_hmac++;
                continue;
            }
            c->mp->mst.add_addr_in++;
            if (!fully_est(c)) {
                c->flags |= MPTCP_CF_FULLY_EST;
                c->mp->mst.fully_established = true;
            }
            /* The path manager must know the peer's C flag before it
             * decides on this address (the step would tell it too late). */
            if (!c->mp->pm.established)
                mptcp_pm_set_established(&c->mp->pm, (c->flags & MPTCP_CF_PEER_DENY0) != 0);
        }
        mptcp_pm_rx res = mptcp_pm_add_addr_received(&c->mp->pm, a);
        if (!a->echo && res != MPTCP_PM_RX_DUP) {
            mptcp_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = MPTCP_EV_ADDR_ANNOUNCED;
            ev.subflow_id = sf->id;
            ev.u.addr.id = a->addr_id;
            ev.u.addr.addr = a->addr;
            mptcp_conn_event_push(c, &ev);
        }
    }
    if (r->rm) {
        c->mp->mst.rm_addr_in++;
        mptcp_pm_rm_addr_received(&c->mp->pm, &r->rma);
        for (uint8_t i = 0; i < r->rma.count; i++) {
            mptcp_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = MPTCP_EV_ADDR_REMOVED;
            ev.subflow_id = -1;
            ev.u.addr.id = r->rma.ids[i];
            mptcp_conn_event_push(c, &ev);
        }
    }
    if (r->prio) {
        c->mp->mst.prio_in++;
        if (sf->peer_backup != r->p.backup) {
            sf->peer_backup = r->p.backup;
            mptcp_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = MPTCP_EV_PRIO_CHANGED;
            ev.subflow_id = sf->id;
            ev.u.subflow.backup = r->p.backup;
            ev.u.subflow.local_id = sf->local_id;
            ev.u.subflow.remote_id = sf->remote_id;
            mptcp_conn_event_push(c, &ev);
        }
    }
}

/* RFC 8684 3.8: MP_EXPERIMENTAL has no meaning the stack could know; its
 * bytes go to the host as they came, and nothing else happens (no reset,
 * no fallback), whatever the segment. */
static void exp_in(mptcp_subflow *sf, const rx_opts *r)
{
    for (uint8_t i = 0; i < r->n_exp; i++) {
        mptcp_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = MPTCP_EV_EXPERIMENTAL;
        ev.subflow_id = sf->id;
        ev.u.exp = r->exp[i];
        mptcp_conn_event_push(sf->c, &ev);
    }
}

/* The subflow's handshake is behind it as sf_opts_in sees it: nothing in a
 * segment with only a DSS can end it (no third-ACK key check for the
 * server's MP_CAPABLE subflow, no MP_JOIN ACK awaited either way). */
static bool rx_settled(const mptcp_subflow *sf)
{
    switch (sf->role) {
    case MPTCP_SF_MPC: return (sf->c->flags & MPTCP_CF_ACTIVE) || sf->mpc_ack_seen;
    case MPTCP_SF_JOIN_PASSIVE: return sf->join_ok;
    case MPTCP_SF_JOIN_ACTIVE: return sf->join_acked;
    default: return false;
    }
}

static void sf_opts_in(void *ctx, mptcp_tcb *t, const mptcp_tcp_hdr *h, const uint8_t *opts,
                       size_t opts_len)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    if (sf == NULL)
        return;
    mptcp_conn *c = sf->c;
    uint64_t now_us = c->st->now_us;
    rx_opts r;
    bool other = parse_all(opts, opts_len, &r);
    /* A segment with nothing but a DSS (or no MPTCP option) changes nothing
     * the path manager looks at. */
    if (other || (h->flags & (MPTCP_TH_SYN | MPTCP_TH_RST | MPTCP_TH_FIN)))
        mptcp_conn_dirty(c);
    else
        mptcp_conn_dirty_data(c);
    if (!other && r.dss && !(h->flags & (MPTCP_TH_SYN | MPTCP_TH_RST | MPTCP_TH_FIN)) &&
        (c->flags & (MPTCP_CF_MP | MPTCP_CF_FALLBACK | MPTCP_CF_FULLY_EST)) ==
            (MPTCP_CF_MP | MPTCP_CF_FULLY_EST) &&
        !(r.d.has_map && r.d.data_len == 0) && rx_settled(sf)) {
        /* The common segment: a DSS alone on an ACK of a subflow past its
         * handshake, of a connection fully established. What the general
         * path below does for it, without its tests: none of them holds. */
        sf->seen_una = t->snd_una;
        sf->dss_seen = true;
        dss_in(sf, t, h, &r, now_us);
        if (sf->t != NULL && sf->t->state != MPTCP_TCP_CLOSED)
            mptcp_map_tx_ack(&sf->tx, t->snd_una);
        return;
    }
    if (r.n_exp > 0)
        exp_in(sf, &r);
    if (h->flags & MPTCP_TH_RST) {
        rst_in(sf, &r, now_us);
        return;
    }
    if ((h->flags & MPTCP_TH_SYN) && !(h->flags & MPTCP_TH_ACK)) {
        /* A SYN crossing ours (simultaneous open). MP_CAPABLE: our SYN/ACK
         * falls back (sf_opts_out). MP_JOIN (3.2) has no exchange for it:
         * no SYN/ACK proves the peer's keys, no peer nonce for our HMAC;
         * reset the join, the connection goes on without it. */
        if (sf->role == MPTCP_SF_JOIN_ACTIVE) {
            c->mp->mst.join_simul_open++;
            mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
        }
        return;
    }
    if (h->flags & MPTCP_TH_SYN) {
        synack_in(sf, t, &r, now_us);
        return;
    }
    if (!(c->flags & MPTCP_CF_MP))
        return;
    if (r.fastclose && mptcp_crypto_equal64(r.fc.rcv_key, c->mp->lkey)) {
        mptcp_conn_fastclosed(c, false, now_us); /* 3.5, the ACK variant */
        return;
    }
    if (r.dss && r.d.has_map && r.d.data_len == 0) {
        uint64_t dsn = mptcp_dsn_expand_opt(c->mp->rcv_nxt, r.d.dsn, r.d.dsn64);
        mptcp_conn_infinite_in(c, sf, t->irs + r.d.ssn, dsn, now_us);
    }
    if (r.fail && !(c->flags & MPTCP_CF_FALLBACK)) {
        c->mp->mst.mp_fail_in++;
        mptcp_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = MPTCP_EV_MP_FAIL;
        ev.subflow_id = sf->id;
        mptcp_conn_event_push(c, &ev);
        if ((h->flags & MPTCP_TH_FIN) && mptcp_conn_sf_live(c) == 1) {
            /* MP_FAIL on the peer's FIN of our only subflow: it closes the
             * subflow while it runs MPTCP (3.3.3). Falling back onto it
             * would make that FIN the end of a stream the peer never ended
             * (see mptcp_conn_fallback): reset it (fuzz/mptcp_pair
             * regress-mp-fail-on-a-subflow-fin.bin). */
            mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
            return;
        }
        mptcp_conn_mp_fail_in(c, sf, r.f.dsn, now_us);
    }
    if (c->flags & MPTCP_CF_FALLBACK) {
        mptcp_map_tx_ack(&sf->tx, t->snd_una);
        if (r.dss && sf->rx_lin_lazy && sf->t)
            map_in(sf, t, h, &r.d, now_us); /* the peer still maps (3.7) */
        return;
    }
    /* New data acknowledged: our FIN's sequence number is no data (a
     * subflow we close under the connection, 3.3.3, sent none may have its
     * FIN acknowledged by an ACK whose DSS a box stripped: no fallback). */
    uint32_t data_una = t->snd_una;
    if ((t->flags & MPTCP_TF_FIN_SENT) && mptcp_seq_gt(data_una, t->fin_seq))
        data_una = t->fin_seq;
    bool acked_new = mptcp_seq_gt(data_una, sf->seen_una) && sf->seen_una != 0;
    sf->seen_una = t->snd_una;
    /* Only before the peer DATA_ACKed any of our data, and only on an ACK
     * with no MPTCP option at all: a bare ADD_ADDR echo (Linux sends it on
     * its own pure ACK, without DSS) proves MPTCP got through. */
    bool any_mp = r.mpc || r.join || r.dss || r.n_aa || r.rm || r.prio || r.fail || r.fastclose;
    sf->dss_seen |= r.dss;
    if (sf->role == MPTCP_SF_MPC && !any_mp && acked_new && c->mp->mst.bytes_acked == 0 &&
        ((c->flags & MPTCP_CF_ACTIVE) || sf->mpc_ack_seen)) {
        if (c->mp->joined) {
            /* No fallback once a join was established (see mptcp_mpc.joined),
             * but the peer reads this subflow without our mappings: it fell
             * back (on our MP_FAIL, its infinite mapping stripped) or a box
             * strips our DSS here. Resending a DSN on it, as our data level
             * would for want of a DATA_ACK, would reach a linear reader as
             * new bytes: reset it (fuzz/mptcp_pair
             * regress-no-data-ack-after-a-join-resets). */
            mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
            return;
        }
        size_t n = mptcp_conn_sf_added(c, sf);
        if (n == 1 && (t->flags & (MPTCP_TF_FIN_RCVD | MPTCP_TF_FIN_OOO)) &&
            !(c->flags & MPTCP_CF_PEER_FIN_SEEN)) {
            /* The peer already closed this subflow, and not its stream (no
             * DATA_FIN: a subflow FIN ends only the subflow, 3.3.3). Fallen
             * back, its TCP FIN would end the peer's stream, which the peer
             * can no longer send on here either: the subflow cannot carry
             * the connection alone, reset it (3.7), as one we are closing
             * (mptcp_conn_fallback). */
            mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
            return;
        }
        if (n == 1) {
            /* Our data is acknowledged without a DATA_ACK: the peer (or a
             * middlebox) dropped MPTCP; fall back (RFC 8684 3.7). */
            mptcp_conn_fallback(c, sf, now_us);
            if (c->flags & MPTCP_CF_MP)
                mptcp_map_tx_ack(&sf->tx, t->snd_una);
            /* Our DSS may still reach the peer, which took our mappings:
             * the infinite mapping tells it (3.7), on a pure ACK at once
             * and on our next data or our FIN, or it would take those bytes
             * as unmapped and wait for a DATA_FIN. */
            if ((c->flags & MPTCP_CF_MP) && (c->flags & MPTCP_CF_FALLBACK)) {
                c->mp->inf_pending = true;
                t->flags |= MPTCP_TF_ACK_NOW; /* at once, with no data waiting */
            }
            return;
        }
    }
    if (sf->role == MPTCP_SF_MPC && !any_mp && (h->flags & MPTCP_TH_FIN) && h->seq == t->rcv_nxt &&
        t->rcv.len == 0 && !sf->fail_wait && c->mp->rcv.n_ooo == 0 && !sf->dss_seen &&
        c->mp->mst.bytes_received > 0 && !c->mp->joined &&
        !(c->flags & MPTCP_CF_PEER_FIN_SEEN) && ((c->flags & MPTCP_CF_ACTIVE) || sf->mpc_ack_seen)) {
        size_t n = 0;
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
            n += c->mp->sf[i].role != MPTCP_SF_FREE;
        if (n == 1) {
            /* The peer ends the only subflow with a FIN that carries no
             * DSS, not even a DATA_ACK (every MPTCP segment has one, 3.3.2),
             * and none of its DSS ever reached us while its data (in the
             * MP_CAPABLE form) did: it fell back to TCP on our DATA_ACK a
             * middlebox stripped, and cannot tell us (its infinite mapping
             * is stripped too). Without its data, or with DSS getting
             * through, a bare FIN may be a subflow closing under a live
             * connection (a path manager's), not the end of the stream.
             * Everything before the FIN arrived: fall back as on unmapped
             * first data (3.7), so the TCP FIN ends the stream (Linux also
             * ends the receive side once every subflow got a FIN). */
            mptcp_conn_fallback(c, sf, now_us);
            return;
        }
    }
    if (sf->role == MPTCP_SF_MPC && !(c->flags & MPTCP_CF_ACTIVE) && !sf->mpc_ack_seen) {
        /* Server: the third ACK (or the first data) must carry the
         * client's key (3.1); without it, fall back (3.7). */
        if (!r.mpc || (r.mpc_form != MPTCP_OPT_MPC_ACK && r.mpc_form != MPTCP_OPT_MPC_DATA) ||
            !mptcp_crypto_equal64(r.m.rcv_key, c->mp->lkey)) {
            mptcp_map_rx_init(&sf->rx, t->irs, false);
            mptcp_map_tx_init(&sf->tx, t->iss, false);
            mptcp_conn_fallback(c, sf, now_us);
            return;
        }
        sf->mpc_ack_seen = true;
        if (r.m.flags & MPTCP_MPC_C)
            c->flags |= MPTCP_CF_PEER_DENY0; /* also valid on the third ACK (3.1) */
        mptcp_conn_set_remote_key(c, r.m.snd_key);
        c->flags |= MPTCP_CF_FULLY_EST;
        c->mp->mst.fully_established = true;
        c->mp->mst.checksum = (c->flags & MPTCP_CF_CSUM) != 0;
        mptcp_map_rx_init(&sf->rx, t->irs, (c->flags & MPTCP_CF_CSUM) != 0);
        mptcp_map_tx_init(&sf->tx, t->iss, (c->flags & MPTCP_CF_CSUM) != 0);
        t->flags |= MPTCP_TF_ACK_NOW; /* a DSS tells the client we have its key */
    }
    if (sf->role == MPTCP_SF_MPC && r.mpc && r.mpc_form == MPTCP_OPT_MPC_DATA &&
        !(c->flags & MPTCP_CF_ACTIVE)) {
        /* The implicit mapping of MP_CAPABLE with data: IDSN+1 at seq 1. */
        mptcp_map m;
        memset(&m, 0, sizeof m);
        m.dsn = c->mp->ridsn + 1;
        m.ssn = 1;
        m.data_len = r.m.data_len;
        m.has_csum = r.m.has_csum;
        m.csum = r.m.csum;
        int rc = mptcp_map_rx_add(&sf->rx, &m);
        if (rc == MPTCP_MAP_EFULL)
            t->flags |= MPTCP_TF_DROP_DATA;
        else if (rc < 0) {
            c->mp->mst.map_errors++;
            mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
            return;
        }
    }
    if (sf->role == MPTCP_SF_JOIN_PASSIVE && !sf->join_ok) {
        if (!r.join || r.join_form != MPTCP_OPT_JOIN_ACK) {
            bad_join(sf, now_us);
            return;
        }
        uint8_t want[20];
        mptcp_join_hmac(1, c->mp->rkey, c->mp->lkey, sf->rnonce, sf->lnonce, want);
        if (!mptcp_crypto_equal(want, r.j.hmac, 20)) {
            bad_join(sf, now_us);
            return;
        }
        sf->join_ok = true;
        c->mp->joined = true;
        sf->usable = true;
        mptcp_map_rx_init(&sf->rx, t->irs, (c->flags & MPTCP_CF_CSUM) != 0);
        mptcp_map_tx_init(&sf->tx, t->iss, (c->flags & MPTCP_CF_CSUM) != 0);
        t->flags |= MPTCP_TF_ACK_NOW; /* the fourth ACK: the joiner may send */
    } else if (sf->role == MPTCP_SF_JOIN_ACTIVE && sf->join_ok && !sf->join_acked) {
        sf->join_acked = true; /* an ACK after our third ACK */
        sf->usable = true;
        if (sf->prio_pending)
            t->flags |= MPTCP_TF_ACK_NOW; /* MP_PRIO waited for the join */
    }
    if (r.dss)
        dss_in(sf, t, h, &r, now_us);
    if (sf->t == NULL || sf->t->state == MPTCP_TCP_CLOSED)
        return;
    if (r.n_aa || r.rm || r.prio)
        addr_in(sf, &r, now_us);
    mptcp_map_tx_ack(&sf->tx, t->snd_una);
    if (mptcp_seq_gt(t->snd_una, t->iss + 1) && sf->role == MPTCP_SF_MPC &&
        (c->flags & MPTCP_CF_ACTIVE) && !fully_est(c) && r.dss) {
        c->flags |= MPTCP_CF_FULLY_EST;
        c->mp->mst.fully_established = true;
    }
}

static void sf_data_in(void *ctx, mptcp_tcb *t, uint32_t seq, uint32_t len)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    if (sf == NULL)
        return;
    (void)t;
    (void)seq;
    (void)len;
    mptcp_conn_dirty_data(sf->c);
    if (!(sf->c->flags & MPTCP_CF_MP))
        return;
    mptcp_conn_sf_rx_pump(sf, sf->c->st->now_us);
}

static bool sf_data_direct(void *ctx, mptcp_tcb *t, uint32_t seq, const uint8_t *data,
                           uint32_t len)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    if (sf == NULL || !(sf->c->flags & MPTCP_CF_MP))
        return false;
    if (!mptcp_conn_sf_rx_direct(sf, seq, data, len, sf->c->st->now_us))
        return false;
    mptcp_conn_dirty_data(sf->c);
    return true;
}

static void sf_event_in(void *ctx, mptcp_tcb *t, uint8_t evb)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    if (sf == NULL)
        return;
    mptcp_conn *c = sf->c;
    if (evb == MPTCP_EVB_READABLE || evb == MPTCP_EVB_WRITABLE)
        mptcp_conn_dirty_data(c);
    else
        mptcp_conn_dirty(c);
    switch (evb) {
    case MPTCP_EVB_CONNECTED:
    case MPTCP_EVB_ACCEPTED:
        break; /* conn.c reports it in its step, after the options were seen */
    case MPTCP_EVB_PEER_SHUTDOWN:
        if ((c->flags & MPTCP_CF_FALLBACK) && sf->id == c->mp->fb_id) {
            /* The TCP FIN ends the stream (3.7), now or, when bytes before
             * it wait or the peer may not know of our fallback yet, in a
             * later step. */
            mptcp_conn_fb_fin(c, sf, false, c->st->now_us);
        } else if (!sf->closing) {
            /* The peer closed its direction of this subflow (3.3.3:
             * subflows can end while the connection goes on): close ours
             * too when another subflow carries the data, i.e. one usable
             * and able to send now (a join still in its handshake may never
             * finish, nor one the path manager is about to close); the last
             * one keeps sending (a half-closed TCP can). */
            size_t others = 0;
            for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
                const mptcp_subflow *o = &c->mp->sf[i];
                others += o != sf && o->role != MPTCP_SF_FREE && o->t && o->usable && !o->dead &&
                          !o->closing && !o->close_deferred &&
                          (o->t->state == MPTCP_TCP_ESTABLISHED || o->t->state == MPTCP_TCP_CLOSE_WAIT) &&
                          !(o->t->flags & MPTCP_TF_FIN_PENDING);
            }
            if (others > 0)
                sf->closing = true;
        }
        break;
    case MPTCP_EVB_CLOSED:
        sf->dead = true;
        break;
    default:
        break;
    }
    (void)t;
}

static uint32_t sf_snd_read(void *ctx, mptcp_tcb *t, uint32_t seq, uint8_t *dst, uint32_t len,
                            uint32_t *sum)
{
    mptcp_subflow *sf = sf_of(ctx, t);
    *sum = 0;
    return sf ? mptcp_conn_sf_snd_read(sf->c, sf, seq, dst, len, sum) : 0;
}

const mptcp_tcp_upper_ops mptcp_subflow_ops = {sf_opts_out, sf_opts_in,  sf_data_in,
                                               sf_event_in, sf_seg_room, sf_rcv_space,
                                               sf_data_direct, sf_snd_read};
