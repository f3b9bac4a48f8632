/*
 * conn.c - the connection the host holds (mptcp_conn). Plain TCP: a shell
 * over one TCB (the host reads and writes the TCB's rings). MPTCP (RFC 8684):
 * keys, tokens and IDSNs (3.1), the data-level send ring (offsets from
 * DATA_ACK; every send byte of the connection: its subflows read their
 * segments' payload from it, 3.3.6) and receive ring (offsets from the data-level rcv_nxt, out of
 * order by DSN), DATA_ACK handling and the shared receive window (3.3.4),
 * DATA_FIN and close (3.3.3), scheduling chunks onto subflows and
 * reinjecting data stranded on a dead one (3.3.6), MP_FASTCLOSE (3.5),
 * fallback to TCP (3.7), path-manager actions (3.4), events. Option bytes
 * and the handshakes of one subflow are subflow.c's; TCP is tcp*.c's.
 */
#include "conn.h"

#include "crypto.h"
#include "csum.h"
#include "mem.h"
#include "stack.h"
#include "token.h"

#define CONN_FIN_RTO_MIN 200000u
/* How long our MP_FAIL may go unanswered before the subflow is reset
 * (Linux: TCP_RTO_MAX, 120 s; see mp_fail_check). */
#define CONN_MP_FAIL_NO_RESPONSE_US (120u * 1000000u)

/* ------------------------------------------------------------ events */

void mptcp_conn_event(mptcp_conn *c, uint8_t evb)
{
    mptcp_stack *st = c->st;
    if (c->flags & MPTCP_CF_CLOSE_QUEUED)
        return;
    if (evb == MPTCP_EVB_CLOSED) {
        c->flags |= MPTCP_CF_CLOSE_QUEUED;
        if (!(c->flags & MPTCP_CF_OWNED)) {
            /* Nobody outside knows it (an embryonic passive connection):
             * it just goes. */
            mptcp_conn_release(c);
            return;
        }
    }
    c->ev_bits |= evb;
    if (c->flags & MPTCP_CF_EV_LINKED)
        return;
    c->flags |= MPTCP_CF_EV_LINKED;
    c->ev_next = NULL;
    if (st->ev_tail)
        st->ev_tail->ev_next = c;
    else
        st->ev_head = c;
    st->ev_tail = c;
}

void mptcp_conn_event_push(mptcp_conn *c, const mptcp_event *ev)
{
    if (c->flags & MPTCP_CF_CLOSE_QUEUED)
        return;
    if (c->mp->evq_n >= MPTCP_CONN_EVQ) {
        c->mp->mst.events_dropped++;
        return;
    }
    c->mp->evq[(c->mp->evq_head + c->mp->evq_n) % MPTCP_CONN_EVQ].ev = *ev;
    c->mp->evq_n++;
    /* link it through the bit queue (a zero bit delivers only the ring) */
    uint8_t keep = c->ev_bits;
    mptcp_conn_event(c, 0);
    c->ev_bits = keep;
}

static void sf_event(mptcp_subflow *sf, mptcp_ev_type type)
{
    mptcp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = type;
    ev.subflow_id = sf->id;
    if (sf->t) {
        ev.u.subflow.local = sf->t->local;
        ev.u.subflow.remote = sf->t->remote;
        ev.u.subflow.reason = (mptcp_close_reason)sf->t->close_reason;
    }
    ev.u.subflow.local_id = sf->local_id;
    ev.u.subflow.remote_id = sf->remote_id;
    ev.u.subflow.backup = sf->peer_backup;
    ev.u.subflow.has_rst_code = sf->has_rst_code;
    ev.u.subflow.rst_code = sf->rst_code;
    mptcp_conn_event_push(sf->c, &ev);
}

void mptcp_conn_dirty(mptcp_conn *c)
{
    if (c->mp)
        c->mp->pm_kick = true;
    mptcp_conn_dirty_data(c);
}

void mptcp_conn_dirty_data(mptcp_conn *c)
{
    if (c->flags & MPTCP_CF_DIRTY)
        return;
    c->flags |= MPTCP_CF_DIRTY;
    c->dirty_next = c->st->dirty;
    c->st->dirty = c;
}

static void bury(mptcp_conn *c)
{
    if (c->flags & MPTCP_CF_GRAVE)
        return;
    c->flags |= MPTCP_CF_GRAVE;
    c->grave_next = c->st->grave;
    c->st->grave = c;
}

/* Lets go of TCB |t|: it finishes its TCP life alone (FIN, TIME_WAIT) and
 * is freed when it ends. */
static void let_go(mptcp_tcb *t)
{
    /* A subflow's send bytes are its connection's (mptcp_conn_sf_snd_read):
     * what it may still have to resend goes into a ring of its own now;
     * without memory for it, it cannot finish alone. */
    if (t->snd.data == NULL && t->snd.len > 0 && t->state != MPTCP_TCP_CLOSED &&
        mptcp_tcp_snd_own(t) < 0)
        mptcp_tcp_terminate(t, MPTCP_CLOSE_ABORTED);
    mptcp_cc_group_remove(&t->ccm); /* alone it runs NewReno (cc_coupled.h) */
    t->flags &= ~(uint32_t)MPTCP_TF_OWNED;
    t->flags |= MPTCP_TF_HOST_CLOSED;
    t->flags &= ~(uint32_t)MPTCP_TF_SUBFLOW;
    t->conn = NULL;
    if (t->state == MPTCP_TCP_CLOSED)
        mptcp_tcp_bury(t);
    else if (t->state == MPTCP_TCP_TIME_WAIT)
        mptcp_tcp_free_buffers(t);
}

static void sf_clear(mptcp_subflow *sf)
{
    if (sf->t)
        let_go(sf->t);
    sf->t = NULL;
    sf->role = MPTCP_SF_FREE;
}

void mptcp_conn_release(mptcp_conn *c)
{
    if (c->tcb) {
        let_go(c->tcb);
        c->tcb = NULL;
    }
    if (c->mp) {
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
            if (c->mp->sf[i].role != MPTCP_SF_FREE)
                sf_clear(&c->mp->sf[i]);
        mptcp_timer_set(&c->st->timers, &c->mp->tn, MPTCP_TIMER_NONE);
    }
    bury(c);
}

void mptcp_conn_free(mptcp_conn *c)
{
    mptcp_stack *st = c->st;
    if (c->tcb)
        let_go(c->tcb);
    mptcp_mpc *m = c->mp;
    if (m) {
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
            if (m->sf[i].t)
                let_go(m->sf[i].t);
        if (m->token_in_table)
            mptcp_token_remove(&st->tokens, m->ltoken);
        mptcp_timer_set(&st->timers, &m->tn, MPTCP_TIMER_NONE);
    }
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        st->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    if (m) {
        mptcp_rcvbuf_release(&m->rcv, &st->mem);
        mptcp_mem_free(&st->alloc, &st->mem_used, m->mem, m->mem_len);
        mptcp_mem_free(&st->alloc, &st->mem_used, m, sizeof *m);
    }
    st->mconns--;
    mptcp_mem_free(&st->alloc, &st->mem_used, c, sizeof *c);
}

bool mptcp_conn_gone(const mptcp_conn *c)
{
    return (c->flags & (MPTCP_CF_CLOSE_QUEUED | MPTCP_CF_HOST_CLOSED)) != 0;
}

/* Ends the connection now with |reason|; subflows are reset. */
static void conn_terminate(mptcp_conn *c, mptcp_close_reason reason, bool send_rst,
                           uint64_t now_us)
{
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || sf->t == NULL)
            continue;
        mptcp_tcb *t = sf->t;
        if (t->state != MPTCP_TCP_CLOSED) {
            if (send_rst && t->state != MPTCP_TCP_SYN_SENT && t->state != MPTCP_TCP_TIME_WAIT)
                mptcp_tcp_send_rst(t, now_us);
            t->flags |= MPTCP_TF_CLOSE_QUEUED; /* no subflow CLOSED events now */
            mptcp_tcp_terminate(t, reason);
        }
    }
    c->close_reason = (uint8_t)reason;
    mptcp_conn_event(c, MPTCP_EVB_CLOSED);
}

/* ------------------------------------------------------------ creation */

/*
 * The connection's send ring holds the host's bytes until DATA_ACKed (at
 * most cfg.sndbuf, what the host may queue, as for plain TCP) and, beyond
 * that, bytes DATA_ACKed that a subflow may still resend (snd_unpin): they
 * take this reserve first, and the host's room only once it is full
 * (host_space). The subflows have no send memory of their own.
 */
static uint32_t snd_reserve(const mptcp_config *cfg)
{
    return cfg->sndbuf;
}

static uint32_t host_space(const mptcp_conn *c)
{
    const mptcp_sndbuf *sb = &c->mp->snd;
    uint32_t lim = c->st->cfg.sndbuf > sb->len ? c->st->cfg.sndbuf - sb->len : 0;
    return MPTCP_MIN(lim, mptcp_sndbuf_free(sb));
}

static mptcp_conn *conn_new(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                            bool mp)
{
    if (st->mconns >= st->cfg.max_conns)
        return NULL;
    mptcp_conn *c = mptcp_mem_zalloc(&st->alloc, &st->mem_used, sizeof *c);
    if (c == NULL)
        return NULL;
    c->st = st;
    if (mp) {
        mptcp_mpc *m = mptcp_mem_zalloc(&st->alloc, &st->mem_used, sizeof *m);
        size_t snd_cap = (size_t)st->cfg.sndbuf + snd_reserve(&st->cfg);
        size_t mem_len = snd_cap + st->cfg.rcvbuf;
        uint8_t *mem = m ? mptcp_mem_zalloc(&st->alloc, &st->mem_used, mem_len) : NULL;
        if (mem == NULL) {
            if (m)
                mptcp_mem_free(&st->alloc, &st->mem_used, m, sizeof *m);
            mptcp_mem_free(&st->alloc, &st->mem_used, c, sizeof *c);
            return NULL;
        }
        c->mp = m;
        m->c = c;
        m->local = *local;
        m->remote = *remote;
        mptcp_timer_node_init(&m->tn);
        m->tn.kind = MPTCP_TIMER_KIND_CONN;
        m->probe_at = m->fin_rexmit_at = m->rtx_at = m->nosf_at = m->fail_at = MPTCP_TIMER_NONE;
        m->fin_hold_at = MPTCP_TIMER_NONE;
        m->mem_len = mem_len;
        m->mem = mem;
        mptcp_sndbuf_init(&m->snd, m->mem, (uint32_t)snd_cap);
        mptcp_rcvbuf_init(&m->rcv, m->mem + snd_cap, st->cfg.rcvbuf);
        c->flags |= MPTCP_CF_MP;
        static const mptcp_sched_ops *const scheds[] = {
            &mptcp_sched_default, &mptcp_sched_minrtt, &mptcp_sched_roundrobin,
            &mptcp_sched_redundant};
        m->sched_ops = scheds[st->cfg.scheduler < 4 ? st->cfg.scheduler : 0];
        m->sched_ops->init(&m->sched);
        mptcp_pm_init(&m->pm, &st->pm, local, remote);
        m->mst.mptcp = true;
    }
    c->all_next = st->all;
    if (st->all)
        st->all->all_prev = c;
    st->all = c;
    st->mconns++;
    return c;
}

/* A fresh local key whose token is unique in the stack (RFC 8684 3.1). */
static int conn_keys(mptcp_conn *c)
{
    mptcp_stack *st = c->st;
    int rc = mptcp_token_new_key(&st->tokens, st->cb.random, st->user, 1, &c->mp->lkey, &c->mp->ltoken,
                                 &c->mp->lidsn);
    if (rc < 0)
        return rc;
    rc = mptcp_token_insert(&st->tokens, c->mp->ltoken, c);
    if (rc < 0)
        return rc;
    c->mp->token_in_table = true;
    c->mp->snd_una = c->mp->snd_nxt = c->mp->lidsn + 1;
    c->mp->mst.local_token = c->mp->ltoken;
    return 0;
}

void mptcp_conn_set_remote_key(mptcp_conn *c, uint64_t rkey)
{
    c->mp->rkey = rkey;
    mptcp_key_derive(1, rkey, &c->mp->rtoken, &c->mp->ridsn);
    c->mp->rcv_nxt = c->mp->ridsn + 1;
    c->mp->rcv_edge = c->mp->rcv_nxt;
    c->mp->mst.remote_token = c->mp->rtoken;
}

/* Coupled congestion control (RFC 6356 section 3 and its successors): the
 * subflow's TCB takes the configured algorithm and joins the connection's
 * group, so that the subflows together take no more than one TCP flow would
 * on a shared bottleneck. MPTCP_COUPLED_NONE keeps cfg.cc, uncoupled. */
static void cc_couple(mptcp_conn *c, mptcp_tcb *t)
{
    const mptcp_cc_ops *ops = NULL;
    switch (c->st->cfg.coupled_cc) {
    case MPTCP_COUPLED_LIA: ops = &mptcp_cc_lia; break;
    case MPTCP_COUPLED_OLIA: ops = &mptcp_cc_olia; break;
    case MPTCP_COUPLED_BALIA: ops = &mptcp_cc_balia; break;
    default: return;
    }
    t->cc.ops = ops;
    t->cc.ops->init(&t->cc, t->mss, c->st->now_us);
    /* At most MPTCP_MAX_SUBFLOWS TCBs are held, so there is always a slot;
     * a TCB outside any group would run NewReno alone. */
    (void)mptcp_cc_group_add(&c->mp->ccg, &t->ccm);
}

mptcp_subflow *mptcp_conn_sf_new(mptcp_conn *c, mptcp_tcb *t, uint8_t role)
{
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role != MPTCP_SF_FREE)
            continue;
        memset(sf, 0, sizeof *sf);
        sf->c = c;
        sf->t = t;
        sf->role = role;
        c->mp->sf_quiet = false; /* a new slot for the step's loops to watch */
        if (i >= c->mp->sf_hi)
            c->mp->sf_hi = (uint8_t)(i + 1);
        sf->id = c->mp->next_sf_id++;
        t->conn = c;
        t->flags |= MPTCP_TF_OWNED;
        t->flags |= MPTCP_TF_SUBFLOW;
        /* Its segments read the connection's ring (sf_push): no send ring
         * memory of its own (without memory for the move it keeps its
         * ring, and sf_push copies into it). */
        (void)mptcp_tcp_snd_extern(t);
        cc_couple(c, t);
        return sf;
    }
    return NULL;
}

mptcp_subflow *mptcp_conn_sf_by_id(mptcp_conn *c, int id)
{
    for (size_t i = 0; i < c->mp->sf_hi; i++)
        if (c->mp->sf[i].role != MPTCP_SF_FREE && c->mp->sf[i].id == id)
            return &c->mp->sf[i];
    return NULL;
}

static void attach_plain(mptcp_conn *c, mptcp_tcb *t)
{
    c->tcb = t;
    t->conn = c;
    t->flags |= MPTCP_TF_OWNED;
    t->flags &= ~(uint32_t)MPTCP_TF_SUBFLOW;
}

static mptcp_tcb *tcb_open(mptcp_stack *st, const mptcp_addr *l, const mptcp_addr *remote,
                           uint64_t now_us, bool subflow)
{
    /* A subflow sends from its connection's ring (sf_push): no send ring
     * (a fallback to plain TCP gives it one, mptcp_tcp_snd_own). */
    mptcp_tcb *t = subflow ? mptcp_tcp_new_extern(st, l, remote, now_us)
                           : mptcp_tcp_new(st, l, remote, now_us);
    if (t == NULL)
        return NULL;
    t->flags |= MPTCP_TF_ACTIVE;
    t->iss = mptcp_isn_generate(st->isn_secret, &t->local, &t->remote, now_us);
    t->snd_una = t->snd_nxt = t->snd_max = t->iss;
    t->state = MPTCP_TCP_SYN_SENT;
    mptcp_demux_insert(&st->demux, t);
    st->stats.conns_opened++;
    return t;
}

int mptcp_conn_connect(mptcp_stack *st, const mptcp_addr *local, const mptcp_addr *remote,
                       bool use_mptcp, uint64_t now_us, mptcp_conn **out)
{
    mptcp_conn *c = conn_new(st, local, remote, use_mptcp);
    if (c == NULL) {
        st->stats.drop_no_mem++;
        return st->mconns >= st->cfg.max_conns ? MPTCP_ELIMIT : MPTCP_ENOMEM;
    }
    c->flags |= MPTCP_CF_ACTIVE | MPTCP_CF_OWNED;
    if (use_mptcp && conn_keys(c) < 0) {
        mptcp_conn_free(c);
        return MPTCP_ELIMIT;
    }
    mptcp_tcb *t = tcb_open(st, local, remote, now_us, use_mptcp);
    if (t == NULL) {
        mptcp_conn_free(c);
        st->stats.drop_no_mem++;
        return MPTCP_ENOMEM;
    }
    if (use_mptcp) {
        mptcp_subflow *sf = mptcp_conn_sf_new(c, t, MPTCP_SF_MPC);
        sf->local_id = 0;
        sf->remote_id = 0;
    } else {
        attach_plain(c, t);
    }
    mptcp_tcp_send_syn(t, now_us);
    mptcp_tcp_touch(t);
    *out = c;
    return 0;
}

