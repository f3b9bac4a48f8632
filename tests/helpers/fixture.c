/*
 * fixture.c - see fixture.h. Test-only code (GNU C, Check assertions).
 */
#include "helpers/fixture.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

uint64_t fx_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fx_random(void *user, uint8_t *out, size_t len)
{
    uint64_t *state = user;
    while (len > 0) {
        uint64_t v = fx_splitmix64(state);
        size_t n = len < 8 ? len : 8;
        memcpy(out, &v, n);
        out += n;
        len -= n;
    }
}

void fx_fill(uint8_t *buf, size_t len, uint64_t seed)
{
    fx_random(&seed, buf, len);
}

/* ---------------------------------------------------------------- memory */

static void *fx_alloc_fn(void *user, size_t size)
{
    fx_alloc *a = user;
    a->calls++;
    if (a->fail_at && a->calls == a->fail_at)
        return NULL;
    uint8_t *p = malloc(size + 16);
    ck_assert_ptr_nonnull(p);
    memcpy(p, &size, sizeof size);
    a->live_bytes += size;
    a->live_blocks++;
    if (a->live_bytes > a->peak_bytes)
        a->peak_bytes = a->live_bytes;
    return p + 16;
}

static void fx_free_fn(void *user, void *ptr, size_t size)
{
    fx_alloc *a = user;
    uint8_t *p = (uint8_t *)ptr - 16;
    size_t orig;
    memcpy(&orig, p, sizeof orig);
    ck_assert_uint_eq(orig, size);
    ck_assert_uint_ge(a->live_bytes, size);
    a->live_bytes -= size;
    a->live_blocks--;
    free(p);
}

mptcp_allocator fx_allocator(fx_alloc *a)
{
    mptcp_allocator m = {fx_alloc_fn, fx_free_fn, a};
    return m;
}

/* ---------------------------------------------------------------- segments */

mptcp_addr fx_ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    mptcp_addr x;
    memset(&x, 0, sizeof x);
    x.family = MPTCP_AF_INET;
    x.port = port;
    x.ip[0] = a, x.ip[1] = b, x.ip[2] = c, x.ip[3] = d;
    return x;
}

mptcp_addr fx_addr(uint8_t last, uint16_t port)
{
    return fx_ip4(10, 0, 0, last, port);
}

size_t fx_seg_build(uint8_t *out, size_t cap, const fx_segspec *s, const mptcp_addr *src,
                    const mptcp_addr *dst)
{
    size_t doff = 20 + s->opts_len;
    size_t len = doff + s->payload_len;
    ck_assert_uint_le(len, cap);
    ck_assert_uint_eq(s->opts_len % 4, 0);
    memset(out, 0, 20);
    out[0] = (uint8_t)(s->sport >> 8);
    out[1] = (uint8_t)s->sport;
    out[2] = (uint8_t)(s->dport >> 8);
    out[3] = (uint8_t)s->dport;
    for (int i = 0; i < 4; i++) {
        out[4 + i] = (uint8_t)(s->seq >> (24 - 8 * i));
        out[8 + i] = (uint8_t)(s->ack >> (24 - 8 * i));
    }
    out[12] = (uint8_t)((doff / 4) << 4 | ((s->flags >> 8) & 1));
    out[13] = (uint8_t)s->flags;
    out[14] = (uint8_t)(s->window >> 8);
    out[15] = (uint8_t)s->window;
    if (s->opts_len)
        memcpy(out + 20, s->opts, s->opts_len);
    if (s->payload_len)
        memcpy(out + doff, s->payload, s->payload_len);
    ck_assert_int_eq(mptcp_tcp_csum_fill(out, len, src, dst), 0);
    return len;
}

void fx_seg_decode(const fx_cap *c, mptcp_seg *out)
{
    ck_assert_int_eq(mptcp_seg_parse(c->data, c->len, out), 0);
}

/* ---------------------------------------------------------------- one stack */

static void single_send(void *user, const mptcp_addr *src, const mptcp_addr *dst,
                        const uint8_t *seg, size_t len)
{
    fx_single *f = user;
    fx_cap *c = &f->out[f->n_out % FX_CAP_MAX];
    ck_assert_uint_le(len, sizeof c->data);
    ck_assert(mptcp_tcp_csum_ok(seg, len, src, dst));
    c->at = f->now;
    c->src = *src;
    c->dst = *dst;
    c->len = len;
    memcpy(c->data, seg, len);
    f->n_out++;
}

static void single_event(void *user, mptcp_conn *conn, const mptcp_event *ev)
{
    fx_single *f = user;
    ck_assert_uint_lt(f->n_ev, FX_EV_MAX);
    f->ev[f->n_ev] = *ev;
    f->ev_conn[f->n_ev] = conn;
    f->n_ev++;
}

