/*
 * sim_path.h - the usual way to join two nodes: one link each way, an
 * optional middlebox at B's end, optional pcap taps at A's side (what A
 * would capture), and the routes on both nodes. Several paths between the
 * same two nodes (one per address pair) make a multipath topology.
 *
 *   A --tap--> link ab --> mbox a2b --> B
 *   A <--tap-- link ba <-- mbox b2a <-- B
 *
 * With pcap_every_hop, taps also sit between link and middlebox and at B,
 * so the one pcap shows each packet at every hop it reached (the same packet
 * several times, before and after each transform).
 */
#ifndef MPTCP_SIM_PATH_H
#define MPTCP_SIM_PATH_H

#include "sim/sim.h"
#include "sim/sim_mbox.h"

typedef struct sim_path {
    sim_link *ab, *ba;
    sim_mbox *mbox;        /* NULL without one */
    sim_tap *tap_out, *tap_in; /* at A; NULL without a pcap */
} sim_path;

typedef struct sim_path_cfg {
    sim_link_cfg ab, ba;
    const sim_mbox_cfg *mbox;  /* NULL: none */
    mptcp_test_pcap *pcap;     /* NULL: none */
    uint64_t pcap_max_bytes;   /* per tap; 0: no limit */
    bool pcap_every_hop;       /* taps at every hop, not only at A */
} sim_path_cfg;

/*
 * Builds the path and adds the routes: A sends from |a_ip| to |b_ip| along
 * it; B sends from |b_ip| to |a_ip| (to the NAT address when the middlebox
 * does NAT) along it. Returns 0 or -1 (a route table is full).
 */
int sim_path_new(sim *s, sim_path *out, sim_node *a, const mptcp_addr *a_ip, sim_node *b,
                 const mptcp_addr *b_ip, const sim_path_cfg *cfg);

/* A symmetric link configuration: |rate_bps| and |rtt_us| / 2 each way,
 * a queue of |queue_pkts|, random loss |loss_ppm|. */
sim_link_cfg sim_link_cfg_make(uint64_t rate_bps, uint64_t rtt_us, uint32_t queue_pkts,
                               uint32_t loss_ppm);

#endif /* MPTCP_SIM_PATH_H */
