/*
 * dsn.c - MPTCP data sequence machinery (RFC 8684 section 3.3): 32-to-64-bit
 * DSN/DATA_ACK expansion (3.3), the per-subflow receive mapping table with
 * DSS checksum verification (3.3.1), infinite mapping / linear mode (3.7),
 * the per-subflow send mapping records used for DSS options and reinjection
 * (3.3.1, 3.3.6), and connection-level window arithmetic (3.3.4, 3.3.5).
 * It does not parse options, own bytes, or decide resets/fallback/MP_FAIL:
 * it reports outcomes and the subflow glue applies the rules.
 */
#include "dsn.h"

/* ------------------------------------------------------------ DSN arithmetic */

uint64_t mptcp_dsn_expand(uint64_t cur, uint32_t low)
{
    /* Distance from cur's low half to |low|, taken forward when below 2^31
     * and backward otherwise; the 64-bit addition wraps at 2^64 by itself
     * (Linux __mptcp_expand_seq picks the same nearest value). */
    uint32_t d = low - (uint32_t)cur;
    if (d < 0x80000000u)
        return cur + d;
    return cur - ((uint64_t)1 << 32) + d;
}

uint64_t mptcp_dsn_expand_opt(uint64_t cur, uint64_t v, bool is64)
{
    return is64 ? v : mptcp_dsn_expand(cur, (uint32_t)v);
}

/* ------------------------------------------------------ connection windows */

uint16_t mptcp_dsn_rcv_wnd(uint64_t rcv_nxt, uint32_t space, uint8_t wscale,
                           uint64_t *edge_sent)
{
    uint64_t field, need, edge;

    if (wscale > 14) /* RFC 7323 section 2.3 */
        wscale = 14;
    field = space >> wscale;
    /* RFC 8684 section 3.3.4: the window is relative to the DATA_ACK and
     * must not retract the edge already offered: round up to cover it. */
    if (mptcp_dsn_gt(*edge_sent, rcv_nxt)) {
        need = *edge_sent - rcv_nxt;
        need = (need + ((uint64_t)1 << wscale) - 1) >> wscale;
        if (need > field)
            field = need;
    }
    if (field > 0xffffu)
        field = 0xffffu;
    edge = rcv_nxt + (field << wscale);
    if (mptcp_dsn_gt(edge, *edge_sent))
        *edge_sent = edge;
    return (uint16_t)field;
}

int mptcp_dsn_accept(uint64_t rcv_nxt, uint64_t edge, uint64_t dsn, uint32_t len,
                     uint32_t *skip, uint32_t *take)
{
    uint64_t end = dsn + len, start, stop;

    if (skip)
        *skip = 0;
    if (take)
        *take = 0;
    if (len == 0 || mptcp_dsn_leq(end, rcv_nxt))
        return MPTCP_DSN_OLD;
    start = mptcp_dsn_lt(dsn, rcv_nxt) ? rcv_nxt : dsn;
    stop = mptcp_dsn_min(end, edge);
    if (!mptcp_dsn_lt(start, stop))
        return MPTCP_DSN_BEYOND;
    if (skip)
        *skip = (uint32_t)(start - dsn);
    if (take)
        *take = (uint32_t)(stop - start);
    return MPTCP_DSN_IN;
}

/* ------------------------------------------------------------ receive side */

static inline uint32_t ent_end(const mptcp_map_rx_ent *e) { return e->m.ssn + e->len; }

static bool same_map(const mptcp_map *a, const mptcp_map *b)
{
    /* Linux compares DSN, subflow sequence, length and checksum presence;
     * the checksum value of a retransmitted identical mapping is the same
     * or the checksum of the first copy fails, so it is not compared. */
    return a->dsn == b->dsn && a->ssn == b->ssn && a->data_len == b->data_len &&
           a->fin == b->fin && a->has_csum == b->has_csum;
}

static void rx_remove(mptcp_map_rx *rx, unsigned i)
{
    memmove(&rx->ent[i], &rx->ent[i + 1], (size_t)(rx->n - i - 1) * sizeof(rx->ent[0]));
    rx->n--;
}

void mptcp_map_rx_init(mptcp_map_rx *rx, uint32_t irs, bool csum)
{
    memset(rx, 0, sizeof(*rx));
    rx->irs = irs;
    rx->consumed = 1; /* RFC 8684 section 3.3.1: the first data byte is relative 1 */
    rx->fed = 1;
    rx->csum = csum;
}

