/*
 * sim_path.c - builds a two-way path (links, optional middlebox, optional
 * pcap taps) between two nodes and installs the routes. Topology only: the
 * behaviour lives in sim_link.c and sim_mbox.c.
 */
#include "sim/sim_path.h"

#include <string.h>

int sim_path_new(sim *s, sim_path *out, sim_node *a, const mptcp_addr *a_ip, sim_node *b,
                 const mptcp_addr *b_ip, const sim_path_cfg *cfg)
{
    memset(out, 0, sizeof(*out));
    sim_elem *to_b = sim_node_elem(b), *to_a = sim_node_elem(a);
    if (cfg->pcap) {
        out->tap_in = sim_tap_new(s, cfg->pcap, cfg->pcap_max_bytes, to_a);
        to_a = sim_tap_elem(out->tap_in);
    }
    out->ba = sim_link_new(s, "ba", &cfg->ba, to_a);
    sim_elem *b_first = sim_link_elem(out->ba);
    if (cfg->mbox) {
        out->mbox = sim_mbox_new(s, "mbox", cfg->mbox, to_b, b_first);
        to_b = sim_mbox_a2b(out->mbox);
        b_first = sim_mbox_b2a(out->mbox);
    }
    out->ab = sim_link_new(s, "ab", &cfg->ab, to_b);
    sim_elem *a_first = sim_link_elem(out->ab);
    if (cfg->pcap) {
        out->tap_out = sim_tap_new(s, cfg->pcap, cfg->pcap_max_bytes, a_first);
        a_first = sim_tap_elem(out->tap_out);
    }
    const mptcp_addr *a_seen = cfg->mbox && cfg->mbox->nat ? &cfg->mbox->nat_ip : a_ip;
    if (sim_node_route(a, a_ip, b_ip, a_first) < 0)
        return -1;
    if (sim_node_route(b, b_ip, a_seen, b_first) < 0)
        return -1;
    return 0;
}

sim_link_cfg sim_link_cfg_make(uint64_t rate_bps, uint64_t rtt_us, uint32_t queue_pkts,
                               uint32_t loss_ppm)
{
    sim_link_cfg c;
    memset(&c, 0, sizeof(c));
    c.rate_bps = rate_bps;
    c.delay_us = rtt_us / 2;
    c.queue_pkts = queue_pkts;
    c.loss_ppm = loss_ppm;
    return c;
}
