/*
 * query/http_web.c - the investigator's web page: GET / and GET /web/NAME.
 *
 * Plain HTML, CSS and JavaScript from query/web/, compiled in by
 * cmake/embed_web.cmake; `serve --web-root DIR` serves DIR's files instead
 * (edit the page without rebuilding).  Anyone may load the page: it asks
 * for a token and calls the API with it, and the API checks it.  The
 * Content-Security-Policy allows only this origin's scripts and styles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "http_impl.h"
#include "http_web.h"

#define WEB_FILE_MAX (4u << 20)

static const char csp[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
                          "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; "
                          "base-uri 'none'; form-action 'none'";

static const char *content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* A plain file name: no directories, no dot files. */
static int name_ok(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strlen(name) > 128)
        return 0;
    for (const char *p = name; *p != '\0'; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static void send_file(struct evhttp_request *req, const char *name, const void *data, size_t len)
{
    struct evkeyvalq *hd = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();

    if (b == NULL || evbuffer_add(b, data, len) != 0) {
        if (b != NULL)
            evbuffer_free(b);
        ct_http_error(req, 500, "internal", "out of memory");
        return;
    }
    evhttp_add_header(hd, "Content-Type", content_type(name));
    evhttp_add_header(hd, "Content-Security-Policy", csp);
    evhttp_add_header(hd, "X-Content-Type-Options", "nosniff");
    evhttp_add_header(hd, "Referrer-Policy", "no-referrer");
    evhttp_add_header(hd, "Cache-Control", "no-cache");
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void serve_from_dir(struct evhttp_request *req, const char *dir, const char *name)
{
    char path[4096];
    FILE *f;
    char *buf;
    size_t n;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
        (f = fopen(path, "rb")) == NULL) {
        ct_http_error(req, 404, "not_found", "no such file");
        return;
    }
    buf = malloc(WEB_FILE_MAX + 1);
    n = buf != NULL ? fread(buf, 1, WEB_FILE_MAX + 1, f) : 0;
    if (buf == NULL || ferror(f) || n > WEB_FILE_MAX)
        ct_http_error(req, 500, "internal", "cannot read the file");
    else
        send_file(req, name, buf, n);
    free(buf);
    fclose(f);
}

static void serve_name(struct evhttp_request *req, ct_http *h, const char *name)
{
    const char *root = ct_serve_options(ct_http_serve(h))->web_root;
    enum evhttp_cmd_type m = evhttp_request_get_command(req);

    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "GET, HEAD");
        ct_http_error(req, 405, "method_not_allowed", "this route answers GET");
        return;
    }
    if (!name_ok(name)) {
        ct_http_error(req, 404, "not_found", "no such file");
        return;
    }
    if (root != NULL) {
        serve_from_dir(req, root, name);
        return;
    }
    for (const ct_web_asset *a = ct_web_assets; a->name != NULL; a++)
        if (strcmp(a->name, name) == 0) {
            send_file(req, name, a->data, a->len);
            return;
        }
    ct_http_error(req, 404, "not_found", "no such file");
}

/* "/" is a prefix route, so it also sees every path no other route has. */
static void get_index(struct evhttp_request *req, const char *rest, void *ctx)
{
    if (rest[0] != '\0') {
        ct_http_set_route(ctx, "(none)");
        ct_http_error(req, 404, "not_found", "no such route");
        return;
    }
    serve_name(req, ctx, "index.html");
}

static void get_asset(struct evhttp_request *req, const char *rest, void *ctx)
{
    ct_http_set_route(ctx, "/web/{file}");
    serve_name(req, ctx, rest);
}

ct_status ct_http_web_start(ct_http *h, ct_error *err)
{
    ct_status rc = ct_http_route_role(h, "/", CT_ROLE_NONE, get_index, h, err);

    if (rc == CT_OK)
        rc = ct_http_route_role(h, "/web/", CT_ROLE_NONE, get_asset, h, err);
    return rc;
}
