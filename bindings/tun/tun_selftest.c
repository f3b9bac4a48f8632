/*
 * tun_selftest.c - checks of the TUN host's own logic that need no device
 * and no root: the IPv4/IPv6 parser and header builder (tun_ip.c), address
 * text parsing, loss/delay emulation (tun_netem.c) and the route table
 * (tun_host.c). Run by tests/interop/run-tcp-interop.sh before anything that
 * needs namespaces, so it runs (and can fail) even where that step skips.
 * Prints one line per failed check; exits 0 when all pass.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tun_host.h"
#include "tun_ip.h"
#include "tun_netem.h"

static int g_checks, g_failed;

#define CHECK(cond)                                                           \
    do {                                                                      \
        g_checks++;                                                           \
        if (!(cond)) {                                                        \
            g_failed++;                                                       \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
        }                                                                     \
    } while (0)

static mptcp_addr A(const char *s)
{
    mptcp_addr a;
    if (tun_addr_parse(s, &a) != 0) {
        fprintf(stderr, "bad test address %s\n", s);
        exit(2);
    }
    return a;
}

static void fix_ip4_csum(uint8_t *p)
{
    p[10] = p[11] = 0;
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    sum = ~sum & 0xffff;
    p[10] = (uint8_t)(sum >> 8);
    p[11] = (uint8_t)sum;
}

static void ip4_parse_and_build(void)
{
    uint8_t p[128] = {0};
    tun_ip_pkt o;
    mptcp_addr s = A("10.0.0.1"), d = A("10.0.0.2");
    CHECK(tun_ip_header(p, sizeof p, &s, &d, 20, 7) == 20);
    CHECK(p[0] == 0x45 && p[8] == 64 && p[9] == 6 && (p[6] & 0x40)); /* DF, TTL, TCP */
    CHECK(tun_ip_parse(p, 40, &o) == TUN_IP_TCP);
    CHECK(o.l4_off == 20 && o.l4_len == 20 && tun_addr_eq(&o.src, &s) && tun_addr_eq(&o.dst, &d));
    /* Link padding after the total length is not part of the segment. */
    CHECK(tun_ip_parse(p, 46, &o) == TUN_IP_TCP && o.l4_len == 20);
    /* Shorter than the total length, or a corrupted header checksum. */
    CHECK(tun_ip_parse(p, 39, &o) == TUN_IP_BAD);
    p[12] ^= 1;
    CHECK(tun_ip_parse(p, 40, &o) == TUN_IP_BAD);
    p[12] ^= 1;
    /* Fragments (MF, or a non-zero offset) are refused, not reassembled. */
    p[6] |= 0x20;
    fix_ip4_csum(p);
    CHECK(tun_ip_parse(p, 40, &o) == TUN_IP_FRAGMENT);
    p[6] = 0x40;
    p[7] = 1;
    fix_ip4_csum(p);
    CHECK(tun_ip_parse(p, 40, &o) == TUN_IP_FRAGMENT);
    p[7] = 0;
    p[9] = 17; /* UDP */
    fix_ip4_csum(p);
    CHECK(tun_ip_parse(p, 40, &o) == TUN_IP_NOT_TCP);
    /* Families must match; a segment must fit in 65535 bytes. */
    mptcp_addr d6 = A("2001:db8::2");
    CHECK(tun_ip_header(p, sizeof p, &s, &d6, 20, 0) == 0);
    CHECK(tun_ip_header(p, sizeof p, &s, &d, 65535 - 19, 0) == 0);
    CHECK(tun_ip_parse(p, 0, &o) == TUN_IP_BAD);
    p[0] = 0x55;
    CHECK(tun_ip_parse(p, 40, &o) == TUN_IP_BAD);
}

