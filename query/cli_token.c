/*
 * query/cli_token.c - `ctrail token-hash`: what goes in a --tokens file.
 *
 * The token file stores hashes only (query/auth.h), so this is how an
 * operator turns a token into its line, or makes a new random token.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "cli_impl.h"
#include "ctrail/cli.h"

static const char token_help[] =
    "usage: ctrail token-hash [TOKEN]\n"
    "       ctrail token-hash --new [NAME ROLE]\n"
    "Prints sha256:HEX, the hash of TOKEN (or of the first line of standard input)\n"
    "as a --tokens file wants it.  --new makes a random token and prints it on the\n"
    "first line and its hash on the second; with NAME and ROLE (read, ingest,\n"
    "admin) the second line is the whole token file line.  Tokens are at least\n"
    "16 bytes.  The file format is in `ctrail serve --help`.\n";

#define TOKEN_MIN 16

static int print_new(int argc, char **argv)
{
    unsigned char rnd[32];
    char token[64], hash[CT_TOKEN_HASH_BUF];
    ct_role role;

    if (argc != 0 && argc != 2) {
        fputs(token_help, stderr);
        return CT_EXIT_USAGE;
    }
    if (argc == 2 && ct_role_parse(argv[1], strlen(argv[1]), &role) != 0) {
        ct_cli_error("unknown role '%s' (read, ingest, admin)", argv[1]);
        return CT_EXIT_USAGE;
    }
    randombytes_buf(rnd, sizeof(rnd));
    sodium_bin2base64(token, sizeof(token), rnd, sizeof(rnd),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    ct_token_hash(token, strlen(token), hash);
    if (argc == 2)
        printf("%s\n%s %s %s\n", token, argv[0], argv[1], hash);
    else
        printf("%s\n%s\n", token, hash);
    sodium_memzero(token, sizeof(token));
    return fflush(stdout) == 0 ? CT_EXIT_OK : CT_EXIT_FAIL;
}

int ct_cli_token_hash(ct_cli *cli, int argc, char **argv)
{
    char line[4096], hash[CT_TOKEN_HASH_BUF];
    const char *token;
    size_t len;

    (void)cli;
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(token_help, stdout);
        return CT_EXIT_OK;
    }
    if (argc >= 2 && strcmp(argv[1], "--new") == 0)
        return print_new(argc - 2, argv + 2);
    if (argc > 2) {
        fputs(token_help, stderr);
        return CT_EXIT_USAGE;
    }
    if (argc == 2) {
        token = argv[1];
    } else {
        if (fgets(line, sizeof(line), stdin) == NULL) {
            ct_cli_error("no token on standard input");
            return CT_EXIT_USAGE;
        }
        line[strcspn(line, "\r\n")] = '\0';
        token = line;
    }
    len = strlen(token);
    if (len < TOKEN_MIN || strpbrk(token, " \t") != NULL) {
        ct_cli_error("a token is at least %d bytes without blanks (try --new)", TOKEN_MIN);
        return CT_EXIT_USAGE;
    }
    puts(ct_token_hash(token, len, hash));
    sodium_memzero(line, sizeof(line));
    return fflush(stdout) == 0 ? CT_EXIT_OK : CT_EXIT_FAIL;
}
