/*
 * query/cli_impl.h - pieces shared by the CLI's files (private).
 */
#ifndef CTRAIL_CLI_IMPL_H
#define CTRAIL_CLI_IMPL_H

#include "ctrail/error.h"
#include "ctrail/store.h"

typedef struct ct_cli {
    const char *data_dir; /* borrowed: --data, $CTRAIL_DATA, or ./ctrail-data */
    const char *prog;     /* "ctrail" */
} ct_cli;

/* Print "ctrail: MSG" on stderr. */
void ct_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Open the data directory for reading, with a clear message when absent. */
ct_status ct_cli_open_read(const ct_cli *cli, ct_store **ret, ct_error *err);

int ct_cli_import(ct_cli *cli, int argc, char **argv);
int ct_cli_verify(ct_cli *cli, int argc, char **argv);
int ct_cli_stats(ct_cli *cli, int argc, char **argv);
int ct_cli_serve(ct_cli *cli, int argc, char **argv); /* cmd/serve_cli.c */
int ct_cli_token_hash(ct_cli *cli, int argc, char **argv); /* query/cli_token.c */

#endif