static void ip6_parse_and_build(void)
{
    uint8_t p[160] = {0};
    tun_ip_pkt o;
    mptcp_addr s = A("2001:db8::1"), d = A("[2001:db8::2]");
    /* hop-by-hop (8) + destination options (16) + atomic fragment (8) + TCP (20) */
    CHECK(tun_ip_header(p, sizeof p, &s, &d, 8 + 16 + 8 + 20, 0) == 40);
    p[6] = 0;       /* next: hop-by-hop */
    p[40] = 60;     /* next: destination options */
    p[41] = 0;      /* 8 bytes */
    p[48] = 44;     /* next: fragment */
    p[49] = 1;      /* 16 bytes */
    p[64] = 6;      /* next: TCP */
    CHECK(tun_ip_parse(p, 92, &o) == TUN_IP_TCP);
    CHECK(o.l4_off == 72 && o.l4_len == 20 && tun_addr_eq(&o.dst, &d));
    p[67] = 1; /* M: a real fragment */
    CHECK(tun_ip_parse(p, 92, &o) == TUN_IP_FRAGMENT);
    p[67] = 0;
    p[64] = 58; /* ICMPv6 */
    CHECK(tun_ip_parse(p, 92, &o) == TUN_IP_NOT_TCP);
    p[64] = 6;
    p[48] = 50; /* ESP: cannot be walked */
    CHECK(tun_ip_parse(p, 92, &o) == TUN_IP_EXT_UNKNOWN);
    p[48] = 44;
    CHECK(tun_ip_parse(p, 91, &o) == TUN_IP_BAD); /* payload length past the end */
    p[49] = 5;                                     /* extension header past the end */
    CHECK(tun_ip_parse(p, 92, &o) == TUN_IP_BAD);
    /* A plain segment. */
    memset(p, 0, sizeof p);
    CHECK(tun_ip_header(p, sizeof p, &s, &d, 20, 0) == 40 && p[6] == 6 && p[7] == 64);
    CHECK(tun_ip_parse(p, 60, &o) == TUN_IP_TCP && o.l4_off == 40 && o.l4_len == 20);
}

static void addr_text(void)
{
    mptcp_addr a;
    char b[64];
    CHECK(tun_addr_port_parse("[fd00::1]:80", &a, false) == 0 && a.port == 80 &&
          a.family == MPTCP_AF_INET6);
    CHECK(strcmp(tun_addr_str(&a, b, sizeof b), "[fd00::1]:80") == 0);
    CHECK(tun_addr_port_parse("fd00::1:80", &a, false) != 0); /* v6 needs brackets */
    CHECK(tun_addr_port_parse("10.1.2.3:65535", &a, false) == 0 && a.port == 65535);
    CHECK(strcmp(tun_addr_str(&a, b, sizeof b), "10.1.2.3:65535") == 0);
    CHECK(tun_addr_port_parse("10.1.2.3:0", &a, false) != 0);
    CHECK(tun_addr_port_parse("10.1.2.3:65536", &a, false) != 0);
    CHECK(tun_addr_port_parse("443", &a, true) == 0 && a.port == 443 && a.family == 0);
    CHECK(tun_addr_port_parse("443", &a, false) != 0);
    CHECK(tun_addr_parse("10.1.2", &a) != 0);
    mptcp_addr x = A("10.1.2.3"), pf = A("10.1.0.0");
    CHECK(tun_addr_in_prefix(&x, &pf, 16) && !tun_addr_in_prefix(&x, &pf, 24));
    CHECK(tun_addr_in_prefix(&x, &pf, 0) && !tun_addr_in_prefix(&x, &pf, 33));
    mptcp_addr y = A("10.1.2.200"), pf25 = A("10.1.2.128");
    CHECK(tun_addr_in_prefix(&y, &pf25, 25) && !tun_addr_in_prefix(&x, &pf25, 25));
}

