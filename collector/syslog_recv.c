/*
 * collector/syslog_recv.c - syslog receivers of `ctrail serve`.
 *
 *   --syslog-udp ADDR           one message per datagram (RFC 5426)
 *   --syslog-tcp ADDR           a stream, octet-counted or LF-framed (RFC 6587)
 *   --syslog-unix PATH          a datagram socket like /dev/log (what
 *                               `logger -u` and syslog(3) try first)
 *   --syslog-unix stream:PATH   a stream socket, framed like TCP
 *
 * Every message becomes one record through ct_syslog_parse (RFC 5424,
 * RFC 3164, rsyslog's forms); its raw is the message byte for byte, NULs
 * and invalid UTF-8 included.  A message the parser refuses is still
 * evidence: it is kept as kind syslog.unparsed, timed by its arrival.  A
 * message longer than --syslog-max-msg (datagram or frame) is kept cut to
 * that size and its kind gets ".cut"; an octet-counted frame whose
 * connection ended early gets ".partial".  A message without a host name
 * (logger -u's local form) takes the peer's address, or this host's name
 * on a unix socket.  Lines are keyed to a container by a 64-hex id
 * anywhere in them (the parser), else by a 12-hex short id the catalog
 * knows (ct_cid_cache).
 *
 * Group commit: messages collect in one batch while the loop handles what
 * arrived (datagrams: syslog_dgram.c; 256 KiB per connection per wake-up);
 * 20 ms after a read the batch is handed to the writer thread
 * (syslog_batch.c), or earlier when it is full.  While the writer waits for
 * its fsync, or the store seals a block, the loop goes on reading into the
 * next batch, so batches grow with the load.  At stop, what the sockets
 * hold is read, partial frames are delivered, and everything is stored
 * before the store closes.
 */
#include "syslog_recv.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "ctrail/ingest.h"
#include "ctrail/log.h"
#include "ctrail/serve.h"
#include "ctrail/syslog.h"
#include "ctrail/time.h"

#include "parse_util.h"

const char *const sr_transport_names[SR_N_TRANSPORTS] = {"udp", "tcp", "unix"};

typedef struct sr_conn {
    syslog_recv *r;
    sr_listener *l;
    struct bufferevent *bev;
    ct_syslog_framer fr;
    char peer[INET6_ADDRSTRLEN + 8];
    char host[INET6_ADDRSTRLEN]; /* what a message without a host name gets */
    struct sr_conn *prev, *next;
} sr_conn;

#define SR_READ_MAX       (256u << 10) /* bytes per connection per wake-up */
#define SR_BATCH_WAIT_US  20000        /* the group-commit window */
#define SR_MAX_CONNS      512
#define SR_DRAIN_MAX      (16u << 20) /* bytes read per connection at stop */
#define SR_LOG_WINDOW_NS  (10LL * 1000000000LL)
#define SR_LOG_PER_WINDOW 20

void sr_log(syslog_recv *r, ct_log_level level, const char *fmt, ...)
{
    int64_t now = ct_time_now_ns();
    char line[512];
    va_list ap;

    if (now - r->log_window_ns >= SR_LOG_WINDOW_NS) {
        if (r->log_suppressed > 0)
            ct_log(CT_LOG_WARN, "syslog", "%u similar lines not logged", r->log_suppressed);
        r->log_window_ns = now;
        r->log_count = r->log_suppressed = 0;
    }
    if (r->log_count >= SR_LOG_PER_WINDOW) {
        r->log_suppressed++;
        return;
    }
    r->log_count++;
    va_start(ap, fmt);
    (void)vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    ct_log(level, "syslog", "%s", line);
}

/* ---- the batch ---- */

static void flush_event(evutil_socket_t fd, short what, void *arg)
{
    syslog_recv *r = arg;

    (void)fd;
    (void)what;
    r->flush_pending = 0;
    sr_batch_flush(r->batch);
}

