/*
 * bench/gen.c - ctrail-gen: realistic JSON lines for benchmarks.
 *
 * Replays the real captures in tests/fixtures with fresh container ids, names
 * and times: each generated container follows the event sequence of one
 * captured container (create, start, execs, die, destroy, ...), gets a docker
 * inspect snapshot after it starts, and every fourth one runs in a pod whose
 * Kubernetes audit events (from the audit2rbac capture) are emitted too.
 * Lifecycles overlap in time as they do on a busy host; output is in time
 * order, as an engine streams it.
 *
 *   ctrail-gen --records N [--fixtures DIR] [--seed S] [--ids FILE] > out.jsonl
 *
 * --ids writes the generated container ids, one per line, for latency probes.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

typedef struct tmpl_seq {
    char id[80];
    json_t *events[64]; /* owned */
    size_t n;
} tmpl_seq;

typedef struct out_rec {
    int64_t ts;
    char *line; /* owned */
} out_rec;

static uint64_t rng_state;

static uint64_t rng(void)
{
    /* splitmix64: reproducible for a seed, good enough for ids */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void fresh_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++)
        out[i] = hex[rng() & 15];
    out[n] = '\0';
}

static json_t *load_json_file(const char *path)
{
    json_error_t e;
    json_t *j = json_load_file(path, JSON_DECODE_ANY, &e);

    if (j == NULL)
        fprintf(stderr, "ctrail-gen: %s: %s\n", path, e.text);
    return j;
}

static size_t load_sequences(const char *path, tmpl_seq *seqs, size_t max)
{
    FILE *f = fopen(path, "r");
    char line[65536];
    size_t n = 0;

    if (f == NULL) {
        perror(path);
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        json_t *ev = json_loads(line, 0, NULL);
        json_t *actor = json_object_get(ev, "Actor");
        const char *type = json_string_value(json_object_get(ev, "Type"));
        const char *id = json_string_value(json_object_get(actor, "ID"));
        size_t i;

        if (type != NULL && strcmp(type, "network") == 0)
            id = json_string_value(json_object_get(json_object_get(actor, "Attributes"), "container"));
        if (ev == NULL || id == NULL || strlen(id) != 64 ||
            (type != NULL && strcmp(type, "container") != 0 && strcmp(type, "network") != 0)) {
            json_decref(ev);
            continue;
        }
        for (i = 0; i < n && strcmp(seqs[i].id, id) != 0; i++)
            ;
        if (i == n && n < max)
            snprintf(seqs[n++].id, sizeof(seqs[0].id), "%s", id);
        if (i < n && seqs[i].n < 64)
            seqs[i].events[seqs[i].n++] = ev;
        else
            json_decref(ev);
    }
    fclose(f);
    return n;
}

static void push(out_rec **out, size_t *n, size_t *cap, int64_t ts, json_t *j)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4096;
        *out = realloc(*out, *cap * sizeof(**out));
        if (*out == NULL) {
            fprintf(stderr, "ctrail-gen: out of memory\n");
            exit(1);
        }
    }
    (*out)[*n].ts = ts;
    (*out)[(*n)++].line = json_dumps(j, JSON_COMPACT);
}

