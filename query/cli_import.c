/*
 * query/cli_import.c - `ctrail import`, `ctrail verify`, `ctrail stats`.
 *
 * import takes the writer lock, feeds each file through the shared parsers
 * and appends records in batches; every batch is durable when
 * ct_store_append returns.  Bad lines are reported as FILE:LINE: REASON and
 * skipped; the good ones are kept and the exit status says lines were
 * rejected.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_impl.h"
#include "ctrail/cli.h"
#include "ctrail/ingest.h"
#include "ctrail/time.h"
#include "import_resume.h"
#include "import_walk.h"

/* A batch is about one block (the store's default target, 4 MiB): the store
 * then seals it directly instead of passing every record through the
 * journal. */
#define IMPORT_BATCH       16384
#define IMPORT_BATCH_BYTES (4u << 20)

static const char import_help[] =
    "usage: ctrail import [--source auto|docker|inspect|k8s_audit|syslog|text]\n"
    "                     [--exclude GLOB]... FILE|DIR|-...\n"
    "Stores the records in each FILE (- reads standard input) and in every file under\n"
    "each DIR, recursively, in name order (rotated and compressed copies included;\n"
    "hidden files and directories, whose names start with '.', are left out).\n"
    "--exclude GLOB (repeatable) leaves out what matches GLOB (fnmatch): a file or\n"
    "directory by its name or by its path relative to DIR, an operand by its name or\n"
    "its path as given.\n"
    "Formats are detected per file: Docker /events JSON lines (all API generations),\n"
    "docker inspect output (array or object), Kubernetes audit Event lines and\n"
    "EventList documents (v1, v1beta1), AKS audit records (Event Hub batches, storage\n"
    "account archives), syslog (RFC 3164, RFC 5424, octet-counted), auditd logs,\n"
    "Docker json-file container logs and plain text; gzip and zstd input is\n"
    "decompressed.\n"
    "Lines that cannot be read are reported as FILE:LINE: REASON and skipped; the\n"
    "exit status is then 3.  A file that cannot be read (missing, no permission;\n"
    "under DIR also a fifo, a dangling symlink or a symlink loop) is reported and the\n"
    "others are imported; the exit status is then 1.  Importing a file again stores\n"
    "nothing twice.\n";

typedef struct import_ctx {
    ct_store *store;
    const char *file;
    ct_record batch[IMPORT_BATCH];
    size_t n, bytes;
    uint64_t accepted, duplicates, rejected_printed;
    int progress; /* stderr is a terminal */
    int store_failed; /* an append failed: no further input is read */
    const char *path; /* NULL for standard input */
    ct_import_mark mark;
    const ct_ingest_stats *st; /* borrowed: the input being read */
    uint64_t keyless_skipped;  /* keyless records an earlier import stored */
} import_ctx;

static void import_on_input(void *ctx, const char *buf, size_t len, ct_ingest_resume *resume)
{
    import_ctx *ic = ctx;

    ct_import_resume(ic->store, ic->path, buf, len, &ic->mark, resume);
    ic->keyless_skipped = resume->keyless;
}

/* Store the batch; its cursor says how many keyless records of the input
 * are stored with it, so a killed import run again repeats none. */
static ct_status import_flush(import_ctx *ic, ct_error *err)
{
    ct_append_result res = {0};
    ct_status rc = CT_OK;
    const char *name, *value;

    if (ic->n > 0 && ic->st->keyless > ic->keyless_skipped) {
        ct_import_progress_cursor(&ic->mark, ic->st->keyless, &name, &value);
        rc = ct_store_append_cursor(ic->store, ic->batch, ic->n, name, value, &res, err);
    } else if (ic->n > 0) {
        rc = ct_store_append(ic->store, ic->batch, ic->n, &res, err);
    }
    for (size_t i = 0; i < ic->n; i++)
        ct_record_release(&ic->batch[i]);
    ic->n = 0;
    ic->bytes = 0;
    if (rc != CT_OK)
        ic->store_failed = 1;
    ic->accepted += res.accepted;
    ic->duplicates += res.duplicates;
    return rc;
}

static ct_status import_sink(void *ctx, ct_record *rec, ct_error *err)
{
    import_ctx *ic = ctx;

    ic->bytes += rec->raw_len;
    ct_record_move(&ic->batch[ic->n++], rec);
    if (ic->n == IMPORT_BATCH || ic->bytes >= IMPORT_BATCH_BYTES)
        return import_flush(ic, err);
    return CT_OK;
}

