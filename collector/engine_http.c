/*
 * collector/engine_http.c - libcurl multi over the serve loop, for engine APIs.
 *
 * See engine_http.h.  This is the standard libevent integration of
 * curl_multi_socket_action (curl's hiperfifo example): curl tells us which
 * sockets to watch (sock_cb) and when to time out (timer_cb); libevent
 * calls back and we hand the readiness to curl.  Finished transfers are
 * collected with curl_multi_info_read after every socket_action, at the top
 * of a libevent callback, so on_done may start or cancel requests: libcurl
 * refuses most calls made from inside its own callbacks.
 */
#include "curl_lazy.h"
#include "engine_http.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "ctrail/record.h"
#include "ctrail/time.h"

#define EH_MAX_CONNS  32          /* the event stream takes one; inspects share the rest */
#define EH_ERROR_BODY (64u << 10) /* what we keep of a failed stream's body */

struct eh_req {
    eh_client *c;
    CURL *easy;
    eh_req_opts o;
    char *url;  /* owned */
    char *body; /* owned: buffered body (or a failed stream's) */
    size_t len, cap, max;
    long status;
    int headers_done;
    int too_big, aborted;
    int64_t start_ns;
    char errbuf[CURL_ERROR_SIZE];
    eh_req *prev, *next;
};

struct eh_client {
    struct event_base *base; /* borrowed */
    CURLM *multi;
    struct event *timer;
    struct event *done_ev; /* collects finished transfers after eh_kick */
    char *unix_path;       /* owned or NULL */
    char *base_url;        /* owned: "http://localhost" or "http://HOST:PORT" */
    eh_req *reqs;          /* started, not finished */
    size_t n_active;
    int in_done; /* check_done is running */
};

typedef struct eh_sock {
    struct event *ev;
} eh_sock;

static void check_done(eh_client *c);

static void sock_event(evutil_socket_t fd, short kind, void *arg)
{
    eh_client *c = arg;
    int action =
        ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
    int running = 0;

    /* the timer is curl's business (timer_cb): an on_done may just have
     * started a request that needs it, whatever running says */
    (void)curl_multi_socket_action(c->multi, fd, action, &running);
    check_done(c);
}

static void timer_event(evutil_socket_t fd, short kind, void *arg)
{
    eh_client *c = arg;
    int running = 0;

    (void)fd;
    (void)kind;
    (void)curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done(c);
}

static void done_event(evutil_socket_t fd, short kind, void *arg)
{
    (void)fd;
    (void)kind;
    check_done(arg);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants. */
static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    eh_client *c = userp;
    eh_sock *es = socketp;
    short kind;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (es != NULL) {
            event_free(es->ev);
            free(es);
        }
        return 0;
    }
    kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) | ((what & CURL_POLL_OUT) ? EV_WRITE : 0) |
                   EV_PERSIST);
    if (es == NULL) {
        es = calloc(1, sizeof(*es));
        if (es == NULL)
            return -1;
        if (curl_multi_assign(c->multi, s, es) != CURLM_OK) {
            free(es);
            return -1;
        }
    } else {
        event_free(es->ev);
        es->ev = NULL;
    }
    es->ev = event_new(c->base, s, kind, sock_event, c);
    if (es->ev == NULL || event_add(es->ev, NULL) != 0)
        return -1;
    return 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer for the whole multi handle. */
static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    eh_client *c = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0)
        return evtimer_del(c->timer) == 0 ? 0 : -1;
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(c->timer, &tv) == 0 ? 0 : -1;
}

