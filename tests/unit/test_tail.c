/*
 * tests/unit/test_tail.c - the file tail's pure parts (collector/tail_lines.c,
 * collector/tail_cursor.c): cutting reads into lines, holding partial and
 * over-long lines, file identities and the cursor text; and the store
 * saving a cursor in the transaction of its records.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ctrail/store.h"

#include "tail_impl.h"

/* Feed each piece, take the lines, return them joined by '|', with
 * flags as "+cut"/"+nolf" and consume. */
static void take_all(ct_tail_splitter *sp, char *out, size_t cap, uint64_t *next)
{
    const ct_tail_line *l;
    size_t n, at = 0;

    cr_assert_eq(ct_tail_split_take(sp, &l, &n, next, NULL), CT_OK);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s%.*s%s%s", i ? "|" : "", (int)l[i].len,
                               l[i].p, l[i].flags & CT_TAIL_CUT ? "+cut" : "",
                               l[i].flags & CT_TAIL_NO_LF ? "+nolf" : "");
    ct_tail_split_consume(sp);
}

Test(tail_lines, splits_and_holds_partial_lines)
{
    ct_tail_splitter sp;
    char got[256];
    uint64_t next;

    ct_tail_split_init(&sp, 1024, 100);
    cr_assert_eq(ct_tail_split_feed(&sp, "one\ntw", 6, NULL), CT_OK);
    take_all(&sp, got, sizeof(got), &next);
    cr_assert_str_eq(got, "one");
    cr_assert_eq(next, 104); /* the partial "tw" is not stored yet */
    cr_assert_eq(ct_tail_split_pending(&sp), 2);
    cr_assert_eq(ct_tail_split_committed(&sp), 104);
    cr_assert_eq(ct_tail_split_feed(&sp, "o\r\n\nthree", 9, NULL), CT_OK);
    take_all(&sp, got, sizeof(got), &next);
    cr_assert_str_eq(got, "two|"); /* CR dropped; the empty line is a line */
    cr_assert_eq(next, 110);
    cr_assert_eq(ct_tail_split_flush(&sp, NULL), CT_OK);
    take_all(&sp, got, sizeof(got), &next);
    cr_assert_str_eq(got, "three+nolf");
    cr_assert_eq(next, 115);
    cr_assert_eq(ct_tail_split_pending(&sp), 0);
    cr_assert_eq(ct_tail_split_flush(&sp, NULL), CT_OK); /* nothing held: no line */
    take_all(&sp, got, sizeof(got), &next);
    cr_assert_str_eq(got, "");
    ct_tail_split_release(&sp);
}

