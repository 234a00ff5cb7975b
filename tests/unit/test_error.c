/*
 * tests/unit/test_error.c - messages that do not fit their buffer:
 * ct_msg_fit cuts at a UTF-8 character boundary and marks the cut with
 * "...", ct_error_set keeps the strerror reason whole, ct_error_prefix
 * keeps the prefix.  Every cut message must still be valid UTF-8 (jansson
 * refuses anything else, and an HTTP error reply would lose its message).
 */
#include <errno.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "ctrail/error.h"

/* 1 when s is a whole number of UTF-8 characters: jansson's own check. */
static int valid_utf8(const char *s)
{
    json_t *j = json_string(s);
    int ok = j != NULL;

    json_decref(j);
    return ok;
}

Test(msg_fit, a_text_that_fits_is_copied_whole)
{
    char buf[16];

    cr_expect_eq(ct_msg_fit(buf, sizeof(buf), "%s=%d", "abc", 42), 0);
    cr_expect_str_eq(buf, "abc=42");
    cr_expect_eq(ct_msg_fit(buf, sizeof(buf), "%s", "fifteen chars.."), 0);
    cr_expect_str_eq(buf, "fifteen chars..");
}

Test(msg_fit, a_long_text_is_cut_and_marked)
{
    char buf[16];

    cr_expect_eq(ct_msg_fit(buf, sizeof(buf), "%s", "sixteen chars..."), 1);
    cr_expect_str_eq(buf, "sixteen char...");
    cr_expect_eq(ct_msg_fit(buf, sizeof(buf), "cannot open '%s'", "/var/log/kube-audit/x"), 1);
    cr_expect_str_eq(buf, "cannot open ...");
    cr_expect_eq(strlen(buf), sizeof(buf) - 1);
}

/* Every cut of texts made of 1-, 2-, 3- and 4-byte characters, at every
 * buffer size: valid UTF-8, the "..." mark, and a prefix of the text. */
Test(msg_fit, cuts_fall_between_utf8_characters)
{
    static const char *const texts[] = {
        "caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9 caf\xc3\xa9",     /* é */
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", /* éééééééé */
        "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", /* 日本語 */
        "\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3\xf0\x9f\x90\xb3", /* whales */
    };

    for (size_t t = 0; t < sizeof(texts) / sizeof(texts[0]); t++) {
        size_t len = strlen(texts[t]);

        for (size_t cap = 4; cap <= len + 1; cap++) {
            char buf[64];
            int cut = ct_msg_fit(buf, cap, "%s", texts[t]);
            size_t n = strlen(buf);

            cr_assert(valid_utf8(texts[t]));
            if (cap > len) {
                cr_expect_eq(cut, 0);
                cr_expect_str_eq(buf, texts[t]);
                continue;
            }
            cr_expect_eq(cut, 1, "text %zu cap %zu: not reported as cut", t, cap);
            cr_expect(n < cap && n >= 3 && n + 3 >= cap - 1, "text %zu cap %zu: length %zu", t,
                      cap, n);
            cr_expect(strcmp(buf + n - 3, "...") == 0, "text %zu cap %zu: '%s' has no mark", t,
                      cap, buf);
            cr_expect(memcmp(buf, texts[t], n - 3) == 0, "text %zu cap %zu: not a prefix", t,
                      cap);
            cr_expect(valid_utf8(buf), "text %zu cap %zu: '%s' is not valid UTF-8", t, cap, buf);
        }
    }
}

Test(msg_fit, tiny_buffers)
{
    char buf[4] = "xyz";

    cr_expect_eq(ct_msg_fit(buf, 0, "%s", "abc"), 0);
    cr_expect_str_eq(buf, "xyz", "a zero-sized buffer is not written");
    cr_expect_eq(ct_msg_fit(buf, 3, "%s", "abcdef"), 1);
    cr_expect_str_eq(buf, "ab", "no room for the mark: cut as snprintf cuts");
    cr_expect_eq(ct_msg_fit(buf, 4, "%s", "abcdef"), 1);
    cr_expect_str_eq(buf, "...");
}

Test(error_set, the_errno_reason_survives_a_long_message)
{
    char path[400];
    const char *reason = strerror(ENOENT);
    ct_error err = {0};
    size_t n, rn = strlen(reason);

    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    cr_expect_eq(ct_error_set(&err, CT_ERR_NOTFOUND, ENOENT, "cannot open '%s'", path),
                 CT_ERR_NOTFOUND);
    cr_expect_eq(err.code, CT_ERR_NOTFOUND);
    cr_expect_eq(err.sys_errno, ENOENT);
    n = strlen(err.msg);
    cr_expect_eq(n, sizeof(err.msg) - 1, "the message fills the buffer: %zu", n);
    cr_assert(n > rn + 5);
    cr_expect(memcmp(err.msg + n - rn, reason, rn) == 0, "the reason is not at the end: '%s'",
              err.msg);
    cr_expect(memcmp(err.msg + n - rn - 5, "...: ", 5) == 0, "no cut mark before it: '%s'",
              err.msg);
    cr_expect(strncmp(err.msg, "cannot open 'ppp", 16) == 0);
}

Test(error_set, short_messages_are_unchanged)
{
    ct_error err = {0};
    char want[128];

    ct_error_set(&err, CT_ERR_IO, EACCES, "cannot read '%s'", "x.log");
    (void)snprintf(want, sizeof(want), "cannot read 'x.log': %s", strerror(EACCES));
    cr_expect_str_eq(err.msg, want);
    ct_error_set(&err, CT_ERR_PARSE, 0, "bad line %d", 7);
    cr_expect_str_eq(err.msg, "bad line 7");
    cr_expect_eq(err.sys_errno, 0);
}

Test(error_prefix, the_prefix_stays_and_the_end_is_cut)
{
    ct_error err = {0};
    char long_msg[300];
    size_t n;

    ct_error_set(&err, CT_ERR_PARSE, 0, "bad byte");
    ct_error_prefix(&err, "segment '%s'", "00000001.seg");
    cr_expect_str_eq(err.msg, "segment '00000001.seg': bad byte");

    memset(long_msg, 'm', sizeof(long_msg) - 1);
    long_msg[sizeof(long_msg) - 1] = '\0';
    ct_error_set(&err, CT_ERR_PARSE, 0, "%s", long_msg);
    ct_error_prefix(&err, "block %d", 12);
    n = strlen(err.msg);
    cr_expect(strncmp(err.msg, "block 12: mmm", 13) == 0, "'%s'", err.msg);
    cr_expect_eq(n, sizeof(err.msg) - 1);
    cr_expect_str_eq(err.msg + n - 3, "...");
}