/* Walks the MPTCP options of a SYN: the MP_CAPABLE or MP_JOIN form found. */
static bool find_syn_opt(const uint8_t *o, size_t len, mptcp_opt *out)
{
    size_t i = 0;
    while (i < len) {
        if (o[i] == 0)
            break;
        if (o[i] == 1) {
            i++;
            continue;
        }
        if (i + 1 >= len || o[i + 1] < 2 || o[i + 1] > len - i)
            break;
        if (o[i] == MPTCP_TCPOPT_MPTCP && mptcp_opt_parse(o + i, len - i, out) > 0 &&
            (out->form == MPTCP_OPT_MPC_SYN || out->form == MPTCP_OPT_JOIN_SYN))
            return true;
        i += o[i + 1];
    }
    return false;
}

static void pm_views(mptcp_conn *c, mptcp_pm_subflow *v, size_t *n);

/* The MP_TCPRST a refused MP_JOIN SYN's RST carries (RFC 8684 section
 * 3.6). Linux: an unknown token is "MPTCP-specific error", a connection
 * that takes no more subflows "administratively prohibited". */
static int refuse_join(uint8_t code, uint8_t *rst_opt, size_t *rst_opt_len, int rc)
{
    mptcp_opt r;
    memset(&r, 0, sizeof r);
    r.form = MPTCP_OPT_TCPRST;
    r.u.tcprst.reason = code;
    mptcp_ssize n = mptcp_opt_write(rst_opt, MPTCP_CONN_RST_OPT_MAX, &r);
    *rst_opt_len = n > 0 ? (size_t)n : 0;
    return rc;
}

bool mptcp_conn_syn_subflow(const mptcp_stack *st, const uint8_t *opts, size_t opts_len)
{
    mptcp_opt o;
    return st->cfg.mptcp && find_syn_opt(opts, opts_len, &o) &&
           (o.form == MPTCP_OPT_MPC_SYN || o.form == MPTCP_OPT_JOIN_SYN);
}

int mptcp_conn_syn_in(mptcp_stack *st, mptcp_tcb *t, const mptcp_tcp_hdr *h,
                      const uint8_t *opts, size_t opts_len, uint64_t now_us, uint8_t *rst_opt,
                      size_t *rst_opt_len)
{
    (void)h;
    (void)now_us;
    *rst_opt_len = 0;
    mptcp_opt o;
    bool has = st->cfg.mptcp && find_syn_opt(opts, opts_len, &o);
    if (has && o.form == MPTCP_OPT_JOIN_SYN) {
        /* RFC 8684 section 3.2: the token names the connection. */
        mptcp_conn *c = mptcp_token_lookup(&st->tokens, o.u.join.token);
        if (c == NULL || !(c->flags & MPTCP_CF_MP) || (c->flags & MPTCP_CF_FALLBACK) ||
            !(c->flags & MPTCP_CF_FULLY_EST) || mptcp_conn_gone(c)) {
            return refuse_join(MPTCP_RSTCODE_MPTCP, rst_opt, rst_opt_len, MPTCP_ENOTFOUND);
        }
        mptcp_pm_subflow v[MPTCP_MAX_SUBFLOWS];
        size_t n = 0;
        pm_views(c, v, &n);
        if (!mptcp_pm_join_allowed(&c->mp->pm, v, n))
            return refuse_join(MPTCP_RSTCODE_PROHIBITED, rst_opt, rst_opt_len, MPTCP_ELIMIT);
        mptcp_subflow *sf = mptcp_conn_sf_new(c, t, MPTCP_SF_JOIN_PASSIVE);
        if (sf == NULL)
            return refuse_join(MPTCP_RSTCODE_PROHIBITED, rst_opt, rst_opt_len, MPTCP_ELIMIT);
        sf->remote_id = o.u.join.addr_id;
        sf->peer_backup = o.u.join.backup;
        sf->rnonce = o.u.join.nonce;
        uint8_t r[4];
        st->cb.random(st->user, r, sizeof r);
        sf->lnonce = mptcp_get_be32(r);
        sf->local_id = mptcp_subflow_local_id_alloc(c, &t->local);
        c->mp->mst.joins_in++;
        return 0;
    }
    bool mp = has && o.form == MPTCP_OPT_MPC_SYN;
    mptcp_conn *c = conn_new(st, &t->local, &t->remote, mp);
    if (c == NULL)
        return MPTCP_ENOMEM;
    if (!mp) {
        attach_plain(c, t);
        return 0;
    }
    if (conn_keys(c) < 0) {
        mptcp_conn_free(c);
        return MPTCP_ELIMIT;
    }
    /* Checksums: either side requiring them turns them on (3.1, A flag). */
    if ((o.u.mpc.flags & MPTCP_MPC_A) || st->cfg.checksum)
        c->flags |= MPTCP_CF_CSUM;
    if (o.u.mpc.flags & MPTCP_MPC_C)
        c->flags |= MPTCP_CF_PEER_DENY0;
    mptcp_conn_sf_new(c, t, MPTCP_SF_MPC);
    return 0;
}

/* ------------------------------------------------------------ plain TCP */

static void tcp_shutdown(mptcp_tcb *t, uint64_t now_us)
{
    if (t->flags & MPTCP_TF_FIN_PENDING)
        return;
    t->flags |= MPTCP_TF_FIN_PENDING;
    if (t->state == MPTCP_TCP_ESTABLISHED)
        mptcp_tcp_set_state(t, MPTCP_TCP_FIN_WAIT_1, now_us);
    else if (t->state == MPTCP_TCP_CLOSE_WAIT)
        mptcp_tcp_set_state(t, MPTCP_TCP_LAST_ACK, now_us);
    /* SYN_SENT / SYN_RECEIVED: the FIN waits for ESTABLISHED (tcp.c). */
    mptcp_tcp_output(t, now_us);
}

static void plain_event(void *ctx, mptcp_tcb *t, uint8_t evb)
{
    mptcp_conn *c = ctx;
    if (evb == MPTCP_EVB_ACCEPTED)
        c->flags |= MPTCP_CF_OWNED;
    if (evb == MPTCP_EVB_CONNECTED || evb == MPTCP_EVB_ACCEPTED)
        c->flags |= MPTCP_CF_CONNECTED;
    if (evb == MPTCP_EVB_CLOSED)
        c->close_reason = t->close_reason;
    mptcp_conn_event(c, evb);
}

const mptcp_tcp_upper_ops mptcp_plain_ops = {NULL, NULL, NULL, plain_event, NULL, NULL, NULL, NULL};

static mptcp_ssize plain_send(mptcp_conn *c, mptcp_tcb *t, const uint8_t *data, size_t len,
                              uint64_t now_us)
{
    if (t->state == MPTCP_TCP_CLOSED)
        return MPTCP_ECLOSED;
    if (t->flags & MPTCP_TF_FIN_PENDING)
        return MPTCP_ESTATE;
    if (t->state != MPTCP_TCP_SYN_SENT && t->state != MPTCP_TCP_SYN_RECEIVED &&
        t->state != MPTCP_TCP_ESTABLISHED && t->state != MPTCP_TCP_CLOSE_WAIT)
        return MPTCP_ESTATE;
    if (len == 0)
        return 0;
    (void)c;
    uint32_t chunk = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint32_t n = mptcp_sndbuf_append(&t->snd, data, chunk);
    if (n < len)
        t->flags |= MPTCP_TF_WANT_WRITE;
    if (n > 0 && mptcp_tcp_synced(t))
        mptcp_tcp_output(t, now_us);
    mptcp_tcp_touch(t);
    return n > 0 ? (mptcp_ssize)n : MPTCP_EAGAIN;
}

static mptcp_ssize plain_recv(mptcp_conn *c, mptcp_tcb *t, uint8_t *buf, size_t len,
                              uint64_t now_us)
{
    uint32_t chunk = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint32_t n = t->rcv.data ? mptcp_rcvbuf_read(&t->rcv, buf, chunk) : 0;
    mptcp_ssize ret;
    if (n > 0) {
        mptcp_tcp_rcv_window_opened(t, now_us);
        ret = (mptcp_ssize)n;
    } else if (t->flags & MPTCP_TF_FIN_RCVD) {
        ret = 0;
    } else if (t->state == MPTCP_TCP_CLOSED || (c->flags & MPTCP_CF_CLOSE_QUEUED)) {
        ret = MPTCP_ECLOSED;
    } else {
        ret = MPTCP_EAGAIN;
    }
    mptcp_tcp_maybe_finish(t);
    mptcp_tcp_touch(t);
    return ret;
}

static int plain_close(mptcp_conn *c, mptcp_tcb *t, uint64_t now_us)
{
    (void)c;
    t->flags |= MPTCP_TF_HOST_CLOSED;
    if (t->state == MPTCP_TCP_CLOSED || (t->flags & MPTCP_TF_TCP_DONE)) {
        mptcp_tcp_maybe_finish(t);
    } else if (t->state == MPTCP_TCP_SYN_SENT) {
        mptcp_tcp_terminate(t, MPTCP_CLOSE_NORMAL); /* section 3.10.4: delete the TCB */
    } else if (t->rcv.len > 0) {
        /* Unread data: abort so that the peer knows it was not consumed
         * (RFC 9293 section 3.6, RFC 2525 section 2.17). */
        mptcp_tcp_send_rst(t, now_us);
        mptcp_tcp_terminate(t, MPTCP_CLOSE_ABORTED);
    } else {
        tcp_shutdown(t, now_us);
        if (t->state == MPTCP_TCP_FIN_WAIT_2)
            mptcp_tcp_set_state(t, MPTCP_TCP_FIN_WAIT_2, now_us); /* start the orphan timer */
    }
    mptcp_tcp_touch(t);
    return 0;
}

static int plain_abort(mptcp_conn *c, mptcp_tcb *t, uint64_t now_us)
{
    t->flags |= MPTCP_TF_HOST_CLOSED;
    if (t->state != MPTCP_TCP_CLOSED && t->state != MPTCP_TCP_SYN_SENT &&
        t->state != MPTCP_TCP_TIME_WAIT)
        mptcp_tcp_send_rst(t, now_us);
    if (t->state == MPTCP_TCP_CLOSED || (t->flags & MPTCP_TF_TCP_DONE)) {
        c->close_reason = MPTCP_CLOSE_ABORTED;
        t->flags |= MPTCP_TF_CLOSE_QUEUED;
        mptcp_conn_event(c, MPTCP_EVB_CLOSED);
        if (t->state == MPTCP_TCP_CLOSED)
            mptcp_tcp_bury(t);
    } else {
        mptcp_tcp_terminate(t, MPTCP_CLOSE_ABORTED);
    }
    mptcp_tcp_touch(t);
    return 0;
}

/* ------------------------------------------------------------ fallback */

static void emit_fallback(mptcp_conn *c)
{
    mptcp_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = MPTCP_EV_FALLBACK;
    ev.subflow_id = -1;
    mptcp_conn_event_push(c, &ev);
}

/* RFC 8684 3.7: after a fallback only one subflow carries the stream; the
 * others are reset. */
static void fallback_keep_only(mptcp_conn *c, mptcp_subflow *keep, uint64_t now_us)
{
    c->mp->fb_id = keep->id;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *o = &c->mp->sf[i];
        if (o != keep && o->role != MPTCP_SF_FREE && o->t && !o->dead)
            mptcp_conn_sf_reset(o, MPTCP_RSTCODE_MIDDLEBOX, now_us);
    }
}

/*
 * RFC 8684 3.7: after a fallback the one subflow's bytes map linearly, and
 * the peer continues its linear map after the last mapping it took from
 * this subflow: our stream goes on after the newest chunk a segment
 * carried, with the DSN after it. Chunks queued behind it never went out
 * with their mapping: the peer would read them as the DSNs that follow, so
 * they are dropped from the subflow and the data level resends from that
 * DSN. It need not be the data-level snd_nxt: a reinjection rewinds
 * snd_nxt to snd_una while this subflow still holds the bytes (or queues
 * them a second time), and subflows now reset may have carried DSNs past
 * it. False when that DSN is gone from our buffer (below snd_una: the peer
 * acknowledged later DSNs another subflow carried): no linear stream
 * carries that, the subflow is reset instead.
 */
static bool fallback_lin_start(mptcp_conn *c, mptcp_subflow *sf, uint64_t *dsn)
{
    mptcp_tcb *t = sf->t;
    mptcp_map_tx *tx = &sf->tx;
    *dsn = c->mp->snd_nxt;
    if (!tx->sent_any)
        return true;
    uint32_t end = tx->iss + tx->sent_end_ssn;
    if (mptcp_dsn_lt(tx->sent_end_dsn, c->mp->snd_una) || mptcp_seq_lt(end, t->snd_una) ||
        mptcp_seq_gt(end, t->snd_una + t->snd.len))
        return false;
    t->snd.len = end - t->snd_una;
    while (tx->n > 0 && !tx->ent[(tx->head + tx->n - 1u) % MPTCP_MAP_TX_MAX].sent)
        tx->n--;
    *dsn = tx->sent_end_dsn;
    return true;
}

/*
 * RFC 8684 section 3.7. Before any byte went through the data level (no
 * MP_CAPABLE in the SYN/ACK or the third ACK) the connection becomes a plain
 * one over the same TCB: bytes the host already queued move into the TCB.
 * Later (no DSS on the first data, infinite mapping) the subflow keeps
 * running under the connection with linear mappings and no options.
 */
void mptcp_conn_fallback(mptcp_conn *c, mptcp_subflow *sf, uint64_t now_us)
{
    (void)now_us;
    if (c->flags & MPTCP_CF_FALLBACK)
        return;
    c->flags |= MPTCP_CF_FALLBACK;
    c->mp->mst.fallback = true;
    mptcp_tcb *t = sf->t;
    /* Nothing went through the data level yet: no DSN was scheduled, none
     * received, and (client) the server never showed it had our key. */
    bool nothing_moved = sf->role == MPTCP_SF_MPC && c->mp->snd_nxt == c->mp->snd_una &&
                         t->snd.len == 0 && c->mp->mst.bytes_received == 0 && c->mp->rcv.len == 0 &&
                         t->rcv.len == 0;
    /* As a plain TCB it keeps its send bytes itself (mptcp_tcp_snd_extern
     * gave its ring back); without memory for one it stays under the
     * connection as a linear stream (below). */
    if (nothing_moved && mptcp_tcp_snd_own(t) < 0)
        nothing_moved = false;
    if (nothing_moved) {
        /* Copy what the host queued into the TCB, then run as plain TCP. */
        uint8_t *buf = c->st->rxbuf;
        uint32_t off = 0;
        while (off < c->mp->snd.len) {
            uint32_t n = mptcp_sndbuf_copy(&c->mp->snd, off, buf, (uint32_t)c->st->rxbuf_len);
            n = mptcp_sndbuf_append(&t->snd, buf, n);
            if (n == 0)
                break;
            off += n;
        }
        mptcp_sndbuf_consume(&c->mp->snd, off);
        if (c->mp->snd.len == 0) {
            /* The TCB's rings carry the stream from now on: give the
             * data-level rings back (the rest of c->mp stays for the
             * statistics and the FALLBACK event). */
            mptcp_mem_free(&c->st->alloc, &c->st->mem_used, c->mp->mem, c->mp->mem_len);
            c->mp->mem = NULL;
            c->mp->mem_len = 0;
            mptcp_sndbuf_init(&c->mp->snd, NULL, 0);
            mptcp_rcvbuf_release(&c->mp->rcv, &c->st->mem);
            mptcp_rcvbuf_init(&c->mp->rcv, NULL, 0);
        }
        if (c->flags & MPTCP_CF_FIN_PENDING)
            t->flags |= MPTCP_TF_FIN_PENDING;
        sf->t = NULL;
        sf->role = MPTCP_SF_FREE;
        if (c->mp->token_in_table) {
            mptcp_token_remove(&c->st->tokens, c->mp->ltoken);
            c->mp->token_in_table = false;
        }
        c->flags &= ~(uint32_t)MPTCP_CF_MP;
        attach_plain(c, t);
        if (t->state >= MPTCP_TCP_ESTABLISHED && !(c->flags & MPTCP_CF_CONNECTED)) {
            c->flags |= MPTCP_CF_CONNECTED;
            if (c->flags & MPTCP_CF_ACTIVE) {
                mptcp_conn_event(c, MPTCP_EVB_CONNECTED);
            } else {
                c->flags |= MPTCP_CF_OWNED;
                mptcp_conn_event(c, MPTCP_EVB_ACCEPTED);
            }
        }
        emit_fallback(c);
        return;
    }
    if ((t->flags & (MPTCP_TF_FIN_PENDING | MPTCP_TF_FIN_RCVD)) || sf->closing || sf->close_deferred ||
        (sf->fail_wait && !sf->fail_lin_known)) {
        /* A subflow we are closing (FIN queued, or the close waiting for
         * its bytes to be acknowledged: the peer, told by our REMOVE_ADDR,
         * may be closing it too) cannot carry the stream alone, nor one
         * the peer closed while it ran MPTCP (its FIN closed a subflow,
         * 3.3.3: after a fallback it would read as the end of the stream,
         * which the peer never sent). Nor one
         * whose bytes we discard after our MP_FAIL (3.7): its TCP acknowledged
         * them, and the peer, falling back without our MP_FAIL (a middlebox
         * strips it), never resends them: no linear stream has them (Linux
         * resets a subflow whose MP_FAIL gets no answer). */
        c->flags &= ~(uint32_t)MPTCP_CF_FALLBACK;
        c->mp->mst.fallback = false;
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
        return;
    }
    uint64_t lin_dsn;
    if (!fallback_lin_start(c, sf, &lin_dsn)) {
        c->flags &= ~(uint32_t)MPTCP_CF_FALLBACK;
        c->mp->mst.fallback = false;
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
        return;
    }
    /* Linear from here: the next unread subflow byte is the next DSN, and
     * what we send maps one to one as well (one subflow, no options). */
    uint32_t seq = t->rcv_nxt - t->rcv.len;
    mptcp_map_rx_set_linear(&sf->rx, seq, c->mp->rcv_nxt);
    c->mp->lin_ssn = t->snd_una + t->snd.len;
    c->mp->lin_dsn = lin_dsn;
    c->mp->snd_nxt = lin_dsn;
    c->mp->lin_back = true;
    fallback_keep_only(c, sf, now_us);
    emit_fallback(c);
}

