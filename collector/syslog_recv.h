/*
 * collector/syslog_recv.h - the syslog receivers' shared state (private):
 * syslog_recv.c (listeners, stream connections, messages into records,
 * start and stop) and syslog_dgram.c (datagram sockets).  Everything runs
 * on the serve loop's thread; records go to the store through
 * syslog_batch.c.
 */
#ifndef CTRAIL_SYSLOG_RECV_H
#define CTRAIL_SYSLOG_RECV_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "ctrail/ingest.h"
#include "ctrail/log.h"
#include "ctrail/metrics.h"
#include "ctrail/serve.h"

#include "syslog_batch.h"

struct event;
struct evconnlistener;
struct sockaddr;

#define SR_RCVBUF    (32 << 20) /* UDP receive buffer asked for; the kernel caps or doubles it */
#define SR_MMSG      64         /* datagrams per recvmmsg */
#define SR_MMSG_SLOT 65536      /* bytes per datagram there: UDP's most */

typedef enum sr_transport { SR_UDP = 0, SR_TCP, SR_UNIX, SR_N_TRANSPORTS } sr_transport;
extern const char *const sr_transport_names[SR_N_TRANSPORTS];

typedef struct syslog_recv syslog_recv;
typedef struct sr_conn sr_conn;

typedef struct sr_listener {
    syslog_recv *r;
    sr_transport t;
    int stream;                 /* 1: TCP or a unix stream socket */
    char *addr;                 /* owned: as bound ("127.0.0.1:5514", a path) */
    char *unlink_path;          /* owned or NULL: our unix socket file */
    evutil_socket_t fd;         /* datagram sockets; -1 for stream */
    struct event *ev;           /* datagram sockets */
    struct evconnlistener *lev; /* stream sockets */
    uint32_t ovfl;              /* the kernel's drop count last seen */
    struct sr_listener *next;
} sr_listener;

struct syslog_recv {
    ct_serve *sv;
    struct event_base *base;
    size_t max_msg;
    char hostname[256];
    sr_listener *listeners;
    sr_conn *conns;
    size_t n_conns;
    sr_batch *batch; /* owned: records on their way to the store */
    struct event *flush_ev, *drops_ev;
    int flush_pending;
    char *dbuf; /* owned: one datagram, max_msg bytes (unix sockets) */
    char *mbuf; /* owned: SR_MMSG slots of mslot bytes (UDP) */
    size_t mslot;
    ct_cid_cache *cids;
    int64_t log_window_ns;
    unsigned log_count, log_suppressed;
    struct {
        ct_series *received, *bytes, *unparsed, *cut, *partial;
    } m[SR_N_TRANSPORTS];
    ct_series *dropped_socket, *dropped_store, *conns_gauge, *conns_refused;
};

/* ---- syslog_recv.c ---- */

/* At most 20 lines per 10 s: a flood of bad input must not turn into a
 * flood of log lines. */
void sr_log(syslog_recv *r, ct_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* One message from any transport; host: for messages that name none. */
void sr_message(syslog_recv *r, const sr_listener *l, const char *peer, const char *host,
                const char *msg, size_t len, unsigned flags, uint64_t full_len);
/* After a read: hand the batch to the writer within the group-commit window. */
void sr_schedule(syslog_recv *r);
/* A peer's address as a host ("" for a unix peer) and as "HOST:PORT". */
void sr_sockaddr_text(const struct sockaddr *sa, char *host, size_t hlen, char *peer, size_t plen);

/* ---- syslog_dgram.c ---- */

/* Watch the bound datagram socket l->fd on the loop (a big receive buffer,
 * drop counting).  CT_ERR_NOMEM only. */
ct_status sr_dgram_watch(sr_listener *l, ct_error *err);
/* Read what the socket holds, at most max datagrams; how many were read. */
size_t sr_dgram_drain(sr_listener *l, size_t max);
/* The timer callback (arg: the syslog_recv) that counts, once a second,
 * the drops the kernel made after the last datagram read. */
void sr_dgram_drops_event(evutil_socket_t fd, short what, void *arg);

#endif
