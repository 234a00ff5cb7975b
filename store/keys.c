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

static const char cp_magic[20] = "ctrail-checkpoint-v1";

void ct_checkpoint_message(const unsigned char store_id[CT_STORE_ID_LEN], uint64_t block,
                           const unsigned char hash[CT_HASH_LEN], unsigned char out[76])
{
    memcpy(out, cp_magic, 20);
    memcpy(out + 20, store_id, CT_STORE_ID_LEN);
    ct_le_put_u64(out + 36, block);
    memcpy(out + 44, hash, CT_HASH_LEN);
}

static ct_status read_exact(int dirfd, const char *name, unsigned char *buf, size_t n,
                            ct_error *err)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    ssize_t r;

    if (fd < 0)
        return ct_error_set(err, errno == ENOENT ? CT_ERR_NOTFOUND : CT_ERR_IO, errno,
                            "cannot open keys/%s", name);
    r = read(fd, buf, n);
    close(fd);
    if (r != (ssize_t)n)
        return ct_error_set(err, CT_ERR_CORRUPT, 0, "keys/%s is not %zu bytes", name, n);
    return CT_OK;
}

static ct_status write_new(int dirfd, const char *name, const unsigned char *buf, size_t n,
                           mode_t mode, ct_error *err)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    ct_status rc = CT_OK;

    if (fd < 0)
        return ct_error_set(err, CT_ERR_IO, errno, "cannot create keys/%s", name);
    if (write(fd, buf, n) != (ssize_t)n || fsync(fd) != 0)
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot write keys/%s", name);
    close(fd);
    return rc;
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
    rc = read_exact(kfd, "store.pub", s->sign_pk, sizeof(s->sign_pk), err);
    if (create && rc == CT_OK)
        rc = read_exact(kfd, "store.key", s->sign_sk, sizeof(s->sign_sk), err);
    if (create && rc == CT_ERR_NOTFOUND) {
        (void)crypto_sign_keypair(s->sign_pk, s->sign_sk);
        rc = write_new(kfd, "store.key", s->sign_sk, sizeof(s->sign_sk), 0600, err);
        if (rc == CT_OK)
            rc = write_new(kfd, "store.pub", s->sign_pk, sizeof(s->sign_pk), 0644, err);
        if (rc == CT_OK && fsync(kfd) != 0)
            rc = ct_error_set(err, CT_ERR_IO, errno, "cannot fsync keys/");
    } else if (!create && rc == CT_ERR_NOTFOUND) {
        rc = CT_OK; /* a reader without keys can still query; verify says so */
    }
    close(kfd);
    return rc;
}
