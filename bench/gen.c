/*
 * bench/gen.c - ctrail-gen: realistic JSON lines for benchmarks.
 *
 * Replays the real captures in tests/fixtures with fresh identities and
 * times.  Each generated container follows the event sequence of one
 * captured container (docker: create, start, execs, rename, pause, kill,
 * die, restart, destroy, ...; podman: create, init, start, exec, remove),
 * gets an inspect snapshot each time it starts, and one in four (docker
 * ones) runs in a Kubernetes pod whose audit events are emitted too: the
 * pod's create, a pods/exec per exec, and one unrelated API request from
 * the audit2rbac capture (cluster noise that is in no timeline).
 *
 * Everything that differs between two real containers differs here:
 * container ids, exec ids, names (auto names are adjective_surname, pod
 * containers are k8s_<container>_<pod>_<ns>_<uid>_0), pod names and uids,
 * audit IDs, resourceVersions, PIDs, overlay layer, sandbox and endpoint
 * ids, and every time stamp (Poisson arrivals, per-container pace, jitter
 * on each gap, nanosecond times).  What a real host shares stays shared:
 * images, network ids, the shape of each engine's JSON.  So every record is
 * distinct (no de-duplication key repeats), and the data is neither more
 * compressible nor more random than a busy host's stream.
 *
 * Lifecycles overlap in time as they do on a busy host (one container
 * starts every 4 ms on average); output is strictly in time order, as an
 * engine streams it.
 *
 *   ctrail-gen --records N [--fixtures DIR] [--seed S] [--ids FILE] > out.jsonl
 *
 * --ids writes the id of every container whose first docker event was
 * written, one per line, for latency probes.
 */
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctrail/time.h"

#define MAX_SEQ 32
#define MAX_EVENTS 96
#define MAX_TOKENS 16

enum { ENGINE_DOCKER, ENGINE_PODMAN };

/* One captured container: its events in order. */
typedef struct tmpl_seq {
    char id[80];
    int engine;
    json_t *events[MAX_EVENTS]; /* owned */
    size_t n;
} tmpl_seq;

/* An inspect snapshot and the per-container strings in it. */
typedef struct tmpl_inspect {
    json_t *obj;                  /* owned */
    char id[80];                  /* container id */
    char tokens[MAX_TOKENS][80];  /* 64-hex ids of this container's layer, sandbox, ... */
    size_t n_tokens;
    char short_tokens[2][16];     /* 12-hex prefixes: container id (Hostname), sandbox */
    size_t n_short;
    int64_t started;              /* State.StartedAt of the capture */
} tmpl_inspect;

typedef struct out_rec {
    int64_t ts;
    uint64_t seq;
    char *line;     /* owned */
    char *announce; /* owned or NULL: container id to write to --ids when emitted */
} out_rec;

/* min-heap on (ts, seq): the records generated but not yet written */
static out_rec *heap;
static size_t heap_n, heap_cap;
static uint64_t push_seq;

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64: reproducible for a seed, good enough for ids */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t n)
{
    return n ? rng() % n : 0;
}

static double rng_unit(void)
{
    return (double)(rng() >> 11) / 9007199254740992.0; /* [0, 1) */
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        fprintf(stderr, "ctrail-gen: out of memory\n");
        exit(1);
    }
    return p;
}

static void fresh_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++)
        out[i] = hex[rng() & 15];
    out[n] = '\0';
}

static void fresh_uuid(char *out)
{
    fresh_hex(out, 36);
    out[8] = out[13] = out[18] = out[23] = '-';
    out[14] = '4'; /* version 4, variant 1, as Kubernetes makes them */
    out[19] = "89ab"[rng() & 3];
}

/* Kubernetes' name suffix alphabet (no vowels, no look-alikes). */
static void fresh_k8s_suffix(char *out, size_t n)
{
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";

    for (size_t i = 0; i < n; i++)
        out[i] = alpha[rng_below(sizeof(alpha) - 1)];
    out[n] = '\0';
}

/* RFC 3339 UTC with 0, 6 or 9 fractional digits. */
static char *fmt_time(int64_t ns, int digits, char *buf, size_t len)
{
    time_t sec = (time_t)(ns / 1000000000);
    long frac = (long)(ns % 1000000000);
    struct tm tm;
    int n;

    gmtime_r(&sec, &tm);
    n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (digits == 6)
        snprintf(buf + n, len - (size_t)n, ".%06ldZ", frac / 1000);
    else if (digits == 9)
        snprintf(buf + n, len - (size_t)n, ".%09ldZ", frac);
    else
        snprintf(buf + n, len - (size_t)n, "Z");
    return buf;
}