Test(tail_lines, offsets_of_each_line)
{
    ct_tail_splitter sp;
    const ct_tail_line *l;
    size_t n;
    uint64_t next;

    ct_tail_split_init(&sp, 1024, 0);
    cr_assert_eq(ct_tail_split_feed(&sp, "ab\ncd\r\nef\n", 10, NULL), CT_OK);
    cr_assert_eq(ct_tail_split_take(&sp, &l, &n, &next, NULL), CT_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(l[0].offset, 0);
    cr_assert_eq(l[0].next, 3);
    cr_assert_eq(l[1].offset, 3);
    cr_assert_eq(l[1].next, 7);
    cr_assert_eq(l[1].len, 2);
    cr_assert_eq(l[1].full_len, 2);
    cr_assert_eq(l[2].offset, 7);
    cr_assert_eq(next, 10);
    ct_tail_split_release(&sp);
}

Test(tail_lines, byte_at_a_time_is_the_same)
{
    const char *text = "alpha\nbeta gamma\n\ndelta\n";
    ct_tail_splitter sp;
    char got[256];
    uint64_t next;

    ct_tail_split_init(&sp, 1024, 0);
    for (size_t i = 0; i < strlen(text); i++)
        cr_assert_eq(ct_tail_split_feed(&sp, text + i, 1, NULL), CT_OK);
    take_all(&sp, got, sizeof(got), &next);
    cr_assert_str_eq(got, "alpha|beta gamma||delta");
    cr_assert_eq(next, strlen(text));
    ct_tail_split_release(&sp);
}

Test(tail_lines, long_lines_are_cut_and_memory_bounded)
{
    ct_tail_splitter sp;
    const ct_tail_line *l;
    char chunk[1000];
    size_t n;
    uint64_t next;

    memset(chunk, 'x', sizeof(chunk));
    ct_tail_split_init(&sp, 16, 0);
    for (int i = 0; i < 1000; i++) /* a line of 1,000,000 bytes, fed in pieces */
        cr_assert_eq(ct_tail_split_feed(&sp, chunk, sizeof(chunk), NULL), CT_OK);
    cr_assert_leq(sp.cap, 64, "buffer grew to %zu", sp.cap);
    cr_assert_eq(ct_tail_split_take(&sp, &l, &n, &next, NULL), CT_OK);
    cr_assert_eq(n, 0); /* still waiting for its LF */
    cr_assert_eq(next, 0);
    cr_assert_eq(ct_tail_split_feed(&sp, "x\nshort\n", 8, NULL), CT_OK);
    cr_assert_eq(ct_tail_split_take(&sp, &l, &n, &next, NULL), CT_OK);
    cr_assert_eq(n, 2);
    cr_assert_eq(l[0].len, 16);
    cr_assert_eq(l[0].full_len, 1000001);
    cr_assert(l[0].flags & CT_TAIL_CUT);
    cr_assert_eq(l[0].next, 1000002);
    cr_assert_eq(l[1].len, 5);
    cr_assert_eq(l[1].flags, 0);
    cr_assert_eq(next, 1000008);
    ct_tail_split_consume(&sp);
    ct_tail_split_release(&sp);
}

Test(tail_lines, gives_back_the_room_of_a_big_read)
{
    ct_tail_splitter sp;
    const ct_tail_line *l;
    size_t n, len = 4u << 20;
    uint64_t next;
    char *big = malloc(len);

    cr_assert_not_null(big);
    for (size_t i = 0; i < len; i++)
        big[i] = i % 100 == 99 ? '\n' : 'x';
    ct_tail_split_init(&sp, 1u << 20, 0);
    cr_assert_eq(ct_tail_split_feed(&sp, big, len, NULL), CT_OK);
    cr_assert_eq(ct_tail_split_take(&sp, &l, &n, &next, NULL), CT_OK);
    cr_assert_eq(n, len / 100);
    cr_assert_eq(next, len / 100 * 100);
    ct_tail_split_consume(&sp);
    cr_assert_leq(sp.cap, 64u << 10, "kept %zu bytes of room", sp.cap);
    cr_assert_eq(sp.cap_lines, 0);
    cr_assert_eq(ct_tail_split_pending(&sp), len % 100);
    ct_tail_split_release(&sp);
    free(big);
}

Test(tail_lines, reset_forgets_what_was_not_consumed)
{
    ct_tail_splitter sp;
    char got[64];
    uint64_t next;

    ct_tail_split_init(&sp, 64, 0);
    cr_assert_eq(ct_tail_split_feed(&sp, "a\nb\nc", 5, NULL), CT_OK);
    cr_assert_eq(ct_tail_split_committed(&sp), 0);
    ct_tail_split_reset(&sp, ct_tail_split_committed(&sp)); /* the store said no */
    cr_assert_eq(ct_tail_split_feed(&sp, "a\nb\n", 4, NULL), CT_OK);
    take_all(&sp, got, sizeof(got), &next);
    cr_assert_str_eq(got, "a|b");
    cr_assert_eq(next, 4);
    ct_tail_split_release(&sp);
}

Test(tail_cursor, round_trip)
{
    ct_tail_pos p = {{2049, 1835041, 256, 0x9f2c0b6e1d4a7788ull}, 52188}, q;
    char buf[CT_TAIL_CURSOR_MAX];

    cr_assert_str_eq(ct_tail_cursor_format(&p, buf),
                     "v1 dev=2049 ino=1835041 off=52188 head=256:9f2c0b6e1d4a7788");
    cr_assert_eq(ct_tail_cursor_parse(buf, &q, NULL), CT_OK);
    cr_assert(q.id.dev == p.id.dev && q.id.ino == p.id.ino && q.id.head_len == p.id.head_len &&
              q.id.head_hash == p.id.head_hash && q.off == p.off);
}

Test(tail_cursor, rejects_what_it_did_not_write)
{
    const char *bad[] = {
        "",
        "v2 dev=1 ino=2 off=3 head=0:0000000000000000",
        "v1 dev=1 ino=2 off=3 head=0:000000000000000",    /* 15 hex */
        "v1 dev=1 ino=2 off=3 head=0:0000000000000000 x", /* trailing */
        "v1 dev=1 ino=2 off=3 head=257:0000000000000000", /* head too long */
        "v1 dev=1 ino=2 off=x head=0:0000000000000000",
        "v1 dev=1 ino=2 head=0:0000000000000000",
    };
    ct_tail_pos q;
    ct_error err = {0};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_expect_eq(ct_tail_cursor_parse(bad[i], &q, &err), CT_ERR_PARSE, "accepted '%s'", bad[i]);
    cr_expect_eq(ct_tail_cursor_parse(NULL, &q, &err), CT_ERR_PARSE);
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return open(path, O_RDONLY);
}

Test(tail_cursor, identity_and_rotated_files)
{
    char dir[] = "/tmp/tail-unit-XXXXXX", path[128], old[160], other[160];
    ct_tail_ident id, id2;
    ct_tail_pos pos;
    char *found = NULL;
    int fd, fd2, rfd = -1;

    cr_assert_not_null(mkdtemp(dir));
    (void)snprintf(path, sizeof(path), "%s/app.log", dir);
    fd = write_file(path, "first line\nsecond line\n");
    cr_assert_eq(ct_tail_ident_take(fd, &id, NULL), CT_OK);
    cr_assert_eq(id.head_len, 23);
    cr_assert(ct_tail_head_matches(fd, &id));

    /* a file with another start is another file, even at the same inode */
    close(fd);
    fd = write_file(path, "First line\nsecond line\n");
    cr_assert_not(ct_tail_head_matches(fd, &id));
    close(fd);

    /* rename rotation: the file with the cursor's identity is found beside */
    fd = write_file(path, "first line\nsecond line\n");
    cr_assert_eq(ct_tail_ident_take(fd, &id, NULL), CT_OK);
    close(fd);
    (void)snprintf(old, sizeof(old), "%s.1", path);
    cr_assert_eq(rename(path, old), 0);
    fd2 = write_file(path, "new file\n");
    (void)snprintf(other, sizeof(other), "%s/unrelated.log", dir);
    close(write_file(other, "first line\nsecond line\n")); /* same head, other name */
    pos.id = id;
    pos.off = 11;
    cr_assert(ct_tail_find_rotated(path, &pos, &rfd, &found));
    cr_assert_str_eq(found, old);
    cr_assert(ct_tail_ident_take(rfd, &id2, NULL) == CT_OK && id2.ino == id.ino);
    close(rfd);
    free(found);

    /* a copy (copytruncate) matches by its head when the inode is gone */
    cr_assert_eq(unlink(old), 0);
    close(write_file(old, "first line\nsecond line\nthird\n"));
    cr_assert(ct_tail_find_rotated(path, &pos, &rfd, &found));
    cr_assert_str_eq(found, old);
    close(rfd);
    free(found);

    /* shorter than the offset: not it */
    pos.off = 1000;
    cr_assert_not(ct_tail_find_rotated(path, &pos, &rfd, &found));
    close(fd2);
    unlink(old);
    unlink(path);
    unlink(other);
    rmdir(dir);
}

/* ---- the store side: a cursor saved with the records it follows ---- */

static ct_status count_rec(void *ctx, const ct_record *rec, ct_error *err)
{
    (void)rec;
    (void)err;
    (*(int *)ctx)++;
    return CT_OK;
}

static int store_count(ct_store *s)
{
    ct_filter f;
    int n = 0;

    ct_filter_init(&f);
    cr_assert_eq(ct_store_scan(s, &f, count_rec, &n, NULL), CT_OK);
    return n;
}

Test(tail_cursor, saved_in_the_append)
{
    char dir[] = "/tmp/tail-unit-store-XXXXXX", cmd[160];
    ct_store *s;
    ct_record r[2];
    ct_append_result res;
    ct_error err = {0};
    char *val = NULL;

    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(ct_store_open(dir, NULL, &s, &err), CT_OK, "%s", err.msg);
    memset(r, 0, sizeof(r));
    for (int i = 0; i < 2; i++) {
        r[i].source = CT_SRC_TEXT;
        r[i].ts_ns = 1000 + i;
        r[i].kind = strdup("text.line");
        r[i].raw = strdup(i ? "two" : "one");
        r[i].raw_len = 3;
    }
    cr_assert_eq(ct_store_append_cursor(s, r, 2, "tail:/x", "v1 a", &res, &err), CT_OK, "%s",
                 err.msg);
    cr_assert_eq(res.accepted, 2);
    /* no records: only the cursor moves */
    cr_assert_eq(ct_store_append_cursor(s, NULL, 0, "tail:/x", "v1 b", NULL, &err), CT_OK);
    /* a refused batch moves neither */
    free(r[1].kind);
    r[1].kind = NULL;
    cr_assert_eq(ct_store_append_cursor(s, r, 2, "tail:/x", "v1 c", NULL, &err), CT_ERR_INVALID);
    cr_assert_eq(ct_store_append_cursor(s, r, 0, "tail:/x", NULL, NULL, &err), CT_ERR_INVALID);
    cr_assert_eq(ct_store_close(s, &err), CT_OK);

    cr_assert_eq(ct_store_open(dir, NULL, &s, &err), CT_OK, "%s", err.msg);
    cr_assert_eq(ct_store_cursor_get(s, "tail:/x", &val, &err), CT_OK);
    cr_assert_str_eq(val, "v1 b");
    cr_assert_eq(store_count(s), 2);
    free(val);
    cr_assert_eq(ct_store_close(s, &err), CT_OK);
    for (int i = 0; i < 2; i++)
        ct_record_release(&r[i]);
    (void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}