static void single_init(fx_single *f, const mptcp_config *cfg, uint64_t seed, bool mp);

void fx_single_init(fx_single *f, const mptcp_config *cfg, uint64_t seed)
{
    single_init(f, cfg, seed, false);
}

void fx_single_init_mp(fx_single *f, const mptcp_config *cfg, uint64_t seed)
{
    single_init(f, cfg, seed, true);
}

static void single_init(fx_single *f, const mptcp_config *cfg, uint64_t seed, bool mp)
{
    memset(f, 0, sizeof *f);
    f->rng = seed;
    f->out = calloc(FX_CAP_MAX, sizeof *f->out);
    ck_assert_ptr_nonnull(f->out);
    mptcp_config c;
    if (cfg)
        c = *cfg;
    else
        mptcp_config_init(&c);
    if (!mp || cfg == NULL)
        c.mptcp = mp;
    c.alloc = fx_allocator(&f->alloc);
    mptcp_callbacks cb = {single_send, single_event, fx_random, NULL};
    f->st = mptcp_stack_new(&c, &cb, f);
    ck_assert_ptr_nonnull(f->st);
}

void fx_single_fini(fx_single *f)
{
    ck_assert_int_eq(mptcp_stack_free(f->st), 0);
    ck_assert_uint_eq(f->alloc.live_bytes, 0);
    ck_assert_uint_eq(f->alloc.live_blocks, 0);
    free(f->out);
}

const fx_cap *fx_single_last(const fx_single *f, size_t i)
{
    ck_assert_uint_gt(f->n_out, i);
    return &f->out[(f->n_out - 1 - i) % FX_CAP_MAX];
}

void fx_single_input(fx_single *f, const mptcp_addr *src, const mptcp_addr *dst,
                     const fx_segspec *s)
{
    uint8_t buf[1600];
    size_t len = fx_seg_build(buf, sizeof buf, s, src, dst);
    ck_assert_int_eq(mptcp_input(f->st, src, dst, buf, len, f->now), 0);
}

size_t fx_single_count_ev(const fx_single *f, mptcp_ev_type type)
{
    size_t n = 0;
    for (size_t i = 0; i < f->n_ev; i++)
        n += f->ev[i].type == type;
    return n;
}

/* ---------------------------------------------------------------- the pair */

static void enqueue(fx_pair *p, int to, const mptcp_addr *src, const mptcp_addr *dst,
                    const uint8_t *seg, size_t len, uint64_t at)
{
    fx_pkt *k = calloc(1, sizeof *k);
    ck_assert_ptr_nonnull(k);
    ck_assert_uint_le(len, sizeof k->data);
    k->at = at;
    k->order = p->order++;
    k->to = to;
    k->src = *src;
    k->dst = *dst;
    k->len = len;
    memcpy(k->data, seg, len);
    fx_pkt **pp = &p->q;
    while (*pp && ((*pp)->at < at || ((*pp)->at == at && (*pp)->order < k->order)))
        pp = &(*pp)->next;
    k->next = *pp;
    *pp = k;
}

static void pair_send(void *user, const mptcp_addr *src, const mptcp_addr *dst,
                      const uint8_t *seg, size_t len)
{
    fx_end *e = user;
    fx_pair *p = e->pair;
    ck_assert(mptcp_tcp_csum_ok(seg, len, src, dst));
    uint32_t idx = p->sent[e->id]++;
    if (p->log && p->n_log < p->log_cap) {
        fx_cap *c = &p->log[p->n_log];
        c->at = p->now;
        c->src = *src;
        c->dst = *dst;
        c->len = len;
        memcpy(c->data, seg, len);
        if (p->n_log < 4096)
            p->log_from[p->n_log] = e->id;
        p->n_log++;
    }
    int action = FX_PASS;
    uint64_t extra = 0;
    for (size_t i = 0; i < p->n_rules; i++) {
        if (p->rules[i].from == e->id && p->rules[i].idx == idx) {
            action = p->rules[i].action;
            extra = p->rules[i].extra;
        }
    }
    if (action == FX_PASS && p->filter)
        action = p->filter(p, e->id, idx, seg, len, &extra);
    uint8_t copy[1600];
    if (p->mangle && len <= sizeof copy) {
        /* A middlebox: rewrite a copy, then fix the TCP checksum. */
        memcpy(copy, seg, len);
        p->mangle(p, e->id, idx, copy, &len);
        mptcp_tcp_csum_fill(copy, len, src, dst);
        seg = copy;
    }
    switch (action) {
    case FX_DROP:
        return;
    case FX_DUP:
        enqueue(p, 1 - e->id, src, dst, seg, len, p->now + p->delay_us);
        enqueue(p, 1 - e->id, src, dst, seg, len, p->now + p->delay_us);
        return;
    case FX_DELAY:
        enqueue(p, 1 - e->id, src, dst, seg, len, p->now + p->delay_us + extra);
        return;
    default:
        enqueue(p, 1 - e->id, src, dst, seg, len, p->now + p->delay_us);
    }
}