static void netem_loss_is_seeded(void)
{
    tun_netem a, b;
    uint8_t pkt[100] = {0};
    tun_netem_init(&a, 42);
    tun_netem_init(&b, 42);
    a.loss_ppm = b.loss_ppm = 10000; /* 1 % */
    int same = 1;
    for (int i = 0; i < 100000; i++) {
        int ra = tun_netem_offer(&a, pkt, sizeof pkt, NULL, NULL, 0, 0);
        int rb = tun_netem_offer(&b, pkt, sizeof pkt, NULL, NULL, 0, 0);
        same &= ra == rb;
    }
    CHECK(same); /* one seed, one drop pattern */
    CHECK(a.dropped_loss > 800 && a.dropped_loss < 1200);
    CHECK(a.passed + a.dropped_loss == 100000 && a.delayed == 0);
    tun_netem_init(&b, 43);
    b.loss_ppm = 10000;
    int differ = 0;
    tun_netem_init(&a, 42);
    a.loss_ppm = 10000;
    for (int i = 0; i < 10000; i++)
        differ |= tun_netem_offer(&a, pkt, 1, NULL, NULL, 0, 0) !=
                  tun_netem_offer(&b, pkt, 1, NULL, NULL, 0, 0);
    CHECK(differ);
    /* 0 % never drops, 100 % always does. */
    tun_netem_init(&a, 1);
    int passed = 0;
    for (int i = 0; i < 1000; i++)
        passed += tun_netem_offer(&a, pkt, 1, NULL, NULL, 0, 0) == TUN_NETEM_PASS;
    CHECK(passed == 1000);
    a.loss_ppm = 1000000;
    CHECK(tun_netem_offer(&a, pkt, 1, NULL, NULL, 0, 0) == TUN_NETEM_DROP);
}

static void netem_delay_is_fifo(void)
{
    tun_netem n;
    tun_netem_init(&n, 7);
    n.delay_us = 10000;
    n.limit_bytes = 250;
    uint8_t pkt[100];
    mptcp_addr s = A("10.0.0.1"), d = A("10.0.0.2");
    for (int i = 0; i < 3; i++) {
        memset(pkt, i, sizeof pkt);
        CHECK(tun_netem_offer(&n, pkt, 100, &s, &d, 20, 1000u * (unsigned)i) ==
              (i < 2 ? TUN_NETEM_QUEUED : TUN_NETEM_DROP)); /* third exceeds 250 bytes */
    }
    CHECK(n.dropped_queue == 1 && n.queued_bytes == 200);
    CHECK(tun_netem_next_due(&n) == 10000);
    CHECK(tun_netem_pop_due(&n, 9999) == NULL);
    tun_netem_pkt *q = tun_netem_pop_due(&n, 10000);
    CHECK(q && q->data[0] == 0 && q->len == 100 && q->l4_off == 20 && tun_addr_eq(&q->dst, &d));
    free(q);
    CHECK(tun_netem_next_due(&n) == 11000);
    /* With a queue, a later packet must wait behind it even with no delay. */
    n.delay_us = 0;
    CHECK(tun_netem_offer(&n, pkt, 10, NULL, NULL, 0, 10500) == TUN_NETEM_QUEUED);
    q = tun_netem_pop_due(&n, 20000);
    CHECK(q && q->data[0] == 1);
    free(q);
    q = tun_netem_pop_due(&n, 20000);
    CHECK(q && q->len == 10);
    free(q);
    CHECK(tun_netem_next_due(&n) == UINT64_MAX && n.queued_bytes == 0);
    tun_netem_clear(&n);
}

