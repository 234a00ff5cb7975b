/*
 * tests/unit/test_auth.c - query/auth.c: the token file, token checks,
 * roles, bearer headers and loopback addresses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "auth.h"

/* sha256("alice-token-0123456789") etc., computed by ct_token_hash */
static char h_alice[CT_TOKEN_HASH_BUF], h_bob[CT_TOKEN_HASH_BUF], h_ops[CT_TOKEN_HASH_BUF];

static void setup(void)
{
    ct_token_hash("alice-token-0123456789", 22, h_alice);
    ct_token_hash("bob-token-0123456789", 20, h_bob);
    ct_token_hash("ops-token-0123456789", 20, h_ops);
}

TestSuite(auth, .init = setup);

static ct_auth *parse_ok(const char *text)
{
    ct_auth *a = NULL;
    ct_error err = {0};
    ct_status rc = ct_auth_parse(text, strlen(text), &a, &err);

    cr_assert_eq(rc, CT_OK, "parse failed: %s", err.msg);
    cr_assert_not_null(a);
    return a;
}

Test(auth, hash_is_sha256_hex)
{
    char buf[CT_TOKEN_HASH_BUF];

    /* sha256("abc"), FIPS 180-2 */
    cr_expect_str_eq(ct_token_hash("abc", 3, buf),
                     "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

Test(auth, parses_comments_blanks_and_roles)
{
    char text[1024];
    ct_auth *a;
    ct_role role = CT_ROLE_NONE;
    const char *name;

    snprintf(text, sizeof(text),
             "# NAME ROLE HASH\n\n  alice read %s\r\nbob\tingest\t%s\n   # ops below\nops admin %s",
             h_alice, h_bob, h_ops);
    a = parse_ok(text);
    cr_expect_eq(ct_auth_count(a), 3);
    name = ct_auth_check(a, "alice-token-0123456789", 22, &role);
    cr_expect_str_eq(name, "alice");
    cr_expect_eq(role, CT_ROLE_READ);
    name = ct_auth_check(a, "bob-token-0123456789", 20, &role);
    cr_expect_str_eq(name, "bob");
    cr_expect_eq(role, CT_ROLE_INGEST);
    name = ct_auth_check(a, "ops-token-0123456789", 20, &role);
    cr_expect_str_eq(name, "ops");
    cr_expect_eq(role, CT_ROLE_ADMIN);
    ct_auth_free(a);
}

Test(auth, unknown_tokens_are_refused)
{
    char text[256];
    ct_auth *a;
    ct_role role = CT_ROLE_ADMIN;

    snprintf(text, sizeof(text), "alice read %s\n", h_alice);
    a = parse_ok(text);
    cr_expect_null(ct_auth_check(a, "alice-token-012345678", 21, &role), "a prefix matched");
    cr_expect_null(ct_auth_check(a, "alice-token-01234567890", 23, &role), "a longer one matched");
    cr_expect_null(ct_auth_check(a, "", 0, &role));
    cr_expect_null(ct_auth_check(a, h_alice, strlen(h_alice), &role), "the hash is no token");
    cr_expect_eq(role, CT_ROLE_ADMIN, "role touched on failure");
    ct_auth_free(a);
}

Test(auth, hash_prefix_is_case_insensitive_and_hex_any_case)
{
    char text[256], upper[CT_TOKEN_HASH_BUF];
    ct_auth *a;
    ct_role role;

    strcpy(upper, h_alice);
    for (char *p = upper; *p; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    snprintf(text, sizeof(text), "alice read %s\n", upper);
    a = parse_ok(text);
    cr_expect_str_eq(ct_auth_check(a, "alice-token-0123456789", 22, &role), "alice");
    ct_auth_free(a);
}

Test(auth, rejects_bad_files)
{
    char twice[512], same[512], extra[512], badname[512], badrole[512], shorthash[512];
    const struct {
        const char *name, *text, *why;
    } bad[] = {
        {"empty", "", "no tokens"},
        {"only comments", "# nothing\n\n", "no tokens"},
        {"two fields", "alice read\n", "line 1"},
        {"extra field", extra, "line 1"},
        {"unknown role", badrole, "unknown role"},
        {"bad name", badname, "bad name"},
        {"short hash", shorthash, "bad hash"},
        {"no prefix", "alice read 2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
         "bad hash"},
        {"not hex",
         "alice read sha256:zbb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b",
         "bad hash"},
        {"name twice", twice, "line 2: name 'alice' given twice"},
        {"same token twice", same, "same token"},
        {"NUL byte", "alice\0read", "NUL"},
    };

    snprintf(twice, sizeof(twice), "alice read %s\nalice admin %s\n", h_alice, h_ops);
    snprintf(same, sizeof(same), "alice read %s\nbob admin %s\n", h_alice, h_alice);
    snprintf(extra, sizeof(extra), "alice read %s more\n", h_alice);
    snprintf(badname, sizeof(badname), "al/ice read %s\n", h_alice);
    snprintf(badrole, sizeof(badrole), "alice root %s\n", h_alice);
    snprintf(shorthash, sizeof(shorthash), "alice read %.40s\n", h_alice);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ct_auth *a = NULL;
        ct_error err = {0};
        size_t len = strcmp(bad[i].name, "NUL byte") == 0 ? 10 : strlen(bad[i].text);
        ct_status rc = ct_auth_parse(bad[i].text, len, &a, &err);

        cr_expect_eq(rc, CT_ERR_PARSE, "%s: got %s", bad[i].name, ct_status_str(rc));
        cr_expect_null(a, "%s: output touched on failure", bad[i].name);
        cr_expect(strstr(err.msg, bad[i].why) != NULL, "%s: message '%s' lacks '%s'", bad[i].name,
                  err.msg, bad[i].why);
    }
}

Test(auth, load_names_the_file)
{
    char path[] = "/tmp/ctrail-test-auth-XXXXXX";
    int fd = mkstemp(path);
    FILE *f;
    ct_auth *a = NULL;
    ct_error err = {0};

    cr_assert(fd >= 0);
    f = fdopen(fd, "w");
    fprintf(f, "alice read %s\nbob superuser %s\n", h_alice, h_bob);
    fclose(f);
    cr_expect_eq(ct_auth_load(path, &a, &err), CT_ERR_PARSE);
    cr_expect(strstr(err.msg, path) != NULL && strstr(err.msg, "line 2") != NULL, "msg: %s",
              err.msg);
    unlink(path);
    cr_expect_eq(ct_auth_load(path, &a, &err), CT_ERR_IO);
    cr_expect_null(a);
}

Test(auth, roles)
{
    ct_role r;

    cr_expect(ct_role_allows(CT_ROLE_READ, CT_ROLE_READ));
    cr_expect(!ct_role_allows(CT_ROLE_READ, CT_ROLE_INGEST));
    cr_expect(!ct_role_allows(CT_ROLE_READ, CT_ROLE_ADMIN));
    cr_expect(!ct_role_allows(CT_ROLE_INGEST, CT_ROLE_READ));
    cr_expect(ct_role_allows(CT_ROLE_INGEST, CT_ROLE_INGEST));
    cr_expect(ct_role_allows(CT_ROLE_ADMIN, CT_ROLE_READ));
    cr_expect(ct_role_allows(CT_ROLE_ADMIN, CT_ROLE_INGEST));
    cr_expect(ct_role_allows(CT_ROLE_ADMIN, CT_ROLE_ADMIN));
    cr_expect(ct_role_allows(CT_ROLE_NONE, CT_ROLE_NONE), "public routes need no token");
    cr_expect(!ct_role_allows(CT_ROLE_NONE, CT_ROLE_READ));
    cr_expect_eq(ct_role_parse("ingest", 6, &r), 0);
    cr_expect_eq(r, CT_ROLE_INGEST);
    cr_expect_eq(ct_role_parse("none", 4, &r), -1, "'none' is not a role a token can have");
    cr_expect_eq(ct_role_parse("reader", 4, &r), 0, "length bounds the name");
    cr_expect_str_eq(ct_role_name(CT_ROLE_ADMIN), "admin");
}

Test(auth, bearer_header)
{
    const char *tok;
    size_t len;

    cr_expect_eq(ct_auth_bearer("Bearer abc", &tok, &len), 0);
    cr_expect(len == 3 && memcmp(tok, "abc", 3) == 0);
    cr_expect_eq(ct_auth_bearer("bearer \t abc  ", &tok, &len), 0);
    cr_expect(len == 3 && memcmp(tok, "abc", 3) == 0);
    cr_expect_eq(ct_auth_bearer("Basic YWxhZGRpbjpvcGVuc2VzYW1l", &tok, &len), -1);
    cr_expect_eq(ct_auth_bearer("Bearer", &tok, &len), -1);
    cr_expect_eq(ct_auth_bearer("Bearer    ", &tok, &len), -1);
    cr_expect_eq(ct_auth_bearer("Bearerabc", &tok, &len), -1);
    cr_expect_eq(ct_auth_bearer(NULL, &tok, &len), -1);
}

Test(auth, loopback)
{
    cr_expect(ct_addr_is_loopback("127.0.0.1"));
    cr_expect(ct_addr_is_loopback("127.1.2.3"));
    cr_expect(ct_addr_is_loopback("::1"));
    cr_expect(ct_addr_is_loopback("::ffff:127.0.0.1"));
    cr_expect(!ct_addr_is_loopback("10.0.0.1"));
    cr_expect(!ct_addr_is_loopback("1.127.0.0"));
    cr_expect(!ct_addr_is_loopback("::ffff:10.0.0.1"));
    cr_expect(!ct_addr_is_loopback("fe80::1"));
    cr_expect(!ct_addr_is_loopback(""));
    cr_expect(!ct_addr_is_loopback(NULL));
}