static void push_tx(fx_end *e)
{
    if (e->conn == NULL)
        return;
    while (e->tx_off < e->tx_len) {
        mptcp_ssize n = mptcp_send(e->conn, e->tx + e->tx_off, e->tx_len - e->tx_off,
                                   e->pair->now);
        if (n <= 0)
            return;
        e->tx_off += (size_t)n;
    }
    if (e->tx_off == e->tx_len && e->after_tx && !e->after_done) {
        e->after_done = true;
        if (e->after_tx == 1)
            ck_assert_int_eq(mptcp_shutdown(e->conn, e->pair->now), 0);
        else
            ck_assert_int_eq(mptcp_close(e->conn, e->pair->now), 0);
    }
}

static void pull_rx(fx_end *e, mptcp_conn *c)
{
    for (;;) {
        if (e->rx_len == e->rx_cap) {
            e->rx_cap = e->rx_cap ? 2 * e->rx_cap : 65536;
            e->rx = realloc(e->rx, e->rx_cap);
            ck_assert_ptr_nonnull(e->rx);
        }
        mptcp_ssize n = mptcp_recv(c, e->rx + e->rx_len, e->rx_cap - e->rx_len, e->pair->now);
        if (n > 0) {
            e->rx_len += (size_t)n;
            continue;
        }
        if (n == 0 && !e->rx_eof) {
            e->rx_eof = true;
            if (e->close_on_eof)
                ck_assert_int_eq(mptcp_close(c, e->pair->now), 0);
        }
        return;
    }
}

static void pair_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    fx_end *e = user;
    ck_assert_int_lt((int)ev->type, MPTCP_EV_TYPE_COUNT);
    e->n_ev[ev->type]++;
    e->last_ev[ev->type] = *ev;
    switch (ev->type) {
    case MPTCP_EV_CONNECTED:
    case MPTCP_EV_ACCEPTED:
        e->conn = c;
        push_tx(e);
        break;
    case MPTCP_EV_READABLE:
    case MPTCP_EV_PEER_SHUTDOWN:
        if (e->auto_read)
            pull_rx(e, c);
        break;
    case MPTCP_EV_WRITABLE:
        push_tx(e);
        break;
    case MPTCP_EV_CLOSED:
        e->close_reason = ev->u.closed.reason;
        if (e->conn == c)
            e->conn = NULL;
        break;
    default:
        break; /* multipath events: counted above */
    }
}

static void pair_init(fx_pair *p, const mptcp_config *cfg0, const mptcp_config *cfg1,
                      uint64_t seed, uint64_t delay_us, bool mp);

void fx_pair_init(fx_pair *p, const mptcp_config *cfg0, const mptcp_config *cfg1, uint64_t seed,
                  uint64_t delay_us)
{
    pair_init(p, cfg0, cfg1, seed, delay_us, false);
}

void fx_pair_init_mp(fx_pair *p, const mptcp_config *cfg0, const mptcp_config *cfg1,
                     uint64_t seed, uint64_t delay_us)
{
    pair_init(p, cfg0, cfg1, seed, delay_us, true);
}

static void pair_init(fx_pair *p, const mptcp_config *cfg0, const mptcp_config *cfg1,
                      uint64_t seed, uint64_t delay_us, bool mp)
{
    memset(p, 0, sizeof *p);
    p->mp = mp;
    p->delay_us = delay_us;
    p->now = 1000000; /* start at 1 s: time 0 is not special */
    for (int i = 0; i < 2; i++) {
        fx_end *e = &p->e[i];
        const mptcp_config *cfg = i == 0 ? cfg0 : cfg1;
        e->rng = seed * 2 + (uint64_t)i + 1;
        e->pair = p;
        e->id = i;
        e->auto_read = true;
        e->addr = fx_addr((uint8_t)(i + 1), 0);
        mptcp_config c;
        if (cfg)
            c = *cfg;
        else
            mptcp_config_init(&c);
        if (!p->mp || cfg == NULL)
            c.mptcp = p->mp; /* TCP engine tests: plain; _mp with NULL: MPTCP */
        c.alloc = fx_allocator(&e->alloc);
        mptcp_callbacks cb = {pair_send, pair_event, fx_random, NULL};
        e->st = mptcp_stack_new(&c, &cb, e);
        ck_assert_ptr_nonnull(e->st);
    }
    mptcp_addr l = fx_addr(2, 80);
    if (p->mp)
        memset(l.ip, 0, sizeof l.ip); /* any address: joins come to others */
    ck_assert_int_eq(mptcp_listen(p->e[1].st, &l), 0);
}