static int rx_set_linear_rel(mptcp_map_rx *rx, uint32_t s, uint64_t dsn)
{
    unsigned i;

    /* Held bytes at or after |s| must already map where the linear rule
     * puts them: a mapping "MUST NOT change" once in force (section 3.3). */
    for (i = 0; i < rx->n; i++) {
        const mptcp_map_rx_ent *e = &rx->ent[i];
        uint32_t x = mptcp_seq_max(e->m.ssn, s);
        if (!mptcp_seq_lt(x, ent_end(e)))
            continue;
        if (e->m.dsn + (uint32_t)(x - e->m.ssn) != dsn + (uint32_t)(x - s))
            return MPTCP_MAP_ECONFLICT;
    }
    for (i = rx->n; i-- > 0;) {
        mptcp_map_rx_ent *e = &rx->ent[i];
        if (mptcp_seq_geq(e->m.ssn, s)) {
            rx_remove(rx, i);
            continue;
        }
        if (mptcp_seq_gt(ent_end(e), s)) {
            e->len = s - e->m.ssn; /* the rest is linear now, same DSNs */
            e->m.fin = false;
        }
        /* Section 3.7: after the infinite mapping no checksum is checked;
         * a mapping whose verdict is still open is left unchecked. */
        if (e->csum_state == MPTCP_MAP_CSUM_PENDING)
            e->csum_state = MPTCP_MAP_CSUM_NONE;
    }
    rx->linear = true;
    rx->lin_ssn = s;
    rx->lin_dsn = dsn;
    return 0;
}

int mptcp_map_rx_set_linear(mptcp_map_rx *rx, uint32_t seq, uint64_t dsn)
{
    return rx_set_linear_rel(rx, seq - rx->irs, dsn);
}

int mptcp_map_rx_add(mptcp_map_rx *rx, const mptcp_map *m)
{
    uint32_t start = m->ssn, len, end;
    unsigned i, at;
    mptcp_map_rx_ent *e;
    uint8_t w[2];
    int rc;

    /* Section 3.3.1: presence must match what the handshake negotiated;
     * Linux treats a mismatch as an invalid mapping. */
    if (m->has_csum != rx->csum)
        return MPTCP_MAP_ECSUM;
    if (rx->linear)
        return MPTCP_MAP_IGNORED;
    if (m->data_len == 0) {
        rc = rx_set_linear_rel(rx, m->ssn, m->dsn);
        return rc ? rc : MPTCP_MAP_INFINITE;
    }
    /* Section 3.3: a DATA_FIN not attached to data has data-level length 1
     * (and subflow sequence 0); it covers no subflow byte. */
    if (m->fin && m->data_len == 1)
        return MPTCP_MAP_FIN_ONLY;
    len = mptcp_map_payload(m);
    end = start + len;
    if (mptcp_seq_leq(end, rx->consumed))
        return MPTCP_MAP_OLD;
    for (i = 0; i < rx->n; i++) {
        e = &rx->ent[i];
        if (same_map(&e->m, m))
            return MPTCP_MAP_DUP;
        /* Section 3.3.3: the DATA_FIN takes one data-level byte and no
         * subflow byte, so {DSN, SSN, length + 1, F} is the held mapping
         * plus the DATA_FIN (Linux sends the rest of a mapping that way once
         * its DATA_FIN is due, and compares lengths without it). The held
         * entry and its checksum stay as they are (the checksum covers the
         * option as first sent); the caller records the DATA_FIN. */
        if (e->m.dsn == m->dsn && e->m.ssn == m->ssn && e->len == len &&
            e->m.has_csum == m->has_csum)
            return m->fin && !e->m.fin ? MPTCP_MAP_DUP_FIN : MPTCP_MAP_DUP;
    }
    for (i = 0; i < rx->n; i++) {
        e = &rx->ent[i];
        if (mptcp_seq_lt(start, ent_end(e)) && mptcp_seq_lt(e->m.ssn, end))
            return MPTCP_MAP_ECONFLICT;
    }
    /* With checksums the whole mapping must still be summable: bytes of it
     * that already went by unmapped cannot be verified any more (Linux
     * rejects a mapping that arrives after its bytes). */
    if (rx->csum && mptcp_seq_lt(start, rx->fed))
        return MPTCP_MAP_ECONFLICT;
    if (rx->n == MPTCP_MAP_RX_MAX)
        return MPTCP_MAP_EFULL;
    for (at = 0; at < rx->n && mptcp_seq_lt(rx->ent[at].m.ssn, start); at++)
        ;
    memmove(&rx->ent[at + 1], &rx->ent[at], (size_t)(rx->n - at) * sizeof(rx->ent[0]));
    rx->n++;
    e = &rx->ent[at];
    memset(e, 0, sizeof(*e));
    e->m = *m;
    e->len = len;
    if (rx->csum) {
        /* Summing the received checksum in its place in the pseudo-header
         * makes a correct mapping fold to zero (as Linux starts
         * map_data_csum from the option's value). */
        e->sum = mptcp_dss_csum_begin(m->dsn, m->ssn, m->data_len);
        mptcp_put_be16(w, m->csum);
        e->sum = mptcp_csum_add(e->sum, w, sizeof(w), 0);
        e->csum_state = MPTCP_MAP_CSUM_PENDING;
    }
    return MPTCP_MAP_ADDED;
}

