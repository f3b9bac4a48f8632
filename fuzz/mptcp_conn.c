/*
 * mptcp_conn.c - fuzz target for one MPTCP connection (mptcp.h section 5,
 * RFC 8684) against a scripted peer built with the public codec. The input
 * is a script: a configuration; the MP_CAPABLE handshake (3.1) with the
 * peer's key from the input (checksums on or off, the third ACK with or
 * without data); 0..3 MP_JOIN subflows (3.2) with HMACs computed by
 * mptcp_join_hmac/_thmac so they really establish (or broken on purpose);
 * then up to 250 steps: time, honest peer data (DSS mappings with correct
 * checksums, 3.3), retransmissions of mapped ranges, structured segments on
 * any subflow carrying fuzzed MPTCP options (DSS mappings near the peer's
 * DSN, DATA_ACKs near our snd_una/snd_nxt, DATA_FIN, infinite mappings,
 * wrong checksums, ADD_ADDR with good/bad HMAC, REMOVE_ADDR, MP_PRIO,
 * MP_FAIL, MP_FASTCLOSE with the right/wrong key, MP_TCPRST, handshake
 * options out of place, options parsed from raw input bytes), raw
 * segments, app send/recv/shutdown/close/abort and path-manager calls.
 * Invariants, after every step: every emitted segment parses with a valid
 * TCP checksum, no malformed or form-mismatched option, and the payload
 * bytes it maps (DSS or MP_CAPABLE data) are the app's bytes at those DSNs
 * (never beyond what the app gave), a DSS checksum over a complete mapping
 * is right; bytes the app reads are the peer's bytes at their DSNs (peer
 * payload is a fixed function of the DSN; checked while the peer never
 * mapped one subflow byte to two DSNs, sent unmapped or raw bytes, a wrong
 * checksum or an infinite mapping, and no fallback happened); data-level
 * snd_una <= snd_nxt <= app bytes (+ DATA_FIN), rcv_nxt covers what was
 * read; events follow the API contract; mptcp_next_timeout is in the future
 * after mptcp_handle_timeout; no leak after mptcp_stack_free (counting
 * allocator). Uses only mptcp.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_host.h"
#include "fuzz_input.h"
#include "mptcp.h"

#define MAX_STEPS 250
#define MAX_PSF 6      /* peer subflows */
#define MAX_CLAIMS 48  /* mappings remembered per subflow */
#define LISTEN_PORT 80
#define PEER_PORT 40000
#define MAX_EXTRA 64

/* ------------------------------------------------------------ streams */

static uint8_t mix8(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x9e3779b97f4a7c15ull;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 32;
    return (uint8_t)x;
}

/* The peer's data byte at absolute DSN |dsn|. */
static uint8_t peer_dbyte(uint64_t dsn) { return mix8(dsn ^ 0x1234567890abcdefull); }
/* Byte |k| of our app's stream. */
static uint8_t app_byte(uint64_t k) { return mix8(k * 3 + 0x55aa55aa55aa55aaull); }
/* Bytes of payload nobody mapped. */
static uint8_t junk_byte(uint32_t seq) { return mix8((uint64_t)seq << 7 | 0x77); }

static bool s_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }

/* ------------------------------------------------------------ harness state */

typedef struct claim {
    uint32_t seq;  /* absolute peer subflow sequence */
    uint32_t len;
    uint64_t dsn;
} claim;

typedef struct psf {
    bool used, syn_acked, est, dead;
    bool join, stack_join;
    uint8_t addr_idx, lidx;
    uint16_t sport, dport;
    uint32_t iss, snd_nxt;   /* the peer's subflow sequence */
    uint32_t irs;            /* the stack's ISN (from its SYN/ACK) */
    uint32_t rcv_max;        /* end of the highest stack segment seen */
    bool fin_seen;
    uint32_t ts_recent;      /* last TSval the stack sent */
    uint32_t nonce, stack_nonce;
    uint64_t stack_thmac;
    bool got_synack;
    claim cl[MAX_CLAIMS];
    unsigned ncl, clpos;
    /* the stack's latest mapping on this subflow */
    bool smap;
    uint64_t smap_dsn;
    uint32_t smap_seq, smap_len;
} psf;

typedef struct harness {
    fuzz_input in;
    mptcp_stack *st;
    mptcp_config cfg;
    uint64_t rng;
    fuzz_alloc mem;      /* counting allocator (cfg.alloc.user) */
    uint64_t now;
    mptcp_addr local[2], peer[4];
    /* the connection */
    mptcp_conn *c;
    bool host, host_closed, closed_ev, eof;
    bool recv_in_cb;
    bool in_app;         /* inside an app call: the callback must not read */
    uint64_t app_sent, app_read, offering;
    bool tainted;        /* peer data no longer a function of the DSN */
    bool out_tainted;    /* a fallback: emitted bytes no longer mapped */
    /* keys */
    uint64_t pkey, lkey;
    bool have_lkey;
    uint16_t lkey_sport, lkey_dport; /* the SYN/ACK that carried lkey */
    uint32_t lkey_isn;
    uint32_t ptoken, ltoken;
    uint64_t pidsn, lidsn;
    bool csum;           /* peer believes checksums are on */
    bool peer_ts, peer_sack;
    uint8_t peer_ws;
    uint64_t pdsn_next;  /* next new peer DSN (absolute) */
    bool pfin_sent;
    uint64_t pfin_dsn;
    uint64_t sdsn_max;   /* end of the stack's highest mapped byte (+ DATA_FIN) */
    psf sf[MAX_PSF];
    unsigned nsf;
    uint32_t ts_off;
    mptcp_conn *extra[MAX_EXTRA]; /* other connections, aborted when accepted */
    unsigned n_extra;
    uint8_t rbuf[65536];
} harness;

static harness H;

/* Peer data stops being checkable from here on (trace says where). */
#define TAINT(h)                                                                \
    do {                                                                        \
        if (!(h)->tainted && getenv("MPTCP_FUZZ_TRACE"))                        \
            fprintf(stderr, "tainted at line %d\n", __LINE__);                  \
        (h)->tainted = true;                                                    \
    } while (0)

static psf *psf_new(harness *h, uint8_t addr_idx, uint16_t sport, uint32_t iss);

/* ------------------------------------------------------------ callbacks */

static void cb_random(void *user, uint8_t *out, size_t len)
{
    harness *h = user;
    fuzz_random_fill(&h->rng, out, len);
}

static bool ip_eq(const mptcp_addr *a, const mptcp_addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, 16) == 0;
}

static psf *psf_by_ports(harness *h, uint16_t stack_port, uint16_t peer_port)
{
    for (unsigned i = 0; i < h->nsf; i++)
        if (h->sf[i].used && h->sf[i].sport == peer_port && h->sf[i].dport == stack_port)
            return &h->sf[i];
    return NULL;
}

/* 64-bit value with low 32 bits |v| closest to |ref|. */
static uint64_t expand32(uint64_t ref, uint32_t v)
{
    uint64_t x = (ref & ~0xffffffffull) | v;
    if (x > ref && x - ref > 0x80000000ull && x >= 0x100000000ull)
        x -= 0x100000000ull;
    else if (x < ref && ref - x > 0x80000000ull)
        x += 0x100000000ull;
    return x;
}

static void check_out_bytes(harness *h, uint64_t dsn, const uint8_t *p, size_t n)
{
    if (!h->have_lkey || h->out_tainted)
        return;
    uint64_t k = dsn - (h->lidsn + 1);
    uint64_t sent = h->app_sent + h->offering;
    FUZZ_CHECK(dsn >= h->lidsn + 1 && k + n <= sent,
               "segment maps app bytes [%llu, +%zu) but the app sent %llu",
               (unsigned long long)k, n, (unsigned long long)sent);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(p[i] == app_byte(k + i), "sent byte at data offset %llu is wrong",
                   (unsigned long long)(k + i));
}

