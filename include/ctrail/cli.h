/*
 * ctrail/cli.h - the command line: `ctrail [--data DIR] SUBCOMMAND ...`.
 */
#ifndef CTRAIL_CLI_H
#define CTRAIL_CLI_H

/* Exit statuses of ct_cli_main. */
enum {
    CT_EXIT_OK = 0,
    CT_EXIT_FAIL = 1,     /* the command failed (error on stderr), or verify found damage */
    CT_EXIT_USAGE = 2,    /* bad arguments */
    CT_EXIT_REJECTED = 3, /* import stored the good input but rejected some lines */
};

/* Run one command; returns an exit status. */
int ct_cli_main(int argc, char **argv);

#endif