/* Restarts |sf|'s receive table in linear mode at absolute |seq| = |dsn|;
 * bytes before |seq| not yet consumed are discarded by the pump. */
static void rx_relinear(mptcp_subflow *sf, uint32_t seq, uint64_t dsn)
{
    mptcp_tcb *t = sf->t;
    uint32_t next = t->rcv_nxt - t->rcv.len;
    mptcp_map_rx_init(&sf->rx, t->irs, false);
    sf->rx_lin_lazy = false;
    sf->rx.consumed = next - t->irs;
    sf->rx.fed = sf->rx.consumed;
    /* Stale bytes before |seq| still to discard (the pump ends the wait
     * when it reaches |seq|); none when the stream restarts where we are,
     * e.g. at its end with nothing more to come, where a wait that only
     * the next byte could end held back the peer's FIN for ever
     * (fuzz/mptcp_pair regress-mp-fail-answered-at-the-end). */
    sf->fail_wait = mptcp_seq_lt(next, seq);
    sf->fail_lin_known = true;
    sf->fail_lin_seq = seq;
    mptcp_map_rx_set_linear(&sf->rx, seq, dsn);
}

size_t mptcp_conn_sf_live(const mptcp_conn *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->mp->sf_hi; i++)
        n += c->mp->sf[i].role != MPTCP_SF_FREE && !c->mp->sf[i].dead;
    return n;
}

void mptcp_conn_mp_fail_in(mptcp_conn *c, mptcp_subflow *sf, uint64_t dsn, uint64_t now_us)
{
    if (mptcp_conn_sf_live(c) > 1 || (c->flags & MPTCP_CF_FALLBACK) || sf->t == NULL)
        return; /* with other subflows the peer resets the failing one */
    /* RFC 8684 3.7: from |dsn| on, resend as an unmapped stream that starts
     * with the infinite mapping; the peer dropped what followed it. */
    mptcp_tcb *t = sf->t;
    if (t->flags & (MPTCP_TF_FIN_PENDING | MPTCP_TF_FIN_RCVD | MPTCP_TF_FIN_OOO)) {
        /* We are closing this subflow, or the peer did while it ran MPTCP:
         * a TCP FIN could not be told from the end of the stream after a
         * fallback; reset it instead. */
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
        return;
    }
    if (mptcp_dsn_lt(dsn, c->mp->snd_una) || mptcp_dsn_gt(dsn, c->mp->snd_nxt))
        dsn = c->mp->snd_una;
    c->flags |= MPTCP_CF_FALLBACK;
    c->mp->mst.fallback = true;
    c->mp->snd_nxt = dsn;
    c->mp->lin_dsn = dsn;
    /* Bytes queued on the subflow but never sent belong to the old
     * mappings: drop them, the resent stream starts right after what went
     * out (snd_max). */
    if (!(t->flags & MPTCP_TF_FIN_SENT)) {
        uint32_t sent = t->snd_max - t->snd_una;
        if (t->snd_una == t->iss)
            sent = 0;
        if (sent < t->snd.len)
            t->snd.len = sent;
    }
    c->mp->lin_ssn = t->snd_una + t->snd.len;
    c->mp->lin_back = false;
    c->mp->inf_pending = true;
    c->mp->fb_id = sf->id;
    /* Our receive side follows the peer's stream linearly as well, but
     * only where it stops mapping: until our infinite mapping reaches it
     * the peer maps its bytes (a reinjection may even map an old DSN after
     * newer ones on this subflow), so held and later DSS mappings stay in
     * force and the linear rule starts at the first unmapped byte, which
     * continues the peer's last mapping (the pump sets it). */
    if (!sf->fail_wait) {
        sf->rx_lin_lazy = true;
        sf->rx_end_dsn = c->mp->rcv_nxt;
    }
    emit_fallback(c);
    mptcp_conn_dirty(c);
    (void)now_us;
}

/* The chunks |tx| still holds continue each other in both sequence spaces. */
static bool tx_linear(const mptcp_map_tx *tx)
{
    for (unsigned i = 1; i < tx->n; i++) {
        const mptcp_map_tx_ent *a = &tx->ent[(tx->head + i - 1u) % MPTCP_MAP_TX_MAX];
        const mptcp_map_tx_ent *b = &tx->ent[(tx->head + i) % MPTCP_MAP_TX_MAX];
        if (b->ssn != a->ssn + a->len || b->dsn != a->dsn + a->len)
            return false;
    }
    return true;
}

/* After a fallback this subflow alone carries our stream from the data
 * level's snd_una to |lin_dsn|: true when the chunks it holds cover that
 * range without a gap (bytes another subflow carried and nobody
 * DATA_ACKed would be skipped, the peer's stream a hole short). */
static bool tx_covers(const mptcp_map_tx *tx, uint64_t snd_una, uint64_t lin_dsn)
{
    uint64_t need = snd_una;
    for (unsigned i = 0; i < tx->n; i++) {
        const mptcp_map_tx_ent *e = &tx->ent[(tx->head + i) % MPTCP_MAP_TX_MAX];
        uint64_t end = e->dsn + e->len;
        if (mptcp_dsn_leq(end, need))
            continue;
        if (mptcp_dsn_gt(e->dsn, need))
            return false;
        need = end;
    }
    return mptcp_dsn_geq(need, lin_dsn);
}

void mptcp_conn_infinite_in(mptcp_conn *c, mptcp_subflow *sf, uint32_t seq, uint64_t dsn,
                            uint64_t now_us)
{
    (void)now_us;
    if (sf->t == NULL)
        return;
    bool was = (c->flags & MPTCP_CF_FALLBACK) != 0;
    uint64_t lin_dsn = c->mp->snd_nxt;
    if (!was && ((sf->t->flags & MPTCP_TF_FIN_PENDING) || !fallback_lin_start(c, sf, &lin_dsn))) {
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us); /* see mp_fail_in */
        return;
    }
    if (!was && !tx_covers(&sf->tx, c->mp->snd_una, lin_dsn)) {
        /* Bytes before the linear stream that another subflow carried and
         * the peer never DATA_ACKed: nothing would carry them after the
         * fallback (fuzz/mptcp_pair regress-fallback-over-a-dsn-hole: the
         * peer read 6,634 bytes short and took the end of the stream). */
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
        return;
    }
    if (!was && !sf->fail_wait && !tx_linear(&sf->tx)) {
        /* Not the answer to our MP_FAIL: the peer fell back on its own (our
         * DSS do not reach it, 3.7) and reads this subflow's bytes
         * linearly, but what we sent on it since is not one run of DSNs
         * (a reinjection put old DSNs behind newer ones): the peer would
         * take them as new bytes. Reset instead (fuzz/mptcp_pair
         * regress-reinjection-before-peer-fallback). */
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
        return;
    }
    c->flags |= MPTCP_CF_FALLBACK;
    c->mp->mst.fallback = true;
    c->flags &= ~(uint32_t)MPTCP_CF_SEND_FAIL;
    if (sf->fail_wait && !sf->fail_lin_known) {
        /* Our MP_FAIL is answered: the stream restarts at |seq|. */
        rx_relinear(sf, seq, dsn);
    } else if (!was) {
        mptcp_map_rx_set_linear(&sf->rx, seq, dsn);
    }
    if (!was) {
        mptcp_tcb *t = sf->t;
        c->mp->lin_ssn = t->snd_una + t->snd.len;
        c->mp->lin_dsn = lin_dsn;
        c->mp->snd_nxt = lin_dsn;
        c->mp->lin_back = true;
        fallback_keep_only(c, sf, now_us);
        emit_fallback(c);
    }
    mptcp_conn_dirty(c);
}

/* ------------------------------------------------------------ send side */

/*
 * The data-level receive window (RFC 8684 3.3.4): every subflow advertises
 * it relative to the DATA_ACK, and the peer may send anything below the
 * largest DATA_ACK + window it has seen on any subflow. A subflow
 * acknowledges bytes before the data level places them, so every byte below
 * an edge once offered must fit in the ring: the edge never passes the
 * ring's end (rcv_nxt + free space), which only moves right as the host
 * reads. Within that the edge does not move left, and moves right by at
 * least min(ring / 2, MSS) (receiver SWS avoidance, RFC 9293 3.8.6.2.2).
 * A window computed per subflow from its own sequence space does not hold
 * this: bytes other subflows delivered meanwhile push DATA_ACK + window
 * beyond the ring's end.
 */
static uint32_t rcv_wnd_calc(const mptcp_conn *c)
{
    const mptcp_mpc *mp = c->mp;
    uint32_t space = mptcp_rcvbuf_space(&mp->rcv);
    uint32_t cur = 0;
    if (mptcp_dsn_gt(mp->rcv_edge, mp->rcv_nxt))
        cur = (uint32_t)MPTCP_MIN(mp->rcv_edge - mp->rcv_nxt, (uint64_t)space);
    uint32_t thresh = MPTCP_MIN(mp->rcv.cap / 2, (uint32_t)c->st->cfg.mss);
    return space - cur < thresh ? cur : space;
}

uint32_t mptcp_conn_rcv_space(const mptcp_conn *c)
{
    return rcv_wnd_calc(c);
}

void mptcp_conn_rcv_advertised(mptcp_conn *c, uint32_t wnd)
{
    c->mp->rcv_edge = mptcp_dsn_max(c->mp->rcv_edge, c->mp->rcv_nxt + wnd);
}

static bool sf_can_send(const mptcp_subflow *sf)
{
    const mptcp_tcb *t = sf->t;
    return t && sf->usable && !sf->closing && !sf->dead &&
           (t->state == MPTCP_TCP_ESTABLISHED || t->state == MPTCP_TCP_CLOSE_WAIT) &&
           !(t->flags & MPTCP_TF_FIN_PENDING);
}

static uint32_t tcb_pmss(const mptcp_tcb *t)
{
    uint32_t opt = (t->flags & MPTCP_TF_TS) ? 12 : 0;
    return t->mss > opt + 28 ? t->mss - opt - 28 : 64; /* room for a DSS */
}

/* The longest chunk of at most |len| bytes that fills its segments: the
 * first carries the mapping (RFC 8684 3.3.1; 24 option bytes with the
 * 64-bit DSN), the others the 8-byte DATA_ACK form (every one the mapping
 * with checksums on), so a chunk ending inside a segment sends a runt that
 * costs a whole header and a queue slot. |len| itself when shorter than
 * the first segment. */
static uint32_t chunk_fit(const mptcp_conn *c, const mptcp_tcb *t, uint32_t len)
{
    uint32_t ts = (t->flags & MPTCP_TF_TS) ? 12 : 0;
    if (t->mss <= ts + 24 + 64)
        return len;
    uint32_t first = t->mss - ts - 24;
    uint32_t rest = (c->flags & MPTCP_CF_CSUM) ? first : t->mss - ts - 8;
    if (len <= first)
        return len;
    return first + (len - first) / rest * rest;
}

/* Hands [dsn, dsn + len) from the connection ring to subflow |sf|. Returns
 * the bytes handed over. */
static uint32_t sf_push(mptcp_conn *c, mptcp_subflow *sf, uint64_t dsn, uint32_t len)
{
    mptcp_tcb *t = sf->t;
    uint8_t *buf = c->st->rxbuf;
    uint32_t done = 0;
    if (t->snd.data != NULL && t->snd.len == 0)
        (void)mptcp_tcp_snd_extern(t); /* snd_unpin's copy is no longer needed */
    while (done < len) {
        uint32_t off = (uint32_t)(dsn + done - c->mp->snd_una);
        uint32_t want = MPTCP_MIN(len - done, (uint32_t)c->st->rxbuf_len);
        want = MPTCP_MIN(want, mptcp_sndbuf_free(&t->snd));
        if (want == 0)
            break;
        uint32_t seq = t->snd_una + t->snd.len;
        uint32_t n;
        if (sf->tx.csum) {
            /* the mapping's checksum reads the payload: through |buf| */
            n = mptcp_sndbuf_copy(&c->mp->snd, off, buf, want);
            if (n == 0)
                break;
            if (!(c->flags & MPTCP_CF_FALLBACK) && mptcp_map_tx_add(&sf->tx, dsn + done, seq, n, buf) < 0)
                break; /* (after fallback there are no mappings to keep) */
        } else {
            n = MPTCP_MIN(want, c->mp->snd.len > off ? c->mp->snd.len - off : 0);
            if (n == 0)
                break;
            if (!(c->flags & MPTCP_CF_FALLBACK) && mptcp_map_tx_add(&sf->tx, dsn + done, seq, n, NULL) < 0)
                break;
        }
        /* The bytes stay in the connection ring: the subflow's ring only
         * counts them, its segments read them through the mapping
         * (mptcp_conn_sf_snd_read). */
        if (t->snd.data != NULL)
            mptcp_sndbuf_append_from(&t->snd, &c->mp->snd, off, n);
        else
            mptcp_sndbuf_extend(&t->snd, n);
        done += n;
    }
    return done;
}

/*
 * The DSN of subflow byte |seq| that |sf| sends and how many bytes from it
 * follow in the same mapping (*run). The chunk table (its mappings) says
 * it, except after a fallback (RFC 8684 3.7) from lin_ssn on, where the
 * subflow is the stream (lin_dsn onward; chunks recorded before an MP_FAIL
 * and never sent may lie there and no longer count), and before lin_ssn
 * for bytes no chunk holds (the linear map backwards). False: not one of
 * its bytes.
 */
static bool snd_dsn_of(const mptcp_conn *c, const mptcp_subflow *sf, uint32_t seq,
                       uint64_t *dsn, uint32_t *run)
{
    const mptcp_mpc *m = c->mp;
    bool lin = (c->flags & MPTCP_CF_FALLBACK) && sf->id == m->fb_id;
    if (lin && mptcp_seq_geq(seq, m->lin_ssn)) {
        *dsn = m->lin_dsn + (seq - m->lin_ssn);
        *run = UINT32_MAX;
        return true;
    }
    const mptcp_map_tx *tx = &sf->tx;
    uint32_t rel = seq - tx->iss;
    for (unsigned i = tx->n; i-- > 0;) { /* newest first: new data is the common case */
        const mptcp_map_tx_ent *e = &tx->ent[(tx->head + i) % MPTCP_MAP_TX_MAX];
        if (mptcp_seq_geq(rel, e->ssn) && mptcp_seq_lt(rel, e->ssn + e->len)) {
            *dsn = e->dsn + (rel - e->ssn);
            *run = e->ssn + e->len - rel;
            return true;
        }
    }
    if (lin && m->lin_back) {
        *dsn = m->lin_dsn - (m->lin_ssn - seq);
        *run = m->lin_ssn - seq;
        return true;
    }
    return false;
}

