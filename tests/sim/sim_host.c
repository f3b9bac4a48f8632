/*
 * sim_host.c - binds an mptcp_stack to a simulator node: segments from the
 * simulator go to mptcp_input, the stack's deadline is the node's timer,
 * cb.send goes back into the simulator along the node's routes, cb.random
 * comes from a seeded generator, memory from a counting allocator. On top,
 * a test application per connection (sim_flow): seeded stream out, checked
 * stream in, FIN and close on request. It knows the public API only.
 */
#include "sim/sim_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FLOWS 256
#define STAGE_LEN 65536
#define RX_CHUNK 65536

struct sim_host {
    sim *s;
    sim_node *node;
    const char *name;
    mptcp_stack *st;
    sim_rng rng;
    sim_host_mem mem;
    sim_flow_cfg listen_cfg;
    sim_flow *flows[MAX_FLOWS];
    size_t n_flows;
    uint64_t api_errors;
    uint8_t rxbuf[RX_CHUNK];
};

/* ---------------------------------------------------------------- memory */

static void *count_alloc(void *user, size_t size)
{
    sim_host *h = user;
    void *p = malloc(size);
    if (!p)
        return NULL;
    h->mem.cur += size;
    h->mem.allocs++;
    if (h->mem.cur > h->mem.peak)
        h->mem.peak = h->mem.cur;
    return p;
}

static void count_free(void *user, void *ptr, size_t size)
{
    sim_host *h = user;
    if (!ptr)
        return;
    h->mem.cur -= size;
    h->mem.frees++;
    free(ptr);
}

/* ---------------------------------------------------------------- flows */

static sim_flow *flow_new(sim_host *h, mptcp_conn *c, const sim_flow_cfg *cfg, bool active)
{
    if (h->n_flows == MAX_FLOWS)
        return NULL;
    sim_flow *f = calloc(1, sizeof(*f));
    if (!f)
        abort();
    f->host = h;
    f->conn = c;
    f->cfg = *cfg;
    if (!f->cfg.rx_chunk || f->cfg.rx_chunk > RX_CHUNK)
        f->cfg.rx_chunk = RX_CHUNK;
    f->active = active;
    f->t_open = sim_now(h->s);
    f->last_err = 0;
    sim_check_init(&f->rx, cfg->rx_seed);
    h->flows[h->n_flows++] = f;
    if (c)
        mptcp_conn_set_user(c, f);
    return f;
}

static void flow_push(sim_flow *f)
{
    sim_host *h = f->host;
    uint64_t now = sim_now(h->s);
    while (f->conn && !f->shut_sent && f->tx_off < f->cfg.tx_bytes) {
        if (!f->stage) {
            f->stage = malloc(STAGE_LEN);
            if (!f->stage)
                abort();
        }
        if (f->tx_off < f->stage_off || f->tx_off >= f->stage_off + f->stage_len) {
            uint64_t left = f->cfg.tx_bytes - f->tx_off;
            f->stage_off = f->tx_off;
            f->stage_len = left < STAGE_LEN ? (size_t)left : STAGE_LEN;
            sim_stream_fill(f->cfg.tx_seed, f->stage_off, f->stage, f->stage_len);
        }
        size_t at = (size_t)(f->tx_off - f->stage_off);
        mptcp_ssize r = mptcp_send(f->conn, f->stage + at, f->stage_len - at, now);
        if (r == MPTCP_EAGAIN || r == 0)
            return;
        if (r < 0) {
            f->last_err = (int)r;
            f->last_err_op = "mptcp_send";
            return;
        }
        f->tx_off += (uint64_t)r;
    }
    if (f->conn && f->tx_off == f->cfg.tx_bytes && !f->t_tx_done)
        f->t_tx_done = now ? now : 1;
    if (f->conn && f->cfg.shutdown_when_sent && !f->shut_sent && f->tx_off == f->cfg.tx_bytes) {
        int r = mptcp_shutdown(f->conn, now);
        f->shut_sent = true;
        if (r < 0) {
            f->last_err = r;
            f->last_err_op = "mptcp_shutdown";
        }
    }
}