static int body_add(eh_req *r, const char *p, size_t n, size_t max)
{
    if (n > max - r->len || r->len + n > max) {
        r->too_big = 1;
        return -1;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap != 0 ? r->cap : 4096;
        char *nb;

        while (cap < r->len + n + 1)
            cap *= 2;
        nb = realloc(r->body, cap);
        if (nb == NULL)
            return -1;
        r->body = nb;
        r->cap = cap;
    }
    memcpy(r->body + r->len, p, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

static size_t header_cb(char *p, size_t size, size_t n, void *arg)
{
    eh_req *r = arg;
    size_t len = size * n;

    if (len <= 2 && (p[0] == '\r' || p[0] == '\n')) {
        long status = 0;

        (void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 200) { /* not an interim 1xx */
            r->status = status;
            r->headers_done = 1;
            if (r->o.on_headers != NULL)
                r->o.on_headers(r->o.ctx, status);
        }
    }
    return len;
}

static size_t write_cb(char *p, size_t size, size_t n, void *arg)
{
    eh_req *r = arg;
    size_t len = size * n;

    if (r->o.stream && r->status >= 200 && r->status < 300) {
        if (r->o.on_data(r->o.ctx, p, len) != 0) {
            r->aborted = 1;
            return 0;
        }
        return len;
    }
    return body_add(r, p, len, r->o.stream ? EH_ERROR_BODY : r->max) == 0 ? len : 0;
}

static void req_unlink(eh_req *r)
{
    eh_client *c = r->c;

    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    c->n_active--;
}

static void req_free(eh_req *r)
{
    if (r->easy != NULL) {
        (void)curl_multi_remove_handle(r->c->multi, r->easy);
        curl_easy_cleanup(r->easy);
    }
    free(r->url);
    free(r->body);
    free(r);
}

static void req_finish(eh_req *r, CURLcode code)
{
    eh_result res;

    memset(&res, 0, sizeof(res));
    res.start_ns = r->start_ns;
    (void)curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
    if (code == CURLE_OK) {
        res.rc = CT_OK;
    } else if (r->too_big) {
        res.rc = ct_error_set(&res.err, CT_ERR_TOOBIG, 0, "%s: response body over %zu bytes",
                              r->o.path, r->max);
    } else if (r->aborted) {
        res.rc = ct_error_set(&res.err, CT_ERR_PARSE, 0, "%s: stream abandoned", r->o.path);
    } else if (code == CURLE_COULDNT_CONNECT && r->c->unix_path != NULL) {
        long os_errno = 0;

        (void)curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &os_errno);
        res.rc = ct_error_set(&res.err, CT_ERR_IO, (int)os_errno, "cannot connect to '%s'",
                              r->c->unix_path);
    } else {
        res.rc = ct_error_set(&res.err, CT_ERR_IO, 0, "%s: %s", r->o.path,
                              r->errbuf[0] != '\0' ? r->errbuf : curl_easy_strerror(code));
    }
    res.body = r->body != NULL ? r->body : "";
    res.len = r->len;
    req_unlink(r);
    (void)curl_multi_remove_handle(r->c->multi, r->easy);
    if (r->o.on_done != NULL)
        r->o.on_done(r->o.ctx, &res);
    req_free(r);
}

static void check_done(eh_client *c)
{
    CURLMsg *msg;
    int left;

    if (c->in_done) /* an on_done kicked curl: the outer loop picks the rest up */
        return;
    c->in_done = 1;
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        eh_req *r = NULL;

        if (msg->msg != CURLMSG_DONE)
            continue;
        (void)curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        if (r != NULL)
            req_finish(r, msg->data.result);
    }
    c->in_done = 0;
}

ct_status eh_client_new(struct event_base *base, const char *host, eh_client **ret, ct_error *err)
{
    eh_client *c;
    ct_status rc;

    if (host == NULL || host[0] == '\0')
        return ct_error_set(err, CT_ERR_INVALID, 0, "no engine address");
    rc = ct_curl_load(err);
    if (rc != CT_OK)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return ct_error_set(err, CT_ERR_INVALID, 0, "cannot initialise libcurl");
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        curl_global_cleanup();
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    c->base = base;
    if (strncmp(host, "unix://", 7) == 0 || host[0] == '/') {
        const char *path = host[0] == '/' ? host : host + 7;

        if (path[0] != '/') {
            eh_client_free(c);
            return ct_error_set(err, CT_ERR_INVALID, 0,
                                "engine address '%s': a unix socket needs an absolute path", host);
        }
        c->unix_path = ct_strdup(path);
        c->base_url = ct_strdup("http://localhost");
    } else if (strncmp(host, "tcp://", 6) == 0 || strncmp(host, "http://", 7) == 0) {
        const char *hp = host + (host[0] == 't' ? 6 : 7);
        size_t n = strcspn(hp, "/");

        if (n == 0) {
            eh_client_free(c);
            return ct_error_set(err, CT_ERR_INVALID, 0, "engine address '%s' has no host", host);
        }
        c->base_url = malloc(n + 8);
        if (c->base_url != NULL) {
            memcpy(c->base_url, "http://", 7);
            memcpy(c->base_url + 7, hp, n);
            c->base_url[n + 7] = '\0';
        }
    } else {
        eh_client_free(c);
        return ct_error_set(err, CT_ERR_INVALID, 0,
                            "engine address '%s': want unix:///PATH, tcp://HOST:PORT or "
                            "http://HOST:PORT (no TLS)",
                            host);
    }
    c->multi = curl_multi_init();
    c->timer = evtimer_new(base, timer_event, c);
    c->done_ev = event_new(base, -1, 0, done_event, c);
    if (c->base_url == NULL || (c->unix_path == NULL && strncmp(host, "unix://", 7) == 0) ||
        c->multi == NULL || c->timer == NULL || c->done_ev == NULL) {
        eh_client_free(c);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    (void)curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    (void)curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    (void)curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    (void)curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    (void)curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)EH_MAX_CONNS);
    (void)curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)EH_MAX_CONNS);
    *ret = c;
    return CT_OK;
}

