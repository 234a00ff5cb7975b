/*
 * cmd/serve_cli.c - `ctrail serve` options.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_impl.h"
#include "ctrail/cli.h"
#include "ctrail/serve.h"

static const char serve_help[] =
    "usage: ctrail serve [OPTIONS]\n"
    "Runs the collectors and the HTTP API on one data directory until SIGINT or\n"
    "SIGTERM; every record is durable before it is acknowledged.\n"
    "\n"
    "  --listen ADDR           HTTP address (default 127.0.0.1:8780; port 0 picks one)\n"
    "  --tokens FILE           bearer tokens and roles; without it only loopback is served\n"
    "                          (lines NAME ROLE sha256:HEX, ROLE read|ingest|admin; see\n"
    "                          ctrail token-hash --help)\n"
    "  --max-body BYTES        largest request body (default 64 MiB)\n"
    "  --web-root DIR          serve the web page from DIR instead of the built-in copy\n"
    "  --docker URL            engine API (unix:///path or http://host:port; default\n"
    "                          $DOCKER_HOST, then unix:///var/run/docker.sock)\n"
    "  --no-docker             do not follow a Docker/Podman engine\n"
    "  --inspect-interval SEC  inspect snapshots of running containers (default 60)\n"
    "  --syslog-udp ADDR       receive syslog datagrams (RFC 3164, RFC 5424) on ADDR\n"
    "                          (HOST:PORT, e.g. 127.0.0.1:514; port 0 picks one)\n"
    "  --syslog-tcp ADDR       receive syslog over TCP, octet-counted or LF-framed\n"
    "  --syslog-unix PATH      a datagram socket like /dev/log (logger -u PATH);\n"
    "                          stream:PATH for a stream socket\n"
    "  --syslog-max-msg BYTES  longer messages are kept cut, kind *.cut (default 1 MiB)\n"
    "  --tail PATH_OR_GLOB     follow a log file (text, auditd, docker json-file)\n"
    "  --k8s-audit-log PATH    follow a kube-apiserver audit log (--audit-log-path, JSON\n"
    "                          lines; path or glob); see docs/kubernetes.md\n"
    "All of them but --listen may be repeated where a list makes sense.\n";

/* lists: room for argc strings in each of the five lists (the syslog
 * receivers, tails, audit logs); the strings are argv's */
static int serve_cmd(ct_cli *cli, int argc, char **argv, const char **lists)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"tokens", required_argument, NULL, 't'},
        {"max-body", required_argument, NULL, 'b'},
        {"web-root", required_argument, NULL, 'w'},
        {"docker", required_argument, NULL, 'D'},
        {"no-docker", no_argument, NULL, 'N'},
        {"inspect-interval", required_argument, NULL, 'i'},
        {"syslog-udp", required_argument, NULL, 'U'},
        {"syslog-tcp", required_argument, NULL, 'T'},
        {"syslog-unix", required_argument, NULL, 'X'},
        {"syslog-max-msg", required_argument, NULL, 'M'},
        {"tail", required_argument, NULL, 'f'},
        {"k8s-audit-log", required_argument, NULL, 'k'},
        {"data", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ct_serve_opts o;
    ct_error err = {0};
    ct_status rc;
    char *end;
    long v;
    int c;

    ct_serve_opts_init(&o);
    o.syslog_udp.v = lists;
    o.syslog_tcp.v = lists + argc;
    o.syslog_unix.v = lists + 2 * argc;
    o.tails.v = lists + 3 * argc;
    o.k8s_audit_logs.v = lists + 4 * argc;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            o.listen = optarg;
            break;
        case 'b':
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1024) {
                ct_cli_error("--max-body wants a number of bytes >= 1024, not '%s'", optarg);
                return CT_EXIT_USAGE;
            }
            o.max_body_bytes = (size_t)v;
            break;
        case 'w':
            o.web_root = optarg;
            break;
        case 'N':
            o.no_docker = 1;
            break;
        case 'D':
            o.docker_host = optarg;
            break;
        case 'i':
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 1 || v > 86400) {
                ct_cli_error("--inspect-interval wants seconds (1..86400), not '%s'", optarg);
                return CT_EXIT_USAGE;
            }
            o.inspect_interval_s = (int)v;
            break;
        case 't':
            o.tokens_file = optarg;
            break;
        case 'U':
            o.syslog_udp.v[o.syslog_udp.n++] = optarg;
            break;
        case 'T':
            o.syslog_tcp.v[o.syslog_tcp.n++] = optarg;
            break;
        case 'X':
            o.syslog_unix.v[o.syslog_unix.n++] = optarg;
            break;
        case 'M':
            v = strtol(optarg, &end, 10);
            if (*end != '\0' || v < 64 || v > (8L << 20)) {
                ct_cli_error("--syslog-max-msg wants bytes (64..8388608), not '%s'", optarg);
                return CT_EXIT_USAGE;
            }
            o.syslog_max_msg = (size_t)v;
            break;
        case 'f':
            o.tails.v[o.tails.n++] = optarg;
            break;
        case 'k':
            o.k8s_audit_logs.v[o.k8s_audit_logs.n++] = optarg;
            break;
        case 'd':
            cli->data_dir = optarg;
            break;
        case 'h':
            fputs(serve_help, stdout);
            return CT_EXIT_OK;
        default:
            fputs(serve_help, stderr);
            return CT_EXIT_USAGE;
        }
    }
    if (optind != argc) {
        ct_cli_error("serve takes no arguments besides options ('%s')", argv[optind]);
        return CT_EXIT_USAGE;
    }
    o.data_dir = cli->data_dir;
    rc = ct_serve_run(&o, &err);
    if (rc != CT_OK) {
        ct_cli_error("%s", err.msg);
        return CT_EXIT_FAIL;
    }
    return CT_EXIT_OK;
}

int ct_cli_serve(ct_cli *cli, int argc, char **argv)
{
    const char **lists = calloc(5 * (size_t)argc + 1, sizeof(*lists));
    int rc;

    if (lists == NULL) {
        ct_cli_error("out of memory");
        return CT_EXIT_FAIL;
    }
    rc = serve_cmd(cli, argc, argv, lists);
    free(lists);
    return rc;
}
