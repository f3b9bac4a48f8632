/*
 * tun_host.c - glue between a libmptcp stack and Linux TUN devices: the
 * stack's callbacks (send: add an IP header, route, emulate, write; random:
 * getrandom or a seeded stream; log), the receive path (parse IP, keep TCP
 * for local addresses, emulate, mptcp_input), timers from CLOCK_MONOTONIC,
 * the route table and the counters. No application logic (main.c) and no
 * device ioctls (tun_dev.c). This is the file to copy when porting to a
 * new host: replace the clock, the random source and the packet I/O.
 */
#define _GNU_SOURCE
#include "tun_host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "helpers/pcap.h"
#include "tun_ip.h"

#define RX_BUDGET 256 /* packets read from one device before looking elsewhere */

static uint64_t clock_us(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t tun_host_clock(tun_host *h)
{
    uint64_t t = clock_us(CLOCK_MONOTONIC);
    if (t > h->now_us)
        h->now_us = t;
    return h->now_us;
}

void tun_host_init(tun_host *h)
{
    memset(h, 0, sizeof *h);
    for (int i = 0; i < TUN_MAX_DEVS; i++)
        h->dev[i].fd = -1;
    h->now_us = clock_us(CLOCK_MONOTONIC);
    h->wall_offset_us = clock_us(CLOCK_REALTIME) - h->now_us;
}

int tun_host_add_dev(tun_host *h, const char *name, char *err, size_t errlen)
{
    if (h->n_dev == TUN_MAX_DEVS) {
        snprintf(err, errlen, "at most %d devices", TUN_MAX_DEVS);
        return -1;
    }
    for (int i = 0; i < h->n_dev; i++) {
        if (strcmp(h->dev[i].name, name) == 0) {
            snprintf(err, errlen, "device %s given twice", name);
            return -1;
        }
    }
    tun_dev *d = &h->dev[h->n_dev];
    memset(d, 0, sizeof *d);
    d->fd = tun_dev_open(name, &d->mtu, &d->created, err, errlen);
    if (d->fd < 0)
        return -1;
    snprintf(d->name, sizeof d->name, "%s", name);
    /* Placeholder seeds; tun_host_start reseeds every direction. */
    tun_netem_init(&d->netem[TUN_DIR_IN], 0);
    tun_netem_init(&d->netem[TUN_DIR_OUT], 0);
    return h->n_dev++;
}

int tun_host_add_route(tun_host *h, const mptcp_addr *prefix, unsigned plen, int dev)
{
    if (h->n_route == TUN_MAX_ROUTES || dev < 0 || dev >= h->n_dev ||
        plen > tun_addr_len(prefix) * 8)
        return -1;
    tun_route *r = &h->route[h->n_route++];
    r->prefix = *prefix;
    r->prefix.port = 0;
    r->plen = (uint8_t)plen;
    r->dev = dev;
    return 0;
}

int tun_host_add_local(tun_host *h, const mptcp_addr *a, unsigned plen, int dev)
{
    size_t bits = tun_addr_len(a) * 8;
    if (h->n_local == TUN_MAX_LOCALS || dev < 0 || dev >= h->n_dev || plen > bits ||
        tun_host_find_local(h, a))
        return -1;
    tun_local *l = &h->local[h->n_local++];
    l->addr = *a;
    l->addr.port = 0;
    l->plen = (uint8_t)plen;
    l->dev = dev;
    /* A connected prefix (ip addr add A/LEN dev D) routes its subnet via D. */
    if (plen < bits)
        return tun_host_add_route(h, a, plen, dev);
    return 0;
}

const tun_local *tun_host_find_local(const tun_host *h, const mptcp_addr *a)
{
    for (int i = 0; i < h->n_local; i++)
        if (tun_addr_eq(&h->local[i].addr, a))
            return &h->local[i];
    return NULL;
}

int tun_route_lookup(const tun_host *h, const mptcp_addr *dst)
{
    int best = -1, best_len = -1;
    for (int i = 0; i < h->n_route; i++) {
        const tun_route *r = &h->route[i];
        if ((int)r->plen > best_len && tun_addr_in_prefix(dst, &r->prefix, r->plen)) {
            best = r->dev;
            best_len = r->plen;
        }
    }
    return best;
}

static bool ip_eq(const mptcp_addr *a, const mptcp_addr *b)
{
    return a->family == b->family && memcmp(a->ip, b->ip, tun_addr_len(a)) == 0;
}

void tun_host_note_arrival(tun_host *h, const mptcp_addr *local, const mptcp_addr *remote,
                           int dev)
{
    for (int i = 0; i < h->n_pair; i++) {
        tun_pair *p = &h->pair[i];
        if (ip_eq(&p->local, local) && ip_eq(&p->remote, remote)) {
            p->dev = dev;
            return;
        }
    }
    /* A new pair: a free slot, else the oldest entry (round robin). */
    int i = h->n_pair < TUN_MAX_PAIRS ? h->n_pair++ : h->next_pair++ % TUN_MAX_PAIRS;
    h->pair[i].local = *local;
    h->pair[i].remote = *remote;
    h->pair[i].local.port = h->pair[i].remote.port = 0;
    h->pair[i].dev = dev;
}

int tun_route_out(const tun_host *h, const mptcp_addr *src, const mptcp_addr *dst)
{
    for (int i = 0; i < h->n_pair; i++)
        if (ip_eq(&h->pair[i].local, src) && ip_eq(&h->pair[i].remote, dst))
            return h->pair[i].dev;
    const tun_local *l = tun_host_find_local(h, src);
    if (l)
        return l->dev;
    int d = tun_route_lookup(h, dst);
    if (d >= 0)
        return d;
    return h->n_dev == 1 ? 0 : -1;
}

const tun_local *tun_route_source(const tun_host *h, const mptcp_addr *dst)
{
    int d = tun_route_lookup(h, dst);
    const tun_local *first = NULL;
    for (int i = 0; i < h->n_local; i++) {
        const tun_local *l = &h->local[i];
        if (l->addr.family != dst->family)
            continue;
        if (d < 0 || l->dev == d)
            return l;
        if (!first)
            first = l;
    }
    return first;
}

/* ------------------------------------------------------------ packet I/O */

static void pcap_record(tun_host *h, const uint8_t *pkt, size_t len)
{
    if (h->pcap && !h->pcap_failed &&
        mptcp_test_pcap_write_ip(h->pcap, h->now_us + h->wall_offset_us, pkt, len) != 0)
        h->pcap_failed = true;
}

static void dev_write(tun_host *h, int d, const uint8_t *pkt, size_t len)
{
    tun_dev *dev = &h->dev[d];
    for (;;) {
        ssize_t n = write(dev->fd, pkt, len);
        if (n == (ssize_t)len) {
            dev->ctr.tx_pkts++;
            dev->ctr.tx_bytes += len;
            return;
        }
        if (n < 0 && errno == EINTR)
            continue;
        /* EAGAIN/ENOBUFS: the kernel had no room; TCP treats it as loss. */
        dev->ctr.tx_err++;
        return;
    }
}

/* Hands one received TCP segment to the stack (and the pcap). */
static void deliver(tun_host *h, const uint8_t *pkt, size_t len, const mptcp_addr *src,
                    const mptcp_addr *dst, size_t l4_off)
{
    tun_host_clock(h);
    pcap_record(h, pkt, len);
    int rc = mptcp_input(h->st, src, dst, pkt + l4_off, len - l4_off, h->now_us);
    if (rc < 0) {
        h->input_errors++;
        if (mptcp_err_is_fatal(rc) && !h->fatal)
            h->fatal = rc;
    }
}

static void cb_send(void *user, const mptcp_addr *src, const mptcp_addr *dst,
                    const uint8_t *seg, size_t len)
{
    tun_host *h = user;
    int d = tun_route_out(h, src, dst);
    if (d < 0) {
        h->tx_no_route++;
        return;
    }
    size_t hl = tun_ip_header(h->txpkt, sizeof h->txpkt, src, dst, len, h->ip_id);
    if (hl == 0 || hl + len > sizeof h->txpkt) {
        h->tx_bad_family++;
        return;
    }
    h->ip_id++;
    memcpy(h->txpkt + hl, seg, len);
    size_t total = hl + len;
    tun_host_clock(h);
    pcap_record(h, h->txpkt, total);
    tun_netem *ne = &h->dev[d].netem[TUN_DIR_OUT];
    if (tun_netem_offer(ne, h->txpkt, total, src, dst, hl, h->now_us) == TUN_NETEM_PASS)
        dev_write(h, d, h->txpkt, total);
}

static void cb_random(void *user, uint8_t *out, size_t len)
{
    tun_host *h = user;
    if (h->seeded) {
        for (size_t i = 0; i < len; i += 8) {
            uint64_t v = tun_splitmix64(&h->rng);
            size_t n = len - i < 8 ? len - i : 8;
            memcpy(out + i, &v, n);
        }
        return;
    }
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(out + got, len - got, 0);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        break;
    }
    if (got == len)
        return;
    /* No getrandom (old kernel): /dev/urandom. Without either there is no
     * safe way to make keys and ISNs, so stop rather than guess. */
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && got < len) {
        ssize_t n = read(fd, out + got, len - got);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
        if (n > 0)
            got += (size_t)n;
    }
    if (fd >= 0)
        close(fd);
    if (got < len) {
        fprintf(stderr, "mptcp-tun: no random source (getrandom, /dev/urandom)\n");
        abort();
    }
}