static void cb_send(void *user, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                    size_t len)
{
    harness *h = user;
    static mptcp_seg s;
    FUZZ_CHECK(mptcp_seg_parse(seg, len, &s) == 0, "emitted segment does not parse");
    FUZZ_CHECK(mptcp_tcp_csum_ok(seg, len, src, dst), "emitted segment has a bad checksum");
    FUZZ_CHECK(s.opts.bad == 0 && s.n_unknown == 0, "emitted TCP options bad %#x",
               s.opts.bad);
    FUZZ_CHECK(len <= 60 + (size_t)h->cfg.mss, "segment of %zu bytes, mss %u", len, h->cfg.mss);
    const uint16_t f = s.hdr.flags;
    FUZZ_CHECK(!((f & MPTCP_TH_SYN) && (f & (MPTCP_TH_FIN | MPTCP_TH_RST))), "flags %#x", f);
    const mptcp_opt *dss = NULL, *mpc = NULL;
    for (unsigned i = 0; i < s.n_mptcp; i++) {
        FUZZ_CHECK(s.mptcp[i].err == 0, "emitted MPTCP option %u (subtype %u) err %d", i,
                   s.mptcp[i].subtype, s.mptcp[i].err);
        const mptcp_opt *o = &s.mptcp[i].opt;
        if (o->form == MPTCP_OPT_DSS) {
            FUZZ_CHECK(dss == NULL, "two DSS options");
            dss = o;
        }
        if (o->form >= MPTCP_OPT_MPC_SYN && o->form <= MPTCP_OPT_MPC_V0_ACK)
            mpc = o;
        if (o->form == MPTCP_OPT_MPC_SYNACK && !h->have_lkey) {
            h->lkey = o->u.mpc.snd_key;
            h->have_lkey = true;
            h->lkey_sport = s.hdr.sport;
            h->lkey_dport = s.hdr.dport;
            h->lkey_isn = s.hdr.seq;
            mptcp_key_derive(1, h->lkey, &h->ltoken, &h->lidsn);
        }
        /* Retransmissions of that SYN/ACK repeat the key. (A SYN with
         * MP_CAPABLE on a 4-tuple the stack holds no TCB for any more opens
         * a new connection, rightly with a key and an ISN of its own.) */
        if (o->form == MPTCP_OPT_MPC_SYNACK && h->have_lkey && s.hdr.sport == h->lkey_sport &&
            s.hdr.dport == h->lkey_dport && s.hdr.seq == h->lkey_isn)
            FUZZ_CHECK(o->u.mpc.snd_key == h->lkey, "the key changed");
    }
    FUZZ_CHECK(ip_eq(dst, &h->peer[0]) || ip_eq(dst, &h->peer[1]) || ip_eq(dst, &h->peer[2]) ||
                   ip_eq(dst, &h->peer[3]),
               "segment to an unknown address");
    psf *p = psf_by_ports(h, s.hdr.sport, s.hdr.dport);
    if (p == NULL && f == MPTCP_TH_SYN && s.n_mptcp &&
        s.mptcp[0].opt.form == MPTCP_OPT_JOIN_SYN && h->nsf < MAX_PSF) {
        /* The stack joins towards us: the peer side of that subflow. */
        FUZZ_CHECK(s.mptcp[0].opt.u.join.token == h->ptoken, "MP_JOIN SYN with a wrong token");
        uint8_t ai = 0;
        for (uint8_t k = 0; k < 4; k++)
            if (ip_eq(dst, &h->peer[k]))
                ai = k;
        p = psf_new(h, ai, s.hdr.dport, 0x40000000u * h->nsf + 777u);
        p->dport = s.hdr.sport;
        p->lidx = ip_eq(src, &h->local[1]) ? 1 : 0;
        p->join = p->stack_join = true;
        p->nonce = (uint32_t)fuzz_splitmix(&h->rng);
        p->stack_nonce = s.mptcp[0].opt.u.join.nonce;
        p->irs = s.hdr.seq;
        return;
    }
    if (p == NULL)
        return; /* RST replies, or joins we did not open */
    for (unsigned i = 0; i < s.n_mptcp; i++) {
        const mptcp_opt *o = &s.mptcp[i].opt;
        if (o->form == MPTCP_OPT_JOIN_ACK && p->stack_join) {
            uint8_t want[20];
            mptcp_join_hmac(1, h->lkey, h->pkey, p->stack_nonce, p->nonce, want);
            FUZZ_CHECK(memcmp(want, o->u.join.hmac, 20) == 0, "MP_JOIN third ACK HMAC wrong");
            p->est = true;
        }
        if (o->form == MPTCP_OPT_ADD_ADDR && !o->u.add_addr.echo && h->have_lkey)
            FUZZ_CHECK(o->u.add_addr.hmac == mptcp_add_addr_hmac(h->lkey, h->pkey,
                                                                 o->u.add_addr.addr_id,
                                                                 &o->u.add_addr.addr),
                       "ADD_ADDR HMAC wrong");
    }
    if (f & MPTCP_TH_SYN) {
        p->irs = s.hdr.seq;
        p->rcv_max = s.hdr.seq + 1;
        p->got_synack = (f & MPTCP_TH_ACK) != 0;
        for (unsigned i = 0; i < s.n_mptcp; i++) {
            const mptcp_opt *o = &s.mptcp[i].opt;
            if (o->form == MPTCP_OPT_JOIN_SYNACK) {
                p->stack_nonce = o->u.join.nonce;
                p->stack_thmac = o->u.join.thmac;
            }
        }
    } else if (p->got_synack) {
        uint32_t end = s.hdr.seq + (uint32_t)s.payload_len + ((f & MPTCP_TH_FIN) ? 1u : 0u);
        if (s_lt(p->rcv_max, end) && (int32_t)(end - p->irs) > 0)
            p->rcv_max = end;
        if (f & MPTCP_TH_FIN)
            p->fin_seen = true;
    }
    if (s.opts.present & MPTCP_TCPO_TS)
        p->ts_recent = s.opts.ts_val;
    const uint8_t *pl = seg + s.payload_off;
    uint32_t rel = s.hdr.seq - p->irs;
    if (dss && dss->u.dss.has_map) {
        uint64_t dsn = dss->u.dss.dsn;
        if (h->have_lkey && !dss->u.dss.dsn64)
            dsn = expand32(h->lidsn + 1 + h->app_sent, (uint32_t)dsn);
        if (dss->u.dss.data_len == 0) {
            p->smap = false; /* infinite mapping: fallback */
            h->out_tainted = true;
        } else {
            p->smap = true;
            p->smap_dsn = dsn;
            p->smap_seq = dss->u.dss.ssn;
            p->smap_len = dss->u.dss.data_len;
            uint64_t end = dsn + dss->u.dss.data_len + (dss->u.dss.fin ? 1u : 0u);
            if (end > h->sdsn_max)
                h->sdsn_max = end;
            if (dss->u.dss.has_csum && s.payload_len == dss->u.dss.data_len &&
                rel == dss->u.dss.ssn && !dss->u.dss.fin)
                FUZZ_CHECK(mptcp_dss_csum(dsn, dss->u.dss.ssn, dss->u.dss.data_len, pl,
                                          s.payload_len) == dss->u.dss.csum,
                           "emitted DSS checksum wrong");
        }
    } else if (mpc && mpc->form == MPTCP_OPT_MPC_DATA && h->have_lkey) {
        p->smap = true;
        p->smap_dsn = h->lidsn + 1;
        p->smap_seq = 1;
        p->smap_len = mpc->u.mpc.data_len;
    }
    if (s.payload_len && p->smap) {
        /* The part of the payload its mapping covers. */
        for (size_t i = 0; i < s.payload_len; i++) {
            uint32_t r = rel + (uint32_t)i;
            if (r - p->smap_seq < p->smap_len)
                check_out_bytes(h, p->smap_dsn + (r - p->smap_seq), pl + i, 1);
        }
    }
}

