/*
 * bench/gen_prod.c - ctrail-gen-prod: a day of a production Kubernetes
 * cluster's container records, in four files, for bench/store.sh.
 *
 *   ctrail-gen-prod --records N --out DIR [--seed S] [--fixtures DIR]
 *                   [--emit raw,tsv,journal]
 *
 * The shape scales linearly with N; for N = 1,000,000: 24 hours, 44 nodes,
 * 7,800 pods (one pause sandbox and one or two app containers each: 7,800
 * sandboxes, 10,800 app containers) and 1,400 plain Docker containers.  By
 * count, 45 % Docker events (/events JSON as dockerd 20.10 streams them
 * with dockershim's Kubernetes labels), 15 % docker inspect snapshots
 * (created, started, running re-inspections, exited; the captured 20.10
 * inspect of tests/fixtures as the template), 30 % Kubernetes audit events
 * (audit.k8s.io/v1; half about the pods - create, binding, get, patch
 * status with containerStatuses, exec, log, delete - half cluster noise:
 * leases, configmaps, nodes, endpoints) and 10 % syslog lines (rsyslog file
 * format; kubelet, containerd, dockerd and systemd lines that carry the
 * 64-hex container id, which is how ctrail keys a host log line).
 *
 * Activity is skewed: exec liveness probes (exec_create, exec_start,
 * exec_die), re-inspections, pod status patches and log lines go to
 * containers with probability growing with a lognormal weight and the
 * container's lifetime, so some containers are very busy and most are not.
 * Ids are fresh random hex, times are nanoseconds, arrivals are uniform over
 * the day (a Poisson process), and every record is distinct.
 *
 * DIR receives, with --emit raw (default raw,tsv,journal):
 *   events.jsonl   Docker events          } each in time order
 *   inspect.jsonl  inspect snapshots      }
 *   audit.jsonl    audit events           }
 *   syslog.log     syslog lines           }
 *   containers.tsv one line per container: id, kind (sandbox, app, plain),
 *                  pod uid, pod ns/name, docker, inspect, audit, syslog,
 *                  expected (= the four: its own records plus its pod's
 *                  audit events, what `ctrail timeline ID` must return)
 *   gen.json       the counts
 * with --emit tsv: records.tsv (ts_ns, key, source, raw; key is the
 * container id, or the pod uid for a pod's audit events, or empty), and
 * with --emit journal: journal.export (systemd journal export format:
 * MESSAGE=raw, CONTAINER_ID, POD_UID, SOURCE), both merged in time order.
 * The same seed gives the same records whatever is emitted.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define T_START_S 1795000000LL /* 2026-11-18T11:06:40Z */
#define SEC ((int64_t)1000000000)
#define MS ((int64_t)1000000)
#define DAY_NS (86400 * SEC)

/* ---- random numbers ---- */

static uint64_t rng_state;
static uint64_t id_salt; /* from the seed: derived ids do not depend on rng_state */

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rng(void)
{
    return mix64(rng_state += 0x9e3779b97f4a7c15ULL);
}

static uint64_t rng_below(uint64_t n)
{
    return n ? rng() % n : 0;
}

static double rng_unit(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0;
}

static double rng_normal(void)
{
    double u = rng_unit() + 1e-12, v = rng_unit();

    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static int64_t rng_range(int64_t lo, int64_t hi) /* [lo, hi) */
{
    return hi > lo ? lo + (int64_t)rng_below((uint64_t)(hi - lo)) : lo;
}

/* Ids derived from (a, b): the same every time they are asked for. */
static void hex_of(char *out, size_t n, uint64_t a, uint64_t b)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t s = mix64(a * 0x9e3779b97f4a7c15ULL ^ mix64(b + 0x632be59bd9b4e019ULL) ^ id_salt);

    for (size_t i = 0; i < n; i += 16) {
        uint64_t z = mix64(s += 0x9e3779b97f4a7c15ULL);

        for (size_t j = 0; j < 16 && i + j < n; j++, z >>= 4)
            out[i + j] = hex[z & 15];
    }
    out[n] = '\0';
}

static void fresh_hex(char *out, size_t n)
{
    hex_of(out, n, rng(), rng());
}

