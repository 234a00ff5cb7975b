/*
 * tests/tools/crash_writer.c - a store writer for crash and tamper tests.
 *
 * Generate mode (default): opens DIR as the writer, with small blocks so
 * sealing happens often, and appends generated records from N threads.  After
 * ct_store_append returns CT_OK (and only then) it prints one line per
 * record of the call to stdout and flushes it:
 *
 *     ack RUN-THREAD-I end         (newly stored)
 *     ack RUN-THREAD-I dup end     (the store already held that key)
 *
 * so a test can SIGKILL it at any moment and know which records were
 * acknowledged.  A record is a text line "key=RUN-THREAD-I len=N pad..." of
 * exactly N bytes whose dedup key is RUN-THREAD-I (recomputed from the
 * stored line by writer_dedup_key, as ct_store_opts.dedup_key asks), with N
 * from 60 bytes to 40 KiB (3% over a quarter of the default 64 KiB block target), and a
 * timestamp of TS_BASE + RUN * 1000 s + I ms, up to 5 ms out of order
 * (--scatter-ts: anywhere in one hour), so blocks are cut from unsorted input.
 * Everything about a key is a function of the key, so appending it again
 * produces the same record.
 *
 *   crash_writer --data DIR [--threads N] [--count N] [--run R]
 *                [--reappend-run R0 --reappend-count C] [--block-bytes B]
 *                [--segment-bytes S] [--max-seconds T] [--pause-us U] [--abandon]
 *                [--scatter-ts] [--batch-bytes B] [--seal-first]
 *
 * --count is per thread (default: until killed or --max-seconds, 60 by
 * default, pass); --count 0 only opens and closes the store (recovery, then
 * sealing the journal).  --abandon exits after the last append without
 * closing the store, like a crash right after an acknowledgement.
 * --reappend-run makes each thread first append keys R0-THREAD-0 ..
 * R0-THREAD-(C-1) again (the keys an earlier, killed run may have stored).
 * --batch-bytes B makes each call carry records worth B raw bytes instead
 * of 1-4 records; with one thread, B near the block target and
 * --seal-first (seal the journal at once, so it is empty), every call is
 * sealed straight into a block, without the journal.
 *
 * Import mode: crash_writer --data DIR --import FILE... stores files through
 * the same parsers as `ctrail import`, but with --block-bytes and
 * --segment-bytes, so tests get many blocks and several segments from small
 * real fixtures.
 *
 * Exit: 0 ok, 1 a store call failed (message on stderr), 2 usage.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctrail/ingest.h"
#include "ctrail/store.h"
#include "ctrail/time.h"

#define MAX_THREADS 64
#define MAX_BATCH 4       /* records per call, 1 to this many */
#define MAX_BIG_BATCH 512 /* records per call with --batch-bytes */
#define MAX_RECORD (40 * 1024)
#define TS_BASE 1767225600000000000LL /* 2026-01-01T00:00:00Z */

typedef struct config {
    const char *dir;
    unsigned threads;
    long count; /* per thread; -1: until killed */
    unsigned run;
    long reappend_run;
    unsigned reappend_count;
    int abandon;
    double max_seconds;
    unsigned pause_us; /* sleep between a thread's appends */
    size_t batch_bytes; /* calls of this many raw bytes instead of 1-4 records */
    int seal_first;     /* seal the journal right after open */
} config;

typedef struct worker {
    const config *cfg;
    ct_store *store;
    unsigned id;
    int failed;
    pthread_t th;
} worker;

static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;
static int scatter_ts;
static int64_t deadline_ns;

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t key_hash(unsigned run, unsigned thread, unsigned long i)
{
    return mix64(mix64(mix64(run) ^ thread) ^ i);
}

/* Fill rec with the record for key RUN-THREAD-I; rec->raw is malloc'd (NULL
 * when out of memory). */