uint32_t mptcp_conn_sf_snd_read(mptcp_conn *c, mptcp_subflow *sf, uint32_t seq, uint8_t *dst,
                                uint32_t len, uint32_t *sum)
{
    uint32_t done = 0, s = 0;
    while (done < len) {
        uint64_t dsn;
        uint32_t run;
        if (!snd_dsn_of(c, sf, seq + done, &dsn, &run))
            break;
        uint32_t want = MPTCP_MIN(len - done, run);
        /* From the connection ring: bytes DATA_ACKed that a subflow still
         * needs are kept before its offset 0 (snd_unpin). */
        uint32_t off = (uint32_t)(dsn - c->mp->snd_una);
        while (want > 0) {
            const uint8_t *p;
            uint32_t k = mptcp_sndbuf_span(&c->mp->snd, off, want, &p);
            if (k == 0)
                goto out; /* not held: cannot happen while snd_unpin keeps them */
            s = mptcp_csum_copy(s, dst + done, p, k, done);
            done += k;
            off += k;
            want -= k;
        }
    }
out:
    *sum = s;
    return done;
}

/*
 * The connection ring frees a byte once the DATA_ACK covers it and no
 * subflow may still send it: a subflow resends bytes its TCP has not seen
 * acknowledged (RFC 8684 3.3.6: a subflow-level retransmission repeats the
 * mapping and the bytes), so every byte at or after the oldest one some
 * subflow holds unacknowledged stays. A subflow that is gone (its TCB
 * closed, or cleared) holds nothing: what it carried was reinjected
 * (reinject) and the DATA_ACK is all that counts. Writers waiting for room
 * hear of what this frees.
 */
/* The oldest DSN subflow |sf| may still send from the connection ring
 * (a subflow-level retransmission), or data-level snd_una when none. */
static uint64_t sf_pin(const mptcp_conn *c, const mptcp_subflow *sf)
{
    const mptcp_mpc *m = c->mp;
    const mptcp_tcb *t = sf->t;
    uint64_t low = m->snd_una;
    const mptcp_map_tx *tx = &sf->tx;
    uint32_t rel = t->snd_una - tx->iss;
    for (uint8_t k = 0; k < tx->n; k++) {
        const mptcp_map_tx_ent *e = &tx->ent[(tx->head + k) % MPTCP_MAP_TX_MAX];
        uint32_t from = mptcp_seq_gt(rel, e->ssn) ? rel : e->ssn;
        if (mptcp_seq_lt(from, e->ssn + e->len))
            low = mptcp_dsn_min(low, e->dsn + (from - e->ssn));
    }
    if ((c->flags & MPTCP_CF_FALLBACK) && sf->id == m->fb_id) {
        /* the linear part (snd_dsn_of) */
        if (mptcp_seq_lt(t->snd_una, m->lin_ssn) && m->lin_back)
            low = mptcp_dsn_min(low, m->lin_dsn - (m->lin_ssn - t->snd_una));
        else if (mptcp_seq_geq(t->snd_una, m->lin_ssn))
            low = mptcp_dsn_min(low, m->lin_dsn + (t->snd_una - m->lin_ssn));
    }
    return low;
}

/*
 * The connection ring frees a byte once the DATA_ACK covers it and no
 * subflow may still send it: a subflow resends bytes its TCP has not seen
 * acknowledged (RFC 8684 3.3.6: a subflow-level retransmission repeats the
 * mapping and the bytes), so every byte at or after the oldest one some
 * subflow holds unacknowledged stays. A subflow that is gone (its TCB
 * closed, or cleared) holds nothing: what it carried was reinjected
 * (reinject) and the DATA_ACK is all that counts. Kept bytes take the
 * ring's reserve (snd_reserve); before they would take the host's room,
 * the subflow holding the oldest gets a ring of its own with a copy of
 * what it still has to send (a blackholed or very slow path: its pin would
 * otherwise grow with the connection's progress until it is reset), until
 * its ring empties (sf_push). Writers waiting for room hear of what this
 * frees.
 */
static void snd_unpin(mptcp_conn *c)
{
    mptcp_mpc *m = c->mp;
    if (m->snd.kept == 0)
        return;
    uint32_t reserve = m->snd.cap - c->st->cfg.sndbuf;
    for (size_t guard = 0; guard <= MPTCP_MAX_SUBFLOWS; guard++) {
        uint64_t low = m->snd_una;
        mptcp_subflow *oldest = NULL;
        for (size_t i = 0; i < m->sf_hi; i++) {
            mptcp_subflow *sf = &m->sf[i];
            const mptcp_tcb *t = sf->t;
            if (sf->role == MPTCP_SF_FREE || t == NULL || sf->dead ||
                t->state == MPTCP_TCP_CLOSED || t->snd.len == 0 ||
                t->snd.data != NULL) /* (a ring of its own) */
                continue;
            uint64_t l = sf_pin(c, sf);
            if (mptcp_dsn_lt(l, low)) {
                low = l;
                oldest = sf;
            }
        }
        uint64_t keep = mptcp_dsn_lt(low, m->snd_una) ? m->snd_una - low : 0;
        keep = MPTCP_MIN(keep, (uint64_t)m->snd.kept);
        if (keep > reserve && oldest != NULL && mptcp_tcp_snd_own(oldest->t) == 0) {
            m->mst.snd_copied_out++;
            continue; /* it no longer reads the connection ring */
        }
        mptcp_sndbuf_unpin(&m->snd, (uint32_t)keep);
        break;
    }
    if ((c->flags & MPTCP_CF_WANT_WRITE) && host_space(c) > 0) {
        c->flags &= ~(uint32_t)MPTCP_CF_WANT_WRITE;
        mptcp_conn_event(c, MPTCP_EVB_WRITABLE);
    }
}

static int holder_of(const mptcp_conn *c, uint64_t dsn, uint32_t *len)
{
    for (size_t i = 0; i < c->mp->sf_hi; i++) {
        const mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || sf->t == NULL)
            continue;
        const mptcp_map_tx *tx = &sf->tx;
        for (uint8_t k = 0; k < tx->n; k++) {
            const mptcp_map_tx_ent *e = &tx->ent[(tx->head + k) % MPTCP_MAP_TX_MAX];
            if (mptcp_dsn_leq(e->dsn, dsn) && mptcp_dsn_lt(dsn, e->dsn + e->len)) {
                *len = (uint32_t)(e->dsn + e->len - dsn);
                return sf->id;
            }
        }
    }
    return -1;
}

/* Schedules new data (and opportunistic reinjections) onto the subflows. */
static void conn_push(mptcp_conn *c, uint64_t now_us)
{
    if (!(c->flags & MPTCP_CF_MP))
        return;
    bool touched[MPTCP_MAX_SUBFLOWS] = {false};
    /* Until the peer sent a DATA_ACK with its window, the only window known
     * is the one on the initial subflow's handshake, which Linux does not
     * count as advertised at the data level: it drops out-of-order data
     * beyond it (NoDSSInWindow). So the first bytes go in order, on the
     * initial subflow alone, while it can carry them (RFC 8684 3.3.4). */
    bool mpc_only = false;
    if (!c->mp->peer_wnd_known)
        for (size_t i = 0; i < c->mp->sf_hi; i++)
            if (c->mp->sf[i].role == MPTCP_SF_MPC && sf_can_send(&c->mp->sf[i]))
                mpc_only = true;
    for (unsigned guard = 0; guard < 64; guard++) {
        uint64_t end = c->mp->snd_una + c->mp->snd.len;
        uint64_t avail = end - c->mp->snd_nxt;
        if (avail == 0 || (c->flags & MPTCP_CF_FASTCLOSE))
            break;
        mptcp_sched_sf v[MPTCP_MAX_SUBFLOWS];
        size_t n = 0;
        for (size_t i = 0; i < c->mp->sf_hi; i++) {
            mptcp_subflow *sf = &c->mp->sf[i];
            if (sf->role == MPTCP_SF_FREE || sf->t == NULL)
                continue;
            mptcp_tcb *t = sf->t;
            mptcp_sched_sf *s = &v[n++];
            memset(s, 0, sizeof *s);
            s->id = sf->id;
            s->usable = sf_can_send(sf) && (!mpc_only || sf->role == MPTCP_SF_MPC);
            s->backup = sf->backup || sf->peer_backup;
            /* Potentially failed after two RTOs in a row (one is routine
             * after a slow-start overshoot); a persist probe is no failure. */
            s->pf = t->backoff >= 2 && !(t->flags & MPTCP_TF_PERSIST);
            s->srtt_us = t->srtt_us;
            s->cwnd = t->cc.cwnd;
            s->inflight = t->snd_max - t->snd_una;
            uint32_t in_ring = t->snd.len;
            uint32_t unsent = in_ring > s->inflight ? in_ring - s->inflight : 0;
            s->queued = unsent;
            uint32_t wnd = t->snd_wnd > s->inflight ? t->snd_wnd - s->inflight : 0;
            s->wnd_space = MPTCP_MIN(wnd, mptcp_sndbuf_free(&t->snd));
            s->mss = tcb_pmss(t);
            /* Few, large chunks: a subflow holds at most MPTCP_MAP_TX_MAX
             * mappings, so wait until it can take a good piece. */
            uint32_t space = mptcp_sched_sf_space(s);
            uint32_t thresh = MPTCP_MIN(MPTCP_MAX(4 * s->mss, s->cwnd / 8), s->cwnd / 2);
            if ((space < thresh && space < avail && s->inflight + s->queued > 0) ||
                sf->tx.n >= MPTCP_MAP_TX_MAX)
                s->cwnd = s->inflight + s->queued; /* no space now (still its tier's) */
        }
        mptcp_sched_conn cv;
        memset(&cv, 0, sizeof cv);
        cv.wnd_space = mptcp_dsn_gt(c->mp->snd_edge, c->mp->snd_nxt) ? c->mp->snd_edge - c->mp->snd_nxt : 0;
        cv.avail = avail;
        cv.una_dsn = c->mp->snd_una;
        cv.una_holder = holder_of(c, c->mp->snd_una, &cv.una_len);
        mptcp_sched_decision d;
        c->mp->sched_ops->pick(&c->mp->sched, v, n, &cv, now_us, &d);
        if (d.kind == MPTCP_SCHED_NONE || d.len == 0 || d.n_ids == 0)
            break;
        if (d.penalize) {
            mptcp_subflow *p = mptcp_conn_sf_by_id(c, d.penalize_id);
            if (p && p->t)
                p->t->cc.cwnd = d.penalize_cwnd;
        }
        uint64_t dsn = d.kind == MPTCP_SCHED_REINJECT ? d.dsn : c->mp->snd_nxt;
        mptcp_subflow *one = d.kind == MPTCP_SCHED_SEND && d.n_ids == 1
                                 ? mptcp_conn_sf_by_id(c, d.ids[0]) : NULL;
        if (one && one->t) {
            /* More follows: whole segments now (one mapping at most:
             * 65535 bytes), the rest with it later. */
            uint32_t len = MPTCP_MIN(d.len, 65535u);
            if (len < avail)
                d.len = chunk_fit(c, one->t, len);
        }
        uint32_t moved = 0;
        for (uint8_t k = 0; k < d.n_ids; k++) {
            mptcp_subflow *sf = mptcp_conn_sf_by_id(c, d.ids[k]);
            if (sf == NULL || sf->t == NULL)
                continue;
            uint32_t m = sf_push(c, sf, dsn, d.len);
            moved = MPTCP_MAX(moved, m);
            touched[sf - c->mp->sf] = true;
        }
        if (d.kind == MPTCP_SCHED_REINJECT) {
            c->mp->mst.reinjected_bytes += moved;
            break;
        }
        if (moved == 0)
            break;
        c->mp->snd_nxt += moved;
        c->mp->mst.bytes_sent += moved;
    }
    for (size_t i = 0; i < c->mp->sf_hi; i++)
        if (touched[i] && c->mp->sf[i].t) {
            mptcp_tcp_output(c->mp->sf[i].t, now_us);
            mptcp_tcp_touch(c->mp->sf[i].t); /* its timers may have moved */
        }
}

/*
 * Subflow |dead| failed or closes (RFC 8684 section 3.3.6: data may be sent
 * again on any subflow). What it carried may be acknowledged at subflow
 * level and still lost at data level (a checksum failure, a reset after the
 * peer's TCP took it), so, as Linux does, everything not DATA_ACK'd is sent
 * again: the scheduler restarts at snd_una. Duplicates are dropped by the
 * receiver as old DSNs.
 */
static void reinject(mptcp_conn *c, mptcp_subflow *dead, uint64_t now_us)
{
    (void)now_us;
    if (dead->t == NULL || dead->reinjected || (c->flags & MPTCP_CF_FALLBACK))
        return;
    dead->reinjected = true;
    c->mp->sf_quiet = false; /* the step resets it once the subflow recovers */
    /* A subflow that never carried a byte and holds none (a join that died
     * in its handshake) lost nothing. Resending the rest would only put the
     * DSNs a surviving subflow still holds behind newer ones on it, which a
     * peer that cannot see our DSS (a box strips them, 3.7) and falls back
     * reads as new bytes (fuzz/mptcp_pair
     * regress-unused-join-dies-then-peer-falls-back.bin). */
    if (dead->tx.n == 0 && !dead->tx.sent_any)
        return;
    if (mptcp_dsn_leq(c->mp->snd_nxt, c->mp->snd_una))
        return;
    c->mp->mst.reinjected_bytes += c->mp->snd_nxt - c->mp->snd_una;
    c->mp->snd_nxt = c->mp->snd_una;
    mptcp_conn_dirty(c);
}

static uint32_t max_rto(const mptcp_conn *c);

/* The data-level retransmission interval: the largest RTO of the subflows
 * that carry data (at least CONN_FIN_RTO_MIN, as Linux takes the subflows'
 * RTO for its msk timer), doubled per expiry without progress. */
static uint64_t rtx_ival(const mptcp_conn *c)
{
    uint64_t r = (uint64_t)max_rto(c) << MPTCP_MIN(c->mp->rtx_backoff, 16);
    return MPTCP_MIN(r, (uint64_t)MPTCP_MAX(c->st->cfg.rto_max_us, CONN_FIN_RTO_MIN));
}

void mptcp_conn_data_ack(mptcp_conn *c, uint64_t ack, uint32_t wnd, uint64_t now_us)
{
    if (ack == c->mp->snd_una && c->mp->peer_wnd_known) {
        /* Nothing newly acknowledged (every segment of a stream we do not
         * send on, most ACKs in between): only the right edge may move. */
        uint64_t edge = mptcp_dsn_snd_edge(c->mp->snd_edge, ack, wnd);
        if (edge != c->mp->snd_edge) {
            c->mp->snd_edge = edge;
            mptcp_conn_dirty_data(c);
        }
        return;
    }
    uint64_t top = c->mp->snd_una + c->mp->snd.len + ((c->flags & MPTCP_CF_FIN_PENDING) ? 1 : 0);
    if (mptcp_dsn_gt(ack, top) || mptcp_dsn_lt(ack, c->mp->snd_una)) {
        return; /* acknowledges what we never sent, or old: ignored */
    }
    uint64_t una0 = c->mp->snd_una, edge0 = c->mp->snd_edge;
    uint32_t flags0 = c->flags;
    if (mptcp_dsn_gt(ack, c->mp->snd_una)) {
        uint64_t n = ack - c->mp->snd_una;
        uint32_t data = (uint32_t)MPTCP_MIN(n, (uint64_t)c->mp->snd.len);
        mptcp_sndbuf_consume_keep(&c->mp->snd, data); /* freed by snd_unpin below */
        c->mp->snd_una += data;
        c->mp->mst.bytes_acked += data;
        if (mptcp_dsn_lt(c->mp->snd_nxt, c->mp->snd_una))
            c->mp->snd_nxt = c->mp->snd_una;
        /* Progress: the data-level retransmission timer starts over. */
        c->mp->rtx_backoff = 0;
        c->mp->rtx_tries = 0;
        c->mp->rtx_at = mptcp_dsn_gt(c->mp->snd_nxt, c->mp->snd_una) ? now_us + rtx_ival(c)
                                                                      : MPTCP_TIMER_NONE;
        if ((c->flags & MPTCP_CF_FIN_PENDING) && mptcp_dsn_gt(ack, c->mp->fin_dsn)) {
            c->flags |= MPTCP_CF_FIN_ACKED;
            c->mp->fin_rexmit_at = MPTCP_TIMER_NONE;
        }
        if (c->mp->sched_ops->data_acked)
            c->mp->sched_ops->data_acked(&c->mp->sched, c->mp->snd_una);
    }
    /* Kept bytes take nothing from the host while they fit the reserve
     * (host_space): their holders are looked at (snd_unpin) only once they
     * fill half of it, not on every DATA_ACK. */
    if (c->mp->snd.kept > (c->mp->snd.cap - c->st->cfg.sndbuf) / 2)
        snd_unpin(c);
    if ((c->flags & MPTCP_CF_WANT_WRITE) && host_space(c) > 0) {
        c->flags &= ~(uint32_t)MPTCP_CF_WANT_WRITE;
        mptcp_conn_event(c, MPTCP_EVB_WRITABLE);
    }
    c->mp->snd_edge = mptcp_dsn_snd_edge(c->mp->snd_edge, ack, wnd);
    /* A step only when something moved (the fallback stream calls this
     * from the step itself: an unconditional mark stepped it forever);
     * data-only movement does not need the path manager. */
    if (c->flags != flags0)
        mptcp_conn_dirty(c);
    else if (c->mp->snd_una != una0 || c->mp->snd_edge != edge0 || !c->mp->peer_wnd_known)
        mptcp_conn_dirty_data(c);
    c->mp->peer_wnd_known = true;
}