static void check_read(harness *h, const uint8_t *p, size_t n)
{
    FUZZ_CHECK(!h->eof, "data after end of stream");
    mptcp_mp_stats m;
    if (h->c && mptcp_conn_get_mp_stats(h->c, &m) == 0 && (!m.mptcp || m.fallback))
        TAINT(h); /* plain TCP: bytes follow subflow order, not the peer's DSNs */
    if (!h->tainted) {
        uint64_t base = h->pidsn + 1 + h->app_read;
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(p[i] == peer_dbyte(base + i),
                       "read byte %llu is %#x, the peer sent %#x at that DSN",
                       (unsigned long long)(h->app_read + i), p[i], peer_dbyte(base + i));
    }
    h->app_read += n;
}

static void cb_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    harness *h = user;
    FUZZ_CHECK(ev->type >= MPTCP_EV_CONNECTED && ev->type < MPTCP_EV_TYPE_COUNT, "event type %d",
               ev->type);
    if (ev->type == MPTCP_EV_ACCEPTED) {
        if (h->c != NULL || h->closed_ev) {
            /* A SYN from the fuzzed segments opened another one: not ours
             * to drive, abort it. */
            FUZZ_CHECK(h->n_extra < MAX_EXTRA, "too many extra connections");
            h->extra[h->n_extra++] = c;
            FUZZ_CHECK(mptcp_abort(c, h->now) == 0, "abort of an extra connection");
            return;
        }
        h->c = c;
        h->host = true;
        return;
    }
    if (c != h->c) {
        bool known = false;
        for (unsigned i = 0; i < h->n_extra; i++)
            known |= h->extra[i] == c;
        FUZZ_CHECK(known && ev->type == MPTCP_EV_CLOSED,
                   "event %d for a connection the host does not hold", ev->type);
        return;
    }
    FUZZ_CHECK(h->host, "event %d after CLOSED", ev->type);
    if (ev->type == MPTCP_EV_CLOSED) {
        h->host = false;
        h->closed_ev = true;
        h->c = NULL;
        return;
    }
    FUZZ_CHECK(!h->host_closed, "event %d after close", ev->type);
    if (ev->type == MPTCP_EV_FALLBACK) {
        TAINT(h);
        h->out_tainted = true;
    }
    if (ev->type == MPTCP_EV_MP_FAIL)
        h->out_tainted = true;
    FUZZ_CHECK(mptcp_handle_timeout(h->st, h->now) == MPTCP_EBUSY, "handle_timeout in callback");
    if (ev->type == MPTCP_EV_READABLE && h->recv_in_cb && !h->in_app) {
        mptcp_ssize n = mptcp_recv(c, h->rbuf, sizeof h->rbuf, h->now);
        if (n > 0)
            check_read(h, h->rbuf, (size_t)n);
    }
}

/* ------------------------------------------------------------ invariants */

static void run_timers(harness *h)
{
    uint64_t due = mptcp_next_timeout(h->st);
    if (due <= h->now) {
        FUZZ_CHECK(mptcp_handle_timeout(h->st, h->now) == 0, "handle_timeout");
        uint64_t nt = mptcp_next_timeout(h->st);
        FUZZ_CHECK(nt > h->now, "next timeout %llu not after now %llu", (unsigned long long)nt,
                   (unsigned long long)h->now);
    }
}

/* MPTCP_FUZZ_TRACE=1 in the environment prints the connection after every
 * step (for reading what a seed does). */
static void trace(harness *h, const char *what)
{
    static int on = -1;
    if (on < 0)
        on = getenv("MPTCP_FUZZ_TRACE") != NULL;
    if (!on)
        return;
    mptcp_mp_stats m;
    memset(&m, 0, sizeof m);
    if (h->c && h->host)
        mptcp_conn_get_mp_stats(h->c, &m);
    fprintf(stderr,
            "%-8s t=%llu conn=%d mp=%d fb=%d fe=%d sf=%u snd=%llu/%llu rcv=%llu sent=%llu "
            "read=%llu psf=%u taint=%d/%d joins_in=%u bad=%u\n",
            what, (unsigned long long)h->now, h->c != NULL, m.mptcp, m.fallback,
            m.fully_established, m.n_subflows,
            (unsigned long long)(m.snd_una - h->lidsn - 1),
            (unsigned long long)(m.snd_nxt - h->lidsn - 1),
            (unsigned long long)(m.rcv_nxt - h->pidsn - 1), (unsigned long long)h->app_sent,
            (unsigned long long)h->app_read, h->nsf, h->tainted, h->out_tainted, m.joins_in,
            m.join_bad_hmac);
}

static void check_all(harness *h)
{
    if (h->c == NULL || !h->host)
        return;
    mptcp_mp_stats m;
    FUZZ_CHECK(mptcp_conn_get_mp_stats(h->c, &m) == 0, "get_mp_stats");
    int ids[16];
    int n = mptcp_conn_subflows(h->c, ids, 16);
    FUZZ_CHECK(n >= 0 && n <= 8, "%d subflows", n);
    for (int i = 0; i < n && i < 16; i++) {
        mptcp_subflow_stats ss;
        FUZZ_CHECK(mptcp_subflow_get_stats(h->c, ids[i], &ss) == 0, "subflow %d stats", ids[i]);
        FUZZ_CHECK(ss.id == ids[i], "subflow id %d != %d", ss.id, ids[i]);
    }
    if (!m.mptcp || m.fallback || !h->have_lkey)
        return;
    FUZZ_CHECK(m.local_token == h->ltoken, "local token changed");
    FUZZ_CHECK(m.snd_una <= m.snd_nxt, "data snd_una %llu > snd_nxt %llu",
               (unsigned long long)m.snd_una, (unsigned long long)m.snd_nxt);
    FUZZ_CHECK(m.snd_una >= h->lidsn + 1 &&
                   m.snd_nxt - (h->lidsn + 1) <= h->app_sent + 1,
               "data snd_nxt %llu beyond the app's %llu bytes (idsn %llu)",
               (unsigned long long)m.snd_nxt, (unsigned long long)h->app_sent,
               (unsigned long long)h->lidsn);
    if (m.fully_established && !h->tainted)
        FUZZ_CHECK(m.remote_token == h->ptoken && m.rcv_nxt >= h->pidsn + 1 + h->app_read,
                   "data rcv_nxt %llu behind what was read (%llu)",
                   (unsigned long long)m.rcv_nxt, (unsigned long long)h->app_read);
}

/* ------------------------------------------------------------ the peer */

typedef struct pseg {
    psf *p;
    uint16_t flags, window;
    uint32_t seq, ack;
    mptcp_tcp_opts opts;
    mptcp_opt mo[3];
    unsigned nmo;
    uint32_t plen;
    bool bad_csum;
} pseg;

static void advance(harness *h, uint64_t dt) { h->now += dt; }

static uint32_t peer_tsval(const harness *h) { return (uint32_t)(h->now / 1000) + h->ts_off; }

static pseg pbase(harness *h, psf *p, uint16_t flags)
{
    pseg s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.flags = flags;
    s.window = 65535;
    s.seq = p->snd_nxt;
    s.ack = p->rcv_max;
    if (h->peer_ts) {
        s.opts.present |= MPTCP_TCPO_TS;
        s.opts.ts_val = peer_tsval(h);
        s.opts.ts_ecr = p->ts_recent;
    }
    return s;
}

/* Remembers that subflow bytes [seq, seq+len) carry DSNs from |dsn| on; a
 * byte mapped to two different DSNs breaks the read check. */
static void claim_add(harness *h, psf *p, uint32_t seq, uint32_t len, uint64_t dsn)
{
    if (len == 0)
        return;
    for (unsigned i = 0; i < p->ncl; i++) {
        claim *c = &p->cl[i];
        uint32_t lo = seq - c->seq; /* overlap test in sequence space */
        bool overlap = lo < c->len || (c->seq - seq) < len;
        if (overlap && dsn - seq != c->dsn - c->seq)
            TAINT(h);
    }
    claim *c = &p->cl[p->clpos];
    p->clpos = (p->clpos + 1) % MAX_CLAIMS;
    if (p->ncl < MAX_CLAIMS)
        p->ncl++;
    c->seq = seq, c->len = len, c->dsn = dsn;
}