/* Replace the time in o[key], when the template has one. */
static void set_time_str(json_t *o, const char *key, int64_t ns, int digits)
{
    char buf[64];

    if (json_object_get(o, key) != NULL)
        json_object_set_new(o, key, json_string(fmt_time(ns, digits, buf, sizeof(buf))));
}

/* s with every occurrence of from replaced by to; s is freed. */
static char *subst(char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), n = 0;
    char *p, *out, *w;

    if (fl == 0)
        return s;
    for (p = strstr(s, from); p != NULL; p = strstr(p + fl, from))
        n++;
    if (n == 0)
        return s;
    out = xmalloc(strlen(s) + n * tl - n * fl + 1);
    w = out;
    for (const char *r = s; (p = strstr(r, from)) != NULL; r = p + fl) {
        memcpy(w, r, (size_t)(p - r));
        w += p - r;
        memcpy(w, to, tl);
        w += tl;
        if (strstr(p + fl, from) == NULL) {
            strcpy(w, p + fl);
            break;
        }
    }
    free(s);
    return out;
}

/* ---- output heap ---- */

static int rec_less(const out_rec *a, const out_rec *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->seq < b->seq);
}

static void push_line(int64_t ts, char *line, const char *announce)
{
    size_t i;

    if (heap_n == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 4096;
        heap = realloc(heap, heap_cap * sizeof(*heap));
        if (heap == NULL) {
            fprintf(stderr, "ctrail-gen: out of memory\n");
            exit(1);
        }
    }
    i = heap_n++;
    heap[i].ts = ts;
    heap[i].seq = push_seq++;
    heap[i].line = line;
    heap[i].announce = announce != NULL ? strdup(announce) : NULL;
    while (i > 0 && rec_less(&heap[i], &heap[(i - 1) / 2])) {
        out_rec t = heap[i];

        heap[i] = heap[(i - 1) / 2];
        heap[(i - 1) / 2] = t;
        i = (i - 1) / 2;
    }
}

static void push_json(int64_t ts, json_t *j, const char *announce)
{
    char *line = json_dumps(j, JSON_COMPACT);

    if (line == NULL) {
        fprintf(stderr, "ctrail-gen: out of memory\n");
        exit(1);
    }
    push_line(ts, line, announce);
}

static out_rec pop_min(void)
{
    out_rec top = heap[0];
    size_t i = 0;

    heap[0] = heap[--heap_n];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < heap_n && rec_less(&heap[l], &heap[m]))
            m = l;
        if (r < heap_n && rec_less(&heap[r], &heap[m]))
            m = r;
        if (m == i)
            break;
        out_rec t = heap[i];
        heap[i] = heap[m];
        heap[m] = t;
        i = m;
    }
    return top;
}

/* ---- templates ---- */

static json_t *load_json_file(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_DECODE_ANY, &e);

    if (j == NULL)
        fprintf(stderr, "ctrail-gen: %s: %s\n", path, e.text);
    if (json_is_array(j)) {
        json_t *first = json_incref(json_array_get(j, 0));

        json_decref(j);
        j = first;
    }
    return j;
}

/* Group a capture's container and network events by container, in order. */
static size_t load_sequences(const char *path, int engine, tmpl_seq *seqs, size_t n, size_t max)
{
    FILE *f = fopen(path, "r");
    char line[65536];
    size_t first = n;

    if (f == NULL) {
        perror(path);
        return n;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *ev = json_loads(line, 0, NULL);
        json_t *actor = json_object_get(ev, "Actor");
        const char *type = json_string_value(json_object_get(ev, "Type"));
        const char *id = json_string_value(json_object_get(actor, "ID"));
        size_t i;

        if (type != NULL && strcmp(type, "network") == 0)
            id = json_string_value(json_object_get(json_object_get(actor, "Attributes"), "container"));
        if (ev == NULL || id == NULL || strlen(id) != 64 || type == NULL ||
            json_integer_value(json_object_get(ev, "timeNano")) <= 0 ||
            (strcmp(type, "container") != 0 && strcmp(type, "network") != 0)) {
            json_decref(ev);
            continue;
        }
        for (i = first; i < n && strcmp(seqs[i].id, id) != 0; i++)
            ;
        if (i == n && n < max) {
            snprintf(seqs[n].id, sizeof(seqs[0].id), "%s", id);
            seqs[n++].engine = engine;
        }
        if (i < n && seqs[i].n < MAX_EVENTS)
            seqs[i].events[seqs[i].n++] = ev;
        else
            json_decref(ev);
    }
    fclose(f);
    return n;
}