static void import_reject(void *ctx, uint64_t where, const char *reason)
{
    import_ctx *ic = ctx;

    if (ic->progress)
        fputs("\r\033[K", stderr);
    fprintf(stderr, "%s:%llu: %s\n", ic->file, (unsigned long long)where, reason);
}

static void import_progress(void *ctx, uint64_t done, uint64_t total)
{
    import_ctx *ic = ctx;

    if (!ic->progress)
        return;
    if (total > 0)
        fprintf(stderr, "\r\033[K%s: %3d%% (%llu MiB), %llu records", ic->file,
                (int)(done * 100 / total), (unsigned long long)(done >> 20),
                (unsigned long long)(ic->accepted + ic->n));
    else
        fprintf(stderr, "\r\033[K%s: %llu MiB, %llu records", ic->file,
                (unsigned long long)(done >> 20), (unsigned long long)(ic->accepted + ic->n));
}

int ct_cli_import(ct_cli *cli, int argc, char **argv)
{
    static const struct option longopts[] = {
        {"source", required_argument, NULL, 's'},
        {"exclude", required_argument, NULL, 'x'},
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ct_ingest_opts io;
    ct_store_opts so;
    ct_error err = {0};
    import_ctx *ic;
    int c, fmt = CT_FMT_AUTO, status = CT_EXIT_OK;
    uint64_t total_rejected = 0;
    const char **excludes = calloc((size_t)argc + 1, sizeof(*excludes));
    size_t n_excludes = 0;
    ct_import_inputs inputs = {0};

    if (excludes == NULL) {
        ct_cli_error("out of memory");
        return CT_EXIT_FAIL;
    }

    optind = 0; /* 0, not 1: glibc then also forgets the main parser's "+" mode */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            fmt = ct_format_from_name(optarg);
            if (fmt < 0) {
                ct_cli_error("unknown source '%s' (auto, docker, inspect, k8s_audit, syslog, text)",
                             optarg);
                free(excludes);
                return CT_EXIT_USAGE;
            }
            break;
        case 'x':
            excludes[n_excludes++] = optarg;
            break;
        case 'd':
            cli->data_dir = optarg;
            break;
        case 'h':
            fputs(import_help, stdout);
            free(excludes);
            return CT_EXIT_OK;
        default:
            fputs(import_help, stderr);
            free(excludes);
            return CT_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        ct_cli_error("import needs at least one FILE or DIR (or - for standard input)");
        free(excludes);
        return CT_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        size_t n0 = inputs.n;

        if (ct_import_inputs_add(&inputs, argv[i], excludes, n_excludes, &err) != CT_OK) {
            ct_cli_error("%s", err.msg);
            ct_import_inputs_free(&inputs);
            free(excludes);
            return CT_EXIT_FAIL;
        }
        if (inputs.n == n0 && strcmp(argv[i], "-") != 0)
            ct_cli_error("%s: no files to import (all excluded or hidden)", argv[i]);
    }
    free(excludes);
    ic = calloc(1, sizeof(*ic));
    if (ic == NULL) {
        ct_cli_error("out of memory");
        ct_import_inputs_free(&inputs);
        return CT_EXIT_FAIL;
    }
    ct_store_opts_init(&so);
    so.dedup_key = ct_ingest_dedup_key;
    so.record_keys = ct_ingest_record_keys;
    so.bulk = 1; /* records are durable when their block is; cursors commit with it */
    if (ct_store_open(cli->data_dir, &so, &ic->store, &err) != CT_OK) {
        ct_cli_error("%s", err.msg);
        ct_import_inputs_free(&inputs);
        free(ic);
        return CT_EXIT_FAIL;
    }
    ic->progress = isatty(STDERR_FILENO);
    /* an input that cannot be read is reported and the next one is read;
     * a store that cannot take records ends the import */
    for (size_t k = 0; k < inputs.n && !ic->store_failed; k++) {
        const char *path = inputs.v[k].path;
        ct_ingest_stats st = {0};
        uint64_t acc0 = ic->accepted, dup0 = ic->duplicates;
        ct_status rc;

        if (inputs.v[k].problem != NULL) {
            ct_cli_error("%s: %s", path, inputs.v[k].problem);
            status = CT_EXIT_FAIL;
            continue;
        }
        memset(&io, 0, sizeof(io));
        io.format = (ct_format)fmt;
        io.ingest_ns = ct_time_now_ns();
        io.sink = import_sink;
        io.sink_ctx = ic;
        io.reject = import_reject;
        io.reject_ctx = ic;
        io.on_input = import_on_input;
        io.on_input_ctx = ic;
        ic->path = strcmp(path, "-") == 0 ? NULL : path;
        ic->file = ic->path != NULL ? ic->path : "<stdin>";
        ic->st = &st;
        ic->keyless_skipped = 0;
        rc = ct_ingest_file(path, &io, import_progress, ic, &st, &err);
        if (rc == CT_OK)
            rc = import_flush(ic, &err);
        else
            (void)import_flush(ic, NULL); /* keep what was read before the failure */
        if (rc == CT_OK && (rc = ct_import_remember(ic->store, &ic->mark, &st, &err)) != CT_OK)
            ic->store_failed = 1;
        ic->duplicates += st.skipped;
        if (ic->progress)
            fputs("\r\033[K", stderr);
        if (rc != CT_OK) {
            ct_cli_error("%s: %s", ic->file, err.msg);
            status = CT_EXIT_FAIL;
        }
        total_rejected += st.rejected;
        printf("%s: %llu records stored, %llu duplicates, %llu rejected\n", ic->file,
               (unsigned long long)(ic->accepted - acc0),
               (unsigned long long)(ic->duplicates - dup0), (unsigned long long)st.rejected);
    }
    if (ct_store_close(ic->store, &err) != CT_OK) {
        ct_cli_error("%s", err.msg);
        status = CT_EXIT_FAIL;
    }
    if (status == CT_EXIT_OK && total_rejected > 0)
        status = CT_EXIT_REJECTED;
    ct_import_inputs_free(&inputs);
    free(ic);
    return status;
}