static void cb_event(void *user, mptcp_conn *c, const mptcp_event *ev)
{
    tun_host *h = user;
    if (h->app_event)
        h->app_event(h->app, c, ev);
}

static void cb_log(void *user, int level, const char *msg)
{
    tun_host *h = user;
    static const char *const names[] = {"error", "warn", "info", "debug"};
    if (level <= h->verbose)
        fprintf(stderr, "mptcp-tun: [%s] %s\n", names[level < 0 ? 0 : level > 3 ? 3 : level],
                msg);
}

int tun_host_open_pcap(tun_host *h, const char *path)
{
    h->pcap = mptcp_test_pcap_open(path);
    return h->pcap ? 0 : -1;
}

int tun_host_start(tun_host *h, const mptcp_config *cfg, const uint64_t *seed)
{
    uint64_t base;
    if (seed) {
        h->seeded = true;
        h->rng = *seed;
        base = *seed;
    } else {
        cb_random(h, (uint8_t *)&base, sizeof base);
    }
    /* Independent loss streams per device and direction, all derived from one
     * seed, so one --seed reproduces a whole run's drop pattern. */
    for (int i = 0; i < h->n_dev; i++) {
        for (int dir = 0; dir < 2; dir++) {
            uint64_t s = base ^ (0x5851f42d4c957f2dull * (uint64_t)(2 * i + dir + 1));
            h->dev[i].netem[dir].rng = tun_splitmix64(&s);
        }
    }
    mptcp_callbacks cb = {
        .send = cb_send, .event = cb_event, .random = cb_random, .log = cb_log,
    };
    h->st = mptcp_stack_new(cfg, &cb, h);
    return h->st ? 0 : -1;
}