static void routes(void)
{
    static tun_host h;
    tun_host_init(&h);
    h.n_dev = 3; /* devices without fds: only the table is exercised */
    mptcp_addr a1 = A("10.1.0.2"), a2 = A("10.2.0.2"), a6 = A("fd00:1::2");
    CHECK(tun_host_add_local(&h, &a1, 24, 0) == 0);
    CHECK(tun_host_add_local(&h, &a2, 32, 1) == 0);
    CHECK(tun_host_add_local(&h, &a6, 64, 2) == 0);
    CHECK(tun_host_add_local(&h, &a1, 24, 1) != 0); /* duplicate */
    CHECK(tun_host_add_local(&h, &a2, 24, 7) != 0); /* no such device */
    mptcp_addr def = A("0.0.0.0"), net9 = A("10.9.0.0"), host9 = A("10.9.0.77");
    CHECK(tun_host_add_route(&h, &def, 0, 1) == 0);
    CHECK(tun_host_add_route(&h, &net9, 16, 0) == 0);
    CHECK(tun_host_add_route(&h, &host9, 32, 2) == 0);
    CHECK(tun_host_add_route(&h, &host9, 33, 2) != 0);
    mptcp_addr dst_a = A("10.1.0.9"), dst_far = A("192.0.2.1"), dst_9 = A("10.9.3.4");
    mptcp_addr dst_77 = A("10.9.0.77"), dst6 = A("fd00:1::1"), dst6far = A("2001:db8::1");
    /* Longest prefix wins; the default route catches the rest. */
    CHECK(tun_route_lookup(&h, &dst_a) == 0);
    CHECK(tun_route_lookup(&h, &dst_9) == 0);
    CHECK(tun_route_lookup(&h, &dst_77) == 2);
    CHECK(tun_route_lookup(&h, &dst_far) == 1);
    CHECK(tun_route_lookup(&h, &dst6) == 2 && tun_route_lookup(&h, &dst6far) == -1);
    /* A segment from a local address leaves by that address's device,
     * whatever the route to its destination says (one path per subflow). */
    CHECK(tun_route_out(&h, &a2, &dst_a) == 1);
    CHECK(tun_route_out(&h, &a1, &dst_far) == 0);
    mptcp_addr stranger = A("10.5.5.5");
    CHECK(tun_route_out(&h, &stranger, &dst_9) == 0);
    CHECK(tun_route_out(&h, &a6, &dst6far) == 2);
    mptcp_addr s6 = A("fd00:9::9");
    CHECK(tun_route_out(&h, &s6, &dst6far) == -1); /* several devices, no route */
    /* Source selection for an active open. */
    const tun_local *l = tun_route_source(&h, &dst_a);
    CHECK(l && tun_addr_eq(&l->addr, &a1));
    l = tun_route_source(&h, &dst_far);
    CHECK(l && tun_addr_eq(&l->addr, &a2));
    l = tun_route_source(&h, &dst_77); /* routed to the v6 device: first v4 address */
    CHECK(l && tun_addr_eq(&l->addr, &a1));
    l = tun_route_source(&h, &dst6far);
    CHECK(l && tun_addr_eq(&l->addr, &a6));
    CHECK(tun_host_find_local(&h, &a2) && !tun_host_find_local(&h, &stranger));
    /* One device needs no route at all. */
    static tun_host one;
    tun_host_init(&one);
    one.n_dev = 1;
    CHECK(tun_host_add_local(&one, &a1, 32, 0) == 0);
    CHECK(tun_route_out(&one, &stranger, &dst_far) == 0);
    /* Reply paths: once the peer's packets from dst_far to a1 arrive on
     * device 1, segments a1 -> dst_far leave there too (a peer's subflow
     * bound to one device), the ports do not matter, other pairs keep the
     * source rule, and a later arrival elsewhere moves the pair. */
    mptcp_addr far_port = dst_far, a1_port = a1;
    far_port.port = 5000;
    a1_port.port = 6000;
    tun_host_note_arrival(&h, &a1_port, &far_port, 1);
    CHECK(tun_route_out(&h, &a1, &dst_far) == 1);
    CHECK(tun_route_out(&h, &a1, &dst_a) == 0);
    CHECK(tun_route_out(&h, &a2, &dst_far) == 1);
    tun_host_note_arrival(&h, &a1, &dst_far, 2);
    CHECK(tun_route_out(&h, &a1, &dst_far) == 2 && h.n_pair == 1);
    /* The table is bounded: old pairs are replaced round robin. */
    for (int i = 0; i < TUN_MAX_PAIRS + 3; i++) {
        mptcp_addr r = A("10.200.0.1");
        r.ip[3] = (uint8_t)(i + 2);
        tun_host_note_arrival(&h, &a2, &r, 0);
    }
    CHECK(h.n_pair == TUN_MAX_PAIRS);
}

int main(void)
{
    ip4_parse_and_build();
    ip6_parse_and_build();
    addr_text();
    netem_loss_is_seeded();
    netem_delay_is_fifo();
    routes();
    printf("mptcp-tun selftest: %d checks, %d failed\n", g_checks, g_failed);
    return g_failed ? 1 : 0;
}
