/*
 * store/keys.c - the store's Ed25519 key pair, which signs checkpoints.
 *
 * DATA/keys/store.key holds the 64-byte libsodium secret key (mode 0600);
 * DATA/keys/store.pub the 32-byte public key, which is all a verifier needs.
 * The checkpoint message is
 *   "ctrail-checkpoint-v1" (20 bytes) | store id (16) | block id (u64 LE) | chain hash (32)
 */
#include "store_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "codec.h"
#include "index.h"

static const char cp_magic[20] = "ctrail-checkpoint-v1";

void ct_checkpoint_message(const unsigned char store_id[CT_STORE_ID_LEN], uint64_t block,
                           const unsigned char hash[CT_HASH_LEN], unsigned char out[76])
{
    memcpy(out, cp_magic, 20);
    memcpy(out + 20, store_id, CT_STORE_ID_LEN);
    ct_le_put_u64(out + 36, block);
    memcpy(out + 44, hash, CT_HASH_LEN);
}

/* CT_OK with buf filled; CT_ERR_NOTFOUND when the file is absent;
 * CT_ERR_CORRUPT when it is not exactly n bytes (a write cut short). */
static ct_status read_exact(int dirfd, const char *name, unsigned char *buf, size_t n,
                            ct_error *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    unsigned char extra;
    ssize_t r;

    if (fd < 0)
        return ct_error_set(err, errno == ENOENT ? CT_ERR_NOTFOUND : CT_ERR_IO, errno,
                            "cannot open keys/%s", name);
    r = read(fd, buf, n);
    if (r == (ssize_t)n && read(fd, &extra, 1) != 0)
        r = -1;
    close(fd);
    if (r != (ssize_t)n)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "keys/%s is not %zu bytes", name, n);
    return CT_OK;
}

/* Write name whole or not at all: a temporary file, fsynced, renamed over
 * name, then the directory fsynced.  A crash leaves the old name (or none)
 * and at most a stray "name.tmp", which the next write replaces. */
static ct_status write_atomic(int dirfd, const char *name, const unsigned char *buf, size_t n,
                              mode_t mode, ct_error *err)
{
    char tmp[64];
    int fd;
    ct_status rc = CT_OK;

    snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create keys/%s", tmp);
    if (fchmod(fd, mode) != 0 || write(fd, buf, n) != (ssize_t)n || fsync(fd) != 0)
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot write keys/%s", tmp);
    close(fd);
    if (rc == CT_OK && renameat(dirfd, tmp, dirfd, name) != 0)
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot rename keys/%s", tmp);
    if (rc == CT_OK && fsync(dirfd) != 0)
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot fsync keys/");
    if (rc != CT_OK)
        (void)unlinkat(dirfd, tmp, 0);
    return rc;
}

static ct_status count_checkpoints(ct_store *s, int64_t *n, ct_error *err)
{
    sqlite3_stmt *st;
    ct_status rc = ct_index_prepare(s->db, "SELECT count(*) FROM checkpoints", &st, err);

    if (rc != CT_OK)
        return rc;
    if (sqlite3_step(st) == SQLITE_ROW)
        *n = sqlite3_column_int64(st, 0);
    else
        rc = ct_index_err(s->db, err, "counting checkpoints");
    sqlite3_finalize(st);
    return rc;
}

/*
 * The writer's key pair.  store.key is the truth (the public key is its
 * second half); store.pub is rewritten from it when missing, cut short or
 * different.  A store.key that is missing or cut short can only be
 * replaced by a new pair while no checkpoint was signed: after that the
 * old signatures could never be checked again, so it is an error.
 */
static ct_status writer_keys(ct_store *s, int kfd, ct_error *err)
{
    unsigned char pk[CT_SIGN_PK_LEN];
    ct_status rc = read_exact(kfd, "store.key", s->sign_sk, sizeof(s->sign_sk), err);
    int64_t signed_n = 0;

    if (rc == CT_ERR_NOTFOUND || rc == CT_ERR_CORRUPT) {
        char why[sizeof(((ct_error *)0)->msg)];

        snprintf(why, sizeof(why), "%s", err != NULL ? err->msg : "keys/store.key is unusable");
        rc = count_checkpoints(s, &signed_n, err);
        if (rc != CT_OK)
            return rc;
        if (signed_n > 0)
            return ct_error_set(err, CT_ERR_CORRUPT, 0,
                                "%s, but %lld checkpoints were signed with it: restore keys/ "
                                "from a backup",
                                why, (long long)signed_n);
        (void)crypto_sign_keypair(s->sign_pk, s->sign_sk);
        rc = write_atomic(kfd, "store.key", s->sign_sk, sizeof(s->sign_sk), 0600, err);
        if (rc != CT_OK)
            return rc;
    } else if (rc != CT_OK) {
        return rc;
    }
    (void)crypto_sign_ed25519_sk_to_pk(s->sign_pk, s->sign_sk);
    if (read_exact(kfd, "store.pub", pk, sizeof(pk), NULL) == CT_OK &&
        sodium_memcmp(pk, s->sign_pk, sizeof(pk)) == 0)
        return CT_OK;
    return write_atomic(kfd, "store.pub", s->sign_pk, sizeof(s->sign_pk), 0644, err);
}

ct_status ct_keys_load(ct_store *s, int create, ct_error *err)
{
    int kfd;
    ct_status rc;

    if (create && mkdirat(s->dirfd, "keys", 0700) != 0 && errno != EEXIST)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create keys/");
    kfd = openat(s->dirfd, "keys", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (kfd < 0)
        return create ? ct_error_set(err, CT_ERR_IO, errno, "cannot open keys/") : CT_OK;
    if (create) {
        rc = writer_keys(s, kfd, err);
    } else {
        /* a reader without a usable public key can still query; verify
         * says that signatures cannot be checked */
        rc = read_exact(kfd, "store.pub", s->sign_pk, sizeof(s->sign_pk), err);
        if (rc == CT_ERR_NOTFOUND || rc == CT_ERR_CORRUPT) {
            memset(s->sign_pk, 0, sizeof(s->sign_pk));
            rc = CT_OK;
        }
    }
    close(kfd);
    return rc;
}