static int simple_opts(ct_cli *cli, int argc, char **argv, const char *help)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    optind = 0; /* 0, not 1: glibc then also forgets the main parser's "+" mode */
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'd') {
            cli->data_dir = optarg;
        } else if (c == 'h') {
            fputs(help, stdout);
            return 1;
        } else {
            fputs(help, stderr);
            return -1;
        }
    }
    if (optind != argc) {
        fputs(help, stderr);
        return -1;
    }
    return 0;
}

int ct_cli_verify(ct_cli *cli, int argc, char **argv)
{
    static const char help[] =
        "usage: ctrail verify\n"
        "Recomputes every block checksum and the hash chain over the segments, compares\n"
        "them with the index and checks the signed checkpoints.  Prints\n"
        "`ok: N blocks, M records` or the segment, offset and block that fail (exit 1).\n";
    ct_verify_report rep;
    ct_store *s = NULL;
    ct_error err = {0};
    int rc = simple_opts(cli, argc, argv, help);

    if (rc != 0)
        return rc > 0 ? CT_EXIT_OK : CT_EXIT_USAGE;
    if (ct_cli_open_read(cli, &s, &err) != CT_OK || ct_store_verify(s, 0, &rep, &err) != CT_OK) {
        ct_cli_error("%s", err.msg);
        ct_store_close(s, NULL);
        return CT_EXIT_FAIL;
    }
    ct_store_close(s, NULL);
    if (!rep.ok) {
        printf("FAILED: %s\n", rep.problem);
        return CT_EXIT_FAIL;
    }
    printf("ok: %llu blocks, %llu records (%llu signed checkpoints; %llu records in the journal"
           " not yet sealed)\n",
           (unsigned long long)rep.blocks, (unsigned long long)rep.records,
           (unsigned long long)rep.checkpoints, (unsigned long long)rep.journal_records);
    if (rep.note[0] != '\0')
        printf("note: %s\n", rep.note);
    return CT_EXIT_OK;
}

int ct_cli_stats(ct_cli *cli, int argc, char **argv)
{
    static const char help[] = "usage: ctrail stats\nWhat the store holds, and its size on disk.\n";
    ct_store_stats st;
    ct_store *s = NULL;
    ct_error err = {0};
    int rc = simple_opts(cli, argc, argv, help);

    if (rc != 0)
        return rc > 0 ? CT_EXIT_OK : CT_EXIT_USAGE;
    if (ct_cli_open_read(cli, &s, &err) != CT_OK || ct_store_stats_get(s, &st, &err) != CT_OK) {
        ct_cli_error("%s", err.msg);
        ct_store_close(s, NULL);
        return CT_EXIT_FAIL;
    }
    ct_store_close(s, NULL);
    printf("records: %llu sealed in %llu blocks (%llu segments), %llu in the journal\n"
           "bytes: %llu uncompressed, %llu on disk (segments + index)\n",
           (unsigned long long)st.records_sealed, (unsigned long long)st.blocks,
           (unsigned long long)st.segments, (unsigned long long)st.records_journal,
           (unsigned long long)st.bytes_raw, (unsigned long long)st.bytes_disk);
    return CT_EXIT_OK;
}