/* ------------------------------------------------------------ receive side */

static void ring_peek(const mptcp_rcvbuf *rb, uint32_t off, uint8_t *dst, uint32_t len)
{
    uint32_t idx = (rb->head + off) % rb->cap;
    uint32_t first = MPTCP_MIN(len, rb->cap - idx);
    memcpy(dst, rb->data + idx, first);
    if (len > first)
        memcpy(dst + first, rb->data, len - first);
}

/* Frees |n| in-order bytes of |rb| without copying them out (the pump has
 * placed them in the connection ring already). */
static void ring_drop(mptcp_rcvbuf *rb, uint32_t n)
{
    n = MPTCP_MIN(n, rb->len);
    rb->head = (uint32_t)(((uint64_t)rb->head + n) % rb->cap);
    rb->len -= n;
}

static void take_peer_fin(mptcp_conn *c, mptcp_tcb *t)
{
    if ((c->flags & MPTCP_CF_PEER_FIN) || !(c->flags & MPTCP_CF_PEER_FIN_SEEN) ||
        c->mp->rcv_nxt != c->mp->peer_fin_dsn)
        return;
    c->mp->rcv_nxt++;
    c->flags |= MPTCP_CF_PEER_FIN;
    mptcp_conn_event(c, MPTCP_EVB_PEER_SHUTDOWN);
    if (t)
        t->flags |= MPTCP_TF_ACK_NOW; /* the DATA_ACK of the DATA_FIN, now */
    mptcp_conn_dirty(c);
}

void mptcp_conn_fb_fin(mptcp_conn *c, mptcp_subflow *sf, bool closed, uint64_t now_us)
{
    mptcp_tcb *t = sf->t;
    if (!(c->flags & MPTCP_CF_FALLBACK) || sf->id != c->mp->fb_id || t == NULL ||
        !(t->flags & MPTCP_TF_FIN_RCVD) || t->rcv.len > 0 || sf->fail_wait ||
        (c->flags & MPTCP_CF_PEER_FIN))
        return;
    if (c->mp->inf_pending && !closed) {
        /* While the peer may not know of our fallback (our infinite
         * mapping not yet acknowledged with data after it), its FIN may
         * close this subflow under its live connection (3.3.3) rather than
         * end its stream. Our ACK of that FIN carries the infinite mapping,
         * and a peer that closed the subflow answers it with a reset
         * (mptcp_conn_infinite_in): the FIN waits two RTOs for that answer
         * (fuzz/mptcp_pair regress-peer-closes-subflow-as-we-fall-back). */
        if (c->mp->fin_hold_at == MPTCP_TIMER_NONE) {
            c->mp->fin_hold_at = now_us + 2 * (uint64_t)t->rto_us;
            c->mp->mst.fin_held++;
        }
        if (now_us < c->mp->fin_hold_at)
            return;
    }
    c->flags |= MPTCP_CF_PEER_FIN_SEEN | MPTCP_CF_PEER_FIN;
    mptcp_conn_event(c, MPTCP_EVB_PEER_SHUTDOWN);
}

void mptcp_conn_peer_fin(mptcp_conn *c, mptcp_tcb *t, uint64_t dsn, uint64_t now_us)
{
    (void)now_us;
    if (!(c->flags & MPTCP_CF_PEER_FIN_SEEN)) {
        c->flags |= MPTCP_CF_PEER_FIN_SEEN;
        c->mp->peer_fin_dsn = dsn;
    }
    take_peer_fin(c, t);
}

/* Moves |sf|'s in-order subflow bytes up to the data level; true when the
 * data level's in-order end advanced. */
size_t mptcp_conn_sf_added(const mptcp_conn *c, const mptcp_subflow *sf)
{
    size_t n = 0;
    for (size_t i = 0; i < c->mp->sf_hi; i++) {
        const mptcp_subflow *o = &c->mp->sf[i];
        n += o->role != MPTCP_SF_FREE && (o == sf || o->up || o->usable);
    }
    return n;
}

static bool rx_pump_one(mptcp_subflow *sf, uint64_t now_us)
{
    mptcp_conn *c = sf->c;
    mptcp_tcb *t = sf->t;
    uint8_t *buf = c->st->rxbuf;
    const uint32_t blen = (uint32_t)c->st->rxbuf_len;
    bool advanced = false;
    sf->rx_wait = false;
    for (unsigned guard = 0; t->rcv.len > 0 && guard < 4096; guard++) {
        uint32_t seq = t->rcv_nxt - t->rcv.len;
        if (sf->fail_wait) {
            /* After MP_FAIL: bytes before the infinite mapping are stale. */
            uint32_t n = t->rcv.len;
            if (sf->fail_lin_known) {
                if (mptcp_seq_geq(seq, sf->fail_lin_seq)) {
                    sf->fail_wait = false;
                    continue;
                }
                n = MPTCP_MIN(n, sf->fail_lin_seq - seq);
            }
            n = MPTCP_MIN(n, blen);
            mptcp_rcvbuf_read(&t->rcv, buf, n);
            continue;
        }
        if (sf->rx.csum && !sf->rx.linear) {
            /* Feed every in-order byte once to the checksum accumulators. */
            uint32_t fed_abs = sf->rx.irs + sf->rx.fed;
            while (mptcp_seq_lt(fed_abs, t->rcv_nxt) && mptcp_seq_geq(fed_abs, seq)) {
                uint32_t n = MPTCP_MIN(t->rcv_nxt - fed_abs, blen);
                ring_peek(&t->rcv, fed_abs - seq, buf, n);
                mptcp_map_rx_csum_feed(&sf->rx, fed_abs, buf, n);
                uint32_t nf = sf->rx.irs + sf->rx.fed;
                if (nf == fed_abs)
                    break; /* unmapped bytes: not summed */
                fed_abs = nf;
            }
        }
        mptcp_map_piece p;
        int r = mptcp_map_rx_get(&sf->rx, seq, t->rcv.len, &p);
        if (r == MPTCP_MAP_PIECE_WAIT)
            break;
        if (r == MPTCP_MAP_PIECE_UNMAPPED && sf->rx_lin_lazy) {
            /* The peer fell back after our infinite mapping (see
             * mptcp_conn_mp_fail_in): linear from here. */
            sf->rx_lin_lazy = false;
            mptcp_map_rx_set_linear(&sf->rx, seq, sf->rx_end_dsn);
            continue;
        }
        if (r == MPTCP_MAP_PIECE_UNMAPPED) {
            size_t nsf = mptcp_conn_sf_added(c, sf);
            if (sf->role == MPTCP_SF_MPC && !(c->flags & MPTCP_CF_FALLBACK) && nsf == 1 &&
                !c->mp->joined &&
                ((c->mp->mst.bytes_received == 0 && c->mp->rcv.len == 0 && !sf->first_data_seen) ||
                 (!sf->dss_seen && c->mp->rcv.n_ooo == 0 && sf->rx.n == 0))) {
                /* RFC 8684 section 3.7: the first data without a mapping:
                 * fall back to TCP, the bytes map linearly. So too when no
                 * DSS of the peer ever reached us (its data came in the
                 * MP_CAPABLE form): it fell back on our DATA_ACK stripped
                 * by a middlebox, and its bytes go on after that mapping. */
                sf->first_data_seen = true;
                mptcp_conn_fallback(c, sf, now_us);
                if (!(c->flags & MPTCP_CF_MP))
                    return advanced;
                if (c->flags & MPTCP_CF_FALLBACK) {
                    /* The peer may still map (a box strips its DSS in our
                     * direction only) and would resend unacknowledged DSNs
                     * at new subflow bytes, read here as new: our infinite
                     * mapping tells it (3.7), at once on a pure ACK
                     * (fuzz/mptcp_pair regress-unmapped-fallback-then-
                     * peer-reinjects). */
                    c->mp->inf_pending = true;
                    t->flags |= MPTCP_TF_ACK_NOW;
                }
                continue;
            }
            c->mp->mst.map_errors++;
            mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
            return advanced;
        }
        sf->first_data_seen = true;
        if (r == MPTCP_MAP_PIECE_BAD) {
            c->mp->mst.dss_csum_bad++;
            /* RFC 8684 section 3.7: with other subflows, reset this one;
             * alone, MP_FAIL and the infinite mapping. */
            size_t others = 0;
            for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
                if (&c->mp->sf[i] != sf && c->mp->sf[i].role != MPTCP_SF_FREE && !c->mp->sf[i].dead)
                    others++;
            mptcp_event ev;
            memset(&ev, 0, sizeof ev);
            ev.type = MPTCP_EV_MP_FAIL;
            ev.subflow_id = sf->id;
            mptcp_conn_event_push(c, &ev);
            /* Alone, but with a hole before the failing mapping (bytes a
             * subflow that is gone carried): the stream after a fallback
             * starts at the failing DSN and would never fill it, so there
             * is no fallback either (Linux allows none once a join
             * existed): reset, the connection ends in a visible error.
             * Already fallen back (our infinite mapping answers the
             * peer's MP_FAIL; the peer maps until it arrives): the peer,
             * falling back on it, takes no MP_FAIL of ours and sends no
             * infinite mapping, so waiting for one would stall: reset. */
            if (others > 0 || mptcp_dsn_gt(p.dsn, c->mp->rcv_nxt) ||
                (c->flags & MPTCP_CF_FALLBACK)) {
                mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
                return advanced;
            }
            if (!(c->flags & MPTCP_CF_SEND_FAIL))
                c->mp->fail_at = now_us + CONN_MP_FAIL_NO_RESPONSE_US;
            c->flags |= MPTCP_CF_SEND_FAIL;
            c->mp->fail_dsn = p.dsn;
            c->mp->mst.mp_fail_out++;
            /* Drop the bad mapping and everything after it until the peer
             * answers with the infinite mapping (3.7); it resends from
             * fail_dsn. */
            sf->fail_wait = true;
            sf->fail_lin_known = false;
            t->flags |= MPTCP_TF_ACK_NOW;
            continue;
        }
        uint32_t n = MPTCP_MIN(p.len, blen);
        uint32_t skip = 0, take = 0;
        /* The subflow acknowledged these bytes already: nothing inside the
         * stream is thrown away (RFC 8684 3.3.4 lets the peer send up to
         * the largest DATA_ACK + window any subflow carried, and Linux keeps
         * a subflow's older, larger window when a pure ACK shrinks it).
         * Bytes beyond the ring's end wait in their subflow until the host
         * reads; only bytes after the DATA_FIN do not exist. */
        uint64_t edge = c->mp->rcv_nxt + mptcp_rcvbuf_space(&c->mp->rcv);
        bool fin_edge = false;
        if ((c->flags & MPTCP_CF_PEER_FIN_SEEN) && mptcp_dsn_leq(c->mp->peer_fin_dsn, edge)) {
            edge = c->mp->peer_fin_dsn;
            fin_edge = true;
        }
        int a = mptcp_dsn_accept(c->mp->rcv_nxt, edge, p.dsn, n, &skip, &take);
        if (a == MPTCP_DSN_BEYOND && !fin_edge) {
            c->mp->mst.rcv_wait_space++;
            sf->rx_wait = true;
            break;
        }
        if (a == MPTCP_DSN_BEYOND)
            c->mp->mst.rcv_dropped += n;
        if (a == MPTCP_DSN_IN) {
            /* Ring to ring, one write per contiguous run of the subflow
             * ring (two at its wrap point). Only the first can fail (no
             * range): the second continues what the first stored. */
            int32_t adv = 0;
            for (uint32_t done = 0; done < take;) {
                const uint8_t *src;
                uint32_t k = mptcp_rcvbuf_span(&t->rcv, skip + done, take - done, &src);
                int32_t w = k == 0 ? MPTCP_RCVBUF_NO_RANGE
                                   : mptcp_rcvbuf_write(&c->mp->rcv, &c->st->mem,
                                                        (uint32_t)(p.dsn + skip + done -
                                                                   (c->mp->rcv_nxt + (uint32_t)adv)),
                                                        src, k);
                if (w < 0) {
                    if (done == 0)
                        adv = w;
                    else
                        take = done; /* the rest stays in the subflow */
                    break;
                }
                adv += w;
                done += k;
            }
            if (adv < 0) {
                c->mp->mst.rcv_ooo_full++;
                sf->rx_wait = true;
                break; /* no room for another hole: wait, the bytes stay */
            }
            if (adv > 0) {
                c->mp->rcv_nxt += (uint32_t)adv;
                c->mp->mst.bytes_received += (uint32_t)adv;
                mptcp_conn_event(c, MPTCP_EVB_READABLE);
                advanced = true;
            }
            if (skip + take < n && !fin_edge)
                n = skip + take; /* the rest waits for room (next round) */
            else
                c->mp->mst.rcv_dropped += n - skip - take;
        }
        ring_drop(&t->rcv, n);
        mptcp_map_rx_consume(&sf->rx, n);
        sf->rx_end_dsn = p.dsn + n;
        if (p.fin && n == p.len)
            mptcp_conn_peer_fin(c, t, p.fin_dsn, now_us);
    }
    take_peer_fin(c, t);
    return advanced;
}

/* The data level's in-order end moved: bytes other subflows hold because
 * they needed a new out-of-order range (table full) may fit now. */
static void pump_others(mptcp_conn *c, const mptcp_subflow *sf, uint64_t now_us)
{
    for (size_t pass = 0; pass < MPTCP_MAX_SUBFLOWS; pass++) {
        bool more = false;
        for (size_t i = 0; i < c->mp->sf_hi && (c->flags & MPTCP_CF_MP); i++) {
            mptcp_subflow *o = &c->mp->sf[i];
            if (o != sf && o->role != MPTCP_SF_FREE && o->t && o->t->rcv.len > 0)
                more |= rx_pump_one(o, now_us);
        }
        if (!more)
            break;
    }
}

/* Whether a subflow other than |sf| holds bytes in its TCB ring: most
 * direct deliveries find none, and the test costs less than pump_others'
 * frame (the pump inlined in it). */
static bool others_waiting(const mptcp_conn *c, const mptcp_subflow *sf)
{
    for (size_t i = 0; i < c->mp->sf_hi; i++) {
        const mptcp_subflow *o = &c->mp->sf[i];
        if (o != sf && o->role != MPTCP_SF_FREE && o->t && o->t->rcv.len > 0)
            return true;
    }
    return false;
}

void mptcp_conn_sf_rx_pump(mptcp_subflow *sf, uint64_t now_us)
{
    if (rx_pump_one(sf, now_us))
        pump_others(sf->c, sf, now_us);
}