static void flow_read(sim_flow *f)
{
    sim_host *h = f->host;
    uint64_t now = sim_now(h->s);
    if (f->cfg.rx_never || now < f->cfg.rx_start_us)
        return;
    while (f->conn && !f->eof) {
        mptcp_ssize r = mptcp_recv(f->conn, h->rxbuf, f->cfg.rx_chunk, now);
        if (r == MPTCP_EAGAIN)
            return;
        if (r == 0) {
            f->eof = true;
            f->t_eof = now;
            break;
        }
        if (r < 0) {
            f->last_err = (int)r;
            f->last_err_op = "mptcp_recv";
            return;
        }
        sim_check_feed(&f->rx, h->rxbuf, (size_t)r);
    }
}

static void flow_maybe_close(sim_flow *f)
{
    if (f->conn && f->cfg.close_when_done && !f->close_called && f->eof &&
        f->tx_off == f->cfg.tx_bytes) {
        f->close_called = true;
        int r = mptcp_close(f->conn, sim_now(f->host->s));
        /* ECLOSED: the stack already finished it, MPTCP_EV_CLOSED is on its way */
        if (r < 0 && r != MPTCP_ECLOSED) {
            f->last_err = r;
            f->last_err_op = "mptcp_close";
        }
    }
}

void sim_flow_pump(sim_flow *f)
{
    flow_push(f);
    flow_read(f);
    flow_maybe_close(f);
}

static void flow_resume(sim *s, void *arg, sim_pkt *p)
{
    (void)s, (void)p;
    sim_flow_pump(arg);
}

bool sim_flow_stats(sim_flow *f)
{
    if (!f->conn)
        return false;
    if (mptcp_conn_get_stats(f->conn, &f->stats) == 0)
        f->have_stats = true;
    return f->have_stats;
}

bool sim_flow_rx_ok(const sim_flow *f, uint64_t len)
{
    return f->rx.errors == 0 && f->rx.off == len;
}

/* ---------------------------------------------------------------- callbacks */

static void cb_send(void *user, const mptcp_addr *src, const mptcp_addr *dst, const uint8_t *seg,
                    size_t len)
{
    sim_host *h = user;
    sim_node_send(h->node, src, dst, seg, len);
}

static void cb_random(void *user, uint8_t *out, size_t len)
{
    sim_host *h = user;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = sim_rng_next(&h->rng);
        for (size_t j = 0; j < 8 && i + j < len; j++)
            out[i + j] = (uint8_t)(r >> (8 * j));
    }
}

static void cb_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    sim_host *h = user;
    sim_flow *f = mptcp_conn_get_user(c);
    uint64_t now = sim_now(h->s);
    if (!f) {
        /* First event of a passively opened connection. */
        f = flow_new(h, c, &h->listen_cfg, false);
        if (!f)
            return;
    }
    if ((unsigned)ev->type < SIM_EV_MAX)
        f->ev[ev->type]++;
    if (ev->type == MPTCP_EV_CLOSED) {
        sim_flow_stats(f); /* the final counters: the connection goes after this */
        f->closed = true;
        f->reason = ev->u.closed.reason;
        /* A normal close after the peer's shutdown comes once the host read
         * every byte, possibly from inside the mptcp_recv that drained the
         * ring: that was the end of the stream, even though no later recv
         * got to return 0. */
        if (f->reason == MPTCP_CLOSE_NORMAL && f->peer_shutdown && !f->eof) {
            f->eof = true;
            f->t_eof = now;
        }
        f->t_closed = now;
        f->conn = NULL;
        return;
    }
    sim_flow_stats(f);
    switch (ev->type) {
    case MPTCP_EV_CONNECTED:
    case MPTCP_EV_ACCEPTED:
        f->connected = true;
        f->t_connected = now;
        if (f->cfg.rx_start_us > now && !f->cfg.rx_never)
            sim_at(h->s, f->cfg.rx_start_us, flow_resume, f, NULL);
        break;
    case MPTCP_EV_PEER_SHUTDOWN:
        f->peer_shutdown = true;
        break;
    default:
        break;
    }
    sim_flow_pump(f);
}

