/*
 * demo.c - `make demo`: a bulk download between two libmptcp stacks through
 * the simulator. By default an MPTCP connection from a client with two
 * addresses (think Wi-Fi and LTE) to a single-homed server, over two paths
 * of different rates and delays (50 Mbit/s 10 ms RTT, 20 Mbit/s 40 ms RTT):
 * the second subflow comes from the client's path manager (a "subflow"
 * endpoint). Printed: per-subflow throughput against its path, the
 * aggregate against the sum of the path rates, SHA-256 of what was sent and
 * received, and a pcap of every path at the client that Wireshark opens.
 * --tcp runs the plain TCP demo (one path, 100 Mbit/s, 20 ms, 0.5% loss).
 * Deterministic for a given --seed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers/pcap.h"
#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_data.h"
#include "sim/sim_host.h"
#include "sim/sim_mbox.h"
#include "sim/sim_path.h"

#define MAXP 8

typedef struct pathspec {
    double rate_mbit, rtt_ms, loss_pct;
} pathspec;

typedef struct opts {
    uint64_t seed;
    double mb;
    bool tcp;
    int n;
    pathspec p[MAXP];
    const char *pcap;
    double pcap_mb;
    bool quiet;
} opts;

/* Per path: payload bytes seen server -> client, counted by a middlebox
 * hook that changes nothing. */
typedef struct pathctr {
    uint64_t payload_down, segs_down;
} pathctr;