static void add_token(tmpl_inspect *t, const char *s)
{
    if (s != NULL && strlen(s) == 64 && t->n_tokens < MAX_TOKENS)
        snprintf(t->tokens[t->n_tokens++], sizeof(t->tokens[0]), "%s", s);
}

/* The ids in a snapshot that belong to its container (the image's stay). */
static int load_inspect(const char *path, tmpl_inspect *t)
{
    json_t *net = json_object_get(t->obj = load_json_file(path), "NetworkSettings");
    json_t *nets = json_object_get(net, "Networks"), *v;
    const char *merged = json_string_value(
        json_object_get(json_object_get(json_object_get(t->obj, "GraphDriver"), "Data"), "MergedDir"));
    const char *sandbox = json_string_value(json_object_get(net, "SandboxID"));
    const char *key, *started;
    ct_error err = {0};
    size_t i;

    if (!json_is_object(t->obj) || json_string_value(json_object_get(t->obj, "Id")) == NULL)
        return -1;
    snprintf(t->id, sizeof(t->id), "%s", json_string_value(json_object_get(t->obj, "Id")));
    if (merged != NULL && strlen(merged) > 64 + 7 &&
        strcmp(merged + strlen(merged) - 7, "/merged") == 0) {
        char layer[65];

        memcpy(layer, merged + strlen(merged) - 7 - 64, 64);
        layer[64] = '\0';
        add_token(t, layer);
    }
    add_token(t, sandbox);
    json_object_foreach(nets, key, v)
        add_token(t, json_string_value(json_object_get(v, "EndpointID")));
    json_array_foreach(json_object_get(t->obj, "ExecIDs"), i, v)
        add_token(t, json_string_value(v));
    snprintf(t->short_tokens[t->n_short++], sizeof(t->short_tokens[0]), "%.12s", t->id);
    if (sandbox != NULL && strlen(sandbox) == 64)
        snprintf(t->short_tokens[t->n_short++], sizeof(t->short_tokens[0]), "%.12s", sandbox);
    started = json_string_value(json_object_get(json_object_get(t->obj, "State"), "StartedAt"));
    if (started == NULL || ct_time_parse_rfc3339(started, strlen(started), &t->started, &err) != CT_OK)
        return -1;
    return 0;
}

/* ---- one container ---- */

static const char *const adjectives[] = {
    "admiring", "agitated", "amazing", "angry", "awesome", "beautiful", "blissful", "bold",
    "boring", "brave", "busy", "charming", "clever", "compassionate", "competent", "condescending",
    "confident", "cool", "cranky", "crazy", "dazzling", "determined", "distracted", "dreamy",
    "eager", "ecstatic", "elastic", "elated", "elegant", "eloquent", "epic", "exciting",
    "fervent", "festive", "flamboyant", "focused", "friendly", "frosty", "funny", "gallant",
    "gifted", "goofy", "gracious", "great", "happy", "hardcore", "heuristic", "hopeful",
    "hungry", "infallible", "inspiring", "intelligent", "interesting", "jolly", "jovial", "keen",
    "kind", "laughing", "loving", "lucid", "magical", "modest", "musing", "mystifying",
    "naughty", "nervous", "nice", "nifty", "nostalgic", "objective", "optimistic", "peaceful",
    "pedantic", "pensive", "practical", "priceless", "quirky", "quizzical", "recursing", "relaxed",
    "reverent", "romantic", "sad", "serene", "sharp", "silly", "sleepy", "stoic",
    "strange", "stupefied", "suspicious", "sweet", "tender", "thirsty", "trusting", "unruffled",
    "upbeat", "vibrant", "vigilant", "vigorous", "wizardly", "wonderful", "xenodochial", "youthful",
    "zealous", "zen",
};