void sr_schedule(syslog_recv *r)
{
    struct timeval wait = {0, SR_BATCH_WAIT_US};

    if (sr_batch_pending(r->batch) > 0 && !r->flush_pending) {
        r->flush_pending = 1;
        if (evtimer_add(r->flush_ev, &wait) != 0) {
            r->flush_pending = 0;
            sr_batch_flush(r->batch);
        }
    }
}

/* Append " .cut"/".partial" to the kind. */
static int kind_suffix(ct_record *rec, const char *suffix)
{
    char *k = pu_printf("%s%s", rec->kind, suffix);

    if (k == NULL)
        return -1;
    free(rec->kind);
    rec->kind = k;
    return 0;
}

/* The unparsed message as evidence: arrival time, raw as it came. */
static int unparsed_record(const char *msg, size_t len, int64_t now, ct_record *rec)
{
    ct_record u = {0};

    u.source = CT_SRC_SYSLOG;
    u.ts_ns = u.ingest_ns = now;
    u.kind = ct_strdup("syslog.unparsed");
    u.raw = ct_strndup(msg, len);
    u.raw_len = len;
    if (u.kind == NULL || u.raw == NULL || pu_set_cid(&u, msg, len) != 0) {
        ct_record_release(&u);
        return -1;
    }
    ct_record_move(rec, &u);
    return 0;
}

void sr_message(syslog_recv *r, const sr_listener *l, const char *peer, const char *host,
                const char *msg, size_t len, unsigned flags, uint64_t full_len)
{
    int64_t now = ct_time_now_ns();
    ct_record rec = {0};
    ct_error err = {0};
    int oom = 0;

    ct_series_add(r->m[l->t].received, 1);
    ct_series_add(r->m[l->t].bytes, len);
    if (ct_syslog_parse(msg, len, now, &rec, &err) != CT_OK) {
        if (err.code == CT_ERR_NOMEM || unparsed_record(msg, len, now, &rec) != 0) {
            oom = 1;
        } else {
            ct_series_add(r->m[l->t].unparsed, 1);
            sr_log(r, CT_LOG_WARN, "%s %s: kept as syslog.unparsed (%zu bytes): %s",
                   sr_transport_names[l->t], peer, len, err.msg);
        }
    }
    if (!oom && (flags & CT_FRAME_CUT)) {
        ct_series_add(r->m[l->t].cut, 1);
        sr_log(r, CT_LOG_WARN, "%s %s: message of %llu bytes cut to %zu (--syslog-max-msg)",
               sr_transport_names[l->t], peer, (unsigned long long)full_len, len);
        oom = kind_suffix(&rec, ".cut") != 0;
    } else if (!oom && (flags & CT_FRAME_PARTIAL)) {
        ct_series_add(r->m[l->t].partial, 1);
        sr_log(r, CT_LOG_WARN, "%s %s: connection ended %llu bytes into a %llu-byte frame; kept",
               sr_transport_names[l->t], peer, (unsigned long long)len,
               (unsigned long long)full_len);
        oom = kind_suffix(&rec, ".partial") != 0;
    }
    if (!oom && rec.host == NULL && host != NULL && host[0] != '\0')
        oom = (rec.host = ct_strdup(host)) == NULL;
    if (!oom && rec.container == NULL)
        oom = ct_cid_cache_key(r->cids, &rec, msg, len) != 0;
    if (!oom && sr_batch_add(r->batch, &rec, len, &err) != CT_OK)
        oom = 1;
    if (oom) {
        ct_record_release(&rec);
        ct_series_add(r->dropped_store, 1);
        sr_log(r, CT_LOG_ERROR, "%s %s: out of memory, message dropped", sr_transport_names[l->t],
               peer);
        return;
    }
}

/* ---- addresses ---- */

void sr_sockaddr_text(const struct sockaddr *sa, char *host, size_t hlen, char *peer, size_t plen)
{
    unsigned port = 0;

    host[0] = '\0';
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

        (void)inet_ntop(AF_INET, &in->sin_addr, host, (socklen_t)hlen);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

        (void)inet_ntop(AF_INET6, &in6->sin6_addr, host, (socklen_t)hlen);
        port = ntohs(in6->sin6_port);
    }
    if (host[0] == '\0')
        (void)snprintf(peer, plen, "local");
    else
        (void)snprintf(peer, plen, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
}

