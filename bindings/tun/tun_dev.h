/*
 * tun_dev.h - one Linux TUN device: attach to an existing one (ip tuntap add
 * mode tun) or create it, read and write raw IP packets.
 */
#ifndef MPTCP_TUN_DEV_H
#define MPTCP_TUN_DEV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUN_DEV_NAME_MAX 16 /* IFNAMSIZ */

/*
 * Opens /dev/net/tun and binds the fd to device |name| (IFF_TUN, no packet
 * information header): attaches when it exists, creates it otherwise (then it
 * vanishes when the fd closes). Sets the link up if it is down and waits
 * (at most 2 s) until the kernel reports it running (IFF_RUNNING). On success
 * returns the non-blocking fd and fills |*mtu| and |*created|; on failure
 * returns -1 with a reason in |err|.
 */
int tun_dev_open(const char *name, int *mtu, bool *created, char *err, size_t errlen);

#endif /* MPTCP_TUN_DEV_H */