int mptcp_map_rx_add_dss(mptcp_map_rx *rx, const mptcp_opt_dss *o, uint64_t rcv_nxt,
                         mptcp_map *out)
{
    mptcp_map m;

    memset(&m, 0, sizeof(m));
    m.dsn = mptcp_dsn_expand_opt(rcv_nxt, o->dsn, o->dsn64);
    m.ssn = o->ssn;
    m.data_len = o->data_len;
    m.fin = o->fin;
    m.has_csum = o->has_csum;
    m.csum = o->csum;
    if (out)
        *out = m;
    return mptcp_map_rx_add(rx, &m);
}

/* Index of the held mapping covering relative sequence |s|, or -1. */
static int rx_find(const mptcp_map_rx *rx, uint32_t s)
{
    unsigned i;
    for (i = 0; i < rx->n; i++)
        if (mptcp_seq_geq(s, rx->ent[i].m.ssn) && mptcp_seq_lt(s, ent_end(&rx->ent[i])))
            return (int)i;
    return -1;
}

/* Bytes from |s| (not covered) to the next mapping or linear start. */
static uint32_t rx_gap(const mptcp_map_rx *rx, uint32_t s, uint32_t limit)
{
    unsigned i;
    for (i = 0; i < rx->n; i++)
        if (mptcp_seq_gt(rx->ent[i].m.ssn, s))
            limit = MPTCP_MIN(limit, rx->ent[i].m.ssn - s);
    if (rx->linear && mptcp_seq_gt(rx->lin_ssn, s))
        limit = MPTCP_MIN(limit, rx->lin_ssn - s);
    return limit;
}

uint32_t mptcp_map_rx_csum_feed(mptcp_map_rx *rx, uint32_t seq, const uint8_t *data,
                                uint32_t len)
{
    uint32_t rel = seq - rx->irs, done = 0, covered = 0;

    while (done < len) {
        uint32_t s = rel + done, left = len - done, n, pos;
        int k = rx_find(rx, s);
        mptcp_map_rx_ent *e;

        if (k < 0) {
            if (rx->linear && mptcp_seq_geq(s, rx->lin_ssn)) {
                covered += left; /* linear bytes are not checksummed (3.7) */
                break;
            }
            done += rx_gap(rx, s, left);
            continue;
        }
        e = &rx->ent[k];
        n = MPTCP_MIN(left, ent_end(e) - s);
        covered += n;
        done += n;
        if (e->csum_state != MPTCP_MAP_CSUM_PENDING)
            continue;
        pos = e->m.ssn + e->summed;
        if (mptcp_seq_lt(s, pos)) { /* partly fed before: sum only the new tail */
            uint32_t skip = MPTCP_MIN(n, pos - s);
            s += skip;
            n -= skip;
        }
        if (n == 0 || s != pos)
            continue; /* a gap in feeding: cannot sum; stays pending */
        /* |offset| = bytes already summed: odd chunk sizes chain right. */
        e->sum = mptcp_csum_add(e->sum, data + (s - rel), n, e->summed);
        e->summed += n;
        if (e->summed == e->len) {
            if (mptcp_csum_fold(e->sum) == 0) {
                e->csum_state = MPTCP_MAP_CSUM_OK;
                rx->csum_ok_seen = true;
            } else {
                e->csum_state = MPTCP_MAP_CSUM_BAD;
            }
        }
    }
    if (mptcp_seq_gt(rel + len, rx->fed))
        rx->fed = rel + len;
    return covered;
}