/* ---- stream connections ---- */

static void conn_msg(void *ctx, const char *msg, size_t len, unsigned flags, uint64_t full_len)
{
    sr_conn *c = ctx;

    sr_message(c->r, c->l, c->peer, c->l->t == SR_UNIX ? c->r->hostname : c->host, msg, len, flags,
               full_len);
}

static void conn_feed(sr_conn *c, const char *p, size_t n)
{
    ct_error err = {0};

    if (ct_syslog_framer_feed(&c->fr, p, n, conn_msg, c, &err) != CT_OK)
        sr_log(c->r, CT_LOG_ERROR, "%s %s: %s", sr_transport_names[c->l->t], c->peer, err.msg);
}

/* Feed everything the input buffer holds, chunk by chunk, without copying. */
static void conn_consume(sr_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);

    while (evbuffer_get_length(in) > 0) {
        struct evbuffer_iovec v[16];
        int nv = evbuffer_peek(in, -1, NULL, v, 16);
        size_t total = 0;

        if (nv <= 0)
            break;
        if (nv > 16)
            nv = 16;
        for (int i = 0; i < nv; i++) {
            conn_feed(c, v[i].iov_base, v[i].iov_len);
            total += v[i].iov_len;
        }
        (void)evbuffer_drain(in, total);
    }
}

static void conn_close(sr_conn *c)
{
    syslog_recv *r = c->r;

    ct_syslog_framer_finish(&c->fr, conn_msg, c);
    ct_syslog_framer_release(&c->fr);
    bufferevent_free(c->bev);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    r->n_conns--;
    ct_series_set(r->conns_gauge, (int64_t)r->n_conns);
    free(c);
}

static void conn_read(struct bufferevent *bev, void *arg)
{
    sr_conn *c = arg;

    (void)bev;
    conn_consume(c);
    sr_schedule(c->r);
}

static void conn_event(struct bufferevent *bev, short what, void *arg)
{
    sr_conn *c = arg;
    syslog_recv *r = c->r;

    (void)bev;
    if (what & BEV_EVENT_ERROR)
        sr_log(r, CT_LOG_INFO, "%s %s: connection error: %s", sr_transport_names[c->l->t], c->peer,
               evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        conn_consume(c);
        conn_close(c);
        sr_schedule(r);
    }
}

