/*
 * demo.c - `make demo`: one bulk transfer between two libmptcp stacks through
 * the simulator (by default 30 MB over 100 Mbit/s, 20 ms RTT, 0.5% loss each
 * way), with a progress bar, a report (goodput against the link, RTT,
 * retransmissions, SHA-256 of what was sent and received) and a pcap of the
 * client's side that Wireshark opens. Deterministic for a given --seed.
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
#include "sim/sim_path.h"

typedef struct opts {
    uint64_t seed;
    double mb;
    double rate_mbit;
    double rtt_ms;
    double loss_pct;
    const char *pcap;
    double pcap_mb;
    bool quiet;
} opts;

static void usage(void)
{
    fprintf(stderr,
            "usage: mptcp-demo [--seed N] [--mb MB] [--rate MBIT] [--rtt MS] [--loss PCT]\n"
            "                  [--pcap FILE] [--pcap-mb MB] [--quiet]\n");
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

static void progress(bool tty, uint64_t got, uint64_t total, uint64_t sim_us, int *last_decile)
{
    double frac = total ? (double)got / (double)total : 1.0;
    static int last_permille = -1;
    if (tty) {
        int pm = (int)(frac * 1000);
        if (pm / 5 == last_permille / 5 && pm != 1000)
            return; /* redraw every 0.5% */
        last_permille = pm;
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