bool mptcp_conn_sf_rx_direct(mptcp_subflow *sf, uint32_t seq, const uint8_t *data, uint32_t len,
                             uint64_t now_us)
{
    mptcp_conn *c = sf->c;
    /* Everything rx_pump_one does besides the copy is left to it: after
     * MP_FAIL, with checksums, linear mappings, the DATA_FIN, data beyond
     * the data-level window or out of order there. */
    if ((c->flags & (MPTCP_CF_FALLBACK | MPTCP_CF_PEER_FIN_SEEN)) || sf->fail_wait ||
        sf->rx_lin_lazy || sf->rx.csum || sf->rx.linear)
        return false;
    mptcp_map_piece p;
    if (mptcp_map_rx_get(&sf->rx, seq, len, &p) != MPTCP_MAP_PIECE_OK || p.len != len || p.fin ||
        mptcp_dsn_lt(p.dsn, c->mp->rcv_nxt))
        return false;
    /* Ahead of the data level's in-order end (another subflow carries the
     * bytes before) it is stored out of order there, as the pump would. */
    uint64_t off = p.dsn - c->mp->rcv_nxt;
    uint32_t space = mptcp_rcvbuf_space(&c->mp->rcv);
    if (off >= space || len > space - (uint32_t)off)
        return false;
    int32_t adv = mptcp_rcvbuf_write(&c->mp->rcv, &c->st->mem, (uint32_t)off, data, len);
    if (adv < 0)
        return false; /* nothing stored (no range left): the pump retries later */
    sf->rx_wait = false;
    sf->first_data_seen = true;
    mptcp_map_rx_consume(&sf->rx, len);
    sf->rx_end_dsn = p.dsn + len;
    sf->rx_direct_bytes += len;
    if (adv == 0)
        return true;
    c->mp->rcv_nxt += (uint32_t)adv;
    c->mp->mst.bytes_received += (uint32_t)adv;
    mptcp_conn_event(c, MPTCP_EVB_READABLE);
    if (others_waiting(c, sf))
        pump_others(c, sf, now_us);
    return true;
}

/* ------------------------------------------------------------ subflow life */

void mptcp_conn_sf_reset(mptcp_subflow *sf, uint8_t code, uint64_t now_us)
{
    mptcp_tcb *t = sf->t;
    if (t == NULL || t->state == MPTCP_TCP_CLOSED)
        return;
    sf->rst_send_code = code;
    if (t->state != MPTCP_TCP_SYN_SENT)
        mptcp_tcp_send_rst(t, now_us);
    mptcp_tcp_terminate(t, MPTCP_CLOSE_ABORTED);
}

void mptcp_conn_fastclosed(mptcp_conn *c, bool on_rst, uint64_t now_us)
{
    /* RFC 8684 section 3.5: on the ACK variant the receiver resets every
     * subflow; on the RST variant the sender already tore them down. */
    conn_terminate(c, MPTCP_CLOSE_FASTCLOSE, !on_rst, now_us);
}

static uint32_t max_rto(const mptcp_conn *c)
{
    uint32_t r = CONN_FIN_RTO_MIN;
    for (size_t i = 0; i < c->mp->sf_hi; i++)
        if (c->mp->sf[i].t && c->mp->sf[i].usable)
            r = MPTCP_MAX(r, c->mp->sf[i].t->rto_us);
    return r;
}

static mptcp_subflow *first_usable(mptcp_conn *c)
{
    mptcp_subflow *best = NULL;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || !sf_can_send(sf))
            continue;
        if (best == NULL || ((best->backup || best->peer_backup) && !(sf->backup || sf->peer_backup)))
            best = sf;
    }
    if (best == NULL) {
        /* A subflow that can still carry an ACK (closing ones too). */
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
            mptcp_subflow *sf = &c->mp->sf[i];
            if (sf->role != MPTCP_SF_FREE && sf->t && sf->usable && !sf->dead &&
                sf->t->state >= MPTCP_TCP_ESTABLISHED && sf->t->state != MPTCP_TCP_TIME_WAIT)
                return sf;
        }
    }
    return best;
}

static void send_ack_on(mptcp_subflow *sf, uint64_t now_us)
{
    if (sf && sf->t && sf->t->state != MPTCP_TCP_CLOSED) {
        mptcp_tcp_send_ack(sf->t, now_us);
        mptcp_tcp_touch(sf->t);
    }
}

/* The DATA_FIN goes out on pure ACKs once every byte was scheduled
 * (subflow.c adds it); this makes sure one ACK is sent. */
static void fin_maybe_send(mptcp_conn *c, uint64_t now_us)
{
    if (!(c->flags & MPTCP_CF_FIN_PENDING) || (c->flags & MPTCP_CF_FIN_ACKED) ||
        (c->flags & MPTCP_CF_FALLBACK))
        return;
    if (c->mp->snd_nxt != c->mp->fin_dsn)
        return;
    if (c->mp->fin_rexmit_at != MPTCP_TIMER_NONE && c->mp->fin_rexmit_at > now_us)
        return;
    if (c->flags & MPTCP_CF_CLOSE_QUEUED)
        return;
    mptcp_subflow *sf = first_usable(c);
    if (sf == NULL) {
        c->mp->fin_rexmit_at = now_us + max_rto(c); /* none can carry it now */
        return;
    }
    /* Every byte is DATA_ACKed and the DATA_FIN alone is not, after as many
     * tries as TCP gives data (RFC 9293 section 3.8.3, R2): the peer's data
     * level is gone (or never sees our options); give up as TCP would
     * rather than retransmit it forever. While bytes are outstanding the
     * DATA_FIN waits behind them (a peer not reading is no failure). */
    if (c->mp->snd_una != c->mp->fin_dsn)
        c->mp->fin_tries = 0;
    else if (c->mp->fin_tries++ >= c->st->cfg.data_retries) {
        conn_terminate(c, MPTCP_CLOSE_TIMEOUT, true, now_us);
        return;
    }
    /* On every subflow that can carry it: one of them may be a black hole
     * nobody noticed yet (pure ACKs are never retransmitted by TCP). */
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
        if (c->mp->sf[i].role != MPTCP_SF_FREE && sf_can_send(&c->mp->sf[i]))
            send_ack_on(&c->mp->sf[i], now_us);
    if (!sf_can_send(sf))
        send_ack_on(sf, now_us);
    if (c->mp->fin_rto == 0)
        c->mp->fin_rto = max_rto(c);
    else
        c->mp->fin_rto = MPTCP_MIN(c->mp->fin_rto * 2, c->st->cfg.rto_max_us);
    c->mp->fin_rexmit_at = now_us + c->mp->fin_rto;
}

/*
 * Data waits, nothing is in flight and the peer's data-level window is
 * closed, or too small for the scheduler to send into (less than a segment
 * while more waits: sender-side SWS avoidance, RFC 9293 section 3.8.6.2.1):
 * the window update that reopens it may be lost. Like TCP's persist timer
 * (RFC 9293 section 3.8.6.1) a probe below the subflow's window makes the
 * peer answer with an ACK carrying its DATA_ACK and window.
 */
static void window_probe(mptcp_conn *c, uint64_t now_us)
{
    uint32_t seg = MPTCP_MIN(c->mp->snd.len, (uint32_t)c->st->cfg.mss);
    bool closed = c->mp->snd_nxt == c->mp->snd_una && c->mp->snd.len > 0 &&
                  mptcp_dsn_lt(c->mp->snd_edge, c->mp->snd_nxt + seg) &&
                  !(c->flags & MPTCP_CF_FALLBACK);
    if (!closed) {
        c->mp->probe_at = MPTCP_TIMER_NONE;
        c->mp->probe_rto = 0;
        return;
    }
    if (c->mp->probe_rto == 0) {
        c->mp->probe_rto = max_rto(c);
        c->mp->probe_at = now_us + c->mp->probe_rto;
        return;
    }
    if (c->mp->probe_at > now_us)
        return;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || !sf_can_send(sf))
            continue;
        mptcp_tcp_send_probe(sf->t, now_us);
        sf->t->ctr.zero_window_probes++;
        mptcp_tcp_touch(sf->t);
    }
    c->mp->probe_rto = MPTCP_MIN(c->mp->probe_rto * 2, c->st->cfg.rto_max_us);
    c->mp->probe_at = now_us + c->mp->probe_rto;
}

/* Bytes from |dsn| (at most |limit|) that no subflow holds unacknowledged:
 * a subflow delivered them (TCP-acked) but the peer did not take them at
 * the data level. 0 when a subflow still holds |dsn| itself. */
static uint32_t unheld_run(const mptcp_conn *c, uint64_t dsn, uint32_t limit)
{
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        const mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || sf->t == NULL)
            continue;
        for (uint8_t k = 0; k < sf->tx.n; k++) {
            const mptcp_map_tx_ent *e = &sf->tx.ent[(sf->tx.head + k) % MPTCP_MAP_TX_MAX];
            if (mptcp_dsn_leq(e->dsn, dsn) && mptcp_dsn_lt(dsn, e->dsn + e->len))
                return 0;
            if (mptcp_dsn_gt(e->dsn, dsn) && e->dsn - dsn < limit)
                limit = (uint32_t)(e->dsn - dsn);
        }
    }
    return limit;
}

/* Where a data-level retransmission goes: a usable subflow other than
 * |avoid| that is not potentially failed, preferring regular over backup
 * (3.3.8), then one with nothing queued (Linux's retransmit pick skips
 * subflows with data outstanding), then the lowest smoothed RTT. */
static bool sf_pf(const mptcp_subflow *sf)
{
    return sf->t->backoff >= 2 && !(sf->t->flags & MPTCP_TF_PERSIST);
}

static mptcp_subflow *rtx_target(mptcp_conn *c, int avoid)
{
    /* A backup only when no regular subflow works, even a full one. */
    bool regular = false;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role != MPTCP_SF_FREE && sf_can_send(sf) && !sf_pf(sf) && !sf->backup &&
            !sf->peer_backup)
            regular = true;
    }
    mptcp_subflow *best = NULL;
    unsigned best_rank = 0;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || !sf_can_send(sf) || sf->id == avoid)
            continue;
        mptcp_tcb *t = sf->t;
        bool bk = sf->backup || sf->peer_backup;
        if (sf_pf(sf) || (bk && regular) || sf->tx.n >= MPTCP_MAP_TX_MAX ||
            mptcp_sndbuf_free(&t->snd) == 0)
            continue;
        unsigned rank = (bk ? 2u : 0u) + (t->snd.len > 0 ? 1u : 0u);
        if (best == NULL || rank < best_rank ||
            (rank == best_rank && t->srtt_us < best->t->srtt_us)) {
            best = sf;
            best_rank = rank;
        }
    }
    return best;
}

/*
 * The data-level retransmission timer (RFC 8684 section 3.3.6: the sender
 * keeps data until it is DATA_ACKed and may send it again on any subflow).
 * A subflow can deliver bytes that the peer then drops at the data level
 * (Linux drops what lies beyond the window it advertised, counting
 * NoDSSInWindow, or what a checksum or a reset made it discard); nothing at
 * the subflow level will send them again. When DATA_ACK has not moved for
 * the data RTO, the oldest unacknowledged bytes go out once more: the run
 * no subflow holds any longer, or, when a stalled subflow still holds
 * them, its chunk on another subflow. Never beyond the peer's right edge
 * (3.3.4); with its window closed a probe asks for a fresh one instead.
 */
static void data_rtx(mptcp_conn *c, uint64_t now_us)
{
    mptcp_mpc *m = c->mp;
    if ((c->flags & (MPTCP_CF_FALLBACK | MPTCP_CF_FASTCLOSE)) ||
        !mptcp_dsn_gt(m->snd_nxt, m->snd_una)) {
        m->rtx_at = MPTCP_TIMER_NONE;
        m->rtx_backoff = 0;
        return;
    }
    if (m->rtx_at == MPTCP_TIMER_NONE) {
        m->rtx_at = now_us + rtx_ival(c);
        return;
    }
    if (m->rtx_at > now_us)
        return;
    m->mst.data_rtos++;
    uint64_t out = m->snd_nxt - m->snd_una;
    uint64_t wnd = mptcp_dsn_gt(m->snd_edge, m->snd_una) ? m->snd_edge - m->snd_una : 0;
    if (wnd == 0) {
        /* Zero window at the data level: what we sent lies beyond it; ask
         * for the window (a probe below every subflow's window). */
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
            mptcp_subflow *sf = &m->sf[i];
            if (sf->role == MPTCP_SF_FREE || !sf_can_send(sf))
                continue;
            mptcp_tcp_send_probe(sf->t, now_us);
            sf->t->ctr.zero_window_probes++;
            mptcp_tcp_touch(sf->t);
        }
    } else {
        uint32_t cap = (uint32_t)MPTCP_MIN(MPTCP_MIN(out, wnd), (uint64_t)65535);
        uint32_t held = 0;
        int holder = holder_of(c, m->snd_una, &held);
        uint32_t len = holder < 0 ? unheld_run(c, m->snd_una, cap) : MPTCP_MIN(held, cap);
        mptcp_subflow *sf = len > 0 ? rtx_target(c, holder) : NULL;
        if (sf) {
            mptcp_tcb *t = sf->t;
            /* A few segments: the peer usually lacks one hole (Linux resends
             * one fragment per timeout); the timer starts over when DATA_ACK
             * moves, so further holes follow quickly. */
            len = MPTCP_MIN(len, MPTCP_MAX(MPTCP_MIN(t->cc.cwnd, 4 * tcb_pmss(t)), tcb_pmss(t)));
            uint32_t moved = sf_push(c, sf, m->snd_una, len);
            if (moved > 0) {
                m->mst.reinjected_bytes += moved;
                mptcp_tcp_output(t, now_us);
                mptcp_tcp_touch(t);
                /* The peer's subflows take the bytes, its data level never
                 * acknowledges them: after TCP's retry budget, give up
                 * (window probes do not count: a peer not reading is
                 * alive). */
                if (++m->rtx_tries > c->st->cfg.data_retries) {
                    conn_terminate(c, MPTCP_CLOSE_TIMEOUT, true, now_us);
                    return;
                }
            }
        }
    }
    if (m->rtx_backoff < 16)
        m->rtx_backoff++;
    m->rtx_at = now_us + rtx_ival(c);
}

/* Data of ours not yet DATA_ACKed: bytes, or the DATA_FIN. */
static bool data_outstanding(const mptcp_conn *c)
{
    return c->mp->snd.len > 0 ||
           (c->flags & (MPTCP_CF_FIN_PENDING | MPTCP_CF_FIN_ACKED)) == MPTCP_CF_FIN_PENDING;
}

/* How long a connection with data outstanding may have no subflow able to
 * send it before it ends (MPTCP_CLOSE_TIMEOUT): the time the path manager,
 * the peer's joins or the host get to bring one up. Linux's
 * net.mptcp.close_timeout (TCP_TIMEWAIT_LEN, 60 s) plays this part for a
 * socket whose subflows are all closed (docs/conformance.md). */
#define CONN_NO_SUBFLOW_US (60u * 1000000u)

/* RFC 8684 3.7: after our MP_FAIL we discard the peer's bytes until its
 * infinite mapping. A middlebox that strips it (the peer fell back and
 * sends linearly) would leave us acknowledging and discarding for ever;
 * Linux resets such a subflow (mptcp_mp_fail_no_response), and so do we:
 * the connection then ends with an error both hosts see
 * (fuzz/mptcp_pair regress-mp-fail-unanswered-stall.bin). */
static void mp_fail_check(mptcp_conn *c, uint64_t now_us)
{
    mptcp_mpc *m = c->mp;
    /* Fallen back too (we answered the peer's own MP_FAIL with our infinite
     * mapping, say) a subflow may still discard, waiting for an answer to
     * ours: the deadline holds while one does, and only then. */
    bool waiting = false;
    for (size_t i = 0; i < m->sf_hi; i++)
        waiting |= m->sf[i].role != MPTCP_SF_FREE && m->sf[i].fail_wait && !m->sf[i].fail_lin_known;
    if (!(c->flags & MPTCP_CF_SEND_FAIL) || !waiting) {
        m->fail_at = MPTCP_TIMER_NONE;
        return;
    }
    if (m->fail_at > now_us)
        return;
    m->fail_at = MPTCP_TIMER_NONE;
    c->flags &= ~(uint32_t)MPTCP_CF_SEND_FAIL;
    for (size_t i = 0; i < m->sf_hi; i++)
        if (m->sf[i].role != MPTCP_SF_FREE && m->sf[i].fail_wait && !m->sf[i].fail_lin_known)
            mptcp_conn_sf_reset(&m->sf[i], MPTCP_RSTCODE_MPTCP, now_us);
}

/* Data of ours not yet DATA_ACKed and no subflow that can carry it: RFC
 * 8684 3.3.3 lets subflows end while the connection goes on, so a new one
 * may still come; when none has by CONN_NO_SUBFLOW_US the connection ends
 * with MPTCP_CLOSE_TIMEOUT, the bytes after snd_una lost (never reported
 * delivered), rather than wait for ever with a stream no one can send. */