static const char *const surnames[] = {
    "agnesi", "albattani", "allen", "almeida", "archimedes", "ardinghelli", "aryabhata", "austin",
    "babbage", "banach", "bardeen", "bartik", "bassi", "bell", "benz", "bhabha",
    "bhaskara", "blackwell", "bohr", "booth", "borg", "bose", "boyd", "brahmagupta",
    "brattain", "brown", "burnell", "cannon", "carson", "cartwright", "cerf", "chandrasekhar",
    "chaplygin", "chatelet", "chatterjee", "chebyshev", "clarke", "colden", "cori", "cray",
    "curie", "darwin", "davinci", "dewdney", "dhawan", "diffie", "dijkstra", "dirac",
    "driscoll", "dubinsky", "easley", "edison", "einstein", "elbakyan", "elgamal", "elion",
    "ellis", "engelbart", "euclid", "euler", "faraday", "feistel", "fermat", "fermi",
    "feynman", "franklin", "gagarin", "galileo", "galois", "ganguly", "gates", "gauss",
    "germain", "goldberg", "goldstine", "goldwasser", "golick", "goodall", "gould", "greider",
    "grothendieck", "haibt", "hamilton", "haslett", "hawking", "heisenberg", "hellman", "hermann",
    "herschel", "hertz", "heyrovsky", "hodgkin", "hofstadter", "hoover", "hopper", "hugle",
    "hypatia", "jackson", "jang", "jennings", "jepsen", "johnson", "joliot", "jones",
    "kalam", "kapitsa", "kare", "keldysh", "keller", "kepler", "khayyam", "khorana",
    "kilby", "kirch", "knuth", "kowalevski", "lalande", "lamarr", "lamport", "leakey",
    "leavitt", "lederberg", "lehmann", "lewin", "lichterman", "liskov", "lovelace", "lumiere",
    "mahavira", "margulis", "matsumoto", "maxwell", "mayer", "mccarthy", "mcclintock", "mclaren",
    "mclean", "mcnulty", "meitner", "mendel", "mendeleev", "meninsky", "merkle", "mestorf",
    "mirzakhani", "montalcini", "moore", "morse", "moser", "murdock", "napier", "nash",
    "neumann", "newton", "nightingale", "nobel", "noether", "northcutt", "noyce", "panini",
    "pare", "pascal", "pasteur", "payne", "perlman", "pike", "poincare", "poitras",
    "proskuriakova", "ptolemy", "raman", "ramanujan", "rhodes", "ride", "ritchie", "robinson",
    "roentgen", "rosalind", "rubin", "saha", "sammet", "sanderson", "satoshi", "shamir",
    "shannon", "shaw", "shirley", "shockley", "shtern", "sinoussi", "snyder", "solomon",
    "spence", "stonebraker", "sutherland", "swanson", "swartz", "swirles", "taussig", "tereshkova",
    "tesla", "tharp", "thompson", "torvalds", "tu", "turing", "varahamihira", "vaughan",
    "villani", "visvesvaraya", "volhard", "wescoff", "wilbur", "wiles", "williams", "williamson",
    "wilson", "wing", "wozniak", "wright", "wu", "yalow", "yonath", "zhukovsky",
};

static const char *const namespaces[] = {"default", "jobs", "web", "batch", "monitoring", "payments"};
static const char *const deployments[] = {"web", "api", "worker", "ingest", "cache", "report",
                                          "auth", "search"};

typedef struct pod_info {
    char ns[32], rs[48], pod[64], uid[40], cname[32];
} pod_info;

typedef struct gen_state {
    tmpl_seq *seqs;
    size_t nseq;
    tmpl_inspect inspect[2];       /* by engine */
    json_t *audit_create;          /* create pods (falco trace) */
    json_t *audit_exec;            /* create pods/exec (falco trace) */
    json_t *noise[64];             /* audit2rbac requests */
    size_t nnoise;
    char rs_hash[8][16];           /* ReplicaSet hash per deployment */
    uint64_t cont;
    int64_t t0;
    int64_t pid;
    uint64_t resource_version;
} gen_state;

/* Everything main loaded or left unwritten (a clean exit under ASan). */
static void gen_free(gen_state *g)
{
    for (size_t i = 0; g->seqs != NULL && i < g->nseq; i++)
        for (size_t j = 0; j < g->seqs[i].n; j++)
            json_decref(g->seqs[i].events[j]);
    free(g->seqs);
    for (size_t e = 0; e < 2; e++)
        json_decref(g->inspect[e].obj);
    json_decref(g->audit_create);
    json_decref(g->audit_exec);
    for (size_t i = 0; i < g->nnoise; i++)
        json_decref(g->noise[i]);
    for (size_t i = 0; i < heap_n; i++) {
        free(heap[i].line);
        free(heap[i].announce);
    }
    free(heap);
    heap = NULL;
    heap_n = heap_cap = 0;
}

/* Template strings of the pod traces, replaced per pod. */
#define CREATE_POD "nginx-deployment-78f5d695bd-nxqz5"
#define CREATE_RS "nginx-deployment-78f5d695bd"
#define CREATE_UID "a2ad81ba-d85f-11e8-88b6-080027728ac4"
#define EXEC_POD "nginx-deployment-7998647bdf-phvq7"

