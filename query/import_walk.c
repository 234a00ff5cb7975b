/*
 * query/import_walk.c - expanding `ctrail import DIR` into the files under
 * it (see import_walk.h for what is taken, in which order).
 *
 * Each directory's entries are read whole, sorted with strcmp (byte order,
 * whatever the locale) and visited in that order, depth first, so the
 * order is the same on every run and every machine.  Symbolic links are
 * followed (/var/log/containers is made of them); the directories on the
 * way down are remembered by device and inode, so a link back to one of
 * them is reported as a loop instead of being walked for ever.  Problems
 * are entries of the list, not errors: the caller reports each in its
 * turn and goes on with the rest.
 */
#include "import_walk.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctrail/record.h"

/* The directories from the operand down to the one being read. */
typedef struct ancestor {
    dev_t dev;
    ino_t ino;
    const char *path; /* borrowed */
    const struct ancestor *up;
} ancestor;

typedef struct walk {
    ct_import_inputs *list;
    const char *const *ex;
    size_t n_ex;
} walk;

static ct_status oom(ct_error *err)
{
    return ct_error_set(err, CT_ERR_NOMEM, 0, "out of memory listing the files to import");
}

/* Append path (copied) with problem (formatted whole, or NULL). */
static ct_status push(walk *w, const char *path, ct_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static ct_status push(walk *w, const char *path, ct_error *err, const char *fmt, ...)
{
    ct_import_inputs *l = w->list;
    ct_import_input in = {0};

    if (l->n == l->cap) {
        size_t cap = l->cap != 0 ? l->cap * 2 : 16;
        ct_import_input *v = realloc(l->v, cap * sizeof(*v));

        if (v == NULL)
            return oom(err);
        l->v = v;
        l->cap = cap;
    }
    in.path = ct_strdup(path);
    if (in.path == NULL)
        return oom(err);
    if (fmt != NULL) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        in.problem = n >= 0 ? malloc((size_t)n + 1) : NULL;
        if (in.problem == NULL) {
            free(in.path);
            return oom(err);
        }
        va_start(ap, fmt);
        (void)vsnprintf(in.problem, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    l->v[l->n++] = in;
    return CT_OK;
}

static int excluded(const walk *w, const char *name, const char *rel)
{
    for (size_t i = 0; i < w->n_ex; i++)
        if (fnmatch(w->ex[i], name, 0) == 0 || (rel != NULL && fnmatch(w->ex[i], rel, 0) == 0))
            return 1;
    return 0;
}

static const char *kind_of(mode_t m)
{
    return S_ISFIFO(m)  ? "a fifo"
           : S_ISSOCK(m) ? "a socket"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
                         : "not a regular file";
}

/* "a/b" from "a" and "b" (no doubled '/'); NULL when memory runs out. */
static char *join(const char *dir, const char *name)
{
    size_t dl = strlen(dir), nl = strlen(name);
    char *p;

    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    p = malloc(dl + 1 + nl + 1);
    if (p == NULL)
        return NULL;
    memcpy(p, dir, dl);
    if (dl == 0 || dir[dl - 1] != '/')
        p[dl++] = '/';
    memcpy(p + dl, name, nl + 1);
    return p;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The entries of dir, hidden ones aside, sorted; *ret_names owned (each
 * name and the array).  -1 with errno when it cannot be read. */
static int read_names(const char *dir, char ***ret_names, size_t *ret_n)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, **p;
    size_t n = 0, cap = 0;
    int saved;

    if (d == NULL)
        return -1;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ".", ".." and hidden names */
        if (n == cap) {
            cap = cap != 0 ? cap * 2 : 32;
            p = realloc(names, cap * sizeof(*p));
            if (p == NULL)
                goto fail;
            names = p;
        }
        if ((names[n] = ct_strdup(e->d_name)) == NULL)
            goto fail;
        n++;
        errno = 0;
    }
    if (errno != 0)
        goto fail;
    (void)closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), by_name);
    *ret_names = names;
    *ret_n = n;
    return 0;
fail:
    saved = errno != 0 ? errno : ENOMEM;
    (void)closedir(d);
    while (n > 0)
        free(names[--n]);
    free(names);
    errno = saved;
    return -1;
}

static ct_status walk_dir(walk *w, const char *dir, const char *rel, const struct stat *st,
                          const ancestor *up, ct_error *err);

/* One entry of a directory: path (rel below the operand). */
static ct_status visit(walk *w, const char *path, const char *rel, const ancestor *up,
                       ct_error *err)
{
    struct stat st, lst;

    if (stat(path, &st) != 0) {
        int e = errno;

        if (e == ELOOP)
            return push(w, path, err, "symlink loop (too many levels of symbolic links); skipped");
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode) && e == ENOENT)
            return push(w, path, err, "dangling symlink (its target does not exist); skipped");
        return push(w, path, err, "cannot stat: %s; skipped", strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return walk_dir(w, path, rel, &st, up, err);
    if (!S_ISREG(st.st_mode))
        return push(w, path, err, "%s, not a regular file; skipped", kind_of(st.st_mode));
    return push(w, path, err, NULL);
}

static ct_status walk_dir(walk *w, const char *dir, const char *rel, const struct stat *st,
                          const ancestor *up, ct_error *err)
{
    ancestor here = {st->st_dev, st->st_ino, dir, up};
    char **names = NULL;
    size_t n = 0, i;
    ct_status rc = CT_OK;

    for (const ancestor *a = up; a != NULL; a = a->up)
        if (a->dev == st->st_dev && a->ino == st->st_ino)
            return push(w, dir, err, "symlink loop (it is '%s' again); skipped", a->path);
    if (read_names(dir, &names, &n) != 0) {
        if (errno == ENOMEM)
            return oom(err);
        return push(w, dir, err, "cannot read the directory: %s; skipped", strerror(errno));
    }
    for (i = 0; i < n && rc == CT_OK; i++) {
        char *path = join(dir, names[i]);
        char *crel = rel != NULL ? join(rel, names[i]) : ct_strdup(names[i]);

        if (path == NULL || crel == NULL)
            rc = oom(err);
        else if (!excluded(w, names[i], crel))
            rc = visit(w, path, crel, &here, err);
        free(path);
        free(crel);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

ct_status ct_import_inputs_add(ct_import_inputs *list, const char *operand,
                               const char *const *excludes, size_t n_excludes, ct_error *err)
{
    walk w = {list, excludes, n_excludes};
    size_t len = strlen(operand);
    char *name;
    const char *base;
    struct stat st;
    int skip;

    if (strcmp(operand, "-") == 0)
        return push(&w, operand, err, NULL);
    while (len > 1 && operand[len - 1] == '/')
        len--;
    if ((name = ct_strndup(operand, len)) == NULL)
        return oom(err);
    base = strrchr(name, '/');
    base = base != NULL && base[1] != '\0' ? base + 1 : name; /* "/" stays "/" */
    skip = excluded(&w, base, operand);
    free(name);
    if (skip)
        return CT_OK;
    if (stat(operand, &st) != 0 || !S_ISDIR(st.st_mode))
        return push(&w, operand, err, NULL); /* opening it says what is wrong */
    return walk_dir(&w, operand, NULL, &st, NULL, err);
}

void ct_import_inputs_free(ct_import_inputs *list)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < list->n; i++) {
        free(list->v[i].path);
        free(list->v[i].problem);
    }
    free(list->v);
    memset(list, 0, sizeof(*list));
}