static void no_subflow_check(mptcp_conn *c, uint64_t now_us)
{
    mptcp_mpc *m = c->mp;
    bool stuck = (c->flags & MPTCP_CF_CONNECTED) && !(c->flags & MPTCP_CF_DONE) && data_outstanding(c);
    for (size_t i = 0; stuck && i < m->sf_hi; i++)
        stuck = m->sf[i].role == MPTCP_SF_FREE || !sf_can_send(&m->sf[i]);
    if (!stuck) {
        m->nosf_at = MPTCP_TIMER_NONE;
    } else if (m->nosf_at == MPTCP_TIMER_NONE) {
        m->nosf_at = now_us + CONN_NO_SUBFLOW_US;
    } else if (m->nosf_at <= now_us) {
        conn_terminate(c, MPTCP_CLOSE_TIMEOUT, true, now_us);
    }
}

/* RFC 8684 3.3.3: a host MUST NOT close all functioning subflows while data
 * is outstanding (not DATA_ACKed, or more than the DATA_FIN). True when
 * closing |sf| (the path manager's choice: its local address was removed)
 * would do so; it is closed once the data is acknowledged instead (else the
 * rest of our stream, with no subflow to carry it, stalls both ends). */
static bool last_with_data(const mptcp_conn *c, const mptcp_subflow *sf)
{
    if (!sf_can_send(sf) || !data_outstanding(c))
        return false;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        const mptcp_subflow *o = &c->mp->sf[i];
        if (o != sf && o->role != MPTCP_SF_FREE && !o->close_deferred && sf_can_send(o))
            return false;
    }
    return true;
}

static void pm_views(mptcp_conn *c, mptcp_pm_subflow *v, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE)
            continue;
        mptcp_pm_subflow *p = &v[(*n)++];
        p->id = sf->id;
        p->local_id = sf->local_id;
        p->remote_id = sf->remote_id;
        p->state = sf->dead || sf->closing ? MPTCP_PM_SF_CLOSING
                   : sf->up               ? MPTCP_PM_SF_ESTABLISHED
                                          : MPTCP_PM_SF_CONNECTING;
        p->initial = sf->role == MPTCP_SF_MPC;
        p->backup = sf->backup;
    }
}

void mptcp_conn_sf_close(mptcp_subflow *sf, uint64_t now_us)
{
    if (sf->t == NULL || (sf->t->flags & MPTCP_TF_FIN_PENDING))
        return;
    sf->closing = true;
    if ((sf->fail_wait && !sf->fail_lin_known) || (sf->c->flags & MPTCP_CF_SEND_FAIL)) {
        /* Our MP_FAIL here is unanswered (a box may strip the infinite
         * mapping): the peer may run this subflow as plain TCP already,
         * where our FIN would end our stream (3.7, 3.3.3). Reset it
         * (fuzz/mptcp_pair regress-subflow-fin-after-unanswered-mp-fail).
         * The same on any subflow while our MP_FAIL is unanswered: it
         * rides on every subflow's segments, and a peer left with this
         * one falls back onto it on receipt, so the FIN behind it would
         * read as the end of our stream there
         * (regress-fin-after-mp-fail-fallback-on-a-closing-subflow). */
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_MPTCP, now_us);
        return;
    }
    if (!(sf->c->flags & (MPTCP_CF_DONE | MPTCP_CF_FIN_PENDING | MPTCP_CF_FIN_ACKED)) &&
        !sf->dss_seen && mptcp_conn_sf_live(sf->c) == 1) {
        /* The last subflow under a live connection whose host has not
         * ended its stream (it withdrew the address, 3.4.2; the connection
         * stays without one, 3.3.3), and no DSS of the peer ever came on
         * it (a box may strip them, the peer's infinite mapping with them):
         * a reset, not a FIN. A peer that fell back without our knowing
         * would read the FIN as the end of a stream we never ended; a reset
         * it reads as one (fuzz/mptcp_pair
         * regress-last-subflow-close-is-a-reset). Where the peer's DSS get
         * through, its infinite mapping would have told us, and a FIN
         * closes the subflow as Linux does; after our DATA_FIN it says the
         * truth either way. */
        mptcp_conn_sf_reset(sf, MPTCP_RSTCODE_UNSPEC, now_us);
        return;
    }
    reinject(sf->c, sf, now_us);
    tcp_shutdown(sf->t, now_us);
    mptcp_tcp_touch(sf->t);
}

int mptcp_conn_open_subflow(mptcp_conn *c, const mptcp_addr *local, const mptcp_addr *remote,
                            uint8_t local_id, uint8_t remote_id, bool backup, uint64_t now_us)
{
    mptcp_stack *st = c->st;
    if (st->conns >= st->cfg.max_conns)
        return MPTCP_ELIMIT;
    mptcp_addr l = *local, r = *remote;
    if (r.port == 0)
        r.port = c->mp->remote.port;
    if (l.family != r.family)
        return MPTCP_EINVAL;
    if (l.port == 0) {
        l.port = mptcp_demux_ephemeral(&st->demux, &l, &r);
        if (l.port == 0)
            return MPTCP_EADDRINUSE;
    } else if (mptcp_demux_lookup(&st->demux, &l, &r) != NULL) {
        return MPTCP_EADDRINUSE;
    }
    size_t used = 0;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
        used += c->mp->sf[i].role != MPTCP_SF_FREE;
    if (used >= MPTCP_MAX_SUBFLOWS)
        return MPTCP_ELIMIT;
    mptcp_tcb *t = tcb_open(st, &l, &r, now_us, true);
    if (t == NULL)
        return MPTCP_ENOMEM;
    mptcp_subflow *sf = mptcp_conn_sf_new(c, t, MPTCP_SF_JOIN_ACTIVE);
    sf->local_id = local_id;
    sf->remote_id = remote_id;
    sf->backup = backup;
    uint8_t rn[4];
    st->cb.random(st->user, rn, sizeof rn);
    sf->lnonce = mptcp_get_be32(rn);
    c->mp->mst.joins_out++;
    mptcp_tcp_send_syn(t, now_us);
    mptcp_tcp_touch(t);
    return sf->id;
}

/* The path manager acts (and its deadlines count) only on a fully
 * established, not fallen back, not finished connection the host keeps. */
static bool pm_active(const mptcp_conn *c)
{
    return (c->flags & MPTCP_CF_MP) && (c->flags & MPTCP_CF_FULLY_EST) &&
           !(c->flags & (MPTCP_CF_FALLBACK | MPTCP_CF_DONE)) && !mptcp_conn_gone(c);
}

static void pm_step(mptcp_conn *c, bool kick, uint64_t now_us)
{
    if (!pm_active(c))
        return;
    /* Polled when something it sees may have changed (|kick|: see
     * mptcp_conn_step) or a deadline of its came: not for every data
     * segment (it was a tenth of the CPU of a bulk transfer). */
    if (c->mp->pm.established && !kick && c->mp->pm_deadline > now_us)
        return;
    if (!c->mp->pm.established)
        mptcp_pm_set_established(&c->mp->pm, (c->flags & MPTCP_CF_PEER_DENY0) != 0);
    mptcp_pm_set_rto(&c->mp->pm, max_rto(c));
    mptcp_pm_timers_run(&c->mp->pm, now_us);
    mptcp_pm_subflow v[MPTCP_MAX_SUBFLOWS];
    size_t n = 0;
    pm_views(c, v, &n);
    mptcp_pm_action act[8];
    size_t k = mptcp_pm_poll(&c->mp->pm, v, n, act, 8, now_us);
    if (k > 0)
        c->mp->pm_kick = true; /* its actions change what it sees: look again */
    bool want_ack = false;
    for (size_t i = 0; i < k; i++) {
        mptcp_pm_action *a = &act[i];
        switch (a->type) {
        case MPTCP_PM_ACT_CLOSE_SUBFLOW: {
            mptcp_subflow *sf = mptcp_conn_sf_by_id(c, a->subflow_id);
            if (sf && last_with_data(c, sf))
                sf->close_deferred = true;
            else if (sf)
                mptcp_conn_sf_close(sf, now_us);
            break;
        }
        case MPTCP_PM_ACT_SEND_RM_ADDR:
            mptcp_subflow_queue_rm(c, &a->rm);
            want_ack = true;
            break;
        case MPTCP_PM_ACT_SEND_PRIO: {
            mptcp_subflow *sf = mptcp_conn_sf_by_id(c, a->subflow_id);
            if (sf) {
                sf->backup = a->backup;
                sf->prio_pending = true;
                send_ack_on(sf, now_us);
            }
            break;
        }
        case MPTCP_PM_ACT_SEND_ADD_ADDR:
            mptcp_subflow_queue_add_addr(c, a->addr_id, &a->addr, a->echo);
            want_ack = true;
            break;
        case MPTCP_PM_ACT_OPEN_SUBFLOW: {
            int rc = mptcp_conn_open_subflow(c, &a->local, &a->addr, a->local_id, a->remote_id,
                                             a->backup, now_us);
            if (rc < 0)
                mptcp_pm_subflow_failed(&c->mp->pm, a->local_id, a->remote_id, now_us);
            break;
        }
        }
    }
    if (want_ack)
        send_ack_on(first_usable(c), now_us);
    c->mp->pm_deadline = mptcp_pm_next_deadline(&c->mp->pm);
}

/* ------------------------------------------------------------ MP_FASTCLOSE on an ACK */

/* RFC 8684 3.5: MP_FASTCLOSE retransmissions before giving up (RECOMMENDED 3). */
#define FC_ACK_TRIES 3

static void fc_send(mptcp_conn *c, mptcp_subflow *sf, uint64_t now_us)
{
    send_ack_on(sf, now_us); /* subflow.c puts MP_FASTCLOSE, alone, on it */
    uint32_t rto = MPTCP_MAX(sf->t->rto_us, CONN_FIN_RTO_MIN);
    c->mp->fc_at = now_us + ((uint64_t)rto << c->mp->fc_tries);
}

/* The first variant of RFC 8684 3.5: MP_FASTCLOSE on an ACK on one subflow,
 * a RST (with MP_TCPRST) on every other; FASTCLOSE_WAIT until the peer's
 * RST. Returns false when the connection cannot take this variant (not
 * fully established, fell back, no subflow to carry it): the caller sends
 * the RST variant. */
static bool fc_ack_begin(mptcp_conn *c, uint64_t now_us)
{
    if (!c->st->cfg.fastclose_ack || !(c->flags & MPTCP_CF_FULLY_EST) ||
        !(c->flags & MPTCP_CF_CONNECTED) || (c->flags & (MPTCP_CF_FALLBACK | MPTCP_CF_CLOSE_QUEUED)))
        return false;
    mptcp_subflow *keep = first_usable(c);
    if (keep == NULL)
        return false;
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf == keep || sf->role == MPTCP_SF_FREE || sf->t == NULL ||
            sf->t->state == MPTCP_TCP_CLOSED)
            continue;
        mptcp_tcb *t = sf->t;
        sf->rst_send_code = MPTCP_RSTCODE_UNSPEC;
        if (t->state != MPTCP_TCP_SYN_SENT && t->state != MPTCP_TCP_TIME_WAIT)
            mptcp_tcp_send_rst(t, now_us);
        t->flags |= MPTCP_TF_CLOSE_QUEUED; /* no subflow events: the connection goes */
        mptcp_tcp_terminate(t, MPTCP_CLOSE_ABORTED);
    }
    c->flags |= MPTCP_CF_FC_WAIT;
    c->mp->fc_id = keep->id;
    c->mp->fc_tries = 0;
    fc_send(c, keep, now_us);
    mptcp_conn_touch(c);
    return true;
}

/* FASTCLOSE_WAIT: the peer's RST on the subflow (it is gone) closes the
 * connection; without one, MP_FASTCLOSE goes again after the RTO, and after
 * FC_ACK_TRIES retransmissions on a RST, which also clears middlebox state
 * (3.5). Nothing else runs: no data is scheduled any more. */
static void fc_step(mptcp_conn *c, uint64_t now_us)
{
    mptcp_subflow *sf = mptcp_conn_sf_by_id(c, c->mp->fc_id);
    if (sf == NULL || sf->t == NULL || sf->dead || sf->t->state == MPTCP_TCP_CLOSED) {
        conn_terminate(c, MPTCP_CLOSE_ABORTED, false, now_us);
        return;
    }
    if (now_us >= c->mp->fc_at) {
        if (c->mp->fc_tries < FC_ACK_TRIES) {
            c->mp->fc_tries++;
            fc_send(c, sf, now_us);
        } else {
            c->flags |= MPTCP_CF_FASTCLOSE;
            conn_terminate(c, MPTCP_CLOSE_ABORTED, true, now_us);
            return;
        }
    }
    mptcp_conn_touch(c);
}

/* Dead subflows leave: their data goes elsewhere, the host hears of it. */
static void reap_subflows(mptcp_conn *c, uint64_t now_us)
{
    for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || !sf->dead)
            continue;
        if (sf->rx_wait && sf->t && sf->t->rcv.len > 0 && !(c->flags & MPTCP_CF_HOST_CLOSED)) {
            /* Bytes this subflow acknowledged wait for room in the ring
             * (the peer may have sent them just before closing it, 3.3.3):
             * its ring is kept until the host reads and they move up. */
            rx_pump_one(sf, now_us);
            if (sf->rx_wait && sf->t->rcv.len > 0)
                continue;
        }
        if (sf->t && sf->t->close_reason == MPTCP_CLOSE_NORMAL)
            mptcp_conn_fb_fin(c, sf, true, now_us); /* a held FIN: no reset came */
        if (!(c->flags & MPTCP_CF_DONE))
            reinject(c, sf, now_us);
        if (!sf->up && sf->role == MPTCP_SF_JOIN_ACTIVE)
            mptcp_pm_subflow_failed(&c->mp->pm, sf->local_id, sf->remote_id, now_us);
        if (sf->up || sf->role == MPTCP_SF_JOIN_ACTIVE)
            sf_event(sf, MPTCP_EV_SUBFLOW_DOWN);
        if (c->mp->sched_ops->subflow_closed)
            c->mp->sched_ops->subflow_closed(&c->mp->sched, sf->id);
        if (sf->has_rst_code) {
            c->close_has_code = true;
            c->close_code = sf->rst_code;
        }
        uint8_t reason = sf->t ? sf->t->close_reason : MPTCP_CLOSE_RESET;
        sf_clear(sf);
        snd_unpin(c); /* what it still held is free once DATA_ACKed */
        bool any = false;
        for (size_t k = 0; k < MPTCP_MAX_SUBFLOWS; k++)
            any |= c->mp->sf[k].role != MPTCP_SF_FREE;
        if (!any && !(c->flags & MPTCP_CF_CLOSE_QUEUED)) {
            /* The last subflow is gone. */
            if (c->flags & MPTCP_CF_DONE)
                reason = MPTCP_CLOSE_NORMAL;
            else if (c->close_has_code && reason == MPTCP_CLOSE_RESET)
                reason = MPTCP_CLOSE_MPTCP_RST;
            c->close_reason = reason;
            mptcp_conn_event(c, MPTCP_EVB_CLOSED);
        }
    }
}

static void conn_maybe_finish(mptcp_conn *c)
{
    if (!(c->flags & MPTCP_CF_DONE) || (c->flags & MPTCP_CF_CLOSE_QUEUED))
        return;
    if (!(c->flags & MPTCP_CF_HOST_CLOSED) && c->mp->rcv.len > 0)
        return;
    c->close_reason = MPTCP_CLOSE_NORMAL;
    mptcp_conn_event(c, MPTCP_EVB_CLOSED);
}

