/*
 * bench/latency.c - ctrail-bench-latency: wall time of one command per id.
 *
 *   ctrail-bench-latency --ids FILE [--max K] [--warmup W] [--json] [--shell]
 *                        -- COMMAND [ARG...]
 *
 * For each id in FILE (one per line, the first K), runs COMMAND with every
 * argument "{}" replaced by the id, stdout to /dev/null, and measures the
 * time from fork to the child's exit with CLOCK_MONOTONIC.  That is what a
 * user waits for: process start, opening the store, the query and the
 * output.  --shell runs `sh -c COMMAND` instead (for pipelines such as
 * "zstdgrep {} f.zst | jq -c ."); the shell's own start, about a
 * millisecond, is then part of the figure.  W warm-up runs (with the first
 * ids) are not counted.  A run that exits non-zero counts as a failure and
 * its time is still recorded.
 *
 * Prints n, failures, min, mean, p50, p90, p99 and max in milliseconds, and
 * the CPU time (user + sys) the measured runs used, as one line of text or
 * (--json) one JSON object.  Percentiles are
 * nearest-rank: p99 of 200 runs is the 198th fastest.
 */
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* s with every "{}" replaced by id; the caller frees it. */
static char *fill(const char *s, const char *id)
{
    size_t n = 0, il = strlen(id);
    const char *p;
    char *out, *w;

    for (p = strstr(s, "{}"); p != NULL; p = strstr(p + 2, "{}"))
        n++;
    out = malloc(strlen(s) + n * il + 1);
    if (out == NULL)
        return NULL;
    w = out;
    while ((p = strstr(s, "{}")) != NULL) {
        memcpy(w, s, (size_t)(p - s));
        w += p - s;
        memcpy(w, id, il);
        w += il;
        s = p + 2;
    }
    strcpy(w, s);
    return out;
}

/* The child's stderr goes here, so a failure can be shown without a flood. */
static FILE *errf;

/* Run the command once for id; returns its wall time in ms, *ok = exit 0. */
static double run_one(char **tmpl, int argc, int shell, const char *id, int *ok)
{
    char **argv = calloc((size_t)argc + 4, sizeof(*argv));
    double t0, t1;
    pid_t pid;
    int st = 0, k = 0;

    if (argv == NULL) {
        perror("ctrail-bench-latency");
        exit(1);
    }
    if (shell) {
        argv[k++] = (char *)"sh";
        argv[k++] = (char *)"-c";
    }
    for (int i = 0; i < argc; i++)
        if ((argv[k++] = fill(tmpl[i], id)) == NULL) {
            perror("ctrail-bench-latency");
            exit(1);
        }
    if (errf != NULL) {
        fflush(errf);
        if (ftruncate(fileno(errf), 0) != 0 || fseek(errf, 0, SEEK_SET) != 0)
            errf = NULL;
    }
    t0 = now_ms();
    pid = fork();
    if (pid < 0) {
        perror("ctrail-bench-latency: fork");
        exit(1);
    }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);

        if (fd >= 0) {
            dup2(fd, 1);
            close(fd);
        }
        if (errf != NULL)
            dup2(fileno(errf), 2);
        execvp(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    while (waitpid(pid, &st, 0) < 0)
        ;
    t1 = now_ms();
    *ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    for (int i = shell ? 2 : 0; i < k; i++)
        free(argv[i]);
    free(argv);
    return t1 - t0;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* user + sys of the children waited for so far, in ms */
static double children_cpu_ms(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double pct(const double *v, size_t n, double q)
{
    size_t r = (size_t)ceil(q * (double)n);

    return v[r == 0 ? 0 : r - 1];
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ids", required_argument, NULL, 'i'},    {"max", required_argument, NULL, 'm'},
        {"warmup", required_argument, NULL, 'w'}, {"json", no_argument, NULL, 'j'},
        {"shell", no_argument, NULL, 's'},        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *ids_path = NULL;
    size_t max = 0, warmup = 0, n = 0, cap = 0, fails = 0;
    int json = 0, shell = 0, c;
    char **ids = NULL, line[512];
    double *ms, sum = 0, cpu0;
    FILE *f;

    while ((c = getopt_long(argc, argv, "+i:m:w:jsh", longopts, NULL)) != -1) {
        switch (c) {
        case 'i':
            ids_path = optarg;
            break;
        case 'm':
            max = strtoul(optarg, NULL, 10);
            break;
        case 'w':
            warmup = strtoul(optarg, NULL, 10);
            break;
        case 'j':
            json = 1;
            break;
        case 's':
            shell = 1;
            break;
        default:
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: ctrail-bench-latency --ids FILE [--max K] [--warmup W] [--json] "
                    "[--shell] -- COMMAND [ARG...]   ({} in an argument is the id)\n");
            return c == 'h' ? 0 : 2;
        }
    }
    if (ids_path == NULL || optind >= argc || (shell && argc - optind != 1)) {
        fprintf(stderr, "ctrail-bench-latency: need --ids FILE and a command "
                        "(with --shell, one string)\n");
        return 2;
    }
    if ((f = fopen(ids_path, "r")) == NULL) {
        perror(ids_path);
        return 1;
    }
    while (fgets(line, sizeof(line), f) != NULL && (max == 0 || n < max)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            ids = realloc(ids, cap * sizeof(*ids));
            if (ids == NULL) {
                perror("ctrail-bench-latency");
                return 1;
            }
        }
        ids[n++] = strdup(line);
    }
    fclose(f);
    if (n == 0) {
        fprintf(stderr, "ctrail-bench-latency: no ids in %s\n", ids_path);
        return 1;
    }
    errf = tmpfile();
    for (size_t i = 0; i < warmup; i++) {
        int ok;

        (void)run_one(argv + optind, argc - optind, shell, ids[i % n], &ok);
    }
    ms = calloc(n, sizeof(*ms));
    if (ms == NULL) {
        perror("ctrail-bench-latency");
        return 1;
    }
    cpu0 = children_cpu_ms();
    for (size_t i = 0; i < n; i++) {
        int ok;

        ms[i] = run_one(argv + optind, argc - optind, shell, ids[i], &ok);
        sum += ms[i];
        if (!ok && fails++ < 3) {
            char msg[400] = "";
            size_t got = 0;

            if (errf != NULL && fseek(errf, 0, SEEK_SET) == 0)
                got = fread(msg, 1, sizeof(msg) - 1, errf);
            msg[got] = '\0';
            msg[strcspn(msg, "\n")] = '\0';
            fprintf(stderr, "ctrail-bench-latency: failed for id %s: %s\n", ids[i], msg);
        }
    }
    cpu0 = children_cpu_ms() - cpu0;
    qsort(ms, n, sizeof(*ms), dbl_cmp);
    if (json)
        printf("{\"n\":%zu,\"failures\":%zu,\"min_ms\":%.3f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,"
               "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"wall_ms\":%.3f,"
               "\"cpu_ms\":%.3f}\n",
               n, fails, ms[0], sum / (double)n, pct(ms, n, 0.5), pct(ms, n, 0.9),
               pct(ms, n, 0.99), ms[n - 1], sum, cpu0);
    else
        printf("n=%zu failures=%zu min=%.3f mean=%.3f p50=%.3f p90=%.3f p99=%.3f max=%.3f "
               "wall=%.1f cpu=%.1f (ms)\n",
               n, fails, ms[0], sum / (double)n, pct(ms, n, 0.5), pct(ms, n, 0.9),
               pct(ms, n, 0.99), ms[n - 1], sum, cpu0);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(ms);
    return fails == n ? 1 : 0;
}