static void make_record(ct_record *rec, char *key, size_t key_cap, unsigned run, unsigned thread,
                        unsigned long i)
{
    uint64_t h = key_hash(run, thread, i), pad = h;
    unsigned pct = (unsigned)(h % 100);
    size_t len, n;
    char *buf;

    if (pct < 3) /* over a quarter of a 64 KiB block, up to 40 KiB */
        len = 16 * 1024 + 1 + (size_t)((h >> 8) % (MAX_RECORD - 16 * 1024 - 1));
    else if (pct < 13)
        len = 1024 + (size_t)((h >> 8) % 3072);
    else
        len = 60 + (size_t)((h >> 8) % 540);
    (void)snprintf(key, key_cap, "%u-%u-%lu", run, thread, i);
    memset(rec, 0, sizeof(*rec));
    if ((buf = malloc(len + 1)) == NULL)
        return;
    n = (size_t)snprintf(buf, len + 1, "key=%s len=%zu ", key, len);
    for (; n < len; n++) {
        if (n % 16 == 0)
            pad = mix64(pad);
        buf[n] = "abcdefghijklmnopqrstuvwxyz012345"[(pad >> (4 * (n % 16))) & 31];
    }
    buf[len] = '\0';
    if (scatter_ts) /* anywhere in one hour: every block overlaps every other */
        rec->ts_ns = TS_BASE + (int64_t)((h >> 20) % 3600000000000ULL);
    else /* 1000 s per run, 1 ms per record, up to 5 ms out of order */
        rec->ts_ns = TS_BASE + (int64_t)run * 1000000000000LL + (int64_t)i * 1000000 +
                     (int64_t)((h >> 20) % 5000000);
    rec->ingest_ns = ct_time_now_ns();
    rec->source = CT_SRC_TEXT;
    rec->kind = (char *)"test.crash";
    rec->host = (char *)"crash-writer";
    rec->dedup = key;
    rec->raw = buf;
    rec->raw_len = len;
}

/* ct_store_opts.dedup_key for generated records: the K of "key=K len=". */
static char *writer_dedup_key(ct_source source, const char *raw, size_t raw_len)
{
    size_t n = 0;
    char *key;

    if (source != CT_SRC_TEXT || raw_len < 4 || memcmp(raw, "key=", 4) != 0)
        return NULL;
    while (4 + n < raw_len && raw[4 + n] != ' ' && n < 64)
        n++;
    if (4 + n == raw_len || raw[4 + n] != ' ')
        return NULL;
    key = malloc(n + 1);
    if (key != NULL) {
        memcpy(key, raw + 4, n);
        key[n] = '\0';
    }
    return key;
}

/* Append keys (run, thread, i0 ..) in one call: max_n of them, or with
 * batch_bytes, as many as it takes to reach that many raw bytes (at most
 * max_n).  Print the acks; return how many records the call held, or -1. */
static long append_batch(worker *w, unsigned run, unsigned long i0, size_t max_n,
                         size_t batch_bytes)
{
    char keys[MAX_BIG_BATCH][48];
    ct_record recs[MAX_BIG_BATCH];
    ct_append_result res;
    ct_error err = {0};
    ct_status rc;
    size_t n = 0, bytes = 0;
    long ret = -1;

    if (max_n > MAX_BIG_BATCH)
        max_n = MAX_BIG_BATCH;
    while (n < max_n && (batch_bytes == 0 || bytes < batch_bytes)) {
        make_record(&recs[n], keys[n], sizeof(keys[n]), run, w->id, i0 + n);
        if (recs[n].raw == NULL) {
            fprintf(stderr, "crash_writer: out of memory\n");
            goto out;
        }
        bytes += recs[n++].raw_len;
    }
    rc = ct_store_append(w->store, recs, n, &res, &err);
    if (rc != CT_OK) {
        fprintf(stderr, "crash_writer: append: %s\n", err.msg);
        goto out;
    }
    if (res.accepted + res.duplicates != n) {
        fprintf(stderr, "crash_writer: append of %zu records: %zu accepted, %zu duplicates\n",
                n, res.accepted, res.duplicates);
        goto out;
    }
    /* acknowledged: only now may anyone hear about these records */
    pthread_mutex_lock(&out_mu);
    for (size_t k = 0; k < n; k++)
        printf("ack %s%s end\n", keys[k], recs[k].seq == 0 ? " dup" : "");
    (void)fflush(stdout);
    pthread_mutex_unlock(&out_mu);
    ret = (long)n;
out:
    for (size_t k = 0; k < n; k++)
        free(recs[k].raw);
    return ret;
}