static void conn_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                        int salen, void *arg)
{
    sr_listener *l = arg;
    syslog_recv *r = l->r;
    sr_conn *c;

    (void)lev;
    (void)salen;
    if (r->n_conns >= SR_MAX_CONNS) {
        ct_series_add(r->conns_refused, 1);
        sr_log(r, CT_LOG_WARN, "%s %s: %d connections already open; refusing one",
               sr_transport_names[l->t], l->addr, SR_MAX_CONNS);
        evutil_closesocket(fd);
        return;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL ||
        (c->bev = bufferevent_socket_new(r->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
        free(c);
        evutil_closesocket(fd);
        sr_log(r, CT_LOG_ERROR, "%s %s: out of memory for a connection", sr_transport_names[l->t],
               l->addr);
        return;
    }
    c->r = r;
    c->l = l;
    ct_syslog_framer_init(&c->fr, r->max_msg);
    if (l->t == SR_UNIX)
        (void)snprintf(c->peer, sizeof(c->peer), "%s", "local");
    else
        sr_sockaddr_text(sa, c->host, sizeof(c->host), c->peer, sizeof(c->peer));
    (void)bufferevent_set_max_single_read(c->bev, SR_READ_MAX);
    bufferevent_setcb(c->bev, conn_read, NULL, conn_event, c);
    (void)bufferevent_enable(c->bev, EV_READ);
    c->next = r->conns;
    if (r->conns != NULL)
        r->conns->prev = c;
    r->conns = c;
    r->n_conns++;
    ct_series_set(r->conns_gauge, (int64_t)r->n_conns);
}

/* At stop: what the kernel holds for the connection, without waiting. */
static void conn_drain(sr_conn *c)
{
    char buf[65536];
    size_t total = 0;
    evutil_socket_t fd = bufferevent_getfd(c->bev);

    conn_consume(c);
    while (total < SR_DRAIN_MAX) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

        if (n <= 0)
            break;
        conn_feed(c, buf, (size_t)n);
        total += (size_t)n;
    }
}

/* ---- listeners ---- */

static void listener_free(sr_listener *l)
{
    if (l->ev != NULL)
        event_free(l->ev);
    if (l->lev != NULL)
        evconnlistener_free(l->lev); /* closes its socket */
    else if (l->fd >= 0)
        evutil_closesocket(l->fd);
    if (l->unlink_path != NULL)
        (void)unlink(l->unlink_path);
    free(l->unlink_path);
    free(l->addr);
    free(l);
}

static void sr_free(syslog_recv *r)
{
    while (r->conns != NULL) {
        sr_conn *c = r->conns;

        r->conns = c->next;
        ct_syslog_framer_release(&c->fr);
        bufferevent_free(c->bev);
        free(c);
    }
    while (r->listeners != NULL) {
        sr_listener *l = r->listeners;

        r->listeners = l->next;
        listener_free(l);
    }
    sr_batch_free(r->batch);
    if (r->flush_ev != NULL)
        event_free(r->flush_ev);
    if (r->drops_ev != NULL)
        event_free(r->drops_ev);
    free(r->mbuf);
    ct_cid_cache_free(r->cids);
    free(r->dbuf);
    free(r);
}

static void syslog_stop(void *ctx)
{
    syslog_recv *r = ctx;
    size_t n_conns = r->n_conns;

    /* what already reached us is stored before the store closes */
    for (sr_listener *l = r->listeners; l != NULL; l = l->next)
        if (l->ev != NULL)
            (void)sr_dgram_drain(l, (size_t)-1);
    while (r->conns != NULL) {
        conn_drain(r->conns);
        conn_close(r->conns);
    }
    sr_batch_free(r->batch); /* everything stored, the writer thread gone */
    r->batch = NULL;
    if (n_conns > 0)
        ct_log(CT_LOG_INFO, "syslog", "closed %zu connections", n_conns);
    sr_free(r);
}

/* A new listener on fd (bound; not listening yet for streams). */
static ct_status listener_add(syslog_recv *r, sr_transport t, int stream, evutil_socket_t fd,
                              const char *addr, const char *unlink_path, ct_error *err)
{
    sr_listener *l = calloc(1, sizeof(*l));
    char name[300]; /* in /readyz: "udp 127.0.0.1:514", "unix stream /run/x.sock" */

    if (l == NULL) {
        evutil_closesocket(fd);
        if (unlink_path != NULL)
            (void)unlink(unlink_path);
        return pu_oom(err);
    }
    l->r = r;
    l->t = t;
    l->stream = stream;
    l->fd = fd;
    l->next = r->listeners;
    r->listeners = l;
    l->addr = ct_strdup(addr);
    if (unlink_path != NULL && (l->unlink_path = ct_strdup(unlink_path)) == NULL) {
        (void)unlink(unlink_path);
        return pu_oom(err);
    }
    if (l->addr == NULL)
        return pu_oom(err);
    if (stream) {
        l->lev = evconnlistener_new(r->base, conn_accept, l,
                                    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 128, fd);
        if (l->lev == NULL)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot listen on %s %s",
                                sr_transport_names[t], addr);
    } else {
        ct_status rc = sr_dgram_watch(l, err);

        if (rc != CT_OK)
            return rc;
    }
    (void)snprintf(name, sizeof(name), "%s%s %s", sr_transport_names[t],
                   t == SR_UNIX && stream ? " stream" : "", addr);
    ct_ready_set(ct_serve_ready_add(r->sv, "syslog", name), 1, "listening");
    /* the line a user (and a test) looks for */
    printf("ctrail: syslog %s%s on %s\n", sr_transport_names[t],
           t == SR_UNIX ? (stream ? " (stream)" : " (datagram)") : "", addr);
    fflush(stdout);
    return CT_OK;
}