static void uuid_of(char *out, uint64_t a, uint64_t b)
{
    hex_of(out, 36, a, b);
    out[8] = out[13] = out[18] = out[23] = '-';
    out[14] = '4';
    out[19] = "89ab"[(unsigned char)out[20] & 3];
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);

    if (p == NULL) {
        fprintf(stderr, "ctrail-gen-prod: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- a growing string ---- */

typedef struct buf {
    char *p;
    size_t n, cap;
} buf;

static void b_reserve(buf *b, size_t more)
{
    if (b->n + more + 1 > b->cap) {
        b->cap = (b->n + more + 1) * 2;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL) {
            fprintf(stderr, "ctrail-gen-prod: out of memory\n");
            exit(1);
        }
    }
}

static void b_put(buf *b, const char *s, size_t len)
{
    b_reserve(b, len);
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void b_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void b_printf(buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    b_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

/* ---- times ---- */

static const char *rfc3339(int64_t ns, int digits, char *out, size_t len)
{
    time_t sec = (time_t)(ns / SEC);
    long frac = (long)(ns % SEC);
    struct tm tm;
    int n;

    gmtime_r(&sec, &tm);
    n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (digits == 9)
        snprintf(out + n, len - (size_t)n, ".%09ldZ", frac);
    else if (digits == 6)
        snprintf(out + n, len - (size_t)n, ".%06ldZ", frac / 1000);
    else
        snprintf(out + n, len - (size_t)n, "Z");
    return out;
}

/* ---- the cluster ---- */

typedef struct deploy {
    char name[40], ns[24], image[160], digest[72], image_id[72], cname[2][24], probe[96];
    char rs_hash[2][12];  /* two ReplicaSets: a rollout during the day */
    int ncont;           /* app containers per pod: 1 or 2 */
    int port;
    unsigned hash[2];    /* annotation.io.kubernetes.container.hash */
} deploy;

typedef struct pod {
    char uid[37], name[64];
    uint32_t deploy, node;
    uint32_t sandbox, app[2];
    int napp;
    int ended;
    int64_t t0, t_del;
    uint32_t audit;      /* audit records about this pod */
    double weight;
    char ip[16];
} pod;

enum { C_SANDBOX, C_APP, C_PLAIN };

typedef struct cont {
    char id[65];
    uint8_t kind, ended, removed, exit_code;
    int32_t pod;         /* -1 for plain containers */
    uint32_t node, deploy, slot, pid;
    int64_t t_create, t_start, t_die, t_destroy;
    uint32_t n_docker, n_inspect, n_syslog, n_exec, n_reinspect;
    double weight;
} cont;

/* plain Docker containers: a handful of compose projects */
static const char *const plain_images[][3] = {
    {"postgres:15.4", "postgres", "docker-entrypoint.sh postgres"},
    {"redis:7.2-alpine", "redis", "docker-entrypoint.sh redis-server"},
    {"nginx:1.25.2", "proxy", "/docker-entrypoint.sh nginx -g 'daemon off;'"},
    {"grafana/grafana:10.1.2", "grafana", "/run.sh"},
    {"prom/node-exporter:v1.6.1", "node-exporter", "/bin/node_exporter --path.rootfs=/host"},
    {"registry:2.8.2", "registry", "/entrypoint.sh /etc/docker/registry/config.yml"},
    {"jenkins/inbound-agent:3148.v532a_7e715ee3-1", "ci-agent", "/usr/local/bin/jenkins-agent"},
    {"minio/minio:RELEASE.2023-09-30T07-02-29Z", "minio", "/usr/bin/docker-entrypoint.sh server /data"},
};

static const char *const namespaces[] = {
    "default", "payments", "checkout", "catalog", "search", "identity", "billing", "orders",
    "shipping", "notifications", "analytics", "ml-serving", "batch", "monitoring", "logging",
    "ingress-nginx", "cert-manager", "kube-system", "istio-system", "data", "reporting", "web",
    "mobile-api", "partners",
};

static const char *const words[] = {
    "api", "web", "worker", "gateway", "cart", "auth", "profile", "ledger", "invoice", "mailer",
    "indexer", "ranker", "feed", "session", "quota", "pricing", "stock", "router", "export",
    "import", "thumbnail", "scheduler", "audit", "webhook", "sync", "cache", "queue", "stream",
    "notifier", "backend", "frontend", "reports",
};

static const char *const sidecars[] = {"istio-proxy", "fluent-bit", "envoy", "oauth2-proxy"};


typedef struct gen {
    uint64_t n_records;
    int64_t t0, t_end;
    uint32_t n_nodes, n_pods, n_conts, n_deploys;
    deploy *deploys;
    pod *pods;
    cont *conts;
    char node_ip[1024][24];
    char boot_id[33];
    json_t *inspect_tmpl;
    uint64_t want_docker, want_inspect, want_audit_pod, want_audit_noise, want_syslog;
} gen;

static gen G;

static void node_name(uint32_t n, char *out, size_t len)
{
    snprintf(out, len, "ip-10-%u-%u-%u.eu-west-1.compute.internal", 20 + n / 4096,
             (n / 64) % 64 + 16, 10 + n % 64 * 3);
}

/* ---- plan: who exists, for how long ---- */

static int64_t log_uniform(int64_t lo, int64_t hi)
{
    return (int64_t)exp(log((double)lo) + rng_unit() * (log((double)hi) - log((double)lo)));
}

static void plan_cluster(double scale)
{
    uint32_t n_pods = (uint32_t)llround(7800 * scale), n_app = (uint32_t)llround(10800 * scale);
    uint32_t n_plain = (uint32_t)llround(1400 * scale), two = n_app > n_pods ? n_app - n_pods : 0;
    uint32_t c = 0;

    if (n_pods < 1)
        n_pods = 1;
    G.n_nodes = (uint32_t)llround(44 * scale);
    if (G.n_nodes < 1)
        G.n_nodes = 1;
    if (G.n_nodes > 1024)
        G.n_nodes = 1024;
    G.n_deploys = (uint32_t)llround(260 * sqrt(scale));
    if (G.n_deploys < 4)
        G.n_deploys = 4;
    G.n_pods = n_pods;
    G.n_conts = n_pods + (n_pods + two) + n_plain;
    G.deploys = xcalloc(G.n_deploys, sizeof(deploy));
    G.pods = xcalloc(n_pods, sizeof(pod));
    G.conts = xcalloc(G.n_conts, sizeof(cont));
    fresh_hex(G.boot_id, 32);
    for (uint32_t n = 0; n < G.n_nodes; n++)
        snprintf(G.node_ip[n], sizeof(G.node_ip[n]), "10.%u.%u.%u", 20 + n / 4096,
                 (n / 64) % 64 + 16, 10 + n % 64 * 3);

    /* deployments: the share of pods with two app containers is two / n_pods */
    for (uint32_t d = 0; d < G.n_deploys; d++) {
        deploy *dp = &G.deploys[d];
        const char *w1 = words[rng_below(sizeof(words) / sizeof(words[0]))];
        const char *w2 = words[rng_below(sizeof(words) / sizeof(words[0]))];

        snprintf(dp->ns, sizeof(dp->ns), "%s", namespaces[rng_below(sizeof(namespaces) / sizeof(namespaces[0]))]);
        snprintf(dp->name, sizeof(dp->name), "%s-%s%s", w1, w2, d % 7 == 0 ? "-v2" : "");
        snprintf(dp->cname[0], sizeof(dp->cname[0]), "%s", w1);
        snprintf(dp->cname[1], sizeof(dp->cname[1]), "%s", sidecars[rng_below(4)]);
        snprintf(dp->image, sizeof(dp->image), "registry.example.com/%s/%s", dp->ns, w1);
        fresh_hex(dp->digest, 64);
        fresh_hex(dp->image_id, 64);
        fresh_hex(dp->rs_hash[0], 10);
        fresh_hex(dp->rs_hash[1], 10);
        for (int i = 0; i < 10; i++) { /* pod-template-hash alphabet */
            dp->rs_hash[0][i] = "bcdfghjklmnpqrstvwxz2456789"[(unsigned char)dp->rs_hash[0][i] % 27];
            dp->rs_hash[1][i] = "bcdfghjklmnpqrstvwxz2456789"[(unsigned char)dp->rs_hash[1][i] % 27];
        }
        dp->rs_hash[0][rng_below(5) + 5] = '\0';
        dp->rs_hash[1][rng_below(5) + 5] = '\0';
        dp->port = 8000 + (int)rng_below(2000);
        switch (rng_below(4)) {
        case 0: snprintf(dp->probe, sizeof(dp->probe), "/bin/sh -c curl -fsS http://127.0.0.1:%d/healthz", dp->port); break;
        case 1: snprintf(dp->probe, sizeof(dp->probe), "/bin/grpc_health_probe -addr=:%d", dp->port); break;
        case 2: snprintf(dp->probe, sizeof(dp->probe), "/bin/sh -c wget -q -O /dev/null http://localhost:%d/ready", dp->port); break;
        default: snprintf(dp->probe, sizeof(dp->probe), "/usr/local/bin/healthcheck --port %d --timeout 2s", dp->port); break;
        }
        dp->hash[0] = (unsigned)rng();
        dp->hash[1] = (unsigned)rng();
        dp->ncont = 1;
    }

    for (uint32_t p = 0; p < n_pods; p++) {
        pod *pd = &G.pods[p];
        deploy *dp;
        int64_t life;
        char sfx[6];

        pd->deploy = (uint32_t)rng_below(G.n_deploys);
        dp = &G.deploys[pd->deploy];
        pd->napp = (uint64_t)p * two / n_pods != (uint64_t)(p + 1) * two / n_pods ? 2 : 1;
        pd->node = (uint32_t)rng_below(G.n_nodes);
        pd->t0 = G.t0 + rng_range(0, DAY_NS - 120 * SEC);
        life = log_uniform(90 * SEC, 40LL * 3600 * SEC);
        pd->t_del = pd->t0 + life;
        pd->ended = pd->t_del + 150 * SEC < G.t_end;
        for (int i = 0; i < 5; i++)
            sfx[i] = "bcdfghjklmnpqrstvwxz2456789"[rng_below(27)];
        sfx[5] = '\0';
        /* p in base 27 after the random part keeps names unique at any N */
        snprintf(pd->name, sizeof(pd->name), "%s-%s-%s%c%c%c", dp->name,
                 dp->rs_hash[pd->t0 > G.t0 + DAY_NS / 2], sfx, "bcdfghjklmnpqrstvwxz2456789"[p % 27],
                 "bcdfghjklmnpqrstvwxz2456789"[p / 27 % 27], "bcdfghjklmnpqrstvwxz2456789"[p / 729 % 27]);
        uuid_of(pd->uid, rng(), p);
        snprintf(pd->ip, sizeof(pd->ip), "10.244.%u.%u", (unsigned)rng_below(250), 2 + (unsigned)rng_below(250));

        /* the pause container, then the app containers once the image is there */
        cont *sb = &G.conts[c];
        pd->sandbox = c++;
        sb->kind = C_SANDBOX;
        sb->pod = (int32_t)p;
        sb->node = pd->node;
        sb->deploy = pd->deploy;
        sb->t_create = pd->t0 + rng_range(400 * MS, 2500 * MS);
        sb->t_start = sb->t_create + rng_range(150 * MS, 600 * MS);
        for (int a = 0; a < pd->napp; a++) {
            cont *ap = &G.conts[c];

            pd->app[a] = c++;
            ap->kind = C_APP;
            ap->pod = (int32_t)p;
            ap->node = pd->node;
            ap->deploy = pd->deploy;
            ap->slot = (uint32_t)a;
            ap->t_create = sb->t_start + rng_range(300 * MS, 8 * SEC) + a * rng_range(50 * MS, 400 * MS);
            ap->t_start = ap->t_create + rng_range(80 * MS, 500 * MS);
        }
        if (pd->ended) {
            int64_t grace = rng_below(3) == 0 ? rng_range(SEC, 30 * SEC) : rng_range(100 * MS, 3 * SEC);

            for (int a = 0; a < pd->napp; a++) {
                cont *ap = &G.conts[pd->app[a]];

                ap->ended = 1;
                ap->t_die = pd->t_del + grace + rng_range(0, 200 * MS);
                ap->exit_code = grace > 25 * SEC ? 137 : rng_below(5) == 0 ? 143 : 0;
                ap->removed = 1;
                ap->t_destroy = ap->t_die + rng_range(2 * SEC, 60 * SEC);
            }
            sb->ended = 1;
            sb->t_die = pd->t_del + grace + rng_range(300 * MS, 1500 * MS);
            sb->removed = 1;
            sb->t_destroy = sb->t_die + rng_range(2 * SEC, 70 * SEC);
        }
    }
    for (uint32_t i = 0; i < n_plain; i++) {
        cont *pc = &G.conts[c++];
        int64_t life = log_uniform(20 * SEC, 40LL * 3600 * SEC);

        pc->kind = C_PLAIN;
        pc->pod = -1;
        pc->node = (uint32_t)rng_below(G.n_nodes);
        pc->deploy = (uint32_t)rng_below(sizeof(plain_images) / sizeof(plain_images[0]));
        pc->slot = i;
        pc->t_create = G.t0 + rng_range(0, DAY_NS - 120 * SEC);
        pc->t_start = pc->t_create + rng_range(60 * MS, 400 * MS);
        if (pc->t_start + life + 80 * SEC < G.t_end) {
            pc->ended = 1;
            pc->t_die = pc->t_start + life;
            pc->exit_code = rng_below(4) == 0 ? 1 : 0;
            pc->removed = (uint8_t)rng_below(2);
            pc->t_destroy = pc->t_die + rng_range(200 * MS, 60 * SEC);
        }
    }
    G.n_conts = c;
    for (uint32_t i = 0; i < G.n_conts; i++) {
        cont *ct = &G.conts[i];
        int64_t end = ct->ended ? ct->t_die : G.t_end;
        double life_h = (double)(end - ct->t_start) / 3600e9;

        fresh_hex(ct->id, 64);
        ct->pid = 2000 + (uint32_t)rng_below(4000000);
        /* busy containers: long-lived and heavy-tailed */
        ct->weight = ct->kind == C_SANDBOX ? 0 : pow(life_h + 0.02, 0.8) * exp(1.1 * rng_normal());
    }
    for (uint32_t p = 0; p < n_pods; p++) {
        pod *pd = &G.pods[p];

        pd->weight = pow((double)((pd->ended ? pd->t_del : G.t_end) - pd->t0) / 3600e9 + 0.05, 0.5) *
                     exp(0.9 * rng_normal());
    }
}

/* ---- the records: planned as (time, what, whom), sorted, then written ---- */

enum {
    /* docker events */
    D_CREATE, D_NET_CONNECT, D_START, D_EXEC_CREATE, D_EXEC_START, D_EXEC_DIE, D_HEALTH,
    D_KILL, D_DIE, D_STOP, D_NET_DISCONNECT, D_DESTROY, D_TOP,
    /* inspect snapshots */
    I_CREATED, I_RUNNING, I_REINSPECT, I_EXITED,
    /* pod audit events (who = pod) */
    A_CREATE, A_BINDING, A_GET, A_PATCH_STATUS, A_EXEC, A_LOG, A_DELETE, A_DELETE_FINAL,
    /* cluster noise (who = node or a counter) */
    N_LEASE, N_CONFIGMAP, N_NODE_STATUS, N_ENDPOINTS, N_EVENT, N_TOKENREVIEW,
    /* syslog lines */
    S_STARTED, S_SHIM_START, S_PLEG_STARTED, S_RUNC_MOUNT, S_PROBE_KILL, S_DOCKERD_IGNORING,
    S_SHIM_DISCONNECTED, S_SCOPE_DONE, S_PLEG_DIED, S_HEALTH_WARN,
    K_MAX
};

#define IS_DOCKER(k) ((k) <= D_TOP)
#define IS_INSPECT(k) ((k) >= I_CREATED && (k) <= I_EXITED)
#define IS_AUDIT(k) ((k) >= A_CREATE && (k) <= N_TOKENREVIEW)
#define IS_POD_AUDIT(k) ((k) >= A_CREATE && (k) <= A_DELETE_FINAL)

typedef struct ev {
    int64_t ts;
    uint32_t who;
    uint16_t kind;
    uint16_t pad;
    uint32_t arg;
    uint32_t arg2;
} ev;

static ev *evs;
static size_t n_evs, cap_evs;

static void add(int64_t ts, uint32_t who, int kind, uint32_t arg)
{
    if (n_evs == cap_evs) {
        cap_evs = cap_evs ? cap_evs * 2 : 1 << 20;
        evs = realloc(evs, cap_evs * sizeof(*evs));
        if (evs == NULL) {
            fprintf(stderr, "ctrail-gen-prod: out of memory\n");
            exit(1);
        }
    }
    evs[n_evs].ts = ts;
    evs[n_evs].who = who;
    evs[n_evs].kind = (uint16_t)kind;
    evs[n_evs].pad = 0;
    evs[n_evs].arg = arg;
    evs[n_evs].arg2 = 0;
    n_evs++;
}

static int64_t live_end(const cont *c)
{
    return c->ended ? c->t_die : G.t_end;
}

/* the base lifecycle: what every container of its kind has */
static void plan_base(void)
{
    for (uint32_t i = 0; i < G.n_conts; i++) {
        cont *c = &G.conts[i];

        add(c->t_create, i, D_CREATE, 0);
        add(c->t_create + rng_range(2 * MS, 20 * MS), i, I_CREATED, 0);
        if (c->kind != C_APP)
            add(c->t_create + (c->t_start - c->t_create) / 2, i, D_NET_CONNECT, 0);
        add(c->t_start, i, D_START, 0);
        add(c->t_start + rng_range(3 * MS, 40 * MS), i, I_RUNNING, 0);
        add(c->t_start + rng_range(5 * MS, 30 * MS), i, S_STARTED, 0);
        if (c->kind != C_PLAIN)
            add(c->t_start + rng_range(200 * MS, 1500 * MS), i, S_PLEG_STARTED, 0);
        if (c->ended) {
            add(c->t_die - rng_range(1 * MS, 30 * MS), i, D_KILL, 0);
            add(c->t_die, i, D_DIE, 0);
            add(c->t_die + rng_range(2 * MS, 40 * MS), i, I_EXITED, 0);
            add(c->t_die + rng_range(1 * MS, 9 * MS), i, S_SHIM_DISCONNECTED, 0);
            add(c->t_die + rng_range(5 * MS, 30 * MS), i, S_SCOPE_DONE, 0);
            if (c->kind != C_PLAIN || c->removed)
                add(c->t_die + rng_range(20 * MS, 200 * MS), i, D_STOP, 0);
            if (c->kind != C_APP)
                add(c->t_die + rng_range(10 * MS, 90 * MS), i, D_NET_DISCONNECT, 0);
            if (c->removed)
                add(c->t_destroy, i, D_DESTROY, 0);
        }
    }
    for (uint32_t p = 0; p < G.n_pods; p++) {
        pod *pd = &G.pods[p];
        const cont *sb = &G.conts[pd->sandbox], *a0 = &G.conts[pd->app[0]];

        add(pd->t0, p, A_CREATE, 0);
        add(pd->t0 + rng_range(3 * MS, 60 * MS), p, A_BINDING, 0);
        add(pd->t0 + rng_range(100 * MS, 400 * MS), p, A_GET, 0);
        add(sb->t_start + rng_range(30 * MS, 300 * MS), p, A_PATCH_STATUS, 0); /* pending */
        add(a0->t_start + rng_range(500 * MS, 3 * SEC), p, A_PATCH_STATUS, 1); /* running */
        if (pd->ended) {
            add(pd->t_del, p, A_DELETE, 0);
            add(pd->t_del + rng_range(20 * MS, 200 * MS), p, A_GET, 0);
            add(sb->t_die + rng_range(100 * MS, 900 * MS), p, A_PATCH_STATUS, 2);
            add(sb->t_die + rng_range(1 * SEC, 2 * SEC), p, A_DELETE_FINAL, 0);
        }
    }
}

/* Cumulative weights, for weighted draws. */
typedef struct wtab {
    double *cum;
    uint32_t *idx;
    size_t n;
} wtab;

static void wtab_build(wtab *t, size_t n, double (*w)(size_t))
{
    double s = 0;

    t->cum = xcalloc(n, sizeof(double));
    t->idx = xcalloc(n, sizeof(uint32_t));
    t->n = 0;
    for (size_t i = 0; i < n; i++) {
        double x = w(i);

        if (x <= 0)
            continue;
        s += x;
        t->cum[t->n] = s;
        t->idx[t->n++] = (uint32_t)i;
    }
}

static uint32_t wtab_draw(const wtab *t)
{
    double x = rng_unit() * t->cum[t->n - 1];
    size_t lo = 0, hi = t->n - 1;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (t->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return t->idx[lo];
}

static void wtab_free(wtab *t)
{
    free(t->cum);
    free(t->idx);
}

static double w_cont(size_t i)
{
    return G.conts[i].weight;
}

static double w_cont_inspect(size_t i)
{
    return pow(G.conts[i].weight, 2.0);
}

static double w_cont_syslog(size_t i)
{
    return G.conts[i].kind == C_SANDBOX ? 0.15 : G.conts[i].weight;
}

static double w_pod(size_t i)
{
    return G.pods[i].weight;
}

static uint64_t count_kind(int (*pred)(int))
{
    uint64_t n = 0;

    for (size_t i = 0; i < n_evs; i++)
        n += (uint64_t)pred(evs[i].kind);
    return n;
}

static int is_docker(int k) { return IS_DOCKER(k); }
static int is_inspect(int k) { return IS_INSPECT(k); }
static int is_pod_audit(int k) { return IS_POD_AUDIT(k); }
static int is_syslog(int k) { return k >= S_STARTED; }

/* a uniform time in the container's running life */
static int64_t in_life(const cont *c)
{
    int64_t a = c->t_start + 2 * SEC, b = live_end(c) - 200 * MS;

    return b > a ? rng_range(a, b) : c->t_start + rng_range(SEC / 2, 2 * SEC);
}

static int plan_extra(void)
{
    uint64_t base_d = count_kind(is_docker), base_i = count_kind(is_inspect);
    uint64_t base_a = count_kind(is_pod_audit), base_s = count_kind(is_syslog);
    uint64_t x;
    wtab wt;

    if (base_d > G.want_docker || base_i > G.want_inspect || base_a > G.want_audit_pod ||
        base_s > G.want_syslog) {
        fprintf(stderr, "ctrail-gen-prod: the base lifecycle has more records than the shares allow "
                        "(docker %" PRIu64 "/%" PRIu64 ", inspect %" PRIu64 "/%" PRIu64 ", audit %" PRIu64 "/%" PRIu64
                        ", syslog %" PRIu64 "/%" PRIu64 ")\n",
                base_d, G.want_docker, base_i, G.want_inspect, base_a, G.want_audit_pod, base_s, G.want_syslog);
        return -1;
    }
    /* exec liveness probes: three events each, evenly spread in a container's life */
    x = G.want_docker - base_d;
    wtab_build(&wt, G.n_conts, w_cont);
    for (uint64_t k = 0; k < x / 3; k++)
        G.conts[wtab_draw(&wt)].n_exec++;
    for (uint64_t k = 0; k < x % 3; k++) {
        uint32_t i = wtab_draw(&wt);

        add(in_life(&G.conts[i]), i, D_TOP, 0);
    }
    for (uint32_t i = 0; i < G.n_conts; i++) {
        cont *c = &G.conts[i];
        int64_t span = live_end(c) - c->t_start - 3 * SEC;

        if (span < SEC)
            span = SEC;
        for (uint32_t e = 0; e < c->n_exec; e++) {
            int64_t t = c->t_start + 2 * SEC + (int64_t)((e + rng_unit()) * (double)span / c->n_exec);
            int64_t t2 = t + rng_range(15000, 90000), t3 = t2 + rng_range(4 * MS, 250 * MS);

            if (c->kind == C_PLAIN && e % 97 == 5) { /* a health check that took a turn */
                add(t3 + rng_range(100000, 900000), i, D_HEALTH, e);
            } else if (c->kind != C_PLAIN && e % 211 == 17) {
                add(t3 + rng_range(100 * MS, 900 * MS), i, S_PROBE_KILL, e);
            }
            add(t, i, D_EXEC_CREATE, e);
            add(t2, i, D_EXEC_START, e);
            add(t3, i, D_EXEC_DIE, e);
        }
    }
    wtab_free(&wt);
    /* docker events added beside the probes are counted; keep the total exact */
    {
        uint64_t now = count_kind(is_docker);

        while (now > G.want_docker) { /* drop the last exec_die-free extras: the tops */
            size_t j;

            for (j = n_evs; j > 0 && evs[j - 1].kind != D_HEALTH && evs[j - 1].kind != D_TOP; j--)
                ;
            if (j == 0)
                break;
            evs[j - 1] = evs[--n_evs];
            now--;
        }
        wtab_build(&wt, G.n_conts, w_cont);
        for (; now < G.want_docker; now++) {
            uint32_t i = wtab_draw(&wt);

            add(in_life(&G.conts[i]), i, D_TOP, 0);
        }
        wtab_free(&wt);
    }
    /* re-inspections: concentrated on the busiest containers */
    wtab_build(&wt, G.n_conts, w_cont_inspect);
    for (uint64_t k = 0; k < G.want_inspect - base_i; k++) {
        uint32_t i = wtab_draw(&wt);

        add(in_life(&G.conts[i]), i, I_REINSPECT, G.conts[i].n_reinspect++);
    }
    wtab_free(&wt);
    /* the pods' further audit events */
    wtab_build(&wt, G.n_pods, w_pod);
    for (uint64_t k = 0; k < G.want_audit_pod - base_a; k++) {
        uint32_t p = wtab_draw(&wt);
        const pod *pd = &G.pods[p];
        const cont *sb = &G.conts[pd->sandbox];
        int64_t a = sb->t_start + 3 * SEC, b = (pd->ended ? pd->t_del : G.t_end) - SEC;
        int64_t t = b > a ? rng_range(a, b) : a;
        uint64_t r = rng_below(100);

        if (r < 40)
            add(t, p, A_GET, 0);
        else if (r < 75)
            add(t, p, A_PATCH_STATUS, 1);
        else if (r < 88) { /* kubectl exec: the request, then its end */
            add(t, p, A_EXEC, 0);
            if (k + 1 < G.want_audit_pod - base_a) {
                add(t + rng_range(400 * MS, 90 * SEC), p, A_EXEC, 1);
                k++;
            }
        } else
            add(t, p, A_LOG, 0);
    }
    wtab_free(&wt);
    /* host log lines */
    {
        uint64_t have = count_kind(is_syslog);

        if (have > G.want_syslog) {
            fprintf(stderr, "ctrail-gen-prod: too many base syslog lines\n");
            return -1;
        }
        wtab_build(&wt, G.n_conts, w_cont_syslog);
        for (uint64_t k = 0; k < G.want_syslog - have; k++) {
            uint32_t i = wtab_draw(&wt);
            const cont *c = &G.conts[i];
            uint64_t r = rng_below(100);

            add(in_life(c), i,
                c->kind == C_PLAIN ? (r < 60 ? S_RUNC_MOUNT : r < 80 ? S_SHIM_START : S_HEALTH_WARN)
                                   : (r < 60 ? S_RUNC_MOUNT : r < 72 ? S_PLEG_STARTED : r < 86 ? S_SHIM_START
                                                                                     : S_DOCKERD_IGNORING),
                (uint32_t)k);
        }
        wtab_free(&wt);
    }
    /* cluster noise, uniform over the day */
    for (uint64_t k = 0; k < G.want_audit_noise; k++) {
        uint64_t r = rng_below(100);
        int kind = r < 45 ? N_LEASE : r < 62 ? N_CONFIGMAP : r < 77 ? N_NODE_STATUS
                 : r < 90 ? N_ENDPOINTS : r < 96 ? N_EVENT : N_TOKENREVIEW;

        add(G.t0 + rng_range(0, DAY_NS), (uint32_t)rng_below(G.n_nodes), kind, (uint32_t)k);
    }
    return 0;
}

static int ev_cmp(const void *a, const void *b)
{
    const ev *x = a, *y = b;

    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->who < y->who ? -1 : x->who > y->who;
}

/* ---- rendering ---- */

static void k8s_cname(const cont *c, char *out, size_t len)
{
    const pod *pd = &G.pods[c->pod];
    const deploy *dp = &G.deploys[pd->deploy];

    if (c->kind == C_SANDBOX)
        snprintf(out, len, "k8s_POD_%s_%s_%s_0", pd->name, dp->ns, pd->uid);
    else
        snprintf(out, len, "k8s_%s_%s_%s_%s_0", dp->cname[c->slot], pd->name, dp->ns, pd->uid);
}

static void plain_name(const cont *c, char *out, size_t len)
{
    snprintf(out, len, "%s-%s-%u", c->slot % 3 == 0 ? "ops" : c->slot % 3 == 1 ? "tools" : "edge",
             plain_images[c->deploy][1], c->slot / 8 + 1);
}

static void image_of(const cont *c, char *out, size_t len)
{
    if (c->kind == C_SANDBOX)
        snprintf(out, len, "registry.k8s.io/pause:3.6");
    else if (c->kind == C_PLAIN)
        snprintf(out, len, "%s", plain_images[c->deploy][0]);
    else {
        const deploy *dp = &G.deploys[c->deploy];

        if (c->slot == 0)
            snprintf(out, len, "%s:1.%u.%u", dp->image, c->deploy % 40, c->deploy % 13);
        else
            snprintf(out, len, "docker.io/library/%s:1.18.%u", dp->cname[1], c->deploy % 9);
    }
}

static void exec_cmd(const cont *c, char *out, size_t len)
{
    if (c->kind == C_PLAIN)
        snprintf(out, len, "/bin/sh -c %s", c->deploy == 0 ? "pg_isready -U postgres"
                                            : c->deploy == 1 ? "redis-cli ping"
                                            : "wget -q --spider http://localhost/ || exit 1");
    else if (c->slot == 1)
        snprintf(out, len, "/bin/sh -c test -S /var/run/%s.sock", G.deploys[c->deploy].cname[1]);
    else
        snprintf(out, len, "%s", G.deploys[c->deploy].probe);
}

/* Docker's Attributes of one container event, keys sorted as dockerd writes them. */
static void docker_attrs(buf *b, const cont *c, const char *exec_id, int exit_code, const char *signal,
                         const char *name, const char *image)
{
    char t[40];

    b_put(b, "{", 1);
    if (c->kind == C_APP) {
        const pod *pd = &G.pods[c->pod];
        const deploy *dp = &G.deploys[pd->deploy];

        b_printf(b, "\"annotation.io.kubernetes.container.hash\":\"%08x\",", dp->hash[c->slot]);
        b_printf(b, "\"annotation.io.kubernetes.container.restartCount\":\"0\","
                    "\"annotation.io.kubernetes.container.terminationMessagePath\":\"/dev/termination-log\","
                    "\"annotation.io.kubernetes.container.terminationMessagePolicy\":\"File\","
                    "\"annotation.io.kubernetes.pod.terminationGracePeriod\":\"30\",");
        if (exec_id != NULL)
            b_printf(b, "\"execID\":\"%s\",", exec_id);
        if (exit_code >= 0)
            b_printf(b, "\"exitCode\":\"%d\",", exit_code);
        b_printf(b, "\"image\":\"%s\",\"io.kubernetes.container.logpath\":\"/var/log/pods/%s_%s_%s/%s/0.log\","
                    "\"io.kubernetes.container.name\":\"%s\",\"io.kubernetes.docker.type\":\"container\","
                    "\"io.kubernetes.pod.name\":\"%s\",\"io.kubernetes.pod.namespace\":\"%s\","
                    "\"io.kubernetes.pod.uid\":\"%s\",\"io.kubernetes.sandbox.id\":\"%s\",",
                 image, dp->ns, pd->name, pd->uid, dp->cname[c->slot], dp->cname[c->slot], pd->name,
                 dp->ns, pd->uid, G.conts[pd->sandbox].id);
        b_printf(b, "\"name\":\"%s\",", name);
        if (c->slot == 0 && c->deploy % 16 == 0)
            b_printf(b, "\"org.opencontainers.image.created\":\"2026-10-%02uT09:14:%02uZ\","
                        "\"org.opencontainers.image.revision\":\"%.40s\","
                        "\"org.opencontainers.image.source\":\"https://git.example.com/%s/%s\","
                        "\"org.opencontainers.image.version\":\"1.%u.%u\",",
                     1 + c->deploy % 28, c->deploy % 60, dp->image_id + 3, dp->ns, dp->cname[0],
                     c->deploy % 40, c->deploy % 13);
    } else if (c->kind == C_SANDBOX) {
        const pod *pd = &G.pods[c->pod];
        const deploy *dp = &G.deploys[pd->deploy];

        b_printf(b, "\"annotation.kubernetes.io/config.seen\":\"%s\",\"annotation.kubernetes.io/config.source\":\"api\","
                    "\"app\":\"%s\",",
                 rfc3339(pd->t0 + 2 * MS, 9, t, sizeof(t)), dp->name);
        if (exit_code >= 0)
            b_printf(b, "\"exitCode\":\"%d\",", exit_code);
        b_printf(b, "\"image\":\"%s\",\"io.kubernetes.container.name\":\"POD\",\"io.kubernetes.docker.type\":\"podsandbox\","
                    "\"io.kubernetes.pod.name\":\"%s\",\"io.kubernetes.pod.namespace\":\"%s\",\"io.kubernetes.pod.uid\":\"%s\","
                    "\"name\":\"%s\",\"pod-template-hash\":\"%s\",",
                 image, pd->name, dp->ns, pd->uid, name, dp->rs_hash[pd->t0 > G.t0 + DAY_NS / 2]);
    } else {
        const char *svc = plain_images[c->deploy][1];
        const char *proj = c->slot % 3 == 0 ? "ops" : c->slot % 3 == 1 ? "tools" : "edge";

        b_printf(b, "\"com.docker.compose.config-hash\":\"%.64s\",\"com.docker.compose.container-number\":\"%u\","
                    "\"com.docker.compose.depends_on\":\"\",\"com.docker.compose.image\":\"sha256:%.64s\","
                    "\"com.docker.compose.oneoff\":\"False\",\"com.docker.compose.project\":\"%s\","
                    "\"com.docker.compose.project.config_files\":\"/srv/%s/docker-compose.yml\","
                    "\"com.docker.compose.project.working_dir\":\"/srv/%s\",\"com.docker.compose.service\":\"%s\","
                    "\"com.docker.compose.version\":\"2.21.0\",",
                 G.deploys[c->deploy % G.n_deploys].image_id, c->slot / 8 + 1,
                 G.deploys[(c->deploy + 1) % G.n_deploys].digest, proj, proj, proj, svc);
        if (exec_id != NULL)
            b_printf(b, "\"execID\":\"%s\",", exec_id);
        if (exit_code >= 0)
            b_printf(b, "\"exitCode\":\"%d\",", exit_code);
        b_printf(b, "\"image\":\"%s\",\"name\":\"%s\",", image, name);
    }
    if (signal != NULL)
        b_printf(b, "\"signal\":\"%s\",", signal);
    b->p[--b->n] = '\0'; /* the last comma */
    b_put(b, "}", 1);
}

static void render_docker(buf *b, const ev *e)
{
    const cont *c = &G.conts[e->who];
    char name[256], image[256], action[160], exec_id[65], cmd[128], net[65];
    const char *xid = NULL, *sig = NULL;
    int code = -1;

    if (c->kind == C_PLAIN)
        plain_name(c, name, sizeof(name));
    else
        k8s_cname(c, name, sizeof(name));
    image_of(c, image, sizeof(image));
    exec_cmd(c, cmd, sizeof(cmd));
    switch (e->kind) {
    case D_NET_CONNECT:
    case D_NET_DISCONNECT:
        hex_of(net, 64, 77, c->kind == C_PLAIN ? c->slot % 3 : 0);
        b_printf(b, "{\"Type\":\"network\",\"Action\":\"%s\",\"Actor\":{\"ID\":\"%s\",\"Attributes\":"
                    "{\"container\":\"%s\",\"name\":\"%s\",\"type\":\"bridge\"}},\"scope\":\"local\","
                    "\"time\":%" PRId64 ",\"timeNano\":%" PRId64 "}",
                 e->kind == D_NET_CONNECT ? "connect" : "disconnect", net, c->id,
                 c->kind == C_PLAIN ? (c->slot % 3 == 0 ? "ops_default" : c->slot % 3 == 1 ? "tools_default" : "edge_default")
                                    : "bridge",
                 e->ts / SEC, e->ts);
        return;
    case D_CREATE: snprintf(action, sizeof(action), "create"); break;
    case D_START: snprintf(action, sizeof(action), "start"); break;
    case D_EXEC_CREATE: snprintf(action, sizeof(action), "exec_create: %s", cmd); break;
    case D_EXEC_START: snprintf(action, sizeof(action), "exec_start: %s", cmd); break;
    case D_EXEC_DIE: snprintf(action, sizeof(action), "exec_die"); break;
    case D_HEALTH: snprintf(action, sizeof(action), "health_status: %s", e->arg % 2 ? "healthy" : "unhealthy"); break;
    case D_KILL: snprintf(action, sizeof(action), "kill"); break;
    case D_DIE: snprintf(action, sizeof(action), "die"); break;
    case D_STOP: snprintf(action, sizeof(action), "stop"); break;
    case D_DESTROY: snprintf(action, sizeof(action), "destroy"); break;
    default: snprintf(action, sizeof(action), "top"); break;
    }
    if (e->kind == D_EXEC_CREATE || e->kind == D_EXEC_START || e->kind == D_EXEC_DIE) {
        hex_of(exec_id, 64, e->who, 1000000ULL + e->arg);
        xid = exec_id;
    }
    if (e->kind == D_EXEC_DIE)
        code = (e->arg % 211 == 17) ? 1 : 0;
    if (e->kind == D_DIE)
        code = c->kind == C_SANDBOX ? 0 : c->exit_code;
    if (e->kind == D_KILL)
        sig = c->exit_code == 137 ? "9" : "15";
    b_printf(b, "{\"status\":\"%s\",\"id\":\"%s\",\"from\":\"%s\",\"Type\":\"container\",\"Action\":\"%s\","
                "\"Actor\":{\"ID\":\"%s\",\"Attributes\":",
             action, c->id, image, action, c->id);
    docker_attrs(b, c, xid, code, sig, name, image);
    b_printf(b, "},\"scope\":\"local\",\"time\":%" PRId64 ",\"timeNano\":%" PRId64 "}", e->ts / SEC, e->ts);
}

/* ---- inspect snapshots, from the captured dockerd 20.10 inspect ---- */

static json_t *jstr(const char *s)
{
    return json_string(s);
}

static void render_inspect(buf *b, const ev *e)
{
    const cont *c = &G.conts[e->who];
    json_t *o = json_deep_copy(G.inspect_tmpl);
    json_t *st = json_object_get(o, "State"), *hc = json_object_get(o, "HostConfig");
    json_t *cfg = json_object_get(o, "Config"), *ns = json_object_get(o, "NetworkSettings");
    json_t *labels = json_object(), *env = json_array(), *mounts = json_array(), *binds = json_array();
    char t[48], s[512], name[256], image[256], layer[65], sbox[65], ep[65], *text;
    int running = e->kind == I_RUNNING || e->kind == I_REINSPECT, exited = e->kind == I_EXITED;
    const pod *pd = c->pod >= 0 ? &G.pods[c->pod] : NULL;
    const deploy *dp = pd != NULL ? &G.deploys[pd->deploy] : NULL;

    if (c->kind == C_PLAIN)
        plain_name(c, name, sizeof(name));
    else
        k8s_cname(c, name, sizeof(name));
    image_of(c, image, sizeof(image));
    hex_of(layer, 64, e->who, 7);
    hex_of(sbox, 64, e->who, 8);
    hex_of(ep, 64, e->who, 9);
    json_object_set_new(o, "Id", jstr(c->id));
    json_object_set_new(o, "Created", jstr(rfc3339(c->t_create - 3 * MS, 9, t, sizeof(t))));
    if (c->kind == C_SANDBOX) {
        json_object_set_new(o, "Path", jstr("/pause"));
        json_object_set_new(o, "Args", json_array());
    } else if (c->kind == C_PLAIN) {
        json_object_set_new(o, "Path", jstr("docker-entrypoint.sh"));
        json_object_set_new(o, "Args", json_pack("[s]", plain_images[c->deploy][1]));
    } else {
        json_object_set_new(o, "Path", jstr(c->slot == 0 ? "/app/server" : "/usr/local/bin/sidecar"));
        json_object_set_new(o, "Args", json_pack("[s]", "--config=/etc/app/config.yaml"));
    }
    json_object_set_new(st, "Status", jstr(running ? "running" : exited ? "exited" : "created"));
    json_object_set_new(st, "Running", json_boolean(running));
    json_object_set_new(st, "OOMKilled", json_boolean(exited && c->exit_code == 137 && c->deploy % 5 == 0));
    json_object_set_new(st, "Pid", json_integer(running ? c->pid : 0));
    json_object_set_new(st, "ExitCode", json_integer(exited ? c->exit_code : 0));
    json_object_set_new(st, "StartedAt", jstr(e->kind == I_CREATED ? "0001-01-01T00:00:00Z"
                                              : rfc3339(c->t_start - 2 * MS, 9, t, sizeof(t))));
    json_object_set_new(st, "FinishedAt", jstr(exited ? rfc3339(c->t_die - MS, 9, t, sizeof(t))
                                               : "0001-01-01T00:00:00Z"));
    if (c->kind == C_PLAIN && running) {
        json_t *log = json_object_get(json_object_get(st, "Health"), "Log"), *v;
        size_t i;
        int64_t at = e->ts - 3 * SEC * 30;

        json_object_set_new(json_object_get(st, "Health"), "Status", jstr("healthy"));
        json_array_foreach(log, i, v) {
            json_object_set_new(v, "Start", jstr(rfc3339(at + (int64_t)i * 30 * SEC, 9, t, sizeof(t))));
            json_object_set_new(v, "End", jstr(rfc3339(at + (int64_t)i * 30 * SEC + 40 * MS + (int64_t)rng_below(9 * MS), 9, t, sizeof(t))));
        }
    } else
        json_object_del(st, "Health");
    if (c->kind == C_PLAIN)
        snprintf(s, sizeof(s), "sha256:%s", G.deploys[c->deploy % G.n_deploys].image_id);
    else if (c->kind == C_SANDBOX)
        snprintf(s, sizeof(s), "sha256:6270bb605e12e581514ada5fd5b3216f727db55dc87d5889c790e4c760683fee");
    else
        snprintf(s, sizeof(s), "sha256:%s", dp->image_id);
    json_object_set_new(o, "Image", jstr(s));
#define PATHF(key, fmt) (snprintf(s, sizeof(s), fmt, c->id, c->id), json_object_set_new(o, key, jstr(s)))
    PATHF("ResolvConfPath", c->kind == C_APP ? "/var/lib/docker/containers/%.0s" : "/var/lib/docker/containers/%s/resolv.conf%.0s");
    if (c->kind == C_APP) {
        snprintf(s, sizeof(s), "/var/lib/docker/containers/%s/resolv.conf", G.conts[pd->sandbox].id);
        json_object_set_new(o, "ResolvConfPath", jstr(s));
    }
    PATHF("HostnamePath", "/var/lib/docker/containers/%s/hostname%.0s");
    PATHF("HostsPath", "/var/lib/docker/containers/%s/hosts%.0s");
    PATHF("LogPath", "/var/lib/docker/containers/%s/%s-json.log");
#undef PATHF
    snprintf(s, sizeof(s), "/%s", name);
    json_object_set_new(o, "Name", jstr(s));
    if (e->kind == I_REINSPECT && c->kind != C_SANDBOX) {
        char x[65];

        hex_of(x, 64, e->who, 1000000ULL + e->arg * 7 + 3);
        json_object_set_new(o, "ExecIDs", json_pack("[s]", x));
    }
    /* Kubernetes' bind mounts and environment */
    if (pd != NULL && c->kind == C_APP) {
        const char *vol[][2] = {{"kube-api-access", "/var/run/secrets/kubernetes.io/serviceaccount"},
                                {"config", "/etc/app"}};

        snprintf(s, sizeof(s), "/var/lib/kubelet/pods/%s/volumes/kubernetes.io~projected/%s-%.5s:%s:ro",
                 pd->uid, vol[0][0], pd->name + strlen(pd->name) - 5, vol[0][1]);
        json_array_append_new(binds, jstr(s));
        if (c->slot == 0 && c->deploy % 4 == 0) {
            snprintf(s, sizeof(s), "/var/lib/kubelet/pods/%s/volumes/kubernetes.io~configmap/%s:%s:ro", pd->uid,
                     vol[1][0], vol[1][1]);
            json_array_append_new(binds, jstr(s));
        }
        snprintf(s, sizeof(s), "/var/lib/kubelet/pods/%s/etc-hosts:/etc/hosts", pd->uid);
        json_array_append_new(binds, jstr(s));
        for (size_t i = 0; i < json_array_size(binds); i++) {
            const char *bs = json_string_value(json_array_get(binds, i));
            const char *c1 = strchr(bs, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            char src[300], dst[200];

            snprintf(src, sizeof(src), "%.*s", (int)(c1 - bs), bs);
            snprintf(dst, sizeof(dst), "%.*s", (int)(c2 ? c2 - c1 - 1 : (long)strlen(c1 + 1)), c1 + 1);
            json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", src,
                                                    "Destination", dst, "Mode", c2 ? "ro" : "",
                                                    "RW", c2 == NULL, "Propagation", "rprivate"));
        }
        json_array_append_new(env, jstr("KUBERNETES_SERVICE_HOST=172.20.0.1"));
        json_array_append_new(env, jstr("KUBERNETES_SERVICE_PORT=443"));
        snprintf(s, sizeof(s), "POD_NAME=%s", pd->name);
        json_array_append_new(env, jstr(s));
        snprintf(s, sizeof(s), "POD_NAMESPACE=%s", dp->ns);
        json_array_append_new(env, jstr(s));
        snprintf(s, sizeof(s), "LOG_LEVEL=%s", c->deploy % 4 ? "info" : "debug");
        json_array_append_new(env, jstr(s));
        json_array_append_new(env, jstr("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    } else if (c->kind == C_PLAIN) {
        json_array_append_new(env, jstr("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
        json_array_append_new(env, jstr("TZ=UTC"));
        snprintf(s, sizeof(s), "/srv/%s/data/%s:/data:rw", c->slot % 3 == 0 ? "ops" : "tools", plain_images[c->deploy][1]);
        json_array_append_new(binds, jstr(s));
        json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:s,s:b,s:s}", "Type", "bind", "Source", s,
                                                "Destination", "/data", "Mode", "rw", "RW", 1, "Propagation", "rprivate"));
    } else
        json_array_append_new(env, jstr("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    json_object_set_new(hc, "Binds", json_array_size(binds) ? binds : (json_decref(binds), json_null()));
    if (c->kind == C_APP) {
        snprintf(s, sizeof(s), "container:%s", G.conts[pd->sandbox].id);
        json_object_set_new(hc, "NetworkMode", jstr(s));
        json_object_set_new(hc, "IpcMode", jstr(s));
        json_object_set_new(hc, "PidMode", jstr(""));
        json_object_set_new(hc, "SecurityOpt", json_pack("[s,s]", "seccomp=unconfined", "apparmor=unconfined"));
        json_object_set_new(hc, "OomScoreAdj", json_integer(c->deploy % 3 ? 969 : -997));
        json_object_set_new(hc, "CpuShares", json_integer(2 + (int)(c->deploy % 8) * 128));
        json_object_set_new(hc, "Memory", json_integer((int64_t)(1 + c->deploy % 8) * 268435456));
        json_object_set_new(hc, "CpuQuota", json_integer((int64_t)(1 + c->deploy % 4) * 25000));
        json_object_set_new(hc, "CpuPeriod", json_integer(100000));
    }
    if (pd != NULL) {
        snprintf(s, sizeof(s), "kubepods-%s-pod%s.slice", c->deploy % 3 ? "burstable" : "besteffort", pd->uid);
        for (char *q = s; *q; q++)
            if (*q == '-' && q > s + 20)
                *q = '_';
        json_object_set_new(hc, "CgroupParent", jstr(s));
        json_object_set_new(hc, "RestartPolicy", json_pack("{s:s,s:i}", "Name", "no", "MaximumRetryCount", 0));
    } else
        json_object_set_new(hc, "RestartPolicy", json_pack("{s:s,s:i}", "Name", "unless-stopped", "MaximumRetryCount", 0));
    {
        json_t *gd = json_object_get(json_object_get(o, "GraphDriver"), "Data");
        char lower[65];

        hex_of(lower, 64, c->deploy, c->kind == C_SANDBOX ? 5 : 6);
        snprintf(s, sizeof(s), "/var/lib/docker/overlay2/%s-init/diff:/var/lib/docker/overlay2/%s/diff", layer, lower);
        json_object_set_new(gd, "LowerDir", jstr(s));
        snprintf(s, sizeof(s), "/var/lib/docker/overlay2/%s/merged", layer);
        json_object_set_new(gd, "MergedDir", jstr(s));
        snprintf(s, sizeof(s), "/var/lib/docker/overlay2/%s/diff", layer);
        json_object_set_new(gd, "UpperDir", jstr(s));
        snprintf(s, sizeof(s), "/var/lib/docker/overlay2/%s/work", layer);
        json_object_set_new(gd, "WorkDir", jstr(s));
    }
    json_object_set_new(o, "Mounts", mounts);
    memcpy(s, c->id, 12);
    s[12] = '\0';
    json_object_set_new(cfg, "Hostname", jstr(pd != NULL ? pd->name : s));
    json_object_set_new(cfg, "Env", env);
    if (c->kind == C_SANDBOX)
        json_object_set_new(cfg, "Cmd", json_null());
    json_object_set_new(cfg, "Image", jstr(image));
    if (c->kind != C_PLAIN)
        json_object_del(cfg, "Healthcheck");
    /* the labels, as the event attributes carry them */
    {
        buf lb = {0};
        json_t *lo;
        const char *k;
        json_t *v;

        docker_attrs(&lb, c, NULL, -1, NULL, name, image);
        lo = json_loads(lb.p, 0, NULL);
        json_object_foreach(lo, k, v)
            if (strcmp(k, "name") != 0 && strcmp(k, "image") != 0)
                json_object_set(labels, k, v);
        json_decref(lo);
        free(lb.p);
    }
    json_object_set_new(cfg, "Labels", labels);
    if (c->kind == C_APP) {
        json_object_set_new(cfg, "StopSignal", jstr("SIGTERM"));
        json_object_set_new(ns, "SandboxID", jstr(""));
        json_object_set_new(ns, "SandboxKey", jstr(""));
        json_object_set_new(ns, "Networks", json_object());
    } else {
        json_t *nets = json_object_get(ns, "Networks"), *none = json_object_get(nets, "none");
        char key[64], net[65];

        json_object_set_new(ns, "SandboxID", jstr(sbox));
        snprintf(s, sizeof(s), "/var/run/docker/netns/%.12s", sbox);
        json_object_set_new(ns, "SandboxKey", jstr(running ? s : ""));
        hex_of(net, 64, 77, c->kind == C_PLAIN ? c->slot % 3 : 0);
        json_object_set_new(none, "NetworkID", jstr(net));
        json_object_set_new(none, "EndpointID", jstr(running ? ep : ""));
        if (running) {
            snprintf(s, sizeof(s), "%s", pd != NULL ? pd->ip : "172.18.0.5");
            json_object_set_new(none, "IPAddress", jstr(s));
            json_object_set_new(none, "IPPrefixLen", json_integer(pd != NULL ? 24 : 16));
            json_object_set_new(none, "Gateway", jstr(pd != NULL ? "10.244.0.1" : "172.18.0.1"));
            snprintf(s, sizeof(s), "02:42:%02x:%02x:%02x:%02x", (unsigned)(mix64(e->who) & 255),
                     (unsigned)(mix64(e->who) >> 8 & 255), (unsigned)(mix64(e->who) >> 16 & 255),
                     (unsigned)(mix64(e->who) >> 24 & 255));
            json_object_set_new(none, "MacAddress", jstr(s));
        }
        snprintf(key, sizeof(key), "%s", pd != NULL ? "bridge" : c->slot % 3 == 0 ? "ops_default" : "tools_default");
        json_object_set(nets, key, none);
        if (strcmp(key, "none") != 0)
            json_object_del(nets, "none");
    }
    text = json_dumps(o, JSON_COMPACT);
    b_put(b, text, strlen(text));
    free(text);
    json_decref(o);
}

/* ---- audit events ---- */

static void audit_head(buf *b, const char *level, uint64_t a, uint64_t bb, const char *stage,
                       const char *uri, const char *verb)
{
    char id[37];

    uuid_of(id, a, bb);
    b_printf(b, "{\"kind\":\"Event\",\"apiVersion\":\"audit.k8s.io/v1\",\"level\":\"%s\",\"auditID\":\"%s\","
                "\"stage\":\"%s\",\"requestURI\":\"%s\",\"verb\":\"%s\",",
             level, id, stage, uri, verb);
}

static void audit_user(buf *b, const char *user, const char *groups, const char *ip, const char *agent)
{
    b_printf(b, "\"user\":{\"username\":\"%s\",\"groups\":[%s]},\"sourceIPs\":[\"%s\"],\"userAgent\":\"%s\",",
             user, groups, ip, agent);
}

static void audit_tail(buf *b, int code, int64_t ts, const char *reason)
{
    char t1[48], t2[48];
    int64_t recv = ts - 300000 - (int64_t)((mix64((uint64_t)ts) >> 40) % 4000000);

    b_printf(b, "\"responseStatus\":{\"metadata\":{},\"code\":%d},\"requestReceivedTimestamp\":\"%s\","
                "\"stageTimestamp\":\"%s\",\"annotations\":{\"authorization.k8s.io/decision\":\"allow\","
                "\"authorization.k8s.io/reason\":\"%s\"}}",
             code, rfc3339(recv, 6, t1, sizeof(t1)), rfc3339(ts, 6, t2, sizeof(t2)), reason);
}

#define KUBELET_AGENT "kubelet/v1.27.7 (linux/amd64) kubernetes/07a61d8"
#define NODE_GROUPS "\"system:nodes\",\"system:authenticated\""
#define RBAC_REASON(x) "RBAC: allowed by ClusterRoleBinding \\\"" x "\\\" of ClusterRole \\\"" x "\\\" to Group \\\"system:masters\\\""

static void container_statuses(buf *b, const pod *pd, int phase, int64_t ts)
{
    const deploy *dp = &G.deploys[pd->deploy];
    char t[48], image[256];

    b_put(b, "\"containerStatuses\":[", 21);
    for (int a = 0; a < pd->napp; a++) {
        const cont *c = &G.conts[pd->app[a]];

        image_of(c, image, sizeof(image));
        if (a)
            b_put(b, ",", 1);
        b_printf(b, "{\"containerID\":\"docker://%s\",\"image\":\"%s\",\"imageID\":\"docker-pullable://%s@sha256:%s\","
                    "\"lastState\":{},\"name\":\"%s\",\"ready\":%s,\"restartCount\":0,\"started\":%s,\"state\":",
                 c->id, image, dp->image, dp->digest, dp->cname[a], phase == 1 ? "true" : "false",
                 phase == 1 ? "true" : "false");
        if (phase == 2)
            b_printf(b, "{\"terminated\":{\"containerID\":\"docker://%s\",\"exitCode\":%d,\"finishedAt\":\"%s\","
                        "\"reason\":\"%s\",\"startedAt\":\"%s\"}}}",
                     c->id, c->exit_code, rfc3339(c->t_die / SEC * SEC, 0, t, sizeof(t)),
                     c->exit_code ? "Error" : "Completed", rfc3339(c->t_start / SEC * SEC, 0, image, sizeof(image)));
        else
            b_printf(b, "{\"running\":{\"startedAt\":\"%s\"}}}", rfc3339(c->t_start / SEC * SEC, 0, t, sizeof(t)));
    }
    b_put(b, "]", 1);
    (void)ts;
}

static void render_pod_audit(buf *b, const ev *e, uint64_t seq)
{
    const pod *pd = &G.pods[e->who];
    const deploy *dp = &G.deploys[pd->deploy];
    char uri[512], node[96], t[48], ip[24];

    node_name(pd->node, node, sizeof(node));
    snprintf(ip, sizeof(ip), "%s", G.node_ip[pd->node]);
    switch (e->kind) {
    case A_CREATE:
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/pods", dp->ns);
        audit_head(b, "RequestResponse", seq, 1, "ResponseComplete", uri, "create");
        audit_user(b, "system:serviceaccount:kube-system:replicaset-controller",
                   "\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"",
                   "10.0.1.10", "kube-controller-manager/v1.27.7 (linux/amd64) kubernetes/07a61d8/system:serviceaccount:kube-system:replicaset-controller");
        b_printf(b, "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"%s\",\"apiVersion\":\"v1\"},", dp->ns);
        b_printf(b, "\"responseObject\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"%s\","
                    "\"generateName\":\"%.*s\",\"namespace\":\"%s\",\"uid\":\"%s\",\"resourceVersion\":\"%" PRIu64 "\","
                    "\"creationTimestamp\":\"%s\",\"labels\":{\"app\":\"%s\",\"pod-template-hash\":\"%s\"},"
                    "\"ownerReferences\":[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"%s-%s\","
                    "\"uid\":\"%.8s-%.4s-4%.3s-a%.3s-%.12s\",\"controller\":true,\"blockOwnerDeletion\":true}]},"
                    "\"spec\":{\"containers\":[{\"name\":\"%s\",\"image\":\"%s@sha256:%s\",\"ports\":[{\"name\":\"http\","
                    "\"containerPort\":%d,\"protocol\":\"TCP\"}],\"resources\":{\"limits\":{\"memory\":\"%dMi\"},"
                    "\"requests\":{\"cpu\":\"%dm\",\"memory\":\"%dMi\"}},\"livenessProbe\":{\"exec\":{\"command\":"
                    "[\"/bin/sh\",\"-c\",\"%s\"]},\"periodSeconds\":10}}],\"restartPolicy\":\"Always\","
                    "\"serviceAccountName\":\"%s\",\"nodeName\":\"\",\"priority\":0},\"status\":{\"phase\":\"Pending\","
                    "\"qosClass\":\"Burstable\"}},",
                 pd->name, (int)(strlen(pd->name) - 8), pd->name, dp->ns, pd->uid,
                 (uint64_t)(e->ts / 1000000) % 900000000 + 100000000, rfc3339(e->ts, 0, t, sizeof(t)), dp->name,
                 dp->rs_hash[pd->t0 > G.t0 + DAY_NS / 2], dp->name, dp->rs_hash[pd->t0 > G.t0 + DAY_NS / 2],
                 dp->image_id, dp->image_id + 8, dp->image_id + 12, dp->image_id + 15, dp->image_id + 18,
                 dp->cname[0], dp->image, dp->digest, dp->port, 256 << (pd->deploy % 4), 50 * (1 + pd->deploy % 6),
                 128 << (pd->deploy % 4), dp->probe, dp->name);
        audit_tail(b, 201, e->ts, "");
        return;
    case A_BINDING:
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/pods/%s/binding", dp->ns, pd->name);
        audit_head(b, "Metadata", seq, 2, "ResponseComplete", uri, "create");
        audit_user(b, "system:kube-scheduler", "\"system:authenticated\"", "10.0.1.10",
                   "kube-scheduler/v1.27.7 (linux/amd64) kubernetes/07a61d8/scheduler");
        b_printf(b, "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\","
                    "\"apiVersion\":\"v1\",\"subresource\":\"binding\"},",
                 dp->ns, pd->name, pd->uid);
        audit_tail(b, 201, e->ts, RBAC_REASON("system:kube-scheduler"));
        return;
    case A_GET:
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/pods/%s", dp->ns, pd->name);
        audit_head(b, "Metadata", seq, 3, "ResponseComplete", uri, "get");
        snprintf(uri, sizeof(uri), "system:node:%s", node);
        audit_user(b, uri, NODE_GROUPS, ip, KUBELET_AGENT);
        b_printf(b, "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"%s\",\"name\":\"%s\",\"apiVersion\":\"v1\"},",
                 dp->ns, pd->name);
        audit_tail(b, 200, e->ts, "");
        return;
    case A_PATCH_STATUS:
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/pods/%s/status", dp->ns, pd->name);
        audit_head(b, "Request", seq, 4, "ResponseComplete", uri, "patch");
        snprintf(uri, sizeof(uri), "system:node:%s", node);
        audit_user(b, uri, NODE_GROUPS, ip, KUBELET_AGENT);
        b_printf(b, "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"%s\",\"name\":\"%s\",\"apiVersion\":\"v1\","
                    "\"subresource\":\"status\"},\"requestObject\":{\"metadata\":{\"uid\":\"%s\"},\"status\":{"
                    "\"conditions\":[{\"lastProbeTime\":null,\"lastTransitionTime\":\"%s\",\"status\":\"%s\","
                    "\"type\":\"Ready\"}],",
                 dp->ns, pd->name, pd->uid, rfc3339(e->ts / SEC * SEC, 0, t, sizeof(t)),
                 e->arg == 1 ? "True" : "False");
        if (e->arg == 0)
            b_printf(b, "\"hostIP\":\"%s\",\"phase\":\"Pending\",\"startTime\":\"%s\"}},", ip,
                     rfc3339(pd->t0 / SEC * SEC, 0, t, sizeof(t)));
        else {
            container_statuses(b, pd, (int)e->arg, e->ts);
            b_printf(b, ",\"podIP\":\"%s\",\"podIPs\":[{\"ip\":\"%s\"}]}},", pd->ip, pd->ip);
        }
        audit_tail(b, 200, e->ts, "");
        return;
    case A_EXEC:
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/pods/%s/exec?command=%s&container=%s&stdin=true&stdout=true&tty=true",
                 dp->ns, pd->name, e->who % 3 ? "sh" : "bash", dp->cname[0]);
        audit_head(b, "Metadata", seq, 5, e->arg ? "ResponseComplete" : "ResponseStarted", uri, "create");
        snprintf(node, sizeof(node), "%s@example.com", words[(e->who + e->arg) % 32]);
        audit_user(b, node, "\"sre\",\"system:authenticated\"", "192.168.40.17",
                   "kubectl/v1.27.4 (darwin/arm64) kubernetes/fa3d799");
        b_printf(b, "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"%s\",\"name\":\"%s\",\"apiVersion\":\"v1\","
                    "\"subresource\":\"exec\"},",
                 dp->ns, pd->name);
        audit_tail(b, 101, e->ts, "RBAC: allowed by RoleBinding \\\"sre-exec\\\" of ClusterRole \\\"sre\\\" to Group \\\"sre\\\"");
        return;
    case A_LOG:
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/pods/%s/log?container=%s&tailLines=500", dp->ns, pd->name,
                 dp->cname[0]);
        audit_head(b, "Metadata", seq, 6, "ResponseComplete", uri, "get");
        audit_user(b, "system:serviceaccount:logging:log-shipper",
                   "\"system:serviceaccounts\",\"system:serviceaccounts:logging\",\"system:authenticated\"",
                   "10.244.7.31", "log-shipper/2.4.1");
        b_printf(b, "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"%s\",\"name\":\"%s\",\"apiVersion\":\"v1\","
                    "\"subresource\":\"log\"},",
                 dp->ns, pd->name);
        audit_tail(b, 200, e->ts, "RBAC: allowed by ClusterRoleBinding \\\"log-shipper\\\" of ClusterRole \\\"log-reader\\\" to ServiceAccount \\\"log-shipper/logging\\\"");
        return;
    default: /* A_DELETE, A_DELETE_FINAL */
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/pods/%s", dp->ns, pd->name);
        audit_head(b, "Metadata", seq, 7 + (e->kind == A_DELETE_FINAL), "ResponseComplete", uri, "delete");
        if (e->kind == A_DELETE)
            audit_user(b, "system:serviceaccount:kube-system:replicaset-controller",
                       "\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"",
                       "10.0.1.10", "kube-controller-manager/v1.27.7 (linux/amd64) kubernetes/07a61d8/system:serviceaccount:kube-system:replicaset-controller");
        else {
            snprintf(uri, sizeof(uri), "system:node:%s", node);
            audit_user(b, uri, NODE_GROUPS, ip, KUBELET_AGENT);
        }
        b_printf(b, "\"objectRef\":{\"resource\":\"pods\",\"namespace\":\"%s\",\"name\":\"%s\",\"uid\":\"%s\",\"apiVersion\":\"v1\"},",
                 dp->ns, pd->name, pd->uid);
        audit_tail(b, 200, e->ts, "");
        return;
    }
}

static void render_noise(buf *b, const ev *e, uint64_t seq)
{
    char node[96], uri[512], user[160], uid[37];
    uint32_t n = e->who;

    node_name(n, node, sizeof(node));
    snprintf(user, sizeof(user), "system:node:%s", node);
    switch (e->kind) {
    case N_LEASE:
        snprintf(uri, sizeof(uri), "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s?timeout=10s", node);
        audit_head(b, "Metadata", seq, 11, "ResponseComplete", uri, "update");
        audit_user(b, user, NODE_GROUPS, G.node_ip[n], KUBELET_AGENT);
        uuid_of(uid, n, 99);
        b_printf(b, "\"objectRef\":{\"resource\":\"leases\",\"namespace\":\"kube-node-lease\",\"name\":\"%s\","
                    "\"uid\":\"%s\",\"apiGroup\":\"coordination.k8s.io\",\"apiVersion\":\"v1\","
                    "\"resourceVersion\":\"%" PRIu64 "\"},",
                 node, uid, (uint64_t)(e->ts / 1000000) % 900000000 + 100000000);
        audit_tail(b, 200, e->ts, "");
        return;
    case N_CONFIGMAP: {
        static const char *const cms[] = {"kube-root-ca.crt", "coredns", "kube-proxy", "aws-auth",
                                          "cluster-autoscaler-status", "istio-ca-root-cert"};
        const char *cm = cms[e->arg % 6];
        const char *ns = e->arg % 6 == 5 ? namespaces[e->arg / 6 % 24] : "kube-system";

        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/configmaps?allowWatchBookmarks=true&fieldSelector=metadata.name%%3D%s&resourceVersion=%" PRIu64 "&timeout=7m3%us&timeoutSeconds=423&watch=true",
                 ns, cm, (uint64_t)(e->ts / 1000000) % 900000000 + 100000000, e->arg % 10);
        audit_head(b, "Metadata", seq, 12, "ResponseStarted", uri, "watch");
        audit_user(b, user, NODE_GROUPS, G.node_ip[n], KUBELET_AGENT);
        b_printf(b, "\"objectRef\":{\"resource\":\"configmaps\",\"namespace\":\"%s\",\"name\":\"%s\",\"apiVersion\":\"v1\"},",
                 ns, cm);
        audit_tail(b, 200, e->ts, "");
        return;
    }
    case N_NODE_STATUS:
        snprintf(uri, sizeof(uri), "/api/v1/nodes/%s/status?timeout=10s", node);
        audit_head(b, "Metadata", seq, 13, "ResponseComplete", uri, "patch");
        audit_user(b, user, NODE_GROUPS, G.node_ip[n], KUBELET_AGENT);
        b_printf(b, "\"objectRef\":{\"resource\":\"nodes\",\"name\":\"%s\",\"apiVersion\":\"v1\",\"subresource\":\"status\"},",
                 node);
        audit_tail(b, 200, e->ts, "");
        return;
    case N_ENDPOINTS: {
        const deploy *dp = &G.deploys[e->arg % G.n_deploys];

        snprintf(uri, sizeof(uri), "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s-%.5s", dp->ns,
                 dp->name, dp->digest);
        audit_head(b, "Metadata", seq, 14, "ResponseComplete", uri, "update");
        audit_user(b, "system:serviceaccount:kube-system:endpointslice-controller",
                   "\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"",
                   "10.0.1.10", "kube-controller-manager/v1.27.7 (linux/amd64) kubernetes/07a61d8/system:serviceaccount:kube-system:endpointslice-controller");
        b_printf(b, "\"objectRef\":{\"resource\":\"endpointslices\",\"namespace\":\"%s\",\"name\":\"%s-%.5s\","
                    "\"uid\":\"%.8s-%.4s-4%.3s-b%.3s-%.12s\",\"apiGroup\":\"discovery.k8s.io\",\"apiVersion\":\"v1\","
                    "\"resourceVersion\":\"%" PRIu64 "\"},",
                 dp->ns, dp->name, dp->digest, dp->digest + 5, dp->digest + 13, dp->digest + 17, dp->digest + 20,
                 dp->digest + 23, (uint64_t)(e->ts / 1000000) % 900000000 + 100000000);
        audit_tail(b, 200, e->ts, "RBAC: allowed by ClusterRoleBinding \\\"system:controller:endpointslice-controller\\\" of ClusterRole \\\"system:controller:endpointslice-controller\\\" to ServiceAccount \\\"endpointslice-controller/kube-system\\\"");
        return;
    }
    case N_EVENT: {
        const deploy *dp = &G.deploys[e->arg % G.n_deploys];
        char evn[40];

        hex_of(evn, 16, e->arg, 31);
        snprintf(uri, sizeof(uri), "/api/v1/namespaces/%s/events", dp->ns);
        audit_head(b, "Metadata", seq, 15, "ResponseComplete", uri, "create");
        audit_user(b, user, NODE_GROUPS, G.node_ip[n], KUBELET_AGENT);
        b_printf(b, "\"objectRef\":{\"resource\":\"events\",\"namespace\":\"%s\",\"name\":\"%s.%s\",\"apiVersion\":\"v1\"},",
                 dp->ns, dp->name, evn);
        audit_tail(b, 201, e->ts, "");
        return;
    }
    default:
        snprintf(uri, sizeof(uri), "/apis/authentication.k8s.io/v1/tokenreviews");
        audit_head(b, "Metadata", seq, 16, "ResponseComplete", uri, "create");
        audit_user(b, "system:serviceaccount:monitoring:prometheus-operator",
                   "\"system:serviceaccounts\",\"system:serviceaccounts:monitoring\",\"system:authenticated\"",
                   "10.244.3.12", "prometheus-operator/v0.68.0 (linux/amd64)");
        b_printf(b, "\"objectRef\":{\"resource\":\"tokenreviews\",\"apiGroup\":\"authentication.k8s.io\",\"apiVersion\":\"v1\"},");
        audit_tail(b, 201, e->ts, "RBAC: allowed by ClusterRoleBinding \\\"prometheus-operator\\\" of ClusterRole \\\"prometheus-operator\\\" to ServiceAccount \\\"prometheus-operator/monitoring\\\"");
        return;
    }
}

/* ---- syslog lines, rsyslog's file format ---- */

static void render_syslog(buf *b, const ev *e)
{
    const cont *c = &G.conts[e->who];
    char node[96], t[80], tz[48], rnd[16];
    time_t sec = (time_t)(e->ts / SEC);
    struct tm tm;
    const pod *pd = c->pod >= 0 ? &G.pods[c->pod] : NULL;
    const deploy *dp = pd ? &G.deploys[pd->deploy] : NULL;
    unsigned kpid = 1100 + c->node * 7, cpid = 700 + c->node * 3, dpid = 900 + c->node * 5;

    node_name(c->node, node, sizeof(node));
    gmtime_r(&sec, &tm);
    snprintf(t, sizeof(t), "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+00:00", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(e->ts % SEC / 1000));
    rfc3339(e->ts - 40000 - (int64_t)(mix64((uint64_t)e->ts) % 900000), 9, tz, sizeof(tz));
    *strchr(node, '.') = '\0'; /* rsyslog writes the short hostname */
    b_printf(b, "%s %s ", t, node);
    switch (e->kind) {
    case S_STARTED:
        b_printf(b, "systemd[1]: Started libcontainer container %s.", c->id);
        return;
    case S_SHIM_START:
        b_printf(b, "containerd[%u]: time=\"%s\" level=info msg=\"starting signal loop\" namespace=moby "
                    "path=/run/containerd/io.containerd.runtime.v2.task/moby/%s pid=%u runtime=io.containerd.runc.v2",
                 cpid, tz, c->id, c->pid - 3);
        return;
    case S_PLEG_STARTED:
    case S_PLEG_DIED:
        if (pd == NULL) {
            b_printf(b, "dockerd[%u]: time=\"%s\" level=info msg=\"Container %s is healthy\"", dpid, tz, c->id);
            return;
        }
        b_printf(b, "kubelet[%u]: I%02d%02d %02d:%02d:%02d.%06ld %7u kubelet.go:2235] \"SyncLoop (PLEG): event for pod\" "
                    "pod=\"%s/%s\" event={\"ID\":\"%s\",\"Type\":\"%s\",\"Data\":\"%s\"}",
                 kpid, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(e->ts % SEC / 1000), kpid,
                 dp->ns, pd->name, pd->uid, e->kind == S_PLEG_DIED ? "ContainerDied" : "ContainerStarted", c->id);
        return;
    case S_RUNC_MOUNT:
        hex_of(rnd, 6, e->who, e->arg);
        for (int i = 0; i < 6; i++)
            if (rnd[i] >= 'a' && (e->arg >> i & 1))
                rnd[i] = (char)(rnd[i] - 'a' + 'A');
        b_printf(b, "systemd[1]: run-docker-runtime\\x2drunc-moby-%s-runc.%s.mount: Deactivated successfully.", c->id, rnd);
        return;
    case S_PROBE_KILL:
        if (pd == NULL)
            break;
        b_printf(b, "kubelet[%u]: I%02d%02d %02d:%02d:%02d.%06ld %7u kuberuntime_container.go:742] \"Killing container with a grace period\" "
                    "pod=\"%s/%s\" podUID=%s containerName=\"%s\" containerID=\"docker://%s\" gracePeriod=30",
                 kpid, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(e->ts % SEC / 1000), kpid,
                 dp->ns, pd->name, pd->uid, dp->cname[c->slot], c->id);
        return;
    case S_DOCKERD_IGNORING:
        b_printf(b, "dockerd[%u]: time=\"%s\" level=info msg=\"ignoring event\" container=%s module=libcontainerd "
                    "namespace=moby topic=/tasks/delete type=\"*events.TaskDelete\"",
                 dpid, tz, c->id);
        return;
    case S_SHIM_DISCONNECTED:
        b_printf(b, "containerd[%u]: time=\"%s\" level=info msg=\"shim disconnected\" id=%s namespace=moby", cpid, tz, c->id);
        return;
    case S_SCOPE_DONE:
        b_printf(b, "systemd[1]: docker-%s.scope: Deactivated successfully.", c->id);
        return;
    default:
        break;
    }
    b_printf(b, "dockerd[%u]: time=\"%s\" level=warning msg=\"Health check for container %s error: "
                "timed out starting health check for container\"",
             dpid, tz, c->id);
}

/* ---- output ---- */

static FILE *open_out(const char *dir, const char *name)
{
    char path[4096];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    if (f == NULL) {
        fprintf(stderr, "ctrail-gen-prod: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    setvbuf(f, NULL, _IOFBF, 1 << 20);
    return f;
}

static void close_out(FILE *f, const char *name)
{
    if (f != NULL && (fflush(f) != 0 || ferror(f) || fclose(f) != 0)) {
        fprintf(stderr, "ctrail-gen-prod: cannot write %s\n", name);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"records", required_argument, NULL, 'n'}, {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},    {"fixtures", required_argument, NULL, 'f'},
        {"emit", required_argument, NULL, 'e'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *fixtures = getenv("CTRAIL_FIXTURES"), *out = NULL, *emit = "raw,tsv,journal";
    uint64_t seed = 42, counts[4] = {0}, bytes[4] = {0};
    FILE *f_raw[4] = {0}, *f_tsv = NULL, *f_jnl = NULL, *f_cont;
    static const char *const raw_names[4] = {"events.jsonl", "inspect.jsonl", "audit.jsonl", "syslog.log"};
    static const char *const src_names[4] = {"docker", "inspect", "k8s_audit", "syslog"};
    int c, do_raw, do_tsv, do_jnl;
    char path[4096];
    json_error_t jerr;
    buf b = {0};
    double scale;

    if (fixtures == NULL)
        fixtures = "tests/fixtures";
    while ((c = getopt_long(argc, argv, "n:o:s:f:e:h", longopts, NULL)) != -1) {
        if (c == 'n')
            G.n_records = strtoull(optarg, NULL, 10);
        else if (c == 'o')
            out = optarg;
        else if (c == 's')
            seed = strtoull(optarg, NULL, 10);
        else if (c == 'f')
            fixtures = optarg;
        else if (c == 'e')
            emit = optarg;
        else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: ctrail-gen-prod --records N --out DIR [--seed S] [--fixtures DIR] "
                    "[--emit raw,tsv,journal]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (G.n_records < 10000 || out == NULL) {
        fprintf(stderr, "ctrail-gen-prod: need --out DIR and --records N (at least 10000)\n");
        return 2;
    }
    do_raw = strstr(emit, "raw") != NULL;
    do_tsv = strstr(emit, "tsv") != NULL;
    do_jnl = strstr(emit, "journal") != NULL;
    snprintf(path, sizeof(path), "%s/docker-inspect/captured-dockerd-20.10_running-healthcheck.json", fixtures);
    G.inspect_tmpl = json_load_file(path, 0, &jerr);
    if (!json_is_object(G.inspect_tmpl)) {
        fprintf(stderr, "ctrail-gen-prod: %s: %s\n", path, jerr.text);
        return 1;
    }
    rng_state = seed * 0x2545f4914f6cdd1dULL + 1;
    id_salt = mix64(seed + 0x51ed2701);
    scale = (double)G.n_records / 1e6;
    G.t0 = T_START_S * SEC + (int64_t)rng_below(SEC);
    G.t_end = G.t0 + DAY_NS;
    G.want_docker = (uint64_t)llround(0.45 * (double)G.n_records);
    G.want_inspect = (uint64_t)llround(0.15 * (double)G.n_records);
    G.want_audit_pod = (uint64_t)llround(0.15 * (double)G.n_records);
    G.want_audit_noise = (uint64_t)llround(0.15 * (double)G.n_records);
    G.want_syslog = G.n_records - G.want_docker - G.want_inspect - G.want_audit_pod - G.want_audit_noise;
    plan_cluster(scale);
    plan_base();
    if (plan_extra() != 0)
        return 1;
    if (n_evs != G.n_records) {
        fprintf(stderr, "ctrail-gen-prod: planned %zu records, not %" PRIu64 "\n", n_evs, G.n_records);
        return 1;
    }
    qsort(evs, n_evs, sizeof(*evs), ev_cmp);
    for (size_t i = 1; i < n_evs; i++) /* every time distinct, to the nanosecond */
        if (evs[i].ts <= evs[i - 1].ts)
            evs[i].ts = evs[i - 1].ts + 1;

    /* per container and pod counts */
    for (size_t i = 0; i < n_evs; i++) {
        ev *e = &evs[i];

        if (IS_DOCKER(e->kind))
            G.conts[e->who].n_docker++;
        else if (IS_INSPECT(e->kind))
            G.conts[e->who].n_inspect++;
        else if (IS_POD_AUDIT(e->kind))
            G.pods[e->who].audit++;
        else if (e->kind >= S_STARTED)
            G.conts[e->who].n_syslog++;
    }
    f_cont = open_out(out, "containers.tsv");
    for (uint32_t i = 0; i < G.n_conts; i++) {
        const cont *ct = &G.conts[i];
        const pod *pd = ct->pod >= 0 ? &G.pods[ct->pod] : NULL;
        uint32_t au = pd ? pd->audit : 0;

        fprintf(f_cont, "%s\t%s\t%s\t%s%s%s\t%u\t%u\t%u\t%u\t%u\n", ct->id,
                ct->kind == C_SANDBOX ? "sandbox" : ct->kind == C_APP ? "app" : "plain",
                pd ? pd->uid : "-", pd ? G.deploys[pd->deploy].ns : "-", pd ? "/" : "", pd ? pd->name : "",
                ct->n_docker, ct->n_inspect, au, ct->n_syslog, ct->n_docker + ct->n_inspect + au + ct->n_syslog);
    }
    close_out(f_cont, "containers.tsv");

    if (do_raw)
        for (int s = 0; s < 4; s++)
            f_raw[s] = open_out(out, raw_names[s]);
    if (do_tsv)
        f_tsv = open_out(out, "records.tsv");
    if (do_jnl)
        f_jnl = open_out(out, "journal.export");
    for (size_t i = 0; i < n_evs; i++) {
        const ev *e = &evs[i];
        int src = IS_DOCKER(e->kind) ? 0 : IS_INSPECT(e->kind) ? 1 : IS_AUDIT(e->kind) ? 2 : 3;
        const char *key = "";

        b.n = 0;
        if (src == 0)
            render_docker(&b, e);
        else if (src == 1)
            render_inspect(&b, e);
        else if (IS_POD_AUDIT(e->kind))
            render_pod_audit(&b, e, i);
        else if (src == 2)
            render_noise(&b, e, i);
        else
            render_syslog(&b, e);
        counts[src]++;
        bytes[src] += b.n + 1;
        if (src != 2)
            key = G.conts[e->who].id;
        else if (IS_POD_AUDIT(e->kind))
            key = G.pods[e->who].uid;
        if (f_raw[src] != NULL) {
            fwrite(b.p, 1, b.n, f_raw[src]);
            fputc('\n', f_raw[src]);
        }
        if (f_tsv != NULL) /* raw has no tab and no newline: JSON escapes them, log lines have none */
            fprintf(f_tsv, "%" PRId64 "\t%s\t%s\t%s\n", e->ts, key, src_names[src], b.p);
        if (f_jnl != NULL) {
            fprintf(f_jnl, "__REALTIME_TIMESTAMP=%" PRId64 "\n__MONOTONIC_TIMESTAMP=%" PRId64 "\n_BOOT_ID=%s\nSOURCE=%s\n",
                    e->ts / 1000, (e->ts - G.t0) / 1000 + 5000000, G.boot_id, src_names[src]);
            if (src != 2)
                fprintf(f_jnl, "CONTAINER_ID=%s\n", key);
            else if (*key)
                fprintf(f_jnl, "POD_UID=%s\n", key);
            fprintf(f_jnl, "MESSAGE=%s\n\n", b.p);
        }
    }
    for (int s = 0; s < 4; s++)
        close_out(f_raw[s], raw_names[s]);
    close_out(f_tsv, "records.tsv");
    close_out(f_jnl, "journal.export");

    snprintf(path, sizeof(path), "%s/gen.json", out);
    {
        FILE *g = fopen(path, "w");
        uint32_t ns = 0, na = 0, np = 0;

        for (uint32_t i = 0; i < G.n_conts; i++) {
            ns += G.conts[i].kind == C_SANDBOX;
            na += G.conts[i].kind == C_APP;
            np += G.conts[i].kind == C_PLAIN;
        }
        if (g == NULL) {
            perror(path);
            return 1;
        }
        fprintf(g, "{\"records\":%" PRIu64 ",\"seed\":%" PRIu64 ",\"t0_ns\":%" PRId64 ",\"t_end_ns\":%" PRId64 ","
                   "\"nodes\":%u,\"pods\":%u,\"containers\":%u,\"sandboxes\":%u,\"app_containers\":%u,"
                   "\"plain_containers\":%u,\"deployments\":%u,\"audit_pod\":%" PRIu64 ",\"audit_noise\":%" PRIu64 ","
                   "\"by_source\":{\"docker\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 "},"
                   "\"inspect\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 "},"
                   "\"k8s_audit\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 "},"
                   "\"syslog\":{\"records\":%" PRIu64 ",\"bytes\":%" PRIu64 "}}}\n",
                G.n_records, seed, G.t0, G.t_end, G.n_nodes, G.n_pods, G.n_conts, ns, na, np, G.n_deploys,
                G.want_audit_pod, G.want_audit_noise, counts[0], bytes[0], counts[1], bytes[1], counts[2],
                bytes[2], counts[3], bytes[3]);
        fclose(g);
    }
    free(b.p);
    free(evs);
    free(G.deploys);
    free(G.pods);
    free(G.conts);
    json_decref(G.inspect_tmpl);
    return 0;
}