static int time_left(void)
{
    return ct_time_now_ns() < deadline_ns;
}

static void *worker_main(void *p)
{
    worker *w = p;
    const config *cfg = w->cfg;
    uint64_t r = mix64(((uint64_t)cfg->run << 16) ^ w->id ^ (uint64_t)getpid());
    unsigned long i = 0;

    if (cfg->reappend_run >= 0)
        for (unsigned long j = 0; j < cfg->reappend_count && time_left(); j++)
            if (append_batch(w, (unsigned)cfg->reappend_run, j, 1, 0) < 0) {
                w->failed = 1;
                return NULL;
            }
    while ((cfg->count < 0 || i < (unsigned long)cfg->count) && time_left()) {
        size_t n;
        long done;

        r = mix64(r);
        n = cfg->batch_bytes > 0 ? MAX_BIG_BATCH : 1 + (size_t)(r % MAX_BATCH);
        if (cfg->count >= 0 && n > (unsigned long)cfg->count - i)
            n = (size_t)((unsigned long)cfg->count - i);
        if ((done = append_batch(w, cfg->run, i, n, cfg->batch_bytes)) < 0) {
            w->failed = 1;
            return NULL;
        }
        i += (unsigned long)done;
        if (cfg->pause_us > 0)
            (void)usleep(cfg->pause_us);
    }
    return NULL;
}

/* ---- import mode ---- */

typedef struct import_ctx {
    ct_store *store;
    ct_record batch[512];
    size_t n;
    uint64_t accepted, duplicates;
} import_ctx;

static ct_status import_flush(import_ctx *ic, ct_error *err)
{
    ct_append_result res = {0};
    ct_status rc = CT_OK;

    if (ic->n > 0)
        rc = ct_store_append(ic->store, ic->batch, ic->n, &res, err);
    for (size_t i = 0; i < ic->n; i++)
        ct_record_release(&ic->batch[i]);
    ic->n = 0;
    ic->accepted += res.accepted;
    ic->duplicates += res.duplicates;
    return rc;
}

static ct_status import_sink(void *ctx, ct_record *rec, ct_error *err)
{
    import_ctx *ic = ctx;

    ct_record_move(&ic->batch[ic->n++], rec);
    if (ic->n == sizeof(ic->batch) / sizeof(ic->batch[0]))
        return import_flush(ic, err);
    return CT_OK;
}

static int run_import(ct_store *s, char **files, int n)
{
    import_ctx *ic = calloc(1, sizeof(*ic));
    ct_error err = {0};
    int status = 0;

    if (ic == NULL)
        return 1;
    ic->store = s;
    for (int i = 0; i < n && status == 0; i++) {
        ct_ingest_opts io;
        ct_ingest_stats st = {0};
        ct_status rc;

        memset(&io, 0, sizeof(io));
        io.format = CT_FMT_AUTO;
        io.ingest_ns = ct_time_now_ns();
        io.sink = import_sink;
        io.sink_ctx = ic;
        rc = ct_ingest_file(files[i], &io, NULL, NULL, &st, &err);
        if (rc == CT_OK)
            rc = import_flush(ic, &err);
        if (rc != CT_OK) {
            fprintf(stderr, "crash_writer: %s: %s\n", files[i], err.msg);
            status = 1;
        }
    }
    printf("imported %llu records, %llu duplicates\n", (unsigned long long)ic->accepted,
           (unsigned long long)ic->duplicates);
    free(ic);
    return status;
}

