/*
 * scn_tcp.h - the plain TCP scenario the simulator suites share
 * (test_scn_tcp.c, test_scn_tcp_loss.c): two real stacks, a client at
 * 10.0.0.1 and a server at 10.0.1.1:80, joined by one path of two links
 * (50 Mbit/s, 10 ms, 200 packets each way unless given) and an optional
 * middlebox; the stacks' memory is noted at the start and must be back
 * there, with no failed API call, at the end.
 */
#ifndef MPTCP_TEST_SCN_TCP_H
#define MPTCP_TEST_SCN_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helpers/pcap.h"
#include "mptcp.h"
#include "sim/sim.h"
#include "sim/sim_host.h"
#include "sim/sim_mbox.h"
#include "sim/sim_path.h"

typedef struct scn {
    sim *s;
    sim_host *c, *srv;
    mptcp_addr cip, sip;
    sim_path path;
    size_t c_mem0, s_mem0;
    mptcp_test_pcap *pcap;
} scn;

/* Options of a scenario; zero fields take the defaults. */
typedef struct scn_opts {
    uint64_t seed;          /* the simulator's (default 1); the hosts' are 1000 + and 2000 + it */
    sim_link_cfg ab, ba;    /* ab: client -> server */
    bool custom_links;
    const sim_mbox_cfg *mbox;
    mptcp_cc_algo cc;       /* both stacks' congestion control (default CUBIC) */
    void (*cfg)(mptcp_config *c); /* adjusts both stacks' configuration (after cc) */
    bool no_listen;
    uint64_t start_us;      /* simulated clock at the start (default 1 s) */
} scn_opts;


/* Builds the scenario. SCN_PCAP=file in the environment writes the client's
 * side of the path to file.<seed>, for debugging a failure. */
void scn_init(scn *x, const scn_opts *o);
/* Runs until |done| or |limit_us| of simulated time from now; true if done. */
bool scn_run(scn *x, uint64_t limit_us, bool (*done)(void *), void *arg);
/* Lets everything settle (120 s: TIME_WAIT included), then checks that both
 * stacks gave back all per-connection memory and no API call failed; frees
 * the scenario. */
void scn_finish(scn *x);
/* A scn_run condition: the first flow on each side closed. */
bool scn_both_closed(void *arg);

#endif /* MPTCP_TEST_SCN_TCP_H */