int mptcp_map_rx_get(const mptcp_map_rx *rx, uint32_t seq, uint32_t avail, mptcp_map_piece *p)
{
    uint32_t s = seq - rx->irs;
    int k;

    memset(p, 0, sizeof(*p));
    if (avail == 0)
        return MPTCP_MAP_PIECE_UNMAPPED;
    k = rx_find(rx, s);
    if (k >= 0) {
        const mptcp_map_rx_ent *e = &rx->ent[k];
        uint32_t to_end = ent_end(e) - s;
        p->dsn = e->m.dsn + (uint32_t)(s - e->m.ssn);
        p->len = MPTCP_MIN(avail, to_end);
        if (e->m.fin && p->len == to_end) {
            p->fin = true;
            p->fin_dsn = mptcp_map_fin_dsn(&e->m);
        }
        /* Section 3.3.1: data of a checksummed mapping is not passed up
         * before the whole mapping has been verified. */
        if (e->csum_state == MPTCP_MAP_CSUM_PENDING)
            return MPTCP_MAP_PIECE_WAIT;
        if (e->csum_state == MPTCP_MAP_CSUM_BAD)
            return MPTCP_MAP_PIECE_BAD;
        return MPTCP_MAP_PIECE_OK;
    }
    if (rx->linear && mptcp_seq_geq(s, rx->lin_ssn)) {
        p->dsn = rx->lin_dsn + (uint32_t)(s - rx->lin_ssn);
        p->len = avail;
        return MPTCP_MAP_PIECE_OK;
    }
    p->len = rx_gap(rx, s, avail);
    return MPTCP_MAP_PIECE_UNMAPPED;
}

void mptcp_map_rx_consume(mptcp_map_rx *rx, uint32_t n)
{
    unsigned i;

    rx->consumed += n;
    if (mptcp_seq_lt(rx->fed, rx->consumed))
        rx->fed = rx->consumed;
    for (i = rx->n; i-- > 0;)
        if (mptcp_seq_leq(ent_end(&rx->ent[i]), rx->consumed))
            rx_remove(rx, i);
}

/* --------------------------------------------------------------- send side */

static inline mptcp_map_tx_ent *tx_at(mptcp_map_tx *tx, unsigned i)
{
    return &tx->ent[(tx->head + i) % MPTCP_MAP_TX_MAX];
}

static inline const mptcp_map_tx_ent *tx_at_c(const mptcp_map_tx *tx, unsigned i)
{
    return &tx->ent[(tx->head + i) % MPTCP_MAP_TX_MAX];
}

void mptcp_map_tx_init(mptcp_map_tx *tx, uint32_t iss, bool csum)
{
    memset(tx, 0, sizeof(*tx));
    tx->iss = iss;
    tx->csum = csum;
}

int mptcp_map_tx_add(mptcp_map_tx *tx, uint64_t dsn, uint32_t seq, uint32_t len,
                     const uint8_t *payload)
{
    uint32_t rel = seq - tx->iss;
    mptcp_map_tx_ent *e;

    if (len == 0 || len > 0xffffu || (tx->csum && !payload))
        return MPTCP_EINVAL;
    if (tx->n) {
        e = tx_at(tx, tx->n - 1u);
        if (mptcp_seq_lt(rel, e->ssn + e->len))
            return MPTCP_EINVAL;
        /* One mapping per chunk (Linux: per skb, growing while it is not
         * sent). Once a segment carried it, a mapping never changes, so a
         * retransmission repeats it byte for byte (section 3.3). */
        if (!e->sent && !e->fin && rel == e->ssn + e->len && dsn == e->dsn + e->len &&
            e->len + len <= 0xffffu) {
            if (tx->csum)
                e->paysum = mptcp_csum_add(e->paysum, payload, len, e->len);
            e->len = (uint16_t)(e->len + len);
            return 0;
        }
    }
    if (tx->n == MPTCP_MAP_TX_MAX)
        return MPTCP_ELIMIT;
    e = tx_at(tx, tx->n);
    memset(e, 0, sizeof(*e));
    e->dsn = dsn;
    e->ssn = rel;
    e->len = (uint16_t)len;
    if (tx->csum)
        e->paysum = mptcp_csum_add(0, payload, len, 0);
    tx->n++;
    return 0;
}