/* "HOST:PORT" or "[V6]:PORT", numeric, port 0 allowed (the kernel picks). */
static int parse_addr(const char *spec, struct sockaddr_storage *ss, int *ret_len)
{
    char host[INET6_ADDRSTRLEN];
    const char *colon = strrchr(spec, ':'), *h = spec;
    size_t hl;
    char *end;
    long port;

    if (colon == NULL)
        return -1;
    hl = (size_t)(colon - spec);
    if (spec[0] == '[') {
        if (hl < 2 || spec[hl - 1] != ']')
            return -1;
        h++;
        hl -= 2;
    }
    if (hl == 0 || hl >= sizeof(host))
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end != '\0' || port < 0 || port > 65535)
        return -1;
    if (evutil_inet_pton(AF_INET, host, &((struct sockaddr_in *)ss)->sin_addr) == 1) {
        ((struct sockaddr_in *)ss)->sin_family = AF_INET;
        ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
        *ret_len = (int)sizeof(struct sockaddr_in);
        return 0;
    }
    if (evutil_inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
        ((struct sockaddr_in6 *)ss)->sin6_family = AF_INET6;
        ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
        *ret_len = (int)sizeof(struct sockaddr_in6);
        return 0;
    }
    return -1;
}

static ct_status listen_inet(syslog_recv *r, sr_transport t, const char *spec, ct_error *err)
{
    struct sockaddr_storage ss;
    int sl = (int)sizeof(ss), one = 1;
    socklen_t bl = sizeof(ss);
    evutil_socket_t fd;
    char host[INET6_ADDRSTRLEN], bound[INET6_ADDRSTRLEN + 8];

    memset(&ss, 0, sizeof(ss));
    if (parse_addr(spec, &ss, &sl) != 0)
        return ct_error_set(err, CT_ERR_INVALID, 0,
                            "--syslog-%s wants HOST:PORT ('127.0.0.1:5514', '[::1]:0'), not '%s'",
                            sr_transport_names[t], spec);
    fd = socket(ss.ss_family,
                (t == SR_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create a %s socket",
                            sr_transport_names[t]);
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, (socklen_t)sl) != 0) {
        int e = errno;

        evutil_closesocket(fd);
        return ct_error_set(err, CT_ERR_IO, e, "cannot bind syslog %s %s", sr_transport_names[t],
                            spec);
    }
    if (getsockname(fd, (struct sockaddr *)&ss, &bl) == 0)
        sr_sockaddr_text((struct sockaddr *)&ss, host, sizeof(host), bound, sizeof(bound));
    else
        (void)snprintf(bound, sizeof(bound), "%s", spec);
    return listener_add(r, t, t == SR_TCP, fd, bound, NULL, err);
}