void fx_pair_fini(fx_pair *p)
{
    while (p->q) {
        fx_pkt *k = p->q;
        p->q = k->next;
        free(k);
    }
    for (int i = 0; i < 2; i++) {
        fx_end *e = &p->e[i];
        ck_assert_int_eq(mptcp_stack_free(e->st), 0);
        ck_assert_uint_eq(e->alloc.live_bytes, 0);
        ck_assert_uint_eq(e->alloc.live_blocks, 0);
        free(e->rx);
    }
    free(p->log);
}

void fx_pair_connect(fx_pair *p)
{
    mptcp_addr l = fx_addr(1, 0), r = fx_addr(2, 80);
    mptcp_conn *c = NULL;
    ck_assert_int_eq(mptcp_connect(p->e[0].st, &l, &r, p->now, &c), 0);
    ck_assert_ptr_nonnull(c);
    p->e[0].conn = c;
}

void fx_pair_rule(fx_pair *p, int from, uint32_t idx, int action, uint64_t extra)
{
    ck_assert_uint_lt(p->n_rules, 32);
    fx_rule r = {from, idx, action, extra};
    p->rules[p->n_rules++] = r;
}

void fx_pair_send(fx_pair *p, int i, const uint8_t *data, size_t len, int after_tx)
{
    fx_end *e = &p->e[i];
    e->tx = data;
    e->tx_len = len;
    e->tx_off = 0;
    e->after_tx = after_tx;
    e->after_done = false;
    push_tx(e);
}

static uint64_t next_time(const fx_pair *p)
{
    uint64_t t = p->q ? p->q->at : UINT64_MAX;
    for (int i = 0; i < 2; i++) {
        uint64_t d = mptcp_next_timeout(p->e[i].st);
        if (d < t)
            t = d;
    }
    return t;
}

static bool step(fx_pair *p, uint64_t until)
{
    uint64_t t = next_time(p);
    if (t == UINT64_MAX || t > until)
        return false;
    if (t > p->now)
        p->now = t;
    if (p->q && p->q->at <= p->now) {
        fx_pkt *k = p->q;
        p->q = k->next;
        fx_end *e = &p->e[k->to];
        p->delivered[k->to]++;
        ck_assert_int_eq(mptcp_input(e->st, &k->src, &k->dst, k->data, k->len, p->now), 0);
        free(k);
        push_tx(e);
        return true;
    }
    for (int i = 0; i < 2; i++) {
        if (mptcp_next_timeout(p->e[i].st) <= p->now) {
            ck_assert_int_eq(mptcp_handle_timeout(p->e[i].st, p->now), 0);
            push_tx(&p->e[i]);
        }
    }
    return true;
}

uint64_t fx_pair_run(fx_pair *p, uint64_t until)
{
    uint64_t steps = 0;
    while (step(p, until)) {
        steps++;
        ck_assert_uint_lt(steps, 50000000);
    }
    if (until != UINT64_MAX && p->now < until)
        p->now = until;
    return steps;
}

bool fx_pair_run_until(fx_pair *p, bool (*done)(fx_pair *), uint64_t until)
{
    uint64_t steps = 0;
    while (!done(p)) {
        if (!step(p, until))
            return done(p);
        ck_assert_uint_lt(++steps, 50000000);
    }
    return true;
}

size_t fx_strip_mptcp(uint8_t *seg, size_t len, int subtype)
{
    if (len < 20)
        return 0;
    size_t doff = (size_t)(seg[12] >> 4) * 4;
    size_t n = 0;
    for (size_t i = 20; i < doff && i < len;) {
        uint8_t kind = seg[i];
        if (kind == 0)
            break;
        if (kind == 1) {
            i++;
            continue;
        }
        if (i + 1 >= doff || seg[i + 1] < 2 || i + seg[i + 1] > doff)
            break;
        uint8_t olen = seg[i + 1];
        if (kind == MPTCP_TCPOPT_MPTCP && olen >= 3 && (subtype < 0 || (seg[i + 2] >> 4) == subtype)) {
            memset(seg + i, 1, olen); /* NOPs in its place */
            n++;
        }
        i += olen;
    }
    return n;
}