/* The DSN the peer mapped subflow byte |seq| to (the latest claim). */
static bool claim_find(const psf *p, uint32_t seq, uint64_t *dsn)
{
    for (unsigned k = 0; k < p->ncl; k++) {
        const claim *c = &p->cl[(p->clpos + MAX_CLAIMS - 1 - k) % MAX_CLAIMS];
        if (seq - c->seq < c->len) {
            *dsn = c->dsn + (seq - c->seq);
            return true;
        }
    }
    return false;
}

/* The 64-bit DSN a peer mapping means (the 32-bit form near the peer's
 * next DSN, as the receiver expands it, RFC 8684 section 3.3). */
static uint64_t full_dsn(const harness *h, const mptcp_opt_dss *d)
{
    return d->dsn64 ? d->dsn : expand32(h->pdsn_next, (uint32_t)d->dsn);
}

static void peer_send(harness *h, pseg *s)
{
    static uint8_t pl[4096], seg[4096 + 64];
    psf *p = s->p;
    uint32_t plen = s->plen > sizeof pl ? (uint32_t)sizeof pl : s->plen;
    uint32_t first = s->seq + ((s->flags & MPTCP_TH_SYN) ? 1u : 0u);
    for (unsigned i = 0; i < s->nmo; i++) {
        const mptcp_opt *o = &s->mo[i];
        if (o->form == MPTCP_OPT_DSS && o->u.dss.has_map && o->u.dss.data_len)
            claim_add(h, p, p->iss + o->u.dss.ssn, o->u.dss.data_len, full_dsn(h, &o->u.dss));
        if (o->form == MPTCP_OPT_MPC_DATA)
            claim_add(h, p, p->iss + 1, o->u.mpc.data_len, h->pidsn + 1);
    }
    for (uint32_t i = 0; i < plen; i++) {
        uint64_t dsn;
        if (claim_find(p, first + i, &dsn)) {
            pl[i] = peer_dbyte(dsn);
        } else {
            pl[i] = junk_byte(first + i);
            TAINT(h);
        }
    }
    /* Checksums asked for as "right" are computed over the real payload. */
    for (unsigned i = 0; i < s->nmo; i++) {
        mptcp_opt *o = &s->mo[i];
        if (o->form == MPTCP_OPT_DSS && o->u.dss.has_map && o->u.dss.has_csum &&
            o->u.dss.csum == 0 && o->u.dss.data_len == plen && p->iss + o->u.dss.ssn == first)
            o->u.dss.csum = mptcp_dss_csum(full_dsn(h, &o->u.dss), o->u.dss.ssn, o->u.dss.data_len, pl, plen);
        if (o->form == MPTCP_OPT_MPC_DATA && o->u.mpc.has_csum && o->u.mpc.data_len == plen)
            o->u.mpc.csum = mptcp_dss_csum(h->pidsn + 1, 1, (uint16_t)plen, pl, plen);
    }
    mptcp_seg_spec sp;
    memset(&sp, 0, sizeof sp);
    sp.hdr.sport = p->sport;
    sp.hdr.dport = p->dport;
    sp.hdr.seq = s->seq;
    sp.hdr.ack = s->ack;
    sp.hdr.flags = s->flags;
    sp.hdr.window = s->window;
    sp.opts = s->opts;
    sp.mptcp = s->mo;
    sp.n_mptcp = s->nmo;
    sp.payload = pl;
    sp.payload_len = plen;
    mptcp_addr src = h->peer[p->addr_idx], dst = h->local[p->lidx];
    src.port = p->sport;
    dst.port = p->dport;
    mptcp_ssize n = mptcp_seg_write(seg, sizeof seg, &sp, &src, &dst);
    if (n < 0) {
        sp.opts.present &= MPTCP_TCPO_TS;
        n = mptcp_seg_write(seg, sizeof seg, &sp, &src, &dst);
    }
    if (n < 0) {
        sp.n_mptcp = sp.n_mptcp ? 1 : 0;
        n = mptcp_seg_write(seg, sizeof seg, &sp, &src, &dst);
    }
    if (n < 0) {
        sp.n_mptcp = 0;
        if (plen)
            TAINT(h);
        n = mptcp_seg_write(seg, sizeof seg, &sp, &src, &dst);
    }
    FUZZ_CHECK(n >= 20, "mptcp_seg_write failed: %d", (int)n);
    if (s->bad_csum)
        seg[16] ^= 0x5a;
    uint32_t end = first + plen + ((s->flags & MPTCP_TH_FIN) ? 1u : 0u);
    if (!(s->flags & MPTCP_TH_RST) && s_lt(p->snd_nxt, end) && (end - p->snd_nxt) < 0x10000)
        p->snd_nxt = end;
    FUZZ_CHECK(mptcp_input(h->st, &src, &dst, seg, (size_t)n, h->now) == 0, "mptcp_input");
}

static mptcp_opt dss_opt(void)
{
    mptcp_opt o;
    memset(&o, 0, sizeof o);
    o.form = MPTCP_OPT_DSS;
    return o;
}

static mptcp_opt dss_ack_opt(harness *h)
{
    mptcp_opt o = dss_opt();
    o.u.dss.has_ack = o.u.dss.ack64 = true;
    o.u.dss.data_ack = h->sdsn_max ? h->sdsn_max : h->lidsn + 1;
    return o;
}

static psf *pick_psf(harness *h, uint8_t sel, bool est)
{
    unsigned n = 0;
    for (unsigned i = 0; i < h->nsf; i++)
        n += h->sf[i].used && (!est || h->sf[i].est);
    if (n == 0)
        return NULL;
    unsigned k = sel % n;
    for (unsigned i = 0; i < h->nsf; i++)
        if (h->sf[i].used && (!est || h->sf[i].est) && k-- == 0)
            return &h->sf[i];
    return NULL;
}

/* New peer data: one DSS mapping for exactly this payload. */
static void peer_data(harness *h, psf *p, uint32_t len, uint8_t bits)
{
    if (len == 0)
        len = 1;
    if (len > h->cfg.mss)
        len = h->cfg.mss;
    pseg s = pbase(h, p, MPTCP_TH_ACK | ((bits & 1) ? MPTCP_TH_PSH : 0));
    mptcp_opt o = dss_ack_opt(h);
    o.u.dss.has_ack = (bits & 2) == 0;
    o.u.dss.has_map = true;
    o.u.dss.dsn64 = (bits & 4) == 0;
    o.u.dss.dsn = o.u.dss.dsn64 ? h->pdsn_next : (h->pdsn_next & 0xffffffffu);
    o.u.dss.ssn = s.seq - p->iss;
    o.u.dss.data_len = (uint16_t)len;
    o.u.dss.has_csum = h->csum;
    if ((bits & 8) && (!h->pfin_sent || h->pfin_dsn == h->pdsn_next + len)) {
        o.u.dss.fin = true;
        h->pfin_sent = true;
        h->pfin_dsn = h->pdsn_next + len;
    }
    if (h->pfin_sent && h->pdsn_next + len > h->pfin_dsn)
        TAINT(h); /* data past the peer's own DATA_FIN */
    s.mo[0] = o;
    s.nmo = 1;
    s.plen = len;
    h->pdsn_next += len;
    peer_send(h, &s);
}

/* ------------------------------------------------------------ handshakes */

static psf *psf_new(harness *h, uint8_t addr_idx, uint16_t sport, uint32_t iss)
{
    if (h->nsf >= MAX_PSF)
        return NULL;
    psf *p = &h->sf[h->nsf++];
    memset(p, 0, sizeof *p);
    p->used = true;
    p->addr_idx = addr_idx & 3;
    p->lidx = addr_idx & 1;
    p->sport = sport;
    p->dport = LISTEN_PORT;
    p->iss = iss;
    p->snd_nxt = iss;
    return p;
}