static char *pod_namespace(char *s, const char *ns)
{
    char from[64], to[96];

    s = subst(s, "/namespaces/default/", (snprintf(to, sizeof(to), "/namespaces/%s/", ns), to));
    snprintf(from, sizeof(from), "\"namespace\":\"default\"");
    snprintf(to, sizeof(to), "\"namespace\":\"%s\"", ns);
    return subst(s, from, to);
}

static void audit_times(json_t *au, int64_t ts)
{
    /* received a little before the stage completes; the legacy fields in seconds */
    set_time_str(au, "requestReceivedTimestamp", ts - 150000 - (int64_t)rng_below(2000000), 6);
    set_time_str(au, "stageTimestamp", ts, 6);
    set_time_str(au, "timestamp", ts, 0);
    set_time_str(json_object_get(au, "metadata"), "creationTimestamp", ts, 0);
}

static void audit_id(json_t *au)
{
    char aid[37];

    fresh_uuid(aid);
    json_object_set_new(au, "auditID", json_string(aid));
}

static void emit_pod_create(gen_state *g, const pod_info *p, int64_t ts)
{
    json_t *au = json_deep_copy(g->audit_create);
    json_t *meta = json_object_get(json_object_get(au, "responseObject"), "metadata");
    char rv[32], name[96], *line;

    audit_id(au);
    audit_times(au, ts);
    set_time_str(meta, "creationTimestamp", ts, 0);
    snprintf(rv, sizeof(rv), "%" PRIu64, g->resource_version += 1 + rng_below(40));
    json_object_set_new(meta, "resourceVersion", json_string(rv));
    line = json_dumps(au, JSON_COMPACT);
    json_decref(au);
    line = subst(line, CREATE_POD, p->pod);
    line = subst(line, CREATE_RS, p->rs);
    line = subst(line, CREATE_UID, p->uid);
    snprintf(name, sizeof(name), "\"name\":\"%s\"", p->cname); /* spec.containers[0] */
    line = subst(line, "\"name\":\"nginx\"", name);
    push_line(ts, pod_namespace(line, p->ns), NULL);
}

static void emit_pod_exec(gen_state *g, const pod_info *p, int64_t ts)
{
    json_t *au = json_deep_copy(g->audit_exec);
    char to[96], *line;

    audit_id(au);
    audit_times(au, ts);
    line = json_dumps(au, JSON_COMPACT);
    json_decref(au);
    line = subst(line, EXEC_POD, p->pod);
    snprintf(to, sizeof(to), "container=%s", p->cname);
    line = subst(line, "container=nginx1", to);
    push_line(ts, pod_namespace(line, p->ns), NULL);
}

static void emit_noise(gen_state *g, int64_t ts)
{
    json_t *au = json_deep_copy(g->noise[rng_below(g->nnoise)]);

    audit_id(au);
    set_time_str(au, "timestamp", ts, 6);
    set_time_str(json_object_get(au, "metadata"), "creationTimestamp", ts, 0);
    push_json(ts, au, NULL);
    json_decref(au);
}

static void shift_time(json_t *o, const char *key, int64_t delta)
{
    const char *s = json_string_value(json_object_get(o, key));
    int64_t t;
    ct_error err = {0};

    if (s != NULL && !ct_time_is_zero_go(s) &&
        ct_time_parse_rfc3339(s, strlen(s), &t, &err) == CT_OK)
        set_time_str(o, key, t + delta, 9);
}