int tun_host_pollfds(const tun_host *h, struct pollfd *pfd, int max)
{
    int n = 0;
    for (int i = 0; i < h->n_dev && n < max; i++, n++) {
        pfd[n].fd = h->dev[i].fd;
        pfd[n].events = POLLIN;
        pfd[n].revents = 0;
    }
    return n;
}

void tun_host_rx(tun_host *h, int d)
{
    tun_dev *dev = &h->dev[d];
    for (int i = 0; i < RX_BUDGET; i++) {
        ssize_t n = read(dev->fd, h->pkt, sizeof h->pkt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN: drained */
        }
        if (n == 0)
            return;
        dev->ctr.rx_pkts++;
        dev->ctr.rx_bytes += (uint64_t)n;
        tun_ip_pkt ip;
        switch (tun_ip_parse(h->pkt, (size_t)n, &ip)) {
        case TUN_IP_TCP: break;
        case TUN_IP_NOT_TCP: dev->ctr.rx_not_tcp++; continue;
        case TUN_IP_FRAGMENT: dev->ctr.rx_fragment++; continue;
        case TUN_IP_EXT_UNKNOWN: dev->ctr.rx_ext_unknown++; continue;
        default: dev->ctr.rx_bad_ip++; continue;
        }
        if (!tun_host_find_local(h, &ip.dst)) {
            dev->ctr.rx_not_local++;
            continue;
        }
        tun_host_note_arrival(h, &ip.dst, &ip.src, d);
        size_t len = ip.l4_off + ip.l4_len;
        tun_host_clock(h);
        tun_netem *ne = &dev->netem[TUN_DIR_IN];
        if (tun_netem_offer(ne, h->pkt, len, &ip.src, &ip.dst, ip.l4_off, h->now_us) ==
            TUN_NETEM_PASS)
            deliver(h, h->pkt, len, &ip.src, &ip.dst, ip.l4_off);
    }
}