static mptcp_tcp_opts syn_opts(harness *h, uint16_t mss)
{
    mptcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = MPTCP_TCPO_MSS;
    o.mss = mss;
    if (h->peer_ws < 15) {
        o.present |= MPTCP_TCPO_WSCALE;
        o.wscale = h->peer_ws;
    }
    if (h->peer_sack)
        o.present |= MPTCP_TCPO_SACK_PERM;
    if (h->peer_ts) {
        o.present |= MPTCP_TCPO_TS;
        o.ts_val = peer_tsval(h);
    }
    return o;
}

static void setup_mpc(harness *h)
{
    fuzz_input *in = &h->in;
    uint8_t b = take_u8(in);
    uint16_t mss = (uint16_t)(200 + take_u16(in) % 1300);
    uint32_t iss = take_u32(in);
    uint16_t d0 = (uint16_t)(take_u8(in) * 4);
    psf *p = psf_new(h, 0, PEER_PORT, iss);
    pseg s = pbase(h, p, MPTCP_TH_SYN);
    s.opts = syn_opts(h, mss);
    s.seq = iss;
    s.ack = 0;
    s.mo[0].form = MPTCP_OPT_MPC_SYN;
    s.mo[0].u.mpc.version = 1;
    s.mo[0].u.mpc.flags = MPTCP_MPC_H | ((b & 1) ? MPTCP_MPC_A : 0) | ((b & 2) ? MPTCP_MPC_C : 0);
    s.nmo = (b & 0x80) ? 0 : 1; /* 0x80: plain TCP peer */
    peer_send(h, &s);
    h->csum = h->have_lkey && ((b & 1) || h->cfg.checksum);
    if (!p->got_synack)
        return;
    p->syn_acked = true;
    advance(h, 1000);
    s = pbase(h, p, MPTCP_TH_ACK);
    s.mo[0].form = MPTCP_OPT_MPC_ACK;
    s.mo[0].u.mpc.version = 1;
    s.mo[0].u.mpc.flags = MPTCP_MPC_H | (h->csum ? MPTCP_MPC_A : 0);
    s.mo[0].u.mpc.snd_key = h->pkey;
    s.mo[0].u.mpc.rcv_key = h->lkey;
    s.nmo = h->have_lkey && !(b & 0x80) ? 1 : 0;
    if (s.nmo && (b & 4) && d0) {
        /* third ACK with data (RFC 8684 3.1: MP_CAPABLE with data length) */
        if (d0 > h->cfg.mss)
            d0 = h->cfg.mss;
        s.mo[0].form = MPTCP_OPT_MPC_DATA;
        s.mo[0].u.mpc.data_len = d0;
        s.mo[0].u.mpc.has_csum = h->csum;
        s.flags |= MPTCP_TH_PSH;
        s.plen = d0;
        h->pdsn_next += d0;
    }
    peer_send(h, &s);
    p->est = true;
}

/* A join from peer address |k|: SYN, check the stack's truncated HMAC,
 * third ACK with our HMAC (broken on request), then the stack's fourth
 * ACK makes it usable (RFC 8684 3.2). */
static void setup_join(harness *h)
{
    fuzz_input *in = &h->in;
    uint8_t b = take_u8(in);
    uint32_t iss = take_u32(in);
    uint32_t nonce = take_u32(in);
    if (!h->have_lkey || h->nsf >= MAX_PSF)
        return;
    psf *p = psf_new(h, (uint8_t)(1 + b % 3), (uint16_t)(PEER_PORT + h->nsf), iss);
    p->join = true;
    p->nonce = nonce;
    pseg s = pbase(h, p, MPTCP_TH_SYN);
    s.opts = syn_opts(h, 1400);
    s.seq = iss;
    s.ack = 0;
    s.mo[0].form = MPTCP_OPT_JOIN_SYN;
    s.mo[0].u.join.backup = (b & 8) != 0;
    s.mo[0].u.join.addr_id = (uint8_t)(b >> 4);
    s.mo[0].u.join.token = (b & 0x40) && (b & 0x80) ? h->ltoken ^ 1 : h->ltoken;
    s.mo[0].u.join.nonce = nonce;
    s.nmo = 1;
    peer_send(h, &s);
    if (!p->got_synack)
        return;
    p->syn_acked = true;
    FUZZ_CHECK(p->stack_thmac == mptcp_join_thmac(1, h->lkey, h->pkey, p->stack_nonce, nonce),
               "MP_JOIN SYN/ACK truncated HMAC wrong");
    advance(h, 500);
    s = pbase(h, p, MPTCP_TH_ACK);
    s.mo[0].form = MPTCP_OPT_JOIN_ACK;
    mptcp_join_hmac(1, h->pkey, h->lkey, nonce, p->stack_nonce, s.mo[0].u.join.hmac);
    if ((b & 0x40) && !(b & 0x80))
        s.mo[0].u.join.hmac[b & 7] ^= 0x10;
    s.nmo = 1;
    peer_send(h, &s);
    p->est = true;
}

/* The stack opened a join towards us: answer SYN/ACK with the right (or
 * wrong) truncated HMAC; its third ACK's HMAC is checked in cb_send. */
static void answer_join(harness *h, psf *p, bool wrong)
{
    pseg s = pbase(h, p, MPTCP_TH_SYN | MPTCP_TH_ACK);
    s.opts = syn_opts(h, 1400);
    s.seq = p->iss;
    s.ack = p->irs + 1;
    s.mo[0].form = MPTCP_OPT_JOIN_SYNACK;
    s.mo[0].u.join.nonce = p->nonce;
    s.mo[0].u.join.thmac =
        mptcp_join_thmac(1, h->pkey, h->lkey, p->nonce, p->stack_nonce) ^ (wrong ? 1u : 0u);
    s.nmo = 1;
    p->syn_acked = true;
    peer_send(h, &s);
    p->got_synack = true;
    p->rcv_max = p->irs + 1;
}

/* ------------------------------------------------------------ steps */

static const uint16_t flag_table[] = {
    MPTCP_TH_ACK,
    MPTCP_TH_ACK | MPTCP_TH_PSH,
    MPTCP_TH_ACK | MPTCP_TH_FIN,
    MPTCP_TH_ACK,
    MPTCP_TH_RST,
    MPTCP_TH_RST | MPTCP_TH_ACK,
    MPTCP_TH_SYN,
    MPTCP_TH_SYN | MPTCP_TH_ACK,
    MPTCP_TH_ACK | MPTCP_TH_PSH,
    0,
};