static void emit_inspect(gen_state *g, const tmpl_inspect *t, const char *id, const char *name,
                         const pod_info *p, int64_t created, int64_t start_ts)
{
    json_t *ins = json_deep_copy(t->obj), *state = json_object_get(ins, "State"), *v;
    json_t *cfg = json_object_get(ins, "Config"), *labels = json_object_get(cfg, "Labels");
    int64_t started = start_ts - 200000 - (int64_t)rng_below(600000); /* before the event */
    char nbuf[264], fresh[65], *line;
    size_t i;

    snprintf(nbuf, sizeof(nbuf), "/%s", name);
    json_object_set_new(ins, "Name", json_string(nbuf));
    set_time_str(ins, "Created", created, 9);
    set_time_str(state, "StartedAt", started, 9);
    json_object_set_new(state, "Pid", json_integer(g->pid += 1 + (int64_t)rng_below(300)));
    json_array_foreach(json_object_get(json_object_get(state, "Health"), "Log"), i, v) {
        shift_time(v, "Start", started - t->started);
        shift_time(v, "End", started - t->started);
    }
    if (p != NULL && json_is_object(labels)) {
        json_object_set_new(labels, "io.kubernetes.container.name", json_string(p->cname));
        json_object_set_new(labels, "io.kubernetes.pod.name", json_string(p->pod));
        json_object_set_new(labels, "io.kubernetes.pod.namespace", json_string(p->ns));
        json_object_set_new(labels, "io.kubernetes.pod.uid", json_string(p->uid));
    }
    line = json_dumps(ins, JSON_COMPACT);
    json_decref(ins);
    line = subst(line, t->id, id);
    for (i = 0; i < t->n_tokens; i++) {
        fresh_hex(fresh, 64);
        line = subst(line, t->tokens[i], fresh);
        /* the sandbox's short form (SandboxKey) goes with its long one */
        if (t->n_short > 1 && strncmp(t->tokens[i], t->short_tokens[1], 12) == 0) {
            fresh[12] = '\0';
            line = subst(line, t->short_tokens[1], fresh);
        }
    }
    snprintf(fresh, sizeof(fresh), "%.12s", id); /* Config.Hostname, HOSTNAME= */
    line = subst(line, t->short_tokens[0], fresh);
    /* the snapshot is read a moment after the start event */
    push_line(start_ts + 1000000 + (int64_t)rng_below(1000000), line, NULL);
}

/* The name this container has where the capture's had `tname`. */
static void map_name(char names[][2][256], size_t *n, const char *tname, const char *first,
                     uint64_t cont, char *out, size_t len)
{
    size_t i;

    for (i = 0; i < *n && strcmp(names[i][0], tname) != 0; i++)
        ;
    if (i == *n && *n < 8) {
        snprintf(names[i][0], sizeof(names[0][0]), "%s", tname);
        if (i == 0)
            snprintf(names[i][1], sizeof(names[0][1]), "%s", first);
        else
            snprintf(names[i][1], sizeof(names[0][1]), "%s-%" PRIu64, tname, cont);
        (*n)++;
    }
    snprintf(out, len, "%s", i < 8 ? names[i][1] : tname);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Docker's Attributes is a Go map: the engine writes its keys sorted. */
static void sort_keys(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key), *sorted = json_object();
    const char *keys[64], *k;
    json_t *v;
    size_t n = 0;

    if (!json_is_object(o) || sorted == NULL)
        return;
    json_object_foreach(o, k, v)
        if (n < 64)
            keys[n++] = k;
    qsort(keys, n, sizeof(keys[0]), str_cmp);
    for (size_t i = 0; i < n; i++)
        json_object_set(sorted, keys[i], json_object_get(o, keys[i]));
    json_object_set_new(parent, key, sorted);
}