static ct_status listen_unix(syslog_recv *r, const char *spec, ct_error *err)
{
    struct sockaddr_un sun;
    struct stat st;
    int stream = strncmp(spec, "stream:", 7) == 0;
    const char *path = stream ? spec + 7 : spec;
    evutil_socket_t fd;

    if (path[0] == '\0' || strlen(path) >= sizeof(sun.sun_path))
        return ct_error_set(err, CT_ERR_INVALID, 0,
                            "--syslog-unix wants a path (under %zu bytes), not '%s'",
                            sizeof(sun.sun_path), spec);
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return ct_error_set(err, CT_ERR_INVALID, 0,
                                "--syslog-unix: '%s' exists and is not a socket", path);
        (void)unlink(path); /* a stale socket of an earlier run */
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    fd = socket(AF_UNIX, (stream ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create a unix socket");
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
        int e = errno;

        evutil_closesocket(fd);
        return ct_error_set(err, CT_ERR_IO, e, "cannot bind syslog unix socket '%s'", path);
    }
    (void)chmod(path, 0666); /* any local program may log, as to /dev/log */
    return listener_add(r, SR_UNIX, stream, fd, path, path, err);
}

static void metrics_init(syslog_recv *r, ct_metrics *m)
{
    for (int t = 0; t < SR_N_TRANSPORTS; t++) {
        char labels[48];

        (void)snprintf(labels, sizeof(labels), "transport=\"%s\"", sr_transport_names[t]);
        r->m[t].received = ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_received_total",
                                             "Syslog messages received", labels);
        r->m[t].bytes = ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_bytes_total",
                                          "Syslog message bytes received (as kept)", labels);
        r->m[t].unparsed =
            ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_unparsed_total",
                              "Messages not in a syslog shape, kept as syslog.unparsed", labels);
        r->m[t].cut = ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_cut_total",
                                        "Messages over --syslog-max-msg, kept cut", labels);
        r->m[t].partial =
            ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_partial_total",
                              "Octet-counted frames whose connection ended early", labels);
    }
    r->dropped_socket = ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_dropped_total",
                                          "Syslog messages lost", "reason=\"socket_buffer\"");
    r->dropped_store = ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_dropped_total",
                                         "Syslog messages lost", "reason=\"store\"");
    r->conns_gauge = ct_metrics_series(m, CT_METRIC_GAUGE, "ctrail_syslog_connections",
                                       "Open syslog stream connections", NULL);
    r->conns_refused =
        ct_metrics_series(m, CT_METRIC_COUNTER, "ctrail_syslog_connections_refused_total",
                          "Syslog connections closed at once (too many open)", NULL);
}

ct_status ct_syslog_start(ct_serve *sv, ct_error *err)
{
    const ct_serve_opts *o = ct_serve_options(sv);
    syslog_recv *r;
    ct_status rc = CT_OK;
    struct timeval second = {1, 0};

    if (o->syslog_udp.n + o->syslog_tcp.n + o->syslog_unix.n == 0)
        return CT_OK;
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return pu_oom(err);
    r->sv = sv;
    r->base = ct_serve_base(sv);
    r->max_msg = o->syslog_max_msg > 0 ? o->syslog_max_msg : CT_SYSLOG_MAX_MSG_DEFAULT;
    if (r->max_msg < CT_FRAME_MIN_MAX_MSG)
        r->max_msg = CT_FRAME_MIN_MAX_MSG;
    if (gethostname(r->hostname, sizeof(r->hostname) - 1) != 0)
        r->hostname[0] = '\0';
    r->dbuf = malloc(r->max_msg);
    r->mslot = r->max_msg < SR_MMSG_SLOT ? r->max_msg : SR_MMSG_SLOT;
    if (o->syslog_udp.n > 0)
        r->mbuf = malloc(SR_MMSG * r->mslot); /* pages are touched as datagrams fill them */
    r->cids = ct_cid_cache_new(ct_serve_reader(sv));
    r->flush_ev = evtimer_new(r->base, flush_event, r);
    r->drops_ev = event_new(r->base, -1, EV_PERSIST, sr_dgram_drops_event, r);
    if (r->dbuf == NULL || (o->syslog_udp.n > 0 && r->mbuf == NULL) || r->cids == NULL ||
        r->flush_ev == NULL || r->drops_ev == NULL) {
        sr_free(r);
        return pu_oom(err);
    }
    metrics_init(r, ct_serve_metrics(sv));
    rc = sr_batch_new(sv, r->dropped_store, &r->batch, err);
    if (rc == CT_OK && o->syslog_udp.n > 0 && event_add(r->drops_ev, &second) != 0)
        rc = pu_oom(err);
    for (size_t i = 0; rc == CT_OK && i < o->syslog_udp.n; i++)
        rc = listen_inet(r, SR_UDP, o->syslog_udp.v[i], err);
    for (size_t i = 0; rc == CT_OK && i < o->syslog_tcp.n; i++)
        rc = listen_inet(r, SR_TCP, o->syslog_tcp.v[i], err);
    for (size_t i = 0; rc == CT_OK && i < o->syslog_unix.n; i++)
        rc = listen_unix(r, o->syslog_unix.v[i], err);
    if (rc == CT_OK)
        rc = ct_serve_on_stop(sv, syslog_stop, r, err);
    if (rc != CT_OK)
        sr_free(r);
    return rc;
}