static void usage(void)
{
    fputs("usage: crash_writer --data DIR [--threads N] [--count N] [--run R]\n"
          "         [--reappend-run R0 --reappend-count C] [--block-bytes B]\n"
          "         [--segment-bytes S] [--max-seconds T] [--pause-us U] [--abandon]\n"
          "         [--scatter-ts] [--batch-bytes B] [--seal-first] [--import FILE...]\n",
          stderr);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"threads", required_argument, NULL, 't'},
        {"count", required_argument, NULL, 'n'},
        {"run", required_argument, NULL, 'r'},
        {"reappend-run", required_argument, NULL, 'R'},
        {"reappend-count", required_argument, NULL, 'C'},
        {"block-bytes", required_argument, NULL, 'b'},
        {"segment-bytes", required_argument, NULL, 's'},
        {"max-seconds", required_argument, NULL, 'm'},
        {"abandon", no_argument, NULL, 'a'},
        {"pause-us", required_argument, NULL, 'p'},
        {"scatter-ts", no_argument, NULL, 'S'},
        {"batch-bytes", required_argument, NULL, 'B'},
        {"seal-first", no_argument, NULL, 'F'},
        {"import", no_argument, NULL, 'i'},
        {NULL, 0, NULL, 0},
    };
    config cfg = {NULL, 4, -1, 0, -1, 0, 0, 60.0, 0, 0, 0};
    worker workers[MAX_THREADS];
    ct_store_opts o;
    ct_store *s = NULL;
    ct_error err = {0};
    int c, import = 0, status = 0;

    ct_store_opts_init(&o);
    o.block_target_bytes = 64 * 1024;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            cfg.dir = optarg;
            break;
        case 't':
            cfg.threads = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'n':
            cfg.count = strtol(optarg, NULL, 10);
            break;
        case 'r':
            cfg.run = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'R':
            cfg.reappend_run = strtol(optarg, NULL, 10);
            break;
        case 'C':
            cfg.reappend_count = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'b':
            o.block_target_bytes = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 's':
            o.segment_max_bytes = strtoull(optarg, NULL, 10);
            break;
        case 'm':
            cfg.max_seconds = strtod(optarg, NULL);
            break;
        case 'a':
            cfg.abandon = 1;
            break;
        case 'p':
            cfg.pause_us = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'S':
            scatter_ts = 1;
            break;
        case 'B':
            cfg.batch_bytes = (size_t)strtoull(optarg, NULL, 10);
            break;
        case 'F':
            cfg.seal_first = 1;
            break;
        case 'i':
            import = 1;
            break;
        default:
            usage();
            return 2;
        }
    }
    if (cfg.dir == NULL || cfg.threads == 0 || cfg.threads > MAX_THREADS ||
        o.block_target_bytes == 0 || (import && optind >= argc) || (!import && optind != argc)) {
        usage();
        return 2;
    }
    o.dedup_key = import ? ct_ingest_dedup_key : writer_dedup_key;
    if (ct_store_open(cfg.dir, &o, &s, &err) != CT_OK) {
        fprintf(stderr, "crash_writer: open '%s': %s\n", cfg.dir, err.msg);
        return 1;
    }
    if (cfg.seal_first && ct_store_seal(s, 1, &err) != CT_OK) {
        fprintf(stderr, "crash_writer: seal: %s\n", err.msg);
        return 1;
    }
    if (import) {
        status = run_import(s, argv + optind, argc - optind);
    } else {
        deadline_ns = ct_time_now_ns() + (int64_t)(cfg.max_seconds * 1e9);
        for (unsigned t = 0; t < cfg.threads; t++) {
            workers[t] = (worker){&cfg, s, t, 0, 0};
            if (pthread_create(&workers[t].th, NULL, worker_main, &workers[t]) != 0) {
                fprintf(stderr, "crash_writer: cannot start thread %u\n", t);
                return 1;
            }
        }
        for (unsigned t = 0; t < cfg.threads; t++) {
            pthread_join(workers[t].th, NULL);
            if (workers[t].failed)
                status = 1;
        }
    }
    (void)fflush(stdout);
    if (cfg.abandon)
        _exit(status); /* no close: the journal keeps what was acknowledged */
    if (ct_store_close(s, &err) != CT_OK) {
        fprintf(stderr, "crash_writer: close: %s\n", err.msg);
        status = 1;
    }
    return status;
}
