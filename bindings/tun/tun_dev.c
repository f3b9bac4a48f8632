/*
 * tun_dev.c - Linux TUN device setup (the only Linux-specific file of the
 * host besides the clock and random source in tun_host.c). A port to another
 * OS replaces this file: open the packet device, read and write IP packets.
 * It does not configure addresses or routes on the kernel side: that is the
 * administrator's (ip addr / ip route), as it is for any tunnel.
 */
#define _GNU_SOURCE
#include "tun_dev.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int tun_dev_open(const char *name, int *mtu, bool *created, char *err, size_t errlen)
{
    if (strlen(name) >= IFNAMSIZ || name[0] == '\0') {
        snprintf(err, errlen, "device name '%s' is empty or too long", name);
        return -1;
    }
    *created = if_nametoindex(name) == 0;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: TUNSETIFF: %s%s", name, strerror(e),
                 e == EINVAL ? " (is it a TAP device, or a TUN made with 'pi'?)"
                 : e == EPERM ? " (needs CAP_NET_ADMIN, or 'ip tuntap add ... user <you>')"
                              : "");
        close(fd);
        return -1;
    }
    /* MTU and link state go through an ordinary socket's interface ioctls. */
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        close(fd);
        return -1;
    }
    *mtu = 1500;
    if (ioctl(s, SIOCGIFMTU, &ifr) == 0)
        *mtu = ifr.ifr_mtu;
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
            snprintf(err, errlen, "%s: cannot set the link up: %s", name, strerror(errno));
            close(s);
            close(fd);
            return -1;
        }
    }
    /* The kernel lets a TUN device transmit (its qdisc leaves noop) only
     * once linkwatch has seen the carrier that TUNSETIFF turned on; that
     * work is rate-limited to once a second, so right after a previous user
     * detached, packets routed into the device (a SYN/ACK) are dropped for
     * up to a second. IFF_RUNNING is set in the same step: wait for it. */
    for (int i = 0; i < 400; i++) {
        if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING))
            break;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    close(s);
    return fd;
}