/* One fuzzed MPTCP option for a segment on |p|. */
static void fuzz_opt(harness *h, psf *p, pseg *s, mptcp_opt *o)
{
    fuzz_input *in = &h->in;
    uint8_t kind = take_u8(in);
    uint8_t b = take_u8(in);
    int16_t d = (int16_t)take_u16(in);
    memset(o, 0, sizeof *o);
    mptcp_mp_stats m;
    memset(&m, 0, sizeof m);
    if (h->c && h->host)
        mptcp_conn_get_mp_stats(h->c, &m);
    switch (kind % 12) {
    case 0:
    case 1:
    case 2: {
        o->form = MPTCP_OPT_DSS;
        mptcp_opt_dss *x = &o->u.dss;
        x->has_ack = b & 1;
        x->ack64 = x->has_ack && !(b & 2);
        uint64_t abase = (b & 0x40) ? m.snd_una : (h->sdsn_max ? h->sdsn_max : h->lidsn + 1);
        x->data_ack = abase + (uint64_t)(int64_t)(int8_t)take_u8(in);
        if (!x->ack64)
            x->data_ack &= 0xffffffffu;
        x->has_map = (b & 4) != 0;
        if (x->has_map) {
            x->dsn64 = !(b & 8);
            uint64_t dbase = (b & 0x80) ? h->pidsn + 1 : h->pdsn_next;
            x->dsn = dbase + (uint64_t)(int64_t)d;
            if (!x->dsn64)
                x->dsn &= 0xffffffffu;
            x->ssn = s->seq - p->iss + (uint32_t)(int32_t)(int8_t)take_u8(in);
            uint8_t lsel = take_u8(in);
            x->data_len = lsel >= 0xf0 ? 0 : (lsel >= 0x80 ? (uint16_t)s->plen
                                                         : (uint16_t)(lsel * 8));
            x->fin = (b & 0x10) && x->data_len;
            x->has_csum = (b & 0x20) ? !h->csum : h->csum;
            bool wrong = (take_u8(in) & 7) == 0;
            x->csum = wrong ? (uint16_t)(1 + take_u16(in)) : 0;
            if (x->data_len == 0 || x->has_csum != h->csum || wrong)
                TAINT(h); /* infinite mapping, checksum trouble */
            if (x->fin) {
                uint64_t fd = full_dsn(h, x) + x->data_len;
                if (h->pfin_sent && fd != h->pfin_dsn)
                    TAINT(h);
                h->pfin_sent = true;
                h->pfin_dsn = fd;
            }
            if (x->data_len && full_dsn(h, x) + x->data_len > h->pdsn_next &&
                full_dsn(h, x) + x->data_len - h->pdsn_next < 0x100000)
                h->pdsn_next = full_dsn(h, x) + x->data_len;
        }
        break;
    }
    case 3: {
        o->form = MPTCP_OPT_ADD_ADDR;
        mptcp_opt_add_addr *x = &o->u.add_addr;
        x->echo = (b & 1) != 0;
        x->addr_id = (uint8_t)d;
        x->addr = h->peer[(b >> 1) & 3];
        if (b & 8)
            x->addr.family = MPTCP_AF_INET6, x->addr.ip[5] = (uint8_t)(d >> 8);
        x->addr.port = (b & 16) ? (uint16_t)(PEER_PORT + (b >> 5)) : 0;
        if (!x->echo)
            x->hmac = mptcp_add_addr_hmac(h->pkey, h->lkey, x->addr_id, &x->addr) ^
                      ((b & 0x80) ? 1u : 0u);
        break;
    }
    case 4:
        o->form = MPTCP_OPT_REMOVE_ADDR;
        o->u.rm_addr.count = (uint8_t)(1 + b % 3);
        for (int i = 0; i < 3; i++)
            o->u.rm_addr.ids[i] = (uint8_t)((d >> (4 * i)) & 7);
        break;
    case 5:
        o->form = MPTCP_OPT_PRIO;
        o->u.prio.backup = b & 1;
        break;
    case 6:
        o->form = MPTCP_OPT_FAIL;
        o->u.fail.dsn = ((b & 1) ? h->sdsn_max : h->pdsn_next) + (uint64_t)(int64_t)d;
        TAINT(h);
        break;
    case 7:
        o->form = MPTCP_OPT_FASTCLOSE;
        o->u.fastclose.rcv_key = (b & 1) ? h->lkey : h->lkey ^ ((uint64_t)d << 8 | 1);
        if (b & 2)
            s->flags = MPTCP_TH_RST;
        break;
    case 8:
        o->form = MPTCP_OPT_TCPRST;
        o->u.tcprst.flags = b & 0xf;
        o->u.tcprst.reason = (uint8_t)(d & 7);
        s->flags = MPTCP_TH_RST | ((b & 0x10) ? MPTCP_TH_ACK : 0);
        break;
    case 9: {
        /* Handshake options out of place. */
        static const mptcp_opt_form forms[] = {MPTCP_OPT_MPC_ACK, MPTCP_OPT_MPC_DATA,
                                               MPTCP_OPT_JOIN_ACK, MPTCP_OPT_MPC_SYN,
                                               MPTCP_OPT_JOIN_SYN};
        o->form = forms[b % 5];
        o->u.mpc.version = 1;
        o->u.mpc.flags = MPTCP_MPC_H;
        o->u.mpc.snd_key = (b & 8) ? h->pkey : h->pkey + (uint64_t)d;
        o->u.mpc.rcv_key = h->lkey;
        if (o->form == MPTCP_OPT_MPC_DATA) {
            o->u.mpc.data_len = (uint16_t)s->plen;
            o->u.mpc.has_csum = h->csum;
            TAINT(h);
        }
        if (o->form == MPTCP_OPT_JOIN_SYN || o->form == MPTCP_OPT_JOIN_ACK) {
            memset(&o->u.join, 0, sizeof o->u.join);
            o->u.join.token = h->ltoken;
            o->u.join.nonce = (uint32_t)d;
        }
        break;
    }
    default: {
        /* Any option the parser accepts, from raw bytes. */
        uint8_t raw[40];
        raw[0] = MPTCP_TCPOPT_MPTCP;
        raw[1] = (uint8_t)(3 + b % 38);
        take_bytes(in, raw + 2, raw[1] - 2u);
        if (mptcp_opt_parse(raw, raw[1], o) < 0)
            memset(o, 0, sizeof *o);
        if (o->form == MPTCP_OPT_DSS || o->form == MPTCP_OPT_MPC_DATA ||
            o->form == MPTCP_OPT_FAIL)
            TAINT(h);
        break;
    }
    }
}

static void step_segment(harness *h)
{
    fuzz_input *in = &h->in;
    psf *p = pick_psf(h, take_u8(in), false);
    uint8_t fsel = take_u8(in);
    uint8_t seq_sel = take_u8(in);
    int32_t seq_d = (int8_t)take_u8(in);
    uint8_t ack_sel = take_u8(in);
    int32_t ack_d = (int8_t)take_u8(in);
    uint8_t nmo = take_u8(in);
    uint32_t plen = take_u8(in);
    if (plen >= 0xc0)
        plen = (plen - 0xc0) * 32 + take_u8(in);
    else if (plen >= 0x60)
        plen = 0;
    if (p == NULL)
        return;
    pseg s = pbase(h, p, flag_table[fsel % (sizeof flag_table / sizeof flag_table[0])]);
    uint32_t sb[] = {p->snd_nxt, p->iss + 1, p->snd_nxt - 1000, p->snd_nxt + 70000};
    uint32_t ab[] = {p->rcv_max, p->irs + 1, p->rcv_max + 5000};
    s.seq = sb[seq_sel % 4] + (uint32_t)seq_d;
    s.ack = ab[ack_sel % 3] + (uint32_t)ack_d;
    if (seq_sel & 0x80)
        s.window = (uint16_t)(take_u8(in) * 16);
    s.plen = plen;
    s.nmo = nmo % 3;
    for (unsigned i = 0; i < s.nmo; i++) {
        fuzz_opt(h, p, &s, &s.mo[i]);
        if (s.mo[i].form == MPTCP_OPT_NONE) {
            s.nmo = i;
            break;
        }
    }
    s.bad_csum = (nmo & 0xf0) == 0xf0;
    if (s.flags & (MPTCP_TH_SYN | MPTCP_TH_RST))
        s.plen = 0;
    peer_send(h, &s);
}

/* Resends peer bytes: a whole earlier mapping with its original subflow
 * sequence numbers, or (data-level reinjection, RFC 8684 3.3.6) the bytes
 * from the stack's data-level rcv_nxt on new subflow bytes. */