int mptcp_map_tx_set_fin(mptcp_map_tx *tx, uint64_t fin_dsn)
{
    mptcp_map_tx_ent *e;

    if (!tx->n)
        return MPTCP_ENOTFOUND;
    e = tx_at(tx, tx->n - 1u);
    if (e->sent || e->fin || e->dsn + e->len != fin_dsn || e->len == 0xffffu)
        return MPTCP_ESTATE;
    e->fin = true;
    return 0;
}

int32_t mptcp_map_tx_for_seg(mptcp_map_tx *tx, uint32_t seq, mptcp_map *out)
{
    uint32_t rel = seq - tx->iss;
    unsigned i;

    /* Newest chunk first: new data is the common case, and the chunks are
     * in subflow order without overlap (mptcp_map_tx_add), so at most one
     * covers |seq| whichever end the search starts from. */
    for (i = tx->n; i-- > 0;) {
        mptcp_map_tx_ent *e = tx_at(tx, i);
        if (!mptcp_seq_geq(rel, e->ssn) || !mptcp_seq_lt(rel, e->ssn + e->len))
            continue;
        memset(out, 0, sizeof(*out));
        out->dsn = e->dsn;
        out->ssn = e->ssn;
        out->data_len = (uint16_t)(e->len + (e->fin ? 1u : 0u));
        out->fin = e->fin;
        out->has_csum = tx->csum;
        if (tx->csum) {
            /* Pseudo-header (16 bytes: even) then the payload's stored
             * partial sum; data_len counts the DATA_FIN (3.3.1). */
            uint32_t sum = mptcp_dss_csum_begin(e->dsn, e->ssn, out->data_len);
            out->csum = mptcp_csum_fold(sum + e->paysum);
        }
        if (!e->sent && (!tx->sent_any || mptcp_seq_geq(e->ssn, tx->sent_end_ssn))) {
            tx->sent_any = true;
            tx->sent_end_ssn = e->ssn + e->len;
            tx->sent_end_dsn = e->dsn + e->len;
        }
        e->sent = true;
        return (int32_t)(e->ssn + e->len - rel);
    }
    return MPTCP_ENOTFOUND;
}

void mptcp_map_tx_fin_only(uint64_t fin_dsn, bool csum, mptcp_map *out)
{
    memset(out, 0, sizeof(*out));
    out->dsn = fin_dsn;
    out->ssn = 0;
    out->data_len = 1;
    out->fin = true;
    out->has_csum = csum;
    if (csum)
        out->csum = mptcp_dss_csum(fin_dsn, 0, 1, NULL, 0);
}

uint32_t mptcp_map_tx_ack(mptcp_map_tx *tx, uint32_t snd_una)
{
    uint32_t rel = snd_una - tx->iss, dropped = 0;

    while (tx->n) {
        const mptcp_map_tx_ent *e = tx_at(tx, 0);
        if (!mptcp_seq_leq(e->ssn + e->len, rel))
            break;
        tx->head = (uint8_t)((tx->head + 1u) % MPTCP_MAP_TX_MAX);
        tx->n--;
        dropped++;
    }
    return dropped;
}

uint32_t mptcp_map_tx_unacked(const mptcp_map_tx *tx, uint32_t snd_una, uint64_t data_una,
                              mptcp_dsn_range *out, uint32_t max)
{
    uint32_t rel = snd_una - tx->iss, cnt = 0;
    unsigned i;

    for (i = 0; i < tx->n; i++) {
        const mptcp_map_tx_ent *e = tx_at_c(tx, i);
        uint32_t from = mptcp_seq_max(e->ssn, rel), end = e->ssn + e->len;
        mptcp_dsn_range r;

        if (!mptcp_seq_lt(from, end))
            continue;
        r.start = e->dsn + (uint32_t)(from - e->ssn);
        r.end = e->dsn + e->len;
        if (mptcp_dsn_leq(r.end, data_una))
            continue;
        if (mptcp_dsn_lt(r.start, data_una))
            r.start = data_una;
        if (cnt && out[cnt - 1].end == r.start) {
            out[cnt - 1].end = r.end;
            continue;
        }
        if (cnt == max)
            break;
        out[cnt++] = r;
    }
    return cnt;
}