void mptcp_conn_step(mptcp_conn *c, uint64_t now_us)
{
    if (!(c->flags & MPTCP_CF_MP) || (c->flags & MPTCP_CF_CLOSE_QUEUED))
        return;
    if (c->flags & MPTCP_CF_FC_WAIT) {
        fc_step(c, now_us);
        return;
    }
    /* Only data moved since the last step (mptcp_conn_dirty_data): no
     * subflow ended (a TCB's CLOSED comes with mptcp_conn_dirty) and the
     * path manager has nothing new to look at. What happens during this
     * step sets the flag again for the next one. */
    bool kick = c->mp->pm_kick;
    c->mp->pm_kick = false;
    if (kick)
        reap_subflows(c, now_us);
    if (c->flags & MPTCP_CF_CLOSE_QUEUED)
        return;
    /* The two loops over the subflows act on a subflow that is not up yet,
     * closing, to be closed, reinjected or after two RTOs. When the last
     * step found none such (sf_quiet), only these turn one into it: a kick
     * (a TCB's event, an RTO, the path manager's actions: mptcp_conn_dirty
     * or pm_kick), a new slot or a reinjection (both clear sf_quiet); a
     * data-only step skips the loops then. */
    bool loops = kick || !c->mp->sf_quiet || (c->flags & MPTCP_CF_FALLBACK);
    for (size_t i = 0; loops && i < c->mp->sf_hi; i++) {
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || sf->t == NULL || sf->dead)
            continue;
        if (sf->closing && !(sf->t->flags & MPTCP_TF_FIN_PENDING) && !(c->flags & MPTCP_CF_FALLBACK))
            mptcp_conn_sf_close(sf, now_us);
        if (!sf->up && sf->t->state >= MPTCP_TCP_ESTABLISHED &&
            (sf->role == MPTCP_SF_MPC || sf->join_ok)) {
            sf->up = true;
            if (sf->role == MPTCP_SF_MPC) {
                sf->usable = true;
                if (!(c->flags & MPTCP_CF_CONNECTED)) {
                    c->flags |= MPTCP_CF_CONNECTED;
                    c->mp->snd_edge = c->mp->snd_una + sf->t->snd_wnd;
                    if (c->flags & MPTCP_CF_ACTIVE) {
                        mptcp_conn_event(c, MPTCP_EVB_CONNECTED);
                    } else {
                        c->flags |= MPTCP_CF_OWNED;
                        mptcp_conn_event(c, MPTCP_EVB_ACCEPTED);
                    }
                }
            }
            sf_event(sf, MPTCP_EV_SUBFLOW_UP);
            kick = true; /* the path manager sees it established */
        }
    }
    if (c->flags & MPTCP_CF_FALLBACK) {
        /* One subflow carries the stream with no options: what it has
         * acknowledged is acknowledged at data level. */
        for (size_t i = 0; i < c->mp->sf_hi; i++) {
            mptcp_subflow *sf = &c->mp->sf[i];
            if (sf->role == MPTCP_SF_FREE || sf->t == NULL || sf->id != c->mp->fb_id)
                continue;
            uint32_t una = sf->t->snd_una;
            uint64_t acked = c->mp->snd_una;
            if (mptcp_seq_geq(una, c->mp->lin_ssn))
                acked = c->mp->lin_dsn + (una - c->mp->lin_ssn);
            else if (c->mp->lin_back)
                acked = c->mp->lin_dsn - (c->mp->lin_ssn - una);
            if (c->mp->inf_pending && mptcp_seq_gt(una, c->mp->lin_ssn))
                c->mp->inf_pending = false;
            if (mptcp_dsn_gt(acked, c->mp->snd_una) &&
                (c->mp->snd.len > 0 ||
                 (c->flags & (MPTCP_CF_FIN_PENDING | MPTCP_CF_FIN_ACKED)) == MPTCP_CF_FIN_PENDING))
                mptcp_conn_data_ack(c, acked, UINT32_MAX / 2, now_us); /* (something left to ack) */
            c->mp->snd_edge = c->mp->snd_nxt + sf->t->snd_wnd + mptcp_sndbuf_free(&sf->t->snd);
            if (mptcp_dsn_gt(c->mp->snd_una + c->mp->snd.len, c->mp->snd_nxt)) {
                uint32_t m = sf_push(c, sf, c->mp->snd_nxt,
                                     (uint32_t)MPTCP_MIN(c->mp->snd_una + c->mp->snd.len - c->mp->snd_nxt,
                                                         (uint64_t)UINT32_MAX));
                c->mp->snd_nxt += m;
                if (m)
                    mptcp_tcp_output(sf->t, now_us);
            }
            if ((c->flags & MPTCP_CF_FIN_PENDING) && c->mp->snd_nxt == c->mp->fin_dsn &&
                !(sf->t->flags & MPTCP_TF_FIN_PENDING))
                tcp_shutdown(sf->t, now_us);
            mptcp_tcp_touch(sf->t);
            mptcp_conn_fb_fin(c, sf, false, now_us);
            if (sf->t->flags & MPTCP_TF_TCP_DONE) {
                c->flags |= MPTCP_CF_DONE | MPTCP_CF_FIN_ACKED;
                conn_maybe_finish(c);
            }
        }
        /* (the fallen-back step ends here: our MP_FAIL's deadline too) */
        if (c->mp->fail_at != MPTCP_TIMER_NONE)
            mp_fail_check(c, now_us);
        mptcp_conn_touch(c);
        return;
    }
    bool quiet = true;
    for (size_t i = 0; loops && i < c->mp->sf_hi; i++) {
        /* A subflow whose RTO expired twice is potentially failed: what it
         * holds goes to the others now (Linux marks it stale likewise). */
        mptcp_subflow *sf = &c->mp->sf[i];
        if (sf->role == MPTCP_SF_FREE || sf->t == NULL || sf->dead)
            continue;
        if (sf->close_deferred && !data_outstanding(c)) {
            sf->close_deferred = false;
            mptcp_conn_sf_close(sf, now_us);
            quiet = false;
            continue;
        }
        if (sf->t->backoff >= 2 && !(sf->t->flags & MPTCP_TF_PERSIST) && !sf->reinjected) {
            bool other = false;
            for (size_t k = 0; k < MPTCP_MAX_SUBFLOWS; k++)
                other |= k != i && c->mp->sf[k].role != MPTCP_SF_FREE && sf_can_send(&c->mp->sf[k]) &&
                         c->mp->sf[k].t->backoff == 0;
            if (other)
                reinject(c, sf, now_us);
        } else if (sf->t->backoff == 0 && sf->reinjected && !sf->closing) {
            sf->reinjected = false;
        }
        quiet = quiet && sf->up && !sf->closing && !sf->close_deferred && !sf->reinjected &&
                sf->t->backoff < 2;
    }
    if (loops)
        c->mp->sf_quiet = quiet;
    /* (pm_step's own test, here: most steps are data-only and the call
     * alone, with pm_step's large frame, cost as much as the test) */
    if (kick || !c->mp->pm.established || c->mp->pm_deadline <= now_us)
        pm_step(c, kick, now_us);
    if (c->mp->snd_una + c->mp->snd.len != c->mp->snd_nxt) /* (conn_push's first test) */
        conn_push(c, now_us);
    data_rtx(c, now_us);
    if (!(c->flags & MPTCP_CF_CLOSE_QUEUED))
        no_subflow_check(c, now_us);
    if (c->mp->fail_at != MPTCP_TIMER_NONE)
        mp_fail_check(c, now_us);
    window_probe(c, now_us);
    if (c->flags & MPTCP_CF_FIN_PENDING) /* (fin_maybe_send's first test) */
        fin_maybe_send(c, now_us);
    if ((c->flags & MPTCP_CF_FIN_ACKED) && (c->flags & MPTCP_CF_PEER_FIN) &&
        !(c->flags & MPTCP_CF_DONE)) {
        /* RFC 8684 section 3.3.3: both DATA_FINs are acknowledged: the
         * connection is closed; the subflows close with FINs. */
        c->flags |= MPTCP_CF_DONE;
        c->mp->sf_quiet = false; /* its subflows are closing */
        for (size_t i = 0; i < c->mp->sf_hi; i++)
            if (c->mp->sf[i].role != MPTCP_SF_FREE && c->mp->sf[i].t && !c->mp->sf[i].dead) {
                c->mp->sf[i].closing = true;
                tcp_shutdown(c->mp->sf[i].t, now_us);
                mptcp_tcp_touch(c->mp->sf[i].t);
            }
    }
    conn_maybe_finish(c);
    mptcp_conn_touch(c);
}

void mptcp_conn_touch(mptcp_conn *c)
{
    uint64_t d = MPTCP_TIMER_NONE;
    if ((c->flags & MPTCP_CF_FC_WAIT) && !(c->flags & MPTCP_CF_CLOSE_QUEUED)) {
        mptcp_timer_set(&c->st->timers, &c->mp->tn, c->mp->fc_at);
        return;
    }
    if ((c->flags & MPTCP_CF_MP) && !(c->flags & MPTCP_CF_CLOSE_QUEUED)) {
        if ((c->flags & MPTCP_CF_FIN_PENDING) && !(c->flags & MPTCP_CF_FIN_ACKED) &&
            !(c->flags & MPTCP_CF_FALLBACK) && c->mp->snd_nxt == c->mp->fin_dsn)
            d = c->mp->fin_rexmit_at;
        if (c->mp->pm.established && pm_active(c)) {
            /* Every change to the PM comes with pm_kick (mptcp_conn_dirty). */
            uint64_t p = c->mp->pm_kick ? mptcp_pm_next_deadline(&c->mp->pm) : c->mp->pm_deadline;
            if (p < d)
                d = p;
        }
        if (c->mp->probe_rto && c->mp->probe_at < d && !(c->flags & MPTCP_CF_FALLBACK))
            d = c->mp->probe_at;
        if (c->mp->rtx_at < d && !(c->flags & (MPTCP_CF_FALLBACK | MPTCP_CF_FASTCLOSE)))
            d = c->mp->rtx_at;
        if (c->mp->nosf_at < d && !(c->flags & MPTCP_CF_FALLBACK))
            d = c->mp->nosf_at;
        /* Fallen back, the step still runs mp_fail_check, which keeps the
         * deadline only while a subflow discards waiting for the answer
         * (fuzz/mptcp_conn regress-mp-fail-timer-after-fallback.bin,
         * fuzz/mptcp_pair regress-crossed-mp-fail-fallback-stall.bin). */
        if (c->mp->fail_at < d)
            d = c->mp->fail_at;
        if (c->mp->fin_hold_at < d && !(c->flags & MPTCP_CF_PEER_FIN))
            d = c->mp->fin_hold_at;
    }
    mptcp_timer_set(&c->st->timers, &c->mp->tn, d);
}

void mptcp_conn_timers_run(mptcp_conn *c, uint64_t now_us)
{
    mptcp_conn_step(c, now_us);
    if (c->mp->fin_rexmit_at <= now_us)
        fin_maybe_send(c, now_us);
}

/* ------------------------------------------------------------ host calls */

static mptcp_tcb *plain_tcb(mptcp_conn *c)
{
    return (c->flags & MPTCP_CF_MP) ? NULL : c->tcb;
}

mptcp_ssize mptcp_conn_send(mptcp_conn *c, const uint8_t *data, size_t len, uint64_t now_us)
{
    mptcp_tcb *t = plain_tcb(c);
    if (!(c->flags & MPTCP_CF_MP))
        return t ? plain_send(c, t, data, len, now_us) : MPTCP_ECLOSED;
    if (c->flags & MPTCP_CF_FIN_PENDING)
        return MPTCP_ESTATE;
    if (c->flags & MPTCP_CF_DONE)
        return MPTCP_ECLOSED;
    if (len == 0)
        return 0;
    uint32_t chunk = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint32_t n = mptcp_sndbuf_append(&c->mp->snd, data, MPTCP_MIN(chunk, host_space(c)));
    if (n < len)
        c->flags |= MPTCP_CF_WANT_WRITE;
    if (n > 0)
        mptcp_conn_dirty_data(c);
    return n > 0 ? (mptcp_ssize)n : MPTCP_EAGAIN;
}

mptcp_ssize mptcp_conn_recv(mptcp_conn *c, uint8_t *buf, size_t len, uint64_t now_us)
{
    if (!(c->flags & MPTCP_CF_MP))
        return c->tcb ? plain_recv(c, c->tcb, buf, len, now_us) : MPTCP_ECLOSED;
    uint32_t chunk = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint32_t n = mptcp_rcvbuf_read(&c->mp->rcv, buf, chunk);
    mptcp_ssize ret;
    if (n > 0) {
        /* Room again: bytes a subflow holds because the ring was full move
         * up now (no later segment may come to push them, e.g. after the
         * peer's FIN), then the windows open. */
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++)
            if (c->mp->sf[i].t && c->mp->sf[i].t->rcv.len > 0 && (c->flags & MPTCP_CF_MP))
                mptcp_conn_sf_rx_pump(&c->mp->sf[i], now_us);
        /* Window update at the data level (3.3.4; the subflows' own
         * sequence spaces say nothing about it): when the window reopens
         * from (nearly) zero the peer may be waiting on it, so every subflow
         * tells it (their window fields change, so no TCP sees a duplicate
         * ACK). Otherwise each subflow updates as TCP would, and the ACKs
         * of new data carry the data-level edge anyway: an ACK repeating a
         * subflow's ACK number and window would count as a duplicate ACK
         * at the sender (RFC 5681) and trigger a spurious retransmission. */
        uint64_t rn = c->mp->rcv_nxt;
        uint32_t cur = mptcp_dsn_gt(c->mp->rcv_edge, rn) ? (uint32_t)(c->mp->rcv_edge - rn) : 0;
        uint32_t wnd = rcv_wnd_calc(c);
        uint32_t mss = c->st->cfg.mss;
        bool update = cur < mss && wnd >= mss;
        for (size_t i = 0; i < MPTCP_MAX_SUBFLOWS; i++) {
            mptcp_tcb *t = c->mp->sf[i].t;
            if (t == NULL || !c->mp->sf[i].usable)
                continue;
            if (update && !(t->flags & MPTCP_TF_FIN_RCVD) &&
                (t->state == MPTCP_TCP_ESTABLISHED || t->state == MPTCP_TCP_FIN_WAIT_1 ||
                 t->state == MPTCP_TCP_FIN_WAIT_2))
                mptcp_tcp_send_ack(t, now_us);
            else
                mptcp_tcp_rcv_window_opened(t, now_us); /* its own view reopened */
            mptcp_tcp_touch(t);
        }
        mptcp_conn_dirty_data(c);
        ret = (mptcp_ssize)n;
    } else if (c->flags & MPTCP_CF_PEER_FIN) {
        ret = 0;
    } else if (c->flags & MPTCP_CF_CLOSE_QUEUED) {
        ret = MPTCP_ECLOSED;
    } else {
        ret = MPTCP_EAGAIN;
    }
    conn_maybe_finish(c);
    return ret;
}

int mptcp_conn_shutdown(mptcp_conn *c, uint64_t now_us)
{
    if (!(c->flags & MPTCP_CF_MP)) {
        if (c->tcb == NULL || c->tcb->state == MPTCP_TCP_CLOSED)
            return MPTCP_ECLOSED;
        tcp_shutdown(c->tcb, now_us);
        mptcp_tcp_touch(c->tcb);
        return 0;
    }
    if (!(c->flags & MPTCP_CF_FIN_PENDING)) {
        c->flags |= MPTCP_CF_FIN_PENDING;
        c->mp->fin_dsn = c->mp->snd_una + c->mp->snd.len;
        c->mp->fin_rexmit_at = MPTCP_TIMER_NONE;
        c->mp->fin_rto = 0;
    }
    mptcp_conn_dirty(c);
    return 0;
}

int mptcp_conn_close(mptcp_conn *c, uint64_t now_us)
{
    if (!(c->flags & MPTCP_CF_MP)) {
        c->flags |= MPTCP_CF_HOST_CLOSED;
        return c->tcb ? plain_close(c, c->tcb, now_us) : 0;
    }
    c->flags |= MPTCP_CF_HOST_CLOSED;
    if (c->mp->rcv.len > 0 || !(c->flags & MPTCP_CF_CONNECTED)) {
        /* Unread data (RFC 9293 section 3.6 spirit) or not connected yet:
         * abort; an MPTCP connection says so with MP_FASTCLOSE (3.5). */
        if (fc_ack_begin(c, now_us))
            return 0;
        if (c->flags & MPTCP_CF_CONNECTED)
            c->flags |= MPTCP_CF_FASTCLOSE;
        conn_terminate(c, MPTCP_CLOSE_ABORTED, (c->flags & MPTCP_CF_CONNECTED) != 0, now_us);
        return 0;
    }
    mptcp_conn_shutdown(c, now_us);
    conn_maybe_finish(c);
    return 0;
}

int mptcp_conn_abort(mptcp_conn *c, uint64_t now_us)
{
    if (!(c->flags & MPTCP_CF_MP)) {
        c->flags |= MPTCP_CF_HOST_CLOSED;
        return c->tcb ? plain_abort(c, c->tcb, now_us) : 0;
    }
    c->flags |= MPTCP_CF_HOST_CLOSED;
    if ((c->flags & MPTCP_CF_FC_WAIT) || fc_ack_begin(c, now_us))
        return 0; /* cfg.fastclose_ack: MP_FASTCLOSE on an ACK (3.5) */
    /* RFC 8684 section 3.5: MP_FASTCLOSE, here on a RST on every subflow
     * together with MP_TCPRST (as Linux sends it). */
    if (c->flags & MPTCP_CF_FULLY_EST || (c->flags & MPTCP_CF_CONNECTED))
        c->flags |= MPTCP_CF_FASTCLOSE;
    if (c->flags & MPTCP_CF_CLOSE_QUEUED)
        return 0;
    conn_terminate(c, MPTCP_CLOSE_ABORTED, true, now_us);
    return 0;
}