static void step_rexmit(harness *h)
{
    fuzz_input *in = &h->in;
    psf *p = pick_psf(h, take_u8(in), true);
    uint8_t mode = take_u8(in);
    uint16_t len = take_u16(in);
    if (p == NULL || !h->have_lkey)
        return;
    mptcp_mp_stats m;
    if (mode & 1) {
        if (h->c == NULL || !h->host || mptcp_conn_get_mp_stats(h->c, &m) != 0)
            return;
        if (m.rcv_nxt < h->pidsn + 1 || m.rcv_nxt >= h->pdsn_next)
            return;
        uint64_t avail = h->pdsn_next - m.rcv_nxt;
        if (h->pfin_sent && m.rcv_nxt >= h->pfin_dsn)
            return;
        uint32_t n = (uint32_t)((uint64_t)(len % h->cfg.mss) + 1 < avail ? (uint64_t)(len % h->cfg.mss) + 1 : avail);
        pseg s = pbase(h, p, MPTCP_TH_ACK);
        s.mo[0] = dss_ack_opt(h);
        s.mo[0].u.dss.has_map = s.mo[0].u.dss.dsn64 = true;
        s.mo[0].u.dss.dsn = m.rcv_nxt;
        s.mo[0].u.dss.ssn = s.seq - p->iss;
        s.mo[0].u.dss.data_len = (uint16_t)n;
        s.mo[0].u.dss.has_csum = h->csum;
        s.nmo = 1;
        s.plen = n;
        peer_send(h, &s);
        return;
    }
    /* Resend the whole mapping covering a byte some way back (or the first). */
    uint32_t from = p->snd_nxt - (uint32_t)(len % 4096);
    if (mode & 2)
        from = p->iss + 1;
    for (unsigned k = 0; k < p->ncl; k++) {
        const claim *c = &p->cl[(p->clpos + MAX_CLAIMS - 1 - k) % MAX_CLAIMS];
        if (from - c->seq < c->len) {
            pseg s = pbase(h, p, MPTCP_TH_ACK);
            uint32_t saved = p->snd_nxt;
            s.seq = c->seq;
            s.mo[0] = dss_ack_opt(h);
            s.mo[0].u.dss.has_map = s.mo[0].u.dss.dsn64 = true;
            s.mo[0].u.dss.dsn = c->dsn;
            s.mo[0].u.dss.ssn = c->seq - p->iss;
            s.mo[0].u.dss.data_len = (uint16_t)c->len;
            s.mo[0].u.dss.has_csum = h->csum;
            if (h->pfin_sent && c->dsn + c->len == h->pfin_dsn)
                s.mo[0].u.dss.fin = true;
            s.nmo = 1;
            s.plen = c->len;
            peer_send(h, &s);
            p->snd_nxt = s_lt(p->snd_nxt, saved) ? saved : p->snd_nxt;
            return;
        }
    }
}

static void step_ack(harness *h)
{
    psf *p = pick_psf(h, take_u8(&h->in), true);
    uint8_t b = take_u8(&h->in);
    if (p == NULL)
        return;
    pseg s = pbase(h, p, MPTCP_TH_ACK);
    if (h->have_lkey && !(b & 1)) {
        s.mo[0] = dss_ack_opt(h);
        s.nmo = 1;
    }
    if (b & 2)
        s.window = (uint16_t)(b << 4);
    peer_send(h, &s);
}

static void app_send(harness *h, uint32_t len)
{
    static uint8_t buf[65536];
    if (h->c == NULL || !h->host)
        return;
    if (len > sizeof buf)
        len = sizeof buf;
    for (uint32_t i = 0; i < len; i++)
        buf[i] = app_byte(h->app_sent + i);
    h->offering = len;
    mptcp_ssize n = mptcp_send(h->c, buf, len, h->now);
    h->offering = 0;
    FUZZ_CHECK(n == MPTCP_EAGAIN || n == MPTCP_ESTATE || n == MPTCP_ECLOSED ||
                   (n >= 0 && (size_t)n <= len),
               "mptcp_send returned %d", (int)n);
    if (n > 0)
        h->app_sent += (uint64_t)n;
}

static void step_app(harness *h, unsigned op)
{
    uint16_t arg = take_u16(&h->in);
    if (h->c == NULL || !h->host)
        return;
    mptcp_conn *c = h->c;
    int rc;
    switch (op) {
    case 0:
        app_send(h, arg);
        break;
    case 1: {
        size_t want = arg ? arg : sizeof h->rbuf;
        h->in_app = true;
        mptcp_ssize n = mptcp_recv(c, h->rbuf, want, h->now);
        h->in_app = false;
        FUZZ_CHECK(n == MPTCP_EAGAIN || n == MPTCP_ECLOSED || (n >= 0 && (size_t)n <= want),
                   "recv returned %d", (int)n);
        if (n > 0)
            check_read(h, h->rbuf, (size_t)n);
        else if (n == 0)
            h->eof = true;
        break;
    }
    case 2:
        rc = mptcp_shutdown(c, h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED || rc == MPTCP_ESTATE, "shutdown %d", rc);
        break;
    case 3:
        rc = mptcp_close(c, h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED, "close %d", rc);
        h->host_closed = true;
        break;
    default:
        rc = mptcp_abort(c, h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ECLOSED, "abort %d", rc);
        h->host_closed = true;
        break;
    }
}

static void step_raw(harness *h)
{
    fuzz_input *in = &h->in;
    psf *p = pick_psf(h, take_u8(in), false);
    size_t len = take_u8(in);
    uint8_t seg[256 + 64];
    memset(seg, 0, sizeof seg);
    take_bytes(in, seg, len);
    if (p == NULL || len < 20)
        return;
    seg[0] = (uint8_t)(p->sport >> 8), seg[1] = (uint8_t)p->sport;
    seg[2] = (uint8_t)(p->dport >> 8), seg[3] = (uint8_t)p->dport;
    uint32_t sq = p->snd_nxt + (uint32_t)(int8_t)seg[4];
    seg[4] = (uint8_t)(sq >> 24), seg[5] = (uint8_t)(sq >> 16), seg[6] = (uint8_t)(sq >> 8),
    seg[7] = (uint8_t)sq;
    mptcp_addr src = h->peer[p->addr_idx], dst = h->local[p->lidx];
    mptcp_tcp_csum_fill(seg, len, &src, &dst);
    TAINT(h);
    FUZZ_CHECK(mptcp_input(h->st, &src, &dst, seg, len, h->now) == 0, "mptcp_input raw");
}

static void step_pm(harness *h)
{
    fuzz_input *in = &h->in;
    uint8_t what = take_u8(in);
    uint8_t a = take_u8(in);
    int rc;
    if (what % 9 == 8) {
        /* Answer the stack's pending joins. */
        for (unsigned i = 0; i < h->nsf; i++) {
            psf *p = &h->sf[i];
            if (p->stack_join && !p->syn_acked) {
                answer_join(h, p, (a & 7) == 0);
                if (p->est) {
                    pseg s = pbase(h, p, MPTCP_TH_ACK);
                    peer_send(h, &s);
                }
                break;
            }
        }
        return;
    }
    if (what % 9 == 6) {
        mptcp_addr l = h->local[1];
        rc = mptcp_local_addr_add(h->st, &l, a & 0x0f);
        FUZZ_CHECK(rc > 0 || rc == MPTCP_EADDRINUSE || rc == MPTCP_ELIMIT || rc == MPTCP_EINVAL,
                   "local_addr_add %d", rc);
        return;
    }
    if (what % 9 == 7) {
        rc = mptcp_local_addr_remove(h->st, (uint8_t)(a % 4), h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND, "local_addr_remove %d", rc);
        return;
    }
    if (h->c == NULL || !h->host)
        return;
    int ids[16];
    int n = mptcp_conn_subflows(h->c, ids, 16);
    int id = n > 0 ? ids[a % (n > 16 ? 16 : n)] : 0;
    switch (what % 9) {
    case 0:
        rc = mptcp_subflow_close(h->c, id, h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND || rc == MPTCP_ESTATE, "subflow_close %d", rc);
        break;
    case 1:
        rc = mptcp_subflow_set_backup(h->c, id, a & 0x80, h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND || rc == MPTCP_ESTATE, "set_backup %d", rc);
        break;
    case 2: {
        mptcp_addr l = h->local[1];
        l.port = (a & 1) ? 8080 : 0;
        rc = mptcp_announce(h->c, &l, h->now);
        FUZZ_CHECK(rc >= 0 || rc == MPTCP_ESTATE || rc == MPTCP_ELIMIT || rc == MPTCP_EINVAL ||
                       rc == MPTCP_EADDRINUSE,
                   "announce %d", rc);
        break;
    }
    case 3:
        rc = mptcp_addr_remove(h->c, (uint8_t)(a % 4), h->now);
        FUZZ_CHECK(rc == 0 || rc == MPTCP_ENOTFOUND || rc == MPTCP_ESTATE, "addr_remove %d", rc);
        break;
    case 4: {
        mptcp_addr l = h->local[a & 1], r = h->peer[(a >> 1) & 3];
        l.port = 0;
        r.port = (a & 8) ? PEER_PORT : 0;
        rc = mptcp_subflow_open(h->c, &l, &r, a & 0x10, h->now);
        FUZZ_CHECK(rc > 0 || rc == MPTCP_ESTATE || rc == MPTCP_ELIMIT || rc == MPTCP_EINVAL ||
                       rc == MPTCP_EADDRINUSE || rc == MPTCP_ENOMEM,
                   "subflow_open %d", rc);
        break;
    }
    default:
        rc = mptcp_limits_set(h->st, a % 9, (uint8_t)((a >> 4) % 10));
        FUZZ_CHECK(rc == 0 || rc == MPTCP_EINVAL, "limits_set %d", rc);
        break;
    }
}

