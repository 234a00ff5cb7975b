/*
 * cmd/ctrail.c - the ctrail binary: everything is in the library.
 */
#include "ctrail/cli.h"

int main(int argc, char **argv)
{
    return ct_cli_main(argc, argv);
}