/* ---------------------------------------------------------------- node */

static void node_input(void *ctx, sim *s, const sim_pkt *p)
{
    sim_host *h = ctx;
    int r = mptcp_input(h->st, &p->src, &p->dst, p->data, p->len, sim_now(s));
    if (r < 0) {
        h->api_errors++;
        fprintf(stderr, "sim: %s: mptcp_input: %s\n", h->name, mptcp_strerror(r));
    }
}

static uint64_t node_next(void *ctx)
{
    return mptcp_next_timeout(((sim_host *)ctx)->st);
}

static void node_timeout(void *ctx, sim *s, uint64_t now)
{
    sim_host *h = ctx;
    (void)s;
    int r = mptcp_handle_timeout(h->st, now);
    if (r < 0)
        h->api_errors++;
}

static const sim_node_ops host_ops = {node_input, node_next, node_timeout};

static void host_dtor(sim *s, void *obj)
{
    (void)s;
    sim_host *h = obj;
    mptcp_stack_free(h->st);
    for (size_t i = 0; i < h->n_flows; i++) {
        free(h->flows[i]->stage);
        free(h->flows[i]);
    }
}

sim_host *sim_host_new(sim *s, const char *name, const mptcp_config *cfg, uint64_t seed)
{
    sim_host *h = sim_own(s, sizeof(*h), host_dtor);
    h->s = s;
    h->name = name;
    sim_rng_seed(&h->rng, seed);
    mptcp_config c;
    if (cfg)
        c = *cfg;
    else
        mptcp_config_init(&c);
    c.alloc.alloc = count_alloc;
    c.alloc.free = count_free;
    c.alloc.user = h;
    mptcp_callbacks cb = {cb_send, cb_event, cb_random, NULL};
    h->st = mptcp_stack_new(&c, &cb, h);
    if (!h->st) {
        fprintf(stderr, "sim: %s: mptcp_stack_new failed\n", name);
        abort();
    }
    h->node = sim_node_new(s, name, &host_ops, h);
    return h;
}

sim_node *sim_host_node(sim_host *h)
{
    return h->node;
}

mptcp_stack *sim_host_stack(sim_host *h)
{
    return h->st;
}

int sim_host_listen(sim_host *h, const mptcp_addr *local, const sim_flow_cfg *cfg)
{
    h->listen_cfg = *cfg;
    return mptcp_listen(h->st, local);
}

sim_flow *sim_host_connect(sim_host *h, const mptcp_addr *local, const mptcp_addr *remote,
                           const sim_flow_cfg *cfg, int *err)
{
    sim_flow *f = flow_new(h, NULL, cfg, true);
    if (!f) {
        if (err)
            *err = MPTCP_ELIMIT;
        return NULL;
    }
    mptcp_conn *c = NULL;
    int r = mptcp_connect(h->st, local, remote, sim_now(h->s), &c);
    if (err)
        *err = r;
    if (r < 0) {
        h->n_flows--;
        free(f);
        return NULL;
    }
    f->conn = c;
    mptcp_conn_set_user(c, f);
    sim_flow_stats(f);
    return f;
}

size_t sim_host_flow_count(const sim_host *h)
{
    return h->n_flows;
}

sim_flow *sim_host_flow(sim_host *h, size_t i)
{
    return i < h->n_flows ? h->flows[i] : NULL;
}

void sim_host_get_mem(const sim_host *h, sim_host_mem *out)
{
    *out = h->mem;
}

uint64_t sim_host_api_errors(const sim_host *h)
{
    return h->api_errors;
}