int main(int argc, char **argv)
{
    opts o = {.seed = 1, .mb = 30, .rate_mbit = 100, .rtt_ms = 20, .loss_pct = 0.5,
              .pcap = "build/demo.pcap", .pcap_mb = 16};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quiet")) {
            o.quiet = true;
            continue;
        }
        if (!v)
            usage();
        if (!strcmp(a, "--seed"))
            o.seed = strtoull(v, NULL, 0);
        else if (!strcmp(a, "--mb"))
            o.mb = atof(v);
        else if (!strcmp(a, "--rate"))
            o.rate_mbit = atof(v);
        else if (!strcmp(a, "--rtt"))
            o.rtt_ms = atof(v);
        else if (!strcmp(a, "--loss"))
            o.loss_pct = atof(v);
        else if (!strcmp(a, "--pcap"))
            o.pcap = v;
        else if (!strcmp(a, "--pcap-mb"))
            o.pcap_mb = atof(v);
        else
            usage();
        i++;
    }
    if (o.mb <= 0 || o.rate_mbit <= 0 || o.rtt_ms < 0 || o.loss_pct < 0 || o.loss_pct >= 100)
        usage();

    uint64_t total = (uint64_t)(o.mb * 1e6);
    uint64_t rate = (uint64_t)(o.rate_mbit * 1e6);
    uint64_t rtt_us = (uint64_t)(o.rtt_ms * 1000);
    uint32_t loss_ppm = (uint32_t)(o.loss_pct * 10000);
    /* Queue of 1.5 bandwidth-delay products (at least 64 packets). */
    uint64_t bdp_pkts = rate / 8 * rtt_us / 1000000 / 1500;
    uint32_t queue = (uint32_t)(bdp_pkts * 3 / 2 < 64 ? 64 : bdp_pkts * 3 / 2);

    printf("libmptcp %s demo: %.1f MB, %.0f Mbit/s, RTT %.0f ms, loss %.2f%% each way, "
           "queue %u packets, seed %llu\n",
           MPTCP_VERSION_STRING, o.mb, o.rate_mbit, o.rtt_ms, o.loss_pct, queue,
           (unsigned long long)o.seed);

    sim *s = sim_new(o.seed, 1000000);
    mptcp_config cfg;
    mptcp_config_init(&cfg);
    /* Buffers above the bandwidth-delay product, so the path is the limit. */
    uint64_t bdp_bytes = rate / 8 * rtt_us / 1000000;
    uint32_t buf = (uint32_t)(bdp_bytes * 4 < (1u << 20) ? (1u << 20) : bdp_bytes * 4);
    cfg.sndbuf = buf;
    cfg.rcvbuf = buf;
    sim_host *client = sim_host_new(s, "client", &cfg, sim_mix64(o.seed * 2 + 1));
    sim_host *server = sim_host_new(s, "server", &cfg, sim_mix64(o.seed * 2 + 2));
    mptcp_addr cip = ip4(10, 0, 0, 1, 0), sip = ip4(10, 0, 1, 1, 443);

    mptcp_test_pcap *pc = NULL;
    if (o.pcap && *o.pcap) {
        pc = mptcp_test_pcap_open(o.pcap);
        if (!pc) {
            perror(o.pcap);
            return 1;
        }
    }
    sim_path_cfg pcfg = {.pcap = pc, .pcap_max_bytes = (uint64_t)(o.pcap_mb * 1e6 / 2)};
    pcfg.ab = sim_link_cfg_make(rate, rtt_us, queue, loss_ppm);
    pcfg.ba = pcfg.ab;
    sim_path path;
    sim_path_new(s, &path, sim_host_node(client), &cip, sim_host_node(server), &sip, &pcfg);

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
    sim_flow *cf = sim_host_connect(client, &cip, &sip, &ccfg, &err);
    if (!cf) {
        fprintf(stderr, "mptcp_connect: %s\n", mptcp_strerror(err));
        return 1;
    }

    bool tty = !o.quiet && isatty(2);
    int last_decile = -1;
    double w0 = wall();
    uint64_t t0 = sim_now(s), limit = t0 + 600ull * 1000000; /* 10 simulated minutes */
    sim_flow *sf = NULL;
    mptcp_conn_stats sst;
    memset(&sst, 0, sizeof(sst));
    bool stuck = false;
    while (!(cf->closed && sf && sf->closed) && sim_now(s) < limit) {
        if (sim_run_until(s, sim_now(s) + 50000) < 0) {
            stuck = true;
            break;
        }
        if (!sf && sim_host_flow_count(server))
            sf = sim_host_flow(server, 0);
        if (sf && sim_flow_stats(sf))
            sst = sf->stats;
        if (!o.quiet)
            progress(tty, cf->rx.off, total, sim_now(s) - t0, &last_decile);
        if (sim_next_time(s) == UINT64_MAX)
            break;
    }
    if (tty)
        fputc('\n', stderr);
    double secs = wall() - w0;

    sim_link_stats lab, lba;
    sim_link_get_stats(path.ab, &lab);
    sim_link_get_stats(path.ba, &lba);
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
    printf("goodput       %.2f Mbit/s = %.1f%% of the %.0f Mbit/s link\n", goodput,
           100 * goodput / o.rate_mbit, o.rate_mbit);
    if (loss_ppm && rtt_us) {
        /* Mathis et al. 1997: a Reno-style flow's ceiling at loss rate p is
         * MSS / RTT * sqrt(3 / 2p); a reference for what the loss allows. */
        double p = o.loss_pct / 100, mss = sst.mss ? sst.mss : 1460;
        double bound = mss * 8 / ((double)rtt_us) * sqrt(1.5 / p);
        printf("              loss-limited reference (Mathis, MSS %.0f, p %.3f): %.2f Mbit/s\n",
               mss, p, bound);
    }
    printf("sender srtt   %.2f ms (path RTT %.1f ms + queueing), rttvar %.2f ms, rto %.0f ms\n",
           sst.srtt_us / 1e3, o.rtt_ms, sst.rttvar_us / 1e3, sst.rto_us / 1e3);
    printf("sender        %u segments out, %u retransmitted (%.2f%%), %u fast retransmits, "
           "%u RTOs, cwnd %u B\n",
           sst.segs_out, sst.retrans_segs,
           sst.segs_out ? 100.0 * sst.retrans_segs / sst.segs_out : 0.0, sst.fast_retrans,
           sst.rto_expiries, sst.cwnd);
    printf("links         data: %llu pkts, %llu lost, %llu queue drops (max queue %u); "
           "acks: %llu pkts, %llu lost\n",
           (unsigned long long)lba.pkts_in,
           (unsigned long long)lba.drop_loss, (unsigned long long)lba.drop_queue, lba.max_queue,
           (unsigned long long)lab.pkts_in, (unsigned long long)lab.drop_loss);
    printf("sha256 sent   %s\nsha256 recv   %s  %s\n", hw, hg, match ? "MATCH" : "MISMATCH");
    printf("close         client %s, server %s\n", cf->closed ? "closed" : "open",
           sf && sf->closed ? "closed" : "open");
    if (pc) {
        uint64_t n = mptcp_test_pcap_count(pc);
        mptcp_test_pcap_close(pc);
        printf("pcap          %s: %llu packets (client side, first %.0f MB of each direction)\n",
               o.pcap, (unsigned long long)n, o.pcap_mb / 2);
    }
    sim_stats ss;
    sim_get_stats(s, &ss);
    printf("real time     %.2f s (%llu events, %llu timer calls, %.0f packets/s)\n", secs,
           (unsigned long long)ss.events, (unsigned long long)ss.timer_calls,
           secs > 0 ? (double)(lab.pkts_in + lba.pkts_in) / secs : 0);
    if (stuck)
        printf("ERROR: a node's timer did not advance\n");
    sim_free(s);
    return match && !stuck ? 0 : 1;
}