static void gen_container(gen_state *g)
{
    tmpl_seq *t = &g->seqs[rng_below(g->nseq)];
    const tmpl_inspect *ti = &g->inspect[t->engine];
    int in_pod = t->engine == ENGINE_DOCKER && rng_below(4) == 0;
    char id[65], first_name[256], names[8][2][256], execs[16][2][65];
    size_t n_names = 0, n_execs = 0;
    double pace = 0.5 + rng_unit(); /* this container is slower or faster than the capture */
    int64_t ts = g->t0, prev = 0, created = g->t0;
    pod_info pod, *p = NULL;
    const char *tname0 = json_string_value(json_object_get(
        json_object_get(json_object_get(t->events[0], "Actor"), "Attributes"), "name"));

    fresh_hex(id, 64);
    if (in_pod) {
        size_t d = rng_below(sizeof(deployments) / sizeof(deployments[0]));
        char sfx[8];

        p = &pod;
        snprintf(p->ns, sizeof(p->ns), "%s",
                 namespaces[rng_below(sizeof(namespaces) / sizeof(namespaces[0]))]);
        fresh_k8s_suffix(sfx, 5);
        snprintf(p->rs, sizeof(p->rs), "%s-%s", deployments[d], g->rs_hash[d]);
        snprintf(p->pod, sizeof(p->pod), "%.47s-%.7s", p->rs, sfx);
        snprintf(p->cname, sizeof(p->cname), "%s", deployments[d]);
        fresh_uuid(p->uid);
        snprintf(first_name, sizeof(first_name), "k8s_%.31s_%.63s_%.31s_%.39s_0", p->cname, p->pod, p->ns,
                 p->uid);
        /* the scheduler's create comes before the kubelet's containers */
        emit_pod_create(g, p, g->t0 - 20000000 - (int64_t)rng_below(30000000));
        emit_noise(g, g->t0 - 50000000 + (int64_t)rng_below(100000000));
    } else if (tname0 != NULL && strchr(tname0, '_') != NULL) {
        snprintf(first_name, sizeof(first_name), "%s_%s",
                 adjectives[rng_below(sizeof(adjectives) / sizeof(adjectives[0]))],
                 surnames[rng_below(sizeof(surnames) / sizeof(surnames[0]))]);
    } else {
        snprintf(first_name, sizeof(first_name), "%s-%" PRIu64, tname0 ? tname0 : "c", g->cont);
    }

    for (size_t e = 0; e < t->n; e++) {
        json_t *ev = json_deep_copy(t->events[e]), *actor = json_object_get(ev, "Actor");
        json_t *attrs = json_object_get(actor, "Attributes");
        int64_t orig = json_integer_value(json_object_get(ev, "timeNano"));
        const char *action = json_string_value(json_object_get(ev, "Action"));
        const char *type = json_string_value(json_object_get(ev, "Type"));
        const char *v;
        char buf[256];
        char *line;

        /* the capture's gaps, compressed 8x, at this container's pace, jittered */
        if (e > 0)
            ts += (int64_t)((double)(orig - prev) / 8 * pace) + 1000 + (int64_t)rng_below(50000);
        prev = orig;
        if (strcmp(type, "network") != 0) {
            if ((v = json_string_value(json_object_get(attrs, "name"))) != NULL) {
                map_name(names, &n_names, v, first_name, g->cont, buf, sizeof(buf));
                json_object_set_new(attrs, "name", json_string(buf));
            }
            if ((v = json_string_value(json_object_get(attrs, "oldName"))) != NULL) {
                char old[260];

                map_name(names, &n_names, v[0] == '/' ? v + 1 : v, first_name, g->cont, buf,
                         sizeof(buf));
                snprintf(old, sizeof(old), "/%s", buf);
                json_object_set_new(attrs, "oldName", json_string(old));
            }
            if (json_string_value(json_object_get(attrs, "imageID")) != NULL) {
                char img[72];

                memcpy(img, "sha256:", 7);
                fresh_hex(img + 7, 64);
                json_object_set_new(attrs, "imageID", json_string(img));
            }
            if ((v = json_string_value(json_object_get(attrs, "execID"))) != NULL) {
                size_t i;

                for (i = 0; i < n_execs && strcmp(execs[i][0], v) != 0; i++)
                    ;
                if (i == n_execs && n_execs < 16) {
                    snprintf(execs[i][0], sizeof(execs[0][0]), "%s", v);
                    fresh_hex(execs[i][1], 64);
                    n_execs++;
                }
                if (i < n_execs)
                    json_object_set_new(attrs, "execID", json_string(execs[i][1]));
            }
            if (p != NULL) {
                json_object_set_new(attrs, "io.kubernetes.container.name", json_string(p->cname));
                json_object_set_new(attrs, "io.kubernetes.pod.name", json_string(p->pod));
                json_object_set_new(attrs, "io.kubernetes.pod.namespace", json_string(p->ns));
                json_object_set_new(attrs, "io.kubernetes.pod.uid", json_string(p->uid));
                sort_keys(actor, "Attributes");
                attrs = json_object_get(actor, "Attributes");
            }
        }
        json_object_set_new(ev, "time", json_integer(ts / 1000000000));
        json_object_set_new(ev, "timeNano", json_integer(ts));
        line = json_dumps(ev, JSON_COMPACT);
        /* the container id appears in id, Actor.ID, or a network's Attributes.container */
        line = subst(line, t->id, id);
        push_line(ts, line, e == 0 ? id : NULL);
        if (action != NULL && strcmp(action, "create") == 0)
            created = ts - 100000 - (int64_t)rng_below(400000);
        if (action != NULL && strcmp(action, "start") == 0)
            emit_inspect(g, ti, id, json_string_value(json_object_get(attrs, "name")), p, created,
                         ts);
        if (p != NULL && action != NULL && strncmp(action, "exec_create", 11) == 0)
            emit_pod_exec(g, p, ts - 1000000 - (int64_t)rng_below(3000000));
        json_decref(ev);
    }
}