static void step_time(harness *h)
{
    uint8_t cls = take_u8(&h->in);
    uint16_t v = take_u16(&h->in);
    uint64_t dt;
    switch (cls % 4) {
    case 0: dt = v % 100; break;
    case 1: dt = (uint64_t)v * 16; break;
    case 2: dt = (uint64_t)v * 1000; break;
    default: {
        uint64_t due = mptcp_next_timeout(h->st);
        dt = due != UINT64_MAX && due > h->now ? due - h->now : 0;
        if (dt > 600000000ull)
            dt = 0;
        break;
    }
    }
    advance(h, dt);
    run_timers(h);
}

/* ------------------------------------------------------------ entry */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    harness *h = &H;
    memset(h, 0, offsetof(harness, rbuf));
    h->in = fuzz_input_init(data, size);
    fuzz_input *in = &h->in;

    h->rng = take_u64(in);
    h->pkey = take_u64(in);
    uint8_t cf = take_u8(in), cf2 = take_u8(in);
    uint8_t sb = take_u8(in), rb = take_u8(in);
    uint16_t mss = take_u16(in);
    uint8_t timing = take_u8(in);
    h->now = (uint64_t)take_u32(in) * 4096u;
    h->ts_off = take_u32(in);
    mptcp_key_derive(1, h->pkey, &h->ptoken, &h->pidsn);
    h->pdsn_next = h->pidsn + 1;

    mptcp_config *cfg = &h->cfg;
    mptcp_config_init(cfg);
    cfg->mptcp = true;
    cfg->mss = (uint16_t)(256 + mss % (1460 - 256 + 1));
    cfg->sack = cf & 1;
    cfg->timestamps = (cf & 2) != 0;
    cfg->window_scaling = (cf & 4) != 0;
    cfg->checksum = (cf & 8) != 0;
    cfg->deny_join_id0 = (cf & 16) != 0;
    h->recv_in_cb = (cf & 32) != 0;
    cfg->cc = (cf & 64) ? MPTCP_CC_RENO : MPTCP_CC_CUBIC;
    cfg->max_subflows = (uint8_t)(cf2 % 8);
    cfg->add_addr_accept_max = (uint8_t)((cf2 >> 3) % 9);
    cfg->scheduler = (uint8_t)((cf2 >> 6) % 4);
    cfg->sndbuf = cfg->mss + (uint32_t)sb * 256;
    cfg->rcvbuf = cfg->mss + (uint32_t)rb * 256;
    cfg->max_conns = 16;
    if (timing & 1) {
        cfg->rto_min_us = 1000, cfg->rto_initial_us = 5000, cfg->rto_max_us = 100000;
        cfg->delack_us = 500, cfg->time_wait_us = 20000, cfg->fin_wait2_us = 50000;
        cfg->syn_retries = 2, cfg->data_retries = 3;
    }
    cfg->alloc.alloc = fuzz_alloc_cb;
    cfg->alloc.free = fuzz_free_cb;
    cfg->alloc.user = &h->mem;
    if (timing & 0x80)
        h->mem.fail_at = 1 + ((timing >> 1) & 0x3f);
    h->peer_ts = (timing & 2) != 0;
    h->peer_sack = (timing & 4) != 0;
    h->peer_ws = (timing & 8) ? 7 : 15;

    for (int i = 0; i < 2; i++) {
        h->local[i].family = MPTCP_AF_INET;
        h->local[i].ip[0] = 10, h->local[i].ip[2] = (uint8_t)i, h->local[i].ip[3] = 1;
    }
    for (int i = 0; i < 4; i++) {
        h->peer[i].family = MPTCP_AF_INET;
        h->peer[i].ip[0] = 10, h->peer[i].ip[2] = (uint8_t)i, h->peer[i].ip[3] = 2;
    }

    mptcp_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.send = cb_send;
    cb.event = cb_event;
    cb.random = cb_random;
    h->st = mptcp_stack_new(cfg, &cb, h);
    if (h->st == NULL) {
        FUZZ_CHECK(h->mem.failed, "mptcp_stack_new refused a valid configuration");
        FUZZ_CHECK(h->mem.live_bytes == 0 && h->mem.live_blocks == 0, "failed stack_new leaked");
        return 0;
    }
    mptcp_addr any;
    memset(&any, 0, sizeof any);
    any.family = MPTCP_AF_INET;
    any.port = LISTEN_PORT;
    FUZZ_CHECK(mptcp_listen(h->st, &any) == 0, "listen");

    setup_mpc(h);
    check_all(h);
    trace(h, "mpc");
    unsigned njoin = take_u8(in) % 4;
    for (unsigned i = 0; i < njoin; i++) {
        advance(h, 1000);
        setup_join(h);
        check_all(h);
        trace(h, "join");
    }

    for (unsigned step = 0; step < MAX_STEPS && fuzz_left(in) > 0; step++) {
        uint8_t op = take_u8(in);
        switch (op % 16) {
        case 0: step_time(h); break;
        case 1:
        case 2: {
            psf *p = pick_psf(h, take_u8(in), true);
            uint16_t len = take_u16(in);
            uint8_t bits = take_u8(in);
            if (p)
                peer_data(h, p, len % 2048, bits);
            break;
        }
        case 3: step_rexmit(h); break;
        case 4:
        case 5: step_segment(h); break;
        case 6: step_app(h, 0); break;
        case 7: step_app(h, 1); break;
        case 8: step_app(h, 2 + take_u8(in) % 3); break;
        case 9:
        case 10: step_ack(h); break;
        case 11: step_raw(h); break;
        case 12: setup_join(h); break;
        case 13: step_pm(h); break;
        default: advance(h, 1000 + (op >> 4) * 10000u); run_timers(h); break;
        }
        check_all(h);
        static const char *const names[16] = {"time", "data", "data", "rexmit", "seg", "seg",
                                              "send", "recv", "close", "ack", "ack", "raw",
                                              "join", "pm", "adv", "adv"};
        trace(h, names[op % 16]);
    }

    for (int i = 0; i < 64; i++) {
        uint64_t due = mptcp_next_timeout(h->st);
        if (due == UINT64_MAX || due > h->now + 3600000000ull)
            break;
        if (due > h->now)
            advance(h, due - h->now);
        run_timers(h);
        check_all(h);
    }
    FUZZ_CHECK(mptcp_stack_free(h->st) == 0, "stack_free");
    h->st = NULL;
    FUZZ_CHECK(h->mem.live_bytes == 0 && h->mem.live_blocks == 0, "leak: %zu bytes in %zu blocks",
               h->mem.live_bytes, h->mem.live_blocks);
    return 0;
}