void eh_client_free(eh_client *c)
{
    if (c == NULL)
        return;
    while (c->reqs != NULL)
        eh_cancel(c->reqs);
    if (c->multi != NULL)
        (void)curl_multi_cleanup(c->multi); /* closes sockets: sock_cb frees their events */
    if (c->timer != NULL)
        event_free(c->timer);
    if (c->done_ev != NULL)
        event_free(c->done_ev);
    free(c->unix_path);
    free(c->base_url);
    free(c);
    curl_global_cleanup();
}

ct_status eh_get(eh_client *c, const eh_req_opts *o, eh_req **ret_req, ct_error *err)
{
    eh_req *r = calloc(1, sizeof(*r));
    size_t ul;

    if (r == NULL)
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    r->c = c;
    r->o = *o;
    r->max = o->max_body != 0 ? o->max_body : (1u << 20);
    ul = strlen(c->base_url) + strlen(o->path) + 1;
    r->url = malloc(ul);
    r->easy = curl_easy_init();
    if (r->url == NULL || r->easy == NULL) {
        if (r->easy != NULL)
            curl_easy_cleanup(r->easy);
        r->easy = NULL;
        req_free(r);
        return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory");
    }
    (void)snprintf(r->url, ul, "%s%s", c->base_url, o->path);
    r->o.path = r->url + strlen(c->base_url); /* our copy */
    (void)curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
    if (c->unix_path != NULL)
        (void)curl_easy_setopt(r->easy, CURLOPT_UNIX_SOCKET_PATH, c->unix_path);
    (void)curl_easy_setopt(r->easy, CURLOPT_PRIVATE, (char *)r);
    (void)curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_cb);
    (void)curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    (void)curl_easy_setopt(r->easy, CURLOPT_HEADERFUNCTION, header_cb);
    (void)curl_easy_setopt(r->easy, CURLOPT_HEADERDATA, r);
    (void)curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
    (void)curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
    (void)curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    (void)curl_easy_setopt(r->easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    (void)curl_easy_setopt(r->easy, CURLOPT_USERAGENT, "ctrail");
    (void)curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http");
    if (o->timeout_ms > 0)
        (void)curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, o->timeout_ms);
    if (c->unix_path == NULL)
        (void)curl_easy_setopt(r->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    r->start_ns = ct_time_now_ns();
    if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
        req_free(r);
        return ct_error_set(err, CT_ERR_INVALID, 0, "cannot start a request to %s", o->path);
    }
    r->next = c->reqs;
    if (c->reqs != NULL)
        c->reqs->prev = r;
    c->reqs = r;
    c->n_active++;
    if (ret_req != NULL)
        *ret_req = r;
    return CT_OK;
}

void eh_cancel(eh_req *r)
{
    if (r == NULL)
        return;
    req_unlink(r);
    req_free(r);
}

void eh_kick(eh_client *c)
{
    int running = 0;

    (void)curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    event_active(c->done_ev, 0, 0);
}

size_t eh_active(const eh_client *c)
{
    return c->n_active;
}