static int out_cmp(const void *a, const void *b)
{
    const out_rec *x = a, *y = b;

    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static void set_time_fields(json_t *o, int64_t ts)
{
    char buf[64];
    time_t sec = (time_t)(ts / 1000000000);
    struct tm tm;

    gmtime_r(&sec, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (int)(ts % 1000000000 / 1000));
    if (json_object_get(o, "stageTimestamp"))
        json_object_set_new(o, "stageTimestamp", json_string(buf));
    if (json_object_get(o, "requestReceivedTimestamp"))
        json_object_set_new(o, "requestReceivedTimestamp", json_string(buf));
    if (json_object_get(o, "timestamp"))
        json_object_set_new(o, "timestamp", json_string(buf));
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"records", required_argument, NULL, 'n'}, {"fixtures", required_argument, NULL, 'f'},
        {"seed", required_argument, NULL, 's'},    {"ids", required_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    const char *fixtures = getenv("CTRAIL_FIXTURES");
    const char *ids_path = NULL;
    uint64_t want = 1000000, emitted = 0, cont = 0;
    tmpl_seq *seqs = calloc(32, sizeof(*seqs));
    size_t nseq, naudit = 0;
    json_t *inspect, *audit_lines[64];
    char path[4096], line[65536];
    int64_t base = 1795000000LL * 1000000000LL;
    FILE *ids = NULL, *af;
    int c;

    if (fixtures == NULL)
        fixtures = "tests/fixtures";
    rng_state = 42;
    while ((c = getopt_long(argc, argv, "n:f:s:i:", longopts, NULL)) != -1) {
        if (c == 'n')
            want = strtoull(optarg, NULL, 10);
        else if (c == 'f')
            fixtures = optarg;
        else if (c == 's')
            rng_state = strtoull(optarg, NULL, 10);
        else if (c == 'i')
            ids_path = optarg;
        else
            return 2;
    }
    snprintf(path, sizeof(path), "%s/docker-events/captured-dockerd-20.10_lifecycle.jsonl", fixtures);
    nseq = load_sequences(path, seqs, 32);
    snprintf(path, sizeof(path), "%s/docker-inspect/captured-dockerd-20.10_running-healthcheck.json",
             fixtures);
    inspect = load_json_file(path);
    if (json_is_array(inspect))
        inspect = json_incref(json_array_get(inspect, 0));
    snprintf(path, sizeof(path), "%s/k8s-audit/audit2rbac_demo.log", fixtures);
    af = fopen(path, "r");
    while (af != NULL && naudit < 64 && fgets(line, sizeof(line), af) != NULL)
        if ((audit_lines[naudit] = json_loads(line, 0, NULL)) != NULL)
            naudit++;
    if (af != NULL)
        fclose(af);
    if (nseq == 0 || inspect == NULL || naudit == 0) {
        fprintf(stderr, "ctrail-gen: templates missing under %s\n", fixtures);
        return 1;
    }
    if (ids_path != NULL && (ids = fopen(ids_path, "w")) == NULL) {
        perror(ids_path);
        return 1;
    }
    while (emitted < want) {
        out_rec *out = NULL;
        size_t n = 0, cap = 0;

        /* a window of 500 overlapping lifecycles, then sorted by time */
        for (int k = 0; k < 500 && emitted + n < want; k++, cont++) {
            tmpl_seq *t = &seqs[cont % nseq];
            char id[65], name[32], pod[32], uid[37];
            int64_t t0 = base + (int64_t)cont * 4000000, first = 0;
            int in_pod = cont % 4 == 0;

            fresh_hex(id, 64);
            snprintf(name, sizeof(name), "job-%llu", (unsigned long long)cont);
            snprintf(pod, sizeof(pod), "pod-%llu", (unsigned long long)cont);
            fresh_hex(uid, 36);
            uid[8] = uid[13] = uid[18] = uid[23] = '-';
            if (ids != NULL)
                fprintf(ids, "%s\n", id);
            for (size_t e = 0; e < t->n; e++) {
                json_t *ev = json_deep_copy(t->events[e]), *actor = json_object_get(ev, "Actor");
                json_t *attrs = json_object_get(actor, "Attributes");
                int64_t orig = json_integer_value(json_object_get(ev, "timeNano"));
                int64_t ts;
                const char *action = json_string_value(json_object_get(ev, "Action"));

                if (first == 0)
                    first = orig;
                ts = t0 + (orig - first) / 8; /* compress the capture's pauses */
                if (json_object_get(ev, "id"))
                    json_object_set_new(ev, "id", json_string(id));
                if (strcmp(json_string_value(json_object_get(ev, "Type")), "network") == 0)
                    json_object_set_new(attrs, "container", json_string(id));
                else {
                    json_object_set_new(actor, "ID", json_string(id));
                    json_object_set_new(attrs, "name", json_string(name));
                    if (in_pod) {
                        json_object_set_new(attrs, "io.kubernetes.pod.name", json_string(pod));
                        json_object_set_new(attrs, "io.kubernetes.pod.namespace", json_string("jobs"));
                        json_object_set_new(attrs, "io.kubernetes.pod.uid", json_string(uid));
                    }
                }
                json_object_set_new(ev, "time", json_integer(ts / 1000000000));
                json_object_set_new(ev, "timeNano", json_integer(ts));
                push(&out, &n, &cap, ts, ev);
                if (action != NULL && strcmp(action, "start") == 0) {
                    json_t *ins = json_deep_copy(inspect);

                    json_object_set_new(ins, "Id", json_string(id));
                    json_object_set_new(ins, "Name", json_sprintf("/%s", name));
                    push(&out, &n, &cap, ts + 1500000, ins);
                    json_decref(ins);
                }
                json_decref(ev);
            }
            for (int a = 0; in_pod && a < 3; a++) {
                json_t *au = json_deep_copy(audit_lines[(cont + (uint64_t)a) % naudit]);
                json_t *obj = json_object_get(au, "objectRef");
                char aid[37];
                int64_t ts = t0 - 50000000 + a * 20000000;

                fresh_hex(aid, 36);
                aid[8] = aid[13] = aid[18] = aid[23] = '-';
                json_object_set_new(au, "auditID", json_string(aid));
                set_time_fields(au, ts);
                if (obj != NULL) {
                    json_object_set_new(obj, "resource", json_string("pods"));
                    json_object_set_new(obj, "namespace", json_string("jobs"));
                    json_object_set_new(obj, "name", json_string(pod));
                }
                push(&out, &n, &cap, ts, au);
                json_decref(au);
            }
        }
        qsort(out, n, sizeof(*out), out_cmp);
        for (size_t i = 0; i < n && emitted < want; i++, emitted++) {
            fputs(out[i].line, stdout);
            fputc('\n', stdout);
        }
        for (size_t i = 0; i < n; i++)
            free(out[i].line);
        free(out);
    }
    if (ids != NULL)
        fclose(ids);
    return 0;
}