void tun_host_service(tun_host *h)
{
    tun_host_clock(h);
    for (int i = 0; i < h->n_dev; i++) {
        tun_netem_pkt *q;
        while ((q = tun_netem_pop_due(&h->dev[i].netem[TUN_DIR_IN], h->now_us))) {
            deliver(h, q->data, q->len, &q->src, &q->dst, q->l4_off);
            free(q);
        }
        while ((q = tun_netem_pop_due(&h->dev[i].netem[TUN_DIR_OUT], h->now_us))) {
            dev_write(h, i, q->data, q->len);
            free(q);
        }
    }
    if (h->st && mptcp_next_timeout(h->st) <= h->now_us) {
        int rc = mptcp_handle_timeout(h->st, h->now_us);
        if (rc < 0 && mptcp_err_is_fatal(rc) && !h->fatal)
            h->fatal = rc;
    }
}

uint64_t tun_host_deadline(const tun_host *h)
{
    uint64_t t = h->st ? mptcp_next_timeout(h->st) : UINT64_MAX;
    for (int i = 0; i < h->n_dev; i++) {
        for (int dir = 0; dir < 2; dir++) {
            uint64_t q = tun_netem_next_due(&h->dev[i].netem[dir]);
            if (q < t)
                t = q;
        }
    }
    return t;
}

bool tun_host_queues_busy(const tun_host *h)
{
    for (int i = 0; i < h->n_dev; i++)
        if (h->dev[i].netem[TUN_DIR_IN].head || h->dev[i].netem[TUN_DIR_OUT].head)
            return true;
    return false;
}

static void print_netem(FILE *f, const char *dir, const tun_netem *n)
{
    fprintf(f,
            "    %s: loss %.3f%% delay %.3f ms: offered %llu passed %llu delayed %llu "
            "dropped loss %llu queue-full %llu\n",
            dir, n->loss_ppm / 10000.0, n->delay_us / 1000.0, (unsigned long long)n->offered,
            (unsigned long long)n->passed, (unsigned long long)n->delayed,
            (unsigned long long)n->dropped_loss,
            (unsigned long long)(n->dropped_queue + n->dropped_nomem));
}