static json_t *must(json_t *j, const char *what)
{
    if (j == NULL) {
        fprintf(stderr, "ctrail-gen: template %s missing or unreadable\n", what);
        exit(1);
    }
    return j;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"records", required_argument, NULL, 'n'}, {"fixtures", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'},    {"ids", required_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    const char *fixtures = getenv("CTRAIL_FIXTURES");
    const char *ids_path = NULL;
    uint64_t want = 1000000, emitted = 0;
    gen_state g = {0};
    char path[4096], line[65536];
    FILE *ids = NULL, *af;
    int c;

    if (fixtures == NULL)
        fixtures = "tests/fixtures";
    rng_state = 42;
    while ((c = getopt_long(argc, argv, "n:f:s:i:h", longopts, NULL)) != -1) {
        if (c == 'n')
            want = strtoull(optarg, NULL, 10);
        else if (c == 'f')
            fixtures = optarg;
        else if (c == 's')
            rng_state = strtoull(optarg, NULL, 10);
        else if (c == 'i')
            ids_path = optarg;
        else {
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: ctrail-gen --records N [--fixtures DIR] [--seed S] [--ids FILE]\n");
            return c == 'h' ? 0 : 2;
        }
    }
    g.seqs = calloc(MAX_SEQ, sizeof(*g.seqs));
    snprintf(path, sizeof(path), "%s/docker-events/captured-dockerd-20.10_lifecycle.jsonl", fixtures);
    g.nseq = load_sequences(path, ENGINE_DOCKER, g.seqs, 0, MAX_SEQ);
    snprintf(path, sizeof(path), "%s/docker-events/captured-podman-4.3_privileged-exec.jsonl",
             fixtures);
    g.nseq = load_sequences(path, ENGINE_PODMAN, g.seqs, g.nseq, MAX_SEQ);
    snprintf(path, sizeof(path), "%s/docker-inspect/captured-dockerd-20.10_running-healthcheck.json",
             fixtures);
    if (load_inspect(path, &g.inspect[ENGINE_DOCKER]) != 0)
        must(NULL, path);
    snprintf(path, sizeof(path), "%s/docker-inspect/captured-podman-4.3_privileged-rootmount.json",
             fixtures);
    if (load_inspect(path, &g.inspect[ENGINE_PODMAN]) != 0)
        must(NULL, path);
    snprintf(path, sizeof(path), "%s/k8s-audit/falco-k8s_audit/create_nginx_pod_unprivileged.json",
             fixtures);
    g.audit_create = must(load_json_file(path), path);
    snprintf(path, sizeof(path), "%s/k8s-audit/falco-k8s_audit/exec_pod.json", fixtures);
    g.audit_exec = must(load_json_file(path), path);
    snprintf(path, sizeof(path), "%s/k8s-audit/audit2rbac_demo.log", fixtures);
    af = fopen(path, "r");
    while (af != NULL && g.nnoise < 64 && fgets(line, sizeof(line), af) != NULL)
        if ((g.noise[g.nnoise] = json_loads(line, 0, NULL)) != NULL)
            g.nnoise++;
    if (af != NULL)
        fclose(af);
    if (g.nseq == 0 || g.nnoise == 0) {
        fprintf(stderr, "ctrail-gen: templates missing under %s\n", fixtures);
        return 1;
    }
    if (ids_path != NULL && (ids = fopen(ids_path, "w")) == NULL) {
        perror(ids_path);
        return 1;
    }
    for (size_t d = 0; d < 8; d++)
        fresh_k8s_suffix(g.rs_hash[d], 10);
    g.t0 = 1795000000LL * 1000000000LL + (int64_t)rng_below(1000000000);
    g.pid = 20000;
    g.resource_version = 1000000;
    while (emitted < want) {
        int64_t horizon;

        gen_container(&g);
        g.cont++;
        /* Poisson arrivals, one container every 4 ms on average */
        g.t0 += (int64_t)(-4000000.0 * log1p(-rng_unit())) + 1;
        /* nothing generated later can be before t0 - 50 ms (pod create, noise) */
        horizon = g.t0 - 60000000;
        while (heap_n > 0 && heap[0].ts < horizon && emitted < want) {
            out_rec r = pop_min();

            fputs(r.line, stdout);
            fputc('\n', stdout);
            if (ids != NULL && r.announce != NULL)
                fprintf(ids, "%s\n", r.announce);
            free(r.line);
            free(r.announce);
            emitted++;
        }
    }
    if (ids != NULL && fclose(ids) != 0) {
        perror(ids_path);
        return 1;
    }
    gen_free(&g);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ctrail-gen: cannot write the output\n");
        return 1;
    }
    return 0;
}
