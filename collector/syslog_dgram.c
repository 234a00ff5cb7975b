/*
 * collector/syslog_dgram.c - the syslog receivers' datagram sockets: UDP
 * (one message per datagram, RFC 5426) and unix datagram sockets like
 * /dev/log.
 *
 * UDP has no flow control, so a burst the loop cannot read at once waits
 * in the socket's receive buffer, and what does not fit is dropped by the
 * kernel.  So: a 32 MiB buffer asked for (SO_RCVBUFFORCE past
 * net.core.rmem_max when we may, as rsyslog's imudp does; SO_RCVBUF
 * otherwise, and a warning when that got less), reading 64 datagrams per
 * recvmmsg call, and the drops counted in
 * ctrail_syslog_dropped_total{reason="socket_buffer"}: SO_RXQ_OVFL says
 * with each datagram how many the kernel dropped so far, and SO_MEMINFO,
 * asked once a second, catches the drops after the last datagram.  The
 * store's work is not on this path (syslog_batch.c).
 */
#define _GNU_SOURCE /* recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/sock_diag.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "ctrail/syslog.h"

#include "syslog_recv.h"

#define SR_DGRAM_BURST 1024 /* datagrams per socket per wake-up */

/* The socket's drop counter (a datagram's SO_RXQ_OVFL, or SO_MEMINFO) says
 * now: count what is new.  A datagram queued before the last look may
 * carry an older count, which is not news. */
static void note_drops(sr_listener *l, uint32_t now)
{
    syslog_recv *r = l->r;
    uint32_t d = now - l->ovfl;

    if (d == 0 || d > UINT32_MAX / 2)
        return;
    ct_series_add(r->dropped_socket, d);
    sr_log(r, CT_LOG_WARN, "%s %s: the kernel dropped %u datagrams (socket buffer full)",
           sr_transport_names[l->t], l->addr, (unsigned)d);
    l->ovfl = now;
}

/* SO_RXQ_OVFL comes with the next datagram; drops after the last one are
 * only seen by asking. */
static void check_drops(sr_listener *l)
{
    uint32_t mi[SK_MEMINFO_VARS];
    socklen_t len = sizeof(mi);

    if (getsockopt(l->fd, SOL_SOCKET, SO_MEMINFO, mi, &len) == 0 &&
        len >= (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
        note_drops(l, mi[SK_MEMINFO_DROPS]);
}

/* One datagram: got bytes (its whole length) sent, at most cap of them in buf. */
static void dgram_one(sr_listener *l, const char *buf, size_t cap, size_t got,
                      const struct sockaddr_storage *ss)
{
    syslog_recv *r = l->r;
    char host[INET6_ADDRSTRLEN], peer[INET6_ADDRSTRLEN + 8];
    unsigned flags = 0;
    size_t len = got;

    if (len > cap) {
        flags = CT_FRAME_CUT;
        len = cap;
    } else {
        /* a trailing LF (some senders end datagrams with one), CR or NUL */
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == '\0'))
            len--;
    }
    if (len == 0)
        return;
    sr_sockaddr_text((const struct sockaddr *)ss, host, sizeof(host), peer, sizeof(peer));
    sr_message(r, l, peer, l->t == SR_UNIX ? r->hostname : host, buf, len, flags, got);
}

/* UDP: SR_MMSG datagrams per recvmmsg, each in a slot of r->mslot bytes;
 * a unix socket, whose datagrams may be as long as max_msg: one at a time. */
size_t sr_dgram_drain(sr_listener *l, size_t max)
{
    syslog_recv *r = l->r;
    int udp = l->t == SR_UDP;
    unsigned vlen = udp ? SR_MMSG : 1;
    size_t cap = udp ? r->mslot : r->max_msg, k = 0;
    struct mmsghdr mm[SR_MMSG];
    struct iovec iov[SR_MMSG];
    struct sockaddr_storage ss[SR_MMSG];
    union {
        char buf[CMSG_SPACE(sizeof(uint32_t))];
        struct cmsghdr align;
    } cbuf[SR_MMSG];

    while (k < max) {
        unsigned want = max - k < vlen ? (unsigned)(max - k) : vlen;
        int got;

        memset(mm, 0, want * sizeof(mm[0]));
        memset(ss, 0, want * sizeof(ss[0]));
        for (unsigned i = 0; i < want; i++) {
            iov[i].iov_base = udp ? r->mbuf + i * cap : r->dbuf;
            iov[i].iov_len = cap;
            mm[i].msg_hdr.msg_name = &ss[i];
            mm[i].msg_hdr.msg_namelen = sizeof(ss[i]);
            mm[i].msg_hdr.msg_iov = &iov[i];
            mm[i].msg_hdr.msg_iovlen = 1;
            mm[i].msg_hdr.msg_control = cbuf[i].buf;
            mm[i].msg_hdr.msg_controllen = sizeof(cbuf[i].buf);
        }
        got = recvmmsg(l->fd, mm, want, MSG_TRUNC | MSG_DONTWAIT, NULL);
        if (got < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                sr_log(r, CT_LOG_WARN, "%s %s: receive failed: %s", sr_transport_names[l->t],
                       l->addr, strerror(errno));
            break;
        }
        for (int i = 0; i < got; i++) {
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mm[i].msg_hdr); cm != NULL;
                 cm = CMSG_NXTHDR(&mm[i].msg_hdr, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_RXQ_OVFL) {
                    uint32_t ov;

                    memcpy(&ov, CMSG_DATA(cm), sizeof(ov));
                    note_drops(l, ov);
                }
            dgram_one(l, iov[i].iov_base, cap, mm[i].msg_len, &ss[i]);
        }
        k += (size_t)got;
        if ((unsigned)got < want)
            break; /* nothing more queued */
    }
    if (udp)
        check_drops(l);
    return k;
}

void sr_dgram_drops_event(evutil_socket_t fd, short what, void *arg)
{
    syslog_recv *r = arg;

    (void)fd;
    (void)what;
    for (sr_listener *l = r->listeners; l != NULL; l = l->next)
        if (l->t == SR_UDP)
            check_drops(l);
}

static void dgram_read(evutil_socket_t fd, short what, void *arg)
{
    sr_listener *l = arg;

    (void)fd;
    (void)what;
    (void)sr_dgram_drain(l, SR_DGRAM_BURST);
    sr_schedule(l->r);
}

ct_status sr_dgram_watch(sr_listener *l, ct_error *err)
{
    syslog_recv *r = l->r;
    int one = 1, rcv = SR_RCVBUF, got = 0;
    socklen_t gl = sizeof(got);

    (void)setsockopt(l->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    if (setsockopt(l->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) != 0)
        (void)setsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    /* the kernel reports twice what it allowed (its bookkeeping) */
    if (l->t == SR_UDP && getsockopt(l->fd, SOL_SOCKET, SO_RCVBUF, &got, &gl) == 0 &&
        got < SR_RCVBUF)
        ct_log(CT_LOG_WARN, "syslog",
               "udp %s: a receive buffer of %d KiB only (%d asked for): a burst may be "
               "dropped; raise net.core.rmem_max, or run with CAP_NET_ADMIN",
               l->addr, got / 2048, SR_RCVBUF / 1024);
    l->ev = event_new(r->base, l->fd, EV_READ | EV_PERSIST, dgram_read, l);
    if (l->ev == NULL || event_add(l->ev, NULL) != 0)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "cannot watch %s %s", sr_transport_names[l->t],
                            l->addr);
    return CT_OK;
}