static void usage(void)
{
    fprintf(stderr,
            "usage: mptcp-demo [--seed N] [--mb MB] [--path MBIT:RTT_MS[:LOSS_PCT]]...\n"
            "                  [--tcp] [--pcap FILE] [--pcap-mb MB] [--quiet]\n"
            "  default: MPTCP over --path 50:10 --path 20:40 (up to %d paths)\n"
            "  --tcp:   plain TCP over one path (default 100:20:0.5)\n",
            MAXP);
    exit(2);
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static mptcp_addr ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port)
{
    mptcp_addr x;
    memset(&x, 0, sizeof(x));
    x.family = MPTCP_AF_INET;
    x.port = port;
    x.ip[0] = a, x.ip[1] = b, x.ip[2] = c, x.ip[3] = d;
    return x;
}

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void progress(bool tty, uint64_t got, uint64_t total, uint64_t sim_us, int *last_decile,
                     int *last_permille)
{
    double frac = total ? (double)got / (double)total : 1.0;
    if (tty) {
        int pm = (int)(frac * 1000);
        if (pm / 5 == *last_permille / 5 && pm != 1000)
            return; /* redraw every 0.5% */
        *last_permille = pm;
        char bar[41];
        int fill = (int)(frac * 40);
        for (int i = 0; i < 40; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[40] = 0;
        fprintf(stderr, "\r[%s] %5.1f%%  %7.2f MB  t=%.2f s", bar, frac * 100, (double)got / 1e6,
                (double)sim_us / 1e6);
        fflush(stderr);
    } else {
        int dec = (int)(frac * 10);
        if (dec > *last_decile) {
            *last_decile = dec;
            fprintf(stderr, "progress: %3d%%  %.2f MB  t=%.2f s (simulated)\n", dec * 10,
                    (double)got / 1e6, (double)sim_us / 1e6);
        }
    }
}

static bool count_hook(void *ctx, sim *s, unsigned dir, sim_pkt *p)
{
    (void)s;
    pathctr *pc = ctx;
    if (dir == SIM_B2A && p->len >= 20) {
        size_t doff = (size_t)(p->data[12] >> 4) * 4;
        if (doff <= p->len && p->len > doff) {
            pc->payload_down += p->len - doff;
            pc->segs_down++;
        }
    }
    return true;
}

static bool parse_path(const char *v, pathspec *out)
{
    char *end;
    out->rate_mbit = strtod(v, &end);
    if (*end != ':')
        return false;
    out->rtt_ms = strtod(end + 1, &end);
    out->loss_pct = 0;
    if (*end == ':')
        out->loss_pct = strtod(end + 1, &end);
    return *end == 0 && out->rate_mbit > 0 && out->rtt_ms >= 0 && out->loss_pct >= 0 &&
           out->loss_pct < 100;
}

/* What the server's side of each subflow looked like, kept while it lives. */
typedef struct sfsnap {
    bool seen;
    int id;
    mptcp_subflow_stats st;
} sfsnap;

int main(int argc, char **argv)
{
    opts o = {.seed = 1, .mb = 30, .pcap = "build/demo.pcap", .pcap_mb = 16};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            o.quiet = true;
            continue;
        }
        if (!strcmp(a, "--tcp")) {
            o.tcp = true;
            continue;
        }
        if (!v)
            usage();
        if (!strcmp(a, "--seed"))
            o.seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--mb"))
            o.mb = atof(v);
        else if (!strcmp(a, "--path")) {
            if (o.n == MAXP || !parse_path(v, &o.p[o.n]))
                usage();
            o.n++;
        } else if (!strcmp(a, "--pcap"))
            o.pcap = v;
        else if (!strcmp(a, "--pcap-mb"))
            o.pcap_mb = atof(v);
        else
            usage();
        i++;
    }
    if (o.mb <= 0)
        usage();
    if (o.n == 0) {
        if (o.tcp) {
            o.p[0] = (pathspec){100, 20, 0.5};
            o.n = 1;
        } else {
            o.p[0] = (pathspec){50, 10, 0};
            o.p[1] = (pathspec){20, 40, 0};
            o.n = 2;
        }
    }
    if (o.tcp && o.n != 1) {
        fprintf(stderr, "--tcp takes one path\n");
        usage();
    }

    uint64_t total = (uint64_t)(o.mb * 1e6);
    double sum_mbit = 0;
    uint64_t max_bdp = 0;
    for (int i = 0; i < o.n; i++) {
        sum_mbit += o.p[i].rate_mbit;
        uint64_t bdp = (uint64_t)(o.p[i].rate_mbit * 1e6 / 8 * o.p[i].rtt_ms / 1000);
        if (bdp > max_bdp)
            max_bdp = bdp;
    }
    printf("libmptcp %s demo: %s, %.1f MB download, seed %llu\n", MPTCP_VERSION_STRING,
           o.tcp ? "plain TCP" : "MPTCP", o.mb, (unsigned long long)o.seed);

    sim *s = sim_new(o.seed, 1000000);
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    cfg.mptcp = !o.tcp;
    cfg.max_subflows = 7;
    /* Buffers well above the bandwidth-delay products, so the paths are the
     * limit: four times the largest, at least 1 MiB. */
    uint32_t buf = (uint32_t)(max_bdp * 4 < (1u << 20) ? (1u << 20) : max_bdp * 4);
    cfg.sndbuf = buf;
    cfg.rcvbuf = buf;
    sim_host *client = sim_host_new(s, "client", &cfg, sim_mix64(o.seed * 2 + 1));
    sim_host *server = sim_host_new(s, "server", &cfg, sim_mix64(o.seed * 2 + 2));
    mptcp_addr sip = ip4(10, 0, 100, 1, 443);
    mptcp_addr cip[MAXP];

    mptcp_test_pcap *pc = NULL;
    if (o.pcap && *o.pcap) {
        pc = mptcp_test_pcap_open(o.pcap);
        if (!pc) {
            perror(o.pcap);
            return 1;
        }
    }
    sim_path path[MAXP];
    pathctr ctr[MAXP];
    sim_mbox_cfg mb[MAXP];
    memset(ctr, 0, sizeof(ctr));
    for (int i = 0; i < o.n; i++) {
        cip[i] = ip4(10, 0, (uint8_t)i, 1, 0);
        uint64_t rate = (uint64_t)(o.p[i].rate_mbit * 1e6);
        uint64_t rtt_us = (uint64_t)(o.p[i].rtt_ms * 1000);
        /* queue of 1.5 bandwidth-delay products, at least 64 packets */
        uint64_t bdp_pkts = rate / 8 * rtt_us / 1000000 / 1500;
        uint32_t queue = (uint32_t)(bdp_pkts * 3 / 2 < 64 ? 64 : bdp_pkts * 3 / 2);
        sim_path_cfg pcfg = {.pcap = pc,
                             .pcap_max_bytes = (uint64_t)(o.pcap_mb * 1e6 / 2 / o.n)};
        pcfg.ab = sim_link_cfg_make(rate, rtt_us, queue, (uint32_t)(o.p[i].loss_pct * 10000));
        pcfg.ba = pcfg.ab;
        memset(&mb[i], 0, sizeof(mb[i]));
        mb[i].hook = count_hook;
        mb[i].hook_ctx = &ctr[i];
        pcfg.mbox = &mb[i];
        if (sim_path_new(s, &path[i], sim_host_node(client), &cip[i], sim_host_node(server), &sip,
                         &pcfg) < 0) {
            fprintf(stderr, "sim_path_new failed\n");
            return 1;
        }
        printf("path %d        10.0.%d.1 <-> 10.0.100.1: %.0f Mbit/s, RTT %.0f ms, loss %.2f%%, "
               "queue %u packets\n",
               i, i, o.p[i].rate_mbit, o.p[i].rtt_ms, o.p[i].loss_pct, queue);
    }
    /* The client's other addresses are "subflow" endpoints: its path
     * manager opens a subflow from each to the server (like
     * `ip mptcp endpoint add 10.0.1.1 subflow`). */
    if (!o.tcp) {
        mptcp_limits_set(sim_host_stack(client), (uint8_t)(o.n - 1), 0);
        mptcp_limits_set(sim_host_stack(server), (uint8_t)(o.n - 1), 0);
        for (int i = 1; i < o.n; i++) {
            int id = mptcp_local_addr_add(sim_host_stack(client), &cip[i], MPTCP_ADDR_F_SUBFLOW);
            if (id < 0) {
                fprintf(stderr, "mptcp_local_addr_add: %s\n", mptcp_strerror(id));
                return 1;
            }
        }
    }

    /* The server sends the stream and closes; the client reads it all. */
    uint64_t stream = sim_mix64(o.seed ^ 0xdeadbeef);
    sim_flow_cfg scfg = {.tx_seed = stream, .tx_bytes = total, .shutdown_when_sent = true,
                         .close_when_done = true};
    sim_flow_cfg ccfg = {.rx_seed = stream, .shutdown_when_sent = true, .close_when_done = true};
    if (sim_host_listen(server, &sip, &scfg) < 0) {
        fprintf(stderr, "mptcp_listen failed\n");
        return 1;
    }
    int err = 0;
    sim_flow *cf = sim_host_connect(client, &cip[0], &sip, &ccfg, &err);
    if (!cf) {
        fprintf(stderr, "mptcp_connect: %s\n", mptcp_strerror(err));
        return 1;
    }

    bool tty = !o.quiet && isatty(2);
    int last_decile = -1, last_permille = -1;
    double w0 = wall();
    uint64_t t0 = sim_now(s), limit = t0 + 600ull * 1000000; /* 10 simulated minutes */
    sim_flow *sf = NULL;
    mptcp_conn_stats sst;
    mptcp_mp_stats smp, cmp;
    memset(&sst, 0, sizeof(sst));
    memset(&smp, 0, sizeof(smp));
    memset(&cmp, 0, sizeof(cmp));
    sfsnap snap[MAXP];
    memset(snap, 0, sizeof(snap));
    bool stuck = false;
    while (!(cf->closed && sf && sf->closed) && sim_now(s) < limit) {
        if (sim_run_until(s, sim_now(s) + 20000) < 0) {
            stuck = true;
            break;
        }
        if (!sf && sim_host_flow_count(server))
            sf = sim_host_flow(server, 0);
        if (sf && sim_flow_stats(sf))
            sst = sf->stats;
        if (cf->conn)
            mptcp_conn_get_mp_stats(cf->conn, &cmp);
        if (sf && sf->conn) {
            mptcp_conn_get_mp_stats(sf->conn, &smp);
            int ids[MAXP];
            int n = mptcp_conn_subflows(sf->conn, ids, MAXP);
            for (int k = 0; k < n && k < MAXP; k++) {
                mptcp_subflow_stats st;
                if (mptcp_subflow_get_stats(sf->conn, ids[k], &st) < 0)
                    continue;
                /* the server's subflow over path i ends at client address i */
                for (int i = 0; i < o.n; i++)
                    if (!memcmp(st.remote.ip, cip[i].ip, 4)) {
                        snap[i].seen = true;
                        snap[i].id = ids[k];
                        snap[i].st = st;
                    }
            }
        }
        if (!o.quiet)
            progress(tty, cf->rx.off, total, sim_now(s) - t0, &last_decile, &last_permille);
        if (sim_next_time(s) == UINT64_MAX)
            break;
    }
    if (tty)
        fputc('\n', stderr);
    double secs = wall() - w0;

    uint8_t want[32], got[32];
    char hw[65], hg[65];
    sim_stream_digest(stream, total, want);
    sim_check_digest(&cf->rx, got);
    hex(want, 32, hw);
    hex(got, 32, hg);
    bool complete = cf->rx.off == total && cf->eof;
    bool match = complete && cf->rx.errors == 0 && !memcmp(want, got, 32);

    double xfer_us = (double)((cf->t_eof ? cf->t_eof : sim_now(s)) - cf->t_connected);
    double goodput = xfer_us > 0 ? (double)cf->rx.off * 8 / xfer_us : 0; /* Mbit/s */
    printf("\n");
    printf("transfer      %llu of %llu bytes in %.3f s simulated (%s)\n",
           (unsigned long long)cf->rx.off, (unsigned long long)total, xfer_us / 1e6,
           complete ? "complete" : "INCOMPLETE");
    if (!o.tcp) {
        printf("connection    %s, %u subflow(s) up at the client, %u join(s), checksum %s, "
               "fallback %s\n",
               cmp.mptcp ? "MPTCP v1" : "plain TCP", cf->ev[MPTCP_EV_SUBFLOW_UP], cmp.joins_out,
               cmp.checksum ? "on" : "off", cmp.fallback ? "YES" : "no");
        for (int i = 0; i < o.n; i++) {
            double mbit = xfer_us > 0 ? (double)ctr[i].payload_down * 8 / xfer_us : 0;
            printf("subflow %d     path %d %4.0f Mbit/s %3.0f ms: %6.2f Mbit/s = %5.1f%% of the "
                   "path (%.2f MB incl. retransmissions)",
                   snap[i].seen ? snap[i].id : -1, i, o.p[i].rate_mbit, o.p[i].rtt_ms, mbit,
                   100 * mbit / o.p[i].rate_mbit, (double)ctr[i].payload_down / 1e6);
            if (snap[i].seen)
                printf("; srtt %.1f ms, %u retransmitted%s",
                       snap[i].st.tcp.srtt_us / 1e3, snap[i].st.tcp.retrans_segs,
                       snap[i].st.backup || snap[i].st.peer_backup ? ", backup" : "");
            printf("\n");
        }
        printf("aggregate     %.2f Mbit/s = %.1f%% of the %.0f Mbit/s sum of the path rates\n",
               goodput, 100 * goodput / sum_mbit, sum_mbit);
        printf("              (1500-byte packets with 76 bytes of IP/TCP/timestamp/DSS headers "
               "carry at most 94.9%% payload)\n");
        printf("data level    %llu bytes reinjected, %u DSS checksum errors, %u MP_FAIL\n",
               (unsigned long long)smp.reinjected_bytes, smp.dss_csum_bad,
               smp.mp_fail_in + smp.mp_fail_out);
    } else {
        printf("goodput       %.2f Mbit/s = %.1f%% of the %.0f Mbit/s link\n", goodput,
               100 * goodput / o.p[0].rate_mbit, o.p[0].rate_mbit);
        if (o.p[0].loss_pct > 0 && o.p[0].rtt_ms > 0) {
            /* Mathis et al. 1997: a Reno-style flow's ceiling at loss rate p is
             * MSS / RTT * sqrt(3 / 2p); a reference for what the loss allows. */
            double p = o.p[0].loss_pct / 100, mss = sst.mss ? sst.mss : 1460;
            double bound = mss * 8 / (o.p[0].rtt_ms * 1000) * sqrt(1.5 / p);
            printf("              loss-limited reference (Mathis, MSS %.0f, p %.3f): %.2f Mbit/s\n",
                   mss, p, bound);
        }
        printf("sender srtt   %.2f ms (path RTT %.1f ms + queueing), rttvar %.2f ms, rto %.0f ms\n",
               sst.srtt_us / 1e3, o.p[0].rtt_ms, sst.rttvar_us / 1e3, sst.rto_us / 1e3);
        printf("sender        %u segments out, %u retransmitted (%.2f%%), %u fast retransmits, "
               "%u RTOs, cwnd %u B\n",
               sst.segs_out, sst.retrans_segs,
               sst.segs_out ? 100.0 * sst.retrans_segs / sst.segs_out : 0.0, sst.fast_retrans,
               sst.rto_expiries, sst.cwnd);
    }
    uint64_t pkts = 0;
    for (int i = 0; i < o.n; i++) {
        sim_link_stats lab, lba;
        sim_link_get_stats(path[i].ab, &lab);
        sim_link_get_stats(path[i].ba, &lba);
        pkts += lab.pkts_in + lba.pkts_in;
        printf("links %d       data: %llu pkts, %llu lost, %llu queue drops (max queue %u); "
               "acks: %llu pkts, %llu lost\n",
               i, (unsigned long long)lba.pkts_in, (unsigned long long)lba.drop_loss,
               (unsigned long long)lba.drop_queue, lba.max_queue, (unsigned long long)lab.pkts_in,
               (unsigned long long)lab.drop_loss);
    }
    printf("sha256 sent   %s\nsha256 recv   %s  %s\n", hw, hg, match ? "MATCH" : "MISMATCH");
    printf("close         client %s, server %s\n", cf->closed ? "closed" : "open",
           sf && sf->closed ? "closed" : "open");
    if (pc) {
        uint64_t n = mptcp_test_pcap_count(pc);
        mptcp_test_pcap_close(pc);
        printf("pcap          %s: %llu packets (client side of every path, first %.0f MB of "
               "each direction)\n",
               o.pcap, (unsigned long long)n, o.pcap_mb / 2);
    }
    sim_stats ss;
    sim_get_stats(s, &ss);
    printf("real time     %.2f s (%llu events, %llu timer calls, %.0f packets/s)\n", secs,
           (unsigned long long)ss.events, (unsigned long long)ss.timer_calls,
           secs > 0 ? (double)pkts / secs : 0);
    if (stuck)
        printf("ERROR: a node's timer did not advance\n");
    bool mp_ok = o.tcp || (cmp.mptcp && !cmp.fallback && cf->ev[MPTCP_EV_SUBFLOW_UP] == (unsigned)o.n);
    if (!mp_ok)
        printf("ERROR: expected an MPTCP connection with %d subflows\n", o.n);
    sim_free(s);
    return match && !stuck && mp_ok ? 0 : 1;
}