void tun_host_print_stats(const tun_host *h, FILE *f)
{
    char a[64];
    for (int i = 0; i < h->n_dev; i++) {
        const tun_dev *d = &h->dev[i];
        const tun_dev_counters *c = &d->ctr;
        fprintf(f, "device %s (mtu %d%s):", d->name, d->mtu, d->created ? ", created" : "");
        for (int j = 0; j < h->n_local; j++)
            if (h->local[j].dev == i)
                fprintf(f, " %s/%u", tun_addr_str(&h->local[j].addr, a, sizeof a),
                        (unsigned)h->local[j].plen);
        fprintf(f, "\n");
        fprintf(f,
                "    rx %llu pkts %llu bytes (not tcp %llu, not local %llu, bad ip %llu, "
                "fragments %llu, ipv6 ext %llu); tx %llu pkts %llu bytes (errors %llu)\n",
                (unsigned long long)c->rx_pkts, (unsigned long long)c->rx_bytes,
                (unsigned long long)c->rx_not_tcp, (unsigned long long)c->rx_not_local,
                (unsigned long long)c->rx_bad_ip, (unsigned long long)c->rx_fragment,
                (unsigned long long)c->rx_ext_unknown, (unsigned long long)c->tx_pkts,
                (unsigned long long)c->tx_bytes, (unsigned long long)c->tx_err);
        print_netem(f, "in ", &d->netem[TUN_DIR_IN]);
        print_netem(f, "out", &d->netem[TUN_DIR_OUT]);
    }
    if (h->tx_no_route || h->tx_bad_family || h->input_errors)
        fprintf(f, "host: tx no route %llu, tx bad family %llu, input errors %llu\n",
                (unsigned long long)h->tx_no_route, (unsigned long long)h->tx_bad_family,
                (unsigned long long)h->input_errors);
    if (!h->st)
        return;
    mptcp_stack_stats s;
    mptcp_stack_get_stats(h->st, &s);
    fprintf(f,
            "stack: segs in %llu out %llu, bytes in %llu out %llu, retrans %llu, rst in %llu "
            "out %llu, challenge acks %llu, conns opened %llu accepted %llu closed %llu\n",
            (unsigned long long)s.segs_in, (unsigned long long)s.segs_out,
            (unsigned long long)s.bytes_in, (unsigned long long)s.bytes_out,
            (unsigned long long)s.retrans_segs, (unsigned long long)s.rst_in,
            (unsigned long long)s.rst_out, (unsigned long long)s.challenge_acks,
            (unsigned long long)s.conns_opened, (unsigned long long)s.conns_accepted,
            (unsigned long long)s.conns_closed);
    fprintf(f,
            "stack drops: bad csum %llu, malformed %llu, bad flags %llu, no conn %llu, out of "
            "window %llu, paws %llu, bad ack %llu, listen overflow %llu, rcvbuf full %llu, "
            "time backwards %llu\n",
            (unsigned long long)s.drop_bad_csum, (unsigned long long)s.drop_malformed,
            (unsigned long long)s.drop_bad_flags, (unsigned long long)s.drop_no_conn,
            (unsigned long long)s.drop_out_of_window, (unsigned long long)s.drop_paws,
            (unsigned long long)s.drop_bad_ack, (unsigned long long)s.drop_listen_overflow,
            (unsigned long long)s.drop_rcvbuf_full, (unsigned long long)s.time_backwards);
    fprintf(f,
            "stack sack: d-sack in %llu out %llu; acks rate-limited %llu; no memory: ooo drops "
            "%llu, sack ignored %llu\n",
            (unsigned long long)s.dsack_in, (unsigned long long)s.dsack_out,
            (unsigned long long)s.acks_ratelimited, (unsigned long long)s.drop_ooo_no_mem,
            (unsigned long long)s.sack_no_mem);
}

void tun_host_free(tun_host *h)
{
    if (h->st) {
        mptcp_stack_free(h->st);
        h->st = NULL;
    }
    for (int i = 0; i < h->n_dev; i++) {
        tun_netem_clear(&h->dev[i].netem[TUN_DIR_IN]);
        tun_netem_clear(&h->dev[i].netem[TUN_DIR_OUT]);
        if (h->dev[i].fd >= 0)
            close(h->dev[i].fd);
        h->dev[i].fd = -1;
    }
    if (h->pcap) {
        if (mptcp_test_pcap_close(h->pcap) != 0)
            h->pcap_failed = true;
        h->pcap = NULL;
    }
}
