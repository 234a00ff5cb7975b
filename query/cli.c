/*
 * query/cli.c - `ctrail` subcommands that read: containers, timeline, events.
 *
 * Every reading command opens the data directory read-only (no lock), so it
 * works beside a running writer and sees what that writer acknowledged.
 * Errors are one line on stderr and a non-zero exit (ctrail/cli.h).
 */
#include "ctrail/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_impl.h"
#include "ctrail/catalog.h"
#include "ctrail/log.h"
#include "ctrail/query.h"
#include "ctrail/time.h"

void ct_cli_error(const char *fmt, ...)
{
    va_list ap;

    fputs("ctrail: ", stderr);
    va_start(ap, fmt);
    (void)vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

ct_status ct_cli_open_read(const ct_cli *cli, ct_store **ret, ct_error *err)
{
    ct_store_opts o;
    ct_status rc;

    ct_store_opts_init(&o);
    o.read_only = 1;
    rc = ct_store_open(cli->data_dir, &o, ret, err);
    if (rc == CT_ERR_NOTFOUND)
        ct_error_set(err, rc, 0, "no ctrail data in '%s' (import something, or give --data DIR)",
                     cli->data_dir);
    return rc;
}

static const char usage_text[] =
    "usage: ctrail [--data DIR] [-v] COMMAND [OPTIONS]\n"
    "\n"
    "Keeps the trail containers leave: docker events and inspect snapshots, Kubernetes\n"
    "audit events and host logs, in a compressed, append-only, tamper-evident store.\n"
    "\n"
    "commands:\n"
    "  import [--source S] FILE...|-   store records from files (auto-detected formats)\n"
    "  containers [--since T] [--until T] [-o table|json]\n"
    "                                  every container ever seen, the dead ones included\n"
    "  timeline REF [--since T] [--until T] [-o table|json|raw]\n"
    "                                  everything known about one container or pod\n"
    "  events [FILTERS] [-o table|json|raw]\n"
    "                                  records matching filters, in time order\n"
    "  verify                          recompute the hash chain and every checksum\n"
    "  stats                           what the store holds and its size on disk\n"
    "  serve [OPTIONS]                 collectors and the HTTP API (see serve --help)\n"
    "  token-hash [--new] [TOKEN]      a token's line for serve --tokens FILE\n"
    "\n"
    "global options:\n"
    "  -d, --data DIR  data directory (default: $CTRAIL_DATA, then ./ctrail-data)\n"
    "  -v, --verbose   more log lines on stderr; -q, --quiet fewer\n"
    "  -h, --help      this text; `ctrail COMMAND --help` explains a command\n"
    "\n"
    "times (T): RFC 3339 (2026-11-25T10:00:00Z), unix seconds (1795588683.5), or a\n"
    "duration before now (90s, 10m, 2h, 3d).\n"
    "exit status: 0 ok, 1 failure (or verify found damage), 2 usage, 3 import rejected lines\n";

static const char containers_help[] =
    "usage: ctrail containers [--since T] [--until T] [--pod NS/NAME] [--image I]\n"
    "                         [-o, --output table|json]\n"
    "Lists every container the store has seen, dead and removed ones included, with\n"
    "its catalog: name, image, created/started/died/destroyed times, exit code,\n"
    "privileged, pod, and (json) details such as mounts and capabilities.\n"
    "--since/--until keep containers seen within the window; --image takes an exact\n"
    "image or a prefix ending in '*'.\n";

static const char timeline_help[] =
    "usage: ctrail timeline REF [--since T] [--until T] [-n, --limit N]\n"
    "                           [-o, --output table|json|raw]\n"
    "Everything known about one container, merged by time: its docker events, inspect\n"
    "snapshots, the Kubernetes audit events of its pod, and host log lines naming it.\n"
    "REF is a full container id, a unique id prefix, a container name, or\n"
    "pod:NAMESPACE/NAME for a pod and all its containers.\n"
    "-o json prints one JSON object per line (envelope fields and raw, the original\n"
    "payload); -o raw prints the original payload bytes only, one per line.\n";

static const char events_help[] =
    "usage: ctrail events [--source S] [--kind K] [--container REF] [--pod NS/NAME]\n"
    "                     [--user U] [--host H] [--image I] [--since T] [--until T]\n"
    "                     [--verb V] [--resource R] [--namespace NS] [--object NAME]\n"
    "                     [--ip ADDR] [--code N] [--facility F] [--severity L] [--app A]\n"
    "                     [-n, --limit N] [-o, --output table|json|raw]\n"
    "Records matching every given filter, in time order.  S is one of docker, inspect,\n"
    "k8s_audit, syslog, text, auditd, container_log.  K is a kind (container.start,\n"
    "\"create pods/exec\") or a prefix ending in '*' (container.*).\n"
    "Kubernetes audit events: --user matches the user or the user it impersonated;\n"
    "--verb (create, delete, ...), --resource (pods, or pods/exec), --namespace,\n"
    "--object (the object's name), --ip (a source IP) and --code (the response code)\n"
    "select by the event's own fields.\n"
    "Syslog messages: --facility (auth, daemon, local3, ... or 0-23), --severity (err,\n"
    "warning, ... or 0-7) and --app (APP-NAME, or the TAG before [PID]); --host is\n"
    "the message's host name (the sender's address when it has none).\n";

enum { OUT_TABLE, OUT_JSON, OUT_RAW };

typedef struct read_opts {
    ct_query q; /* strings borrowed from argv */
    int out;
} read_opts;

static int parse_out(const char *v, int *out)
{
    if (strcmp(v, "table") == 0)
        *out = OUT_TABLE;
    else if (strcmp(v, "json") == 0)
        *out = OUT_JSON;
    else if (strcmp(v, "raw") == 0)
        *out = OUT_RAW;
    else
        return -1;
    return 0;
}

/* The query parameters each command takes besides output and data. */
static const char containers_params[] = " since until pod image ";
static const char timeline_params[] = " since until limit ";
static const char events_params[] =
    " since until source kind container pod user host image verb resource namespace object ip code"
    " facility severity app limit ";

static int takes(const char *params, const char *name)
{
    const char *p = strstr(params, name);
    size_t n = strlen(name);

    return p != NULL && p[-1] == ' ' && p[n] == ' ';
}

/* Options of containers, timeline and events: the query parameters of
 * ct_query_set (the HTTP API takes the same ones), those in params only.
 * Returns -1 (after printing why) on a usage error, 1 for --help, 0
 * otherwise. */
static int parse_read_opts(ct_cli *cli, int argc, char **argv, const char *help,
                           const char *params, read_opts *ro)
{
    static const struct option longopts[] = {
        {"since", required_argument, NULL, 'q'},  {"until", required_argument, NULL, 'q'},
        {"output", required_argument, NULL, 'o'}, {"source", required_argument, NULL, 'q'},
        {"kind", required_argument, NULL, 'q'},   {"container", required_argument, NULL, 'q'},
        {"pod", required_argument, NULL, 'q'},    {"user", required_argument, NULL, 'q'},
        {"host", required_argument, NULL, 'q'},   {"image", required_argument, NULL, 'q'},
        {"limit", required_argument, NULL, 'q'},  {"data", required_argument, NULL, 'd'},
        {"verb", required_argument, NULL, 'q'},   {"resource", required_argument, NULL, 'q'},
        {"namespace", required_argument, NULL, 'q'}, {"object", required_argument, NULL, 'q'},
        {"ip", required_argument, NULL, 'q'},     {"code", required_argument, NULL, 'q'},
        {"facility", required_argument, NULL, 'q'}, {"severity", required_argument, NULL, 'q'},
        {"app", required_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int64_t now = ct_time_now_ns();
    ct_error err = {0};
    int c, li = -1;

    ct_query_init(&ro->q);
    optind = 0; /* 0, not 1: glibc then also forgets the main parser's "+" mode */
    while ((c = getopt_long(argc, argv, "o:n:h", longopts, &li)) != -1) {
        switch (c) {
        case 'q':
        case 'n':
            if (!takes(params, c == 'n' ? "limit" : longopts[li].name)) {
                ct_cli_error("%s takes no %s%s (see ctrail %s --help)", argv[0], c == 'n' ? "-" : "--",
                             c == 'n' ? "n" : longopts[li].name, argv[0]);
                return -1;
            }
            if (ct_query_set(&ro->q, c == 'n' ? "limit" : longopts[li].name, optarg, now, &err) !=
                CT_OK) {
                ct_cli_error("--%s", err.msg);
                return -1;
            }
            break;
        case 'o':
            if (parse_out(optarg, &ro->out) != 0) {
                ct_cli_error("unknown output format '%s' (table, json, raw)", optarg);
                return -1;
            }
            break;
        case 'd':
            cli->data_dir = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            return 1;
        default:
            fputs(help, stderr);
            return -1;
        }
        li = -1;
    }
    return 0;
}

/* Open the store and resolve the query; on failure print why and return
 * the exit status (usage for bad parameters). */
static int open_query(ct_cli *cli, read_opts *ro, const char *timeline_ref, ct_store **ret)
{
    ct_error err = {0};
    ct_status rc = ct_cli_open_read(cli, ret, &err);

    if (rc == CT_OK)
        rc = ct_query_resolve(*ret, &ro->q, timeline_ref, &err);
    if (rc == CT_OK)
        return CT_EXIT_OK;
    ct_cli_error("%s", err.msg);
    ct_query_release(&ro->q);
    ct_store_close(*ret, NULL);
    *ret = NULL;
    return rc == CT_ERR_INVALID ? CT_EXIT_USAGE : CT_EXIT_FAIL;
}

static ct_status print_record(void *ctx, const ct_record *rec, int *stop, ct_error *err)
{
    int out = *(const int *)ctx;
    char ts[CT_TIME_BUF];

    (void)stop;
    if (out == OUT_RAW) {
        fwrite(rec->raw, 1, rec->raw_len, stdout);
        fputc('\n', stdout);
    } else if (out == OUT_JSON) {
        size_t len;
        char *line = ct_record_json_line(rec, &len);

        if (line == NULL)
            return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory printing a record");
        fwrite(line, 1, len, stdout);
        fputc('\n', stdout);
        free(line);
    } else {
        char *sum = ct_record_summary(rec);

        ct_time_format(rec->ts_ns, ts);
        printf("%-30s  %-13s  %-26s  %-12.12s  %s\n", ts, ct_source_name(rec->source),
               rec->kind ? rec->kind : "-", rec->container ? rec->container : "-",
               sum ? sum : "");
        free(sum);
    }
    if (ferror(stdout))
        return ct_error_set(err, CT_ERR_IO, 0, "cannot write to standard output");
    return CT_OK;
}

/* Print the records of a resolved query; --limit caps what is printed. */
static int run_scan(ct_store *s, read_opts *ro)
{
    ct_cursor cur;
    ct_error err = {0};
    ct_status rc;

    ct_cursor_init(&cur);
    if (ro->out == OUT_TABLE)
        printf("%-30s  %-13s  %-26s  %-12s  %s\n", "TIME", "SOURCE", "KIND", "CONTAINER",
               "SUMMARY");
    rc = ct_query_scan(s, &ro->q, &cur, ro->q.f.limit, print_record, &ro->out, NULL, &err);
    ct_query_release(&ro->q);
    ct_store_close(s, NULL);
    if (rc != CT_OK) {
        ct_cli_error("%s", err.msg);
        return CT_EXIT_FAIL;
    }
    return fflush(stdout) == 0 ? CT_EXIT_OK : CT_EXIT_FAIL;
}

static int cmd_timeline(ct_cli *cli, int argc, char **argv)
{
    read_opts ro = {0};
    ct_store *s = NULL;
    int rc = parse_read_opts(cli, argc, argv, timeline_help, timeline_params, &ro);

    if (rc != 0)
        return rc > 0 ? CT_EXIT_OK : CT_EXIT_USAGE;
    if (optind != argc - 1) {
        ct_cli_error("timeline takes one container or pod reference");
        fputs(timeline_help, stderr);
        return CT_EXIT_USAGE;
    }
    rc = open_query(cli, &ro, argv[optind], &s);
    return rc != CT_EXIT_OK ? rc : run_scan(s, &ro);
}

static int cmd_events(ct_cli *cli, int argc, char **argv)
{
    read_opts ro = {0};
    ct_store *s = NULL;
    int rc = parse_read_opts(cli, argc, argv, events_help, events_params, &ro);

    if (rc != 0)
        return rc > 0 ? CT_EXIT_OK : CT_EXIT_USAGE;
    if (optind != argc) {
        ct_cli_error("events takes no arguments besides options ('%s')", argv[optind]);
        return CT_EXIT_USAGE;
    }
    rc = open_query(cli, &ro, NULL, &s);
    return rc != CT_EXIT_OK ? rc : run_scan(s, &ro);
}

static void print_container_row(const ct_container *c)
{
    char created[CT_TIME_BUF] = "-", died[CT_TIME_BUF] = "-", exit_code[16] = "-";
    char pod[160] = "-";

    if (c->created_ns != 0 || c->first_seen_ns != 0)
        ct_time_format(c->created_ns != 0 ? c->created_ns : c->first_seen_ns, created);
    if (c->died_ns != 0)
        ct_time_format(c->died_ns, died);
    if (c->has_exit_code)
        (void)snprintf(exit_code, sizeof(exit_code), "%d", c->exit_code);
    if (c->pod_name != NULL)
        (void)snprintf(pod, sizeof(pod), "%s/%s", c->pod_ns ? c->pod_ns : "", c->pod_name);
    printf("%-12.12s  %-20.20s  %-24.24s  %-10.10s  %-30s  %-30s  %-4s  %-4s  %s\n", c->id,
           c->name ? c->name : "-", c->image ? c->image : "-", c->state ? c->state : "-", created,
           died, exit_code,
           c->privileged == 1 ? "yes" : c->privileged == 0 ? "no" : "?", pod);
}

static int cmd_containers(ct_cli *cli, int argc, char **argv)
{
    read_opts ro = {0};
    ct_store *s = NULL;
    ct_container *list = NULL;
    ct_error err = {0};
    size_t n = 0;
    int rc = parse_read_opts(cli, argc, argv, containers_help, containers_params, &ro);

    if (rc != 0)
        return rc > 0 ? CT_EXIT_OK : CT_EXIT_USAGE;
    if (optind != argc || ro.out == OUT_RAW) {
        ct_cli_error("containers takes only --since, --until, --pod, --image and -o table|json");
        return CT_EXIT_USAGE;
    }
    rc = open_query(cli, &ro, NULL, &s);
    if (rc != CT_EXIT_OK)
        return rc;
    if (ct_catalog_list(s, ro.q.f.since_ns, ro.q.f.until_ns, ro.q.f.pod_ns, ro.q.f.pod_name,
                        &list, &n, &err) != CT_OK) {
        ct_cli_error("%s", err.msg);
        ct_query_release(&ro.q);
        ct_store_close(s, NULL);
        return CT_EXIT_FAIL;
    }
    if (ro.out == OUT_TABLE)
        printf("%-12s  %-20s  %-24s  %-10s  %-30s  %-30s  %-4s  %-4s  %s\n", "CONTAINER", "NAME",
               "IMAGE", "STATE", "CREATED", "DIED", "EXIT", "PRIV", "POD");
    for (size_t i = 0; i < n; i++) {
        if (!ct_query_container_match(&ro.q, &list[i]))
            continue;
        if (ro.out == OUT_JSON) {
            json_t *o = ct_container_to_json(&list[i]);
            char *line = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;

            if (line != NULL)
                puts(line);
            free(line);
            json_decref(o);
        } else {
            print_container_row(&list[i]);
        }
    }
    ct_container_list_free(list, n);
    ct_query_release(&ro.q);
    ct_store_close(s, NULL);
    return fflush(stdout) == 0 ? CT_EXIT_OK : CT_EXIT_FAIL;
}

typedef struct command {
    const char *name;
    int (*run)(ct_cli *cli, int argc, char **argv);
} command;

static const command commands[] = {
    {"import", ct_cli_import},   {"containers", cmd_containers}, {"timeline", cmd_timeline},
    {"events", cmd_events},      {"verify", ct_cli_verify},      {"stats", ct_cli_stats},
    {"serve", ct_cli_serve},     {"token-hash", ct_cli_token_hash},
};

int ct_cli_main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'}, {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},      {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ct_cli cli = {NULL, "ctrail"};
    int c, li = -1, at = optind;

    cli.data_dir = getenv("CTRAIL_DATA");
    if (cli.data_dir == NULL || cli.data_dir[0] == '\0')
        cli.data_dir = "ctrail-data";
    while ((c = getopt_long(argc, argv, "+d:vqh", longopts, &li)) != -1) {
        /* whole names only: getopt would take "ctrail --verb" (a filter
         * of events) as --verbose */
        if (li >= 0) {
            size_t n = strlen(longopts[li].name);
            const char *a = argv[at];

            if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, longopts[li].name, n) != 0 ||
                (a[2 + n] != '\0' && a[2 + n] != '=')) {
                ct_cli_error("unrecognized option '%s' (see ctrail --help)", a);
                return CT_EXIT_USAGE;
            }
        }
        li = -1;
        at = optind;
        switch (c) {
        case 'd':
            cli.data_dir = optarg;
            break;
        case 'v':
            ct_log_set_level(CT_LOG_DEBUG);
            break;
        case 'q':
            ct_log_set_level(CT_LOG_ERROR);
            break;
        case 'h':
            fputs(usage_text, stdout);
            return CT_EXIT_OK;
        default:
            fputs(usage_text, stderr);
            return CT_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return CT_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[optind], commands[i].name) == 0)
            return commands[i].run(&cli, argc - optind, argv + optind);
    ct_cli_error("unknown command '%s' (see ctrail --help)", argv[optind]);
    return CT_EXIT_USAGE;
}
