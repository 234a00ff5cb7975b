/*
 * collector/ingest_read.c - reading an input file for the parsers:
 * decompression and streaming (ct_ingest_file).
 *
 * gzip (concatenated members too) and zstd are recognised by their magic
 * bytes and decompressed as they are read.  The first CT_INGEST_HEAD bytes
 * decide how the rest is read (ingest_begin): JSON lines and plain or
 * syslog lines go to the parser in parts of about PART_BYTES, each cut
 * after a line end that is not followed by a TAB-led continuation line, so
 * memory stays at a few MiB whatever the input's size (plus its longest
 * line); documents and octet-counted frames are read whole, since where
 * one ends cannot be known before it is parsed.
 */
#include "ctrail/ingest.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <sodium.h>
#include <zstd.h>

#include "codec.h"
#include "ingest_run.h"
#include "parse_util.h"

#define NS_PER_SEC    1000000000LL
#define READ_CHUNK    (1u << 20)  /* bytes per read() of a plain file */
#define ZREAD_CHUNK   (64u << 10) /* of a compressed one: its output is bigger */
#define INFLATE_STEP  (1u << 20)  /* output room per decompression call */
#define PROGRESS_STEP (4u << 20)  /* progress() about every 4 MiB read */
#define PART_BYTES    (4u << 20)  /* a streamed input is parsed in parts this big */

typedef enum zkind { Z_PLAIN, Z_GZIP, Z_ZSTD } zkind;

typedef struct reader {
    int fd;
    const char *path;
    uint64_t done, total, next_report;
    ct_progress_fn progress;
    void *progress_ctx;
} reader;

/* Fill buf with up to cap bytes (fewer only at the end of input). */
static ct_status read_chunk(reader *r, char *buf, size_t cap, size_t *ret_n, ct_error *err)
{
    size_t n = 0;

    while (n < cap) {
        ssize_t k = read(r->fd, buf + n, cap - n);

        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return ct_error_set(err, CT_ERR_IO, errno, "cannot read '%s'", r->path);
        if (k == 0)
            break;
        n += (size_t)k;
    }
    r->done += n;
    if (r->progress != NULL && r->done >= r->next_report) {
        r->progress(r->progress_ctx, r->done, r->total);
        r->next_report = r->done + PROGRESS_STEP;
    }
    *ret_n = n;
    return CT_OK;
}

/* Inflate in[0..n) into out; *ended says a gzip member was completed (a new
 * one may follow: concatenated members are one stream, as gzip -d says). */
static ct_status gunzip_chunk(z_stream *zs, int *ended, const char *in, size_t n, ct_bytes *out,
                              const char *path, ct_error *err)
{
    zs->next_in = (Bytef *)(uintptr_t)in;
    zs->avail_in = (uInt)n;
    for (;;) {
        int zr;

        if (*ended) {
            if (zs->avail_in == 0)
                return CT_OK;
            if (inflateReset(zs) != Z_OK)
                return ct_error_set(err, CT_ERR_PARSE, 0, "cannot restart gzip stream of '%s'",
                                    path);
            *ended = 0;
        }
        if (ct_bytes_reserve(out, INFLATE_STEP) != 0)
            return pu_oom(err);
        zs->next_out = (Bytef *)out->data + out->len;
        zs->avail_out = INFLATE_STEP;
        zr = inflate(zs, Z_NO_FLUSH);
        out->len += INFLATE_STEP - zs->avail_out;
        if (zr == Z_STREAM_END) {
            *ended = 1;
            continue;
        }
        if (zr == Z_BUF_ERROR || (zr == Z_OK && zs->avail_in == 0 && zs->avail_out != 0))
            return CT_OK; /* wants more input */
        if (zr != Z_OK)
            return ct_error_set(err, CT_ERR_PARSE, 0, "corrupt gzip data in '%s': %s", path,
                                zs->msg != NULL ? zs->msg : "inflate failed");
    }
}

static ct_status unzstd_chunk(ZSTD_DCtx *dctx, size_t *last, const char *in, size_t n,
                              ct_bytes *out, const char *path, ct_error *err)
{
    ZSTD_inBuffer ib = {in, n, 0};

    for (;;) {
        ZSTD_outBuffer ob;
        size_t zr;

        if (ct_bytes_reserve(out, INFLATE_STEP) != 0)
            return pu_oom(err);
        ob.dst = out->data + out->len;
        ob.size = INFLATE_STEP;
        ob.pos = 0;
        zr = ZSTD_decompressStream(dctx, &ob, &ib);
        if (ZSTD_isError(zr))
            return ct_error_set(err, CT_ERR_PARSE, 0, "corrupt zstd data in '%s': %s", path,
                                ZSTD_getErrorName(zr));
        out->len += ob.pos;
        *last = zr;
        if (ib.pos == ib.size && ob.pos < ob.size)
            return CT_OK;
    }
}


/* The open input and its decompressor. */
typedef struct zin {
    reader r;
    zkind kind;
    z_stream zs;
    int z_inited, ended, eof;
    ZSTD_DCtx *dctx;
    size_t zlast;
    char *chunk;
    size_t cap;
} zin;

static ct_status zin_start(zin *z, ct_error *err)
{
    size_t n = 0;
    ct_status rc;

    z->cap = READ_CHUNK;
    if ((z->chunk = malloc(READ_CHUNK)) == NULL)
        return pu_oom(err);
    /* the magic bytes decide; only 4 are read, so a compressed input's
     * first chunk is a small one too */
    rc = read_chunk(&z->r, z->chunk, 4, &n, err);
    if (rc != CT_OK)
        return rc;
    if (n >= 2 && (unsigned char)z->chunk[0] == 0x1f && (unsigned char)z->chunk[1] == 0x8b) {
        z->kind = Z_GZIP;
        if (inflateInit2(&z->zs, 15 + 16) != Z_OK)
            return pu_oom(err);
        z->z_inited = 1;
        z->cap = ZREAD_CHUNK;
    } else if (n >= 4 && memcmp(z->chunk, "\x28\xB5\x2F\xFD", 4) == 0) {
        z->kind = Z_ZSTD;
        if ((z->dctx = ZSTD_createDCtx()) == NULL)
            return pu_oom(err);
        z->cap = ZREAD_CHUNK;
    }
    z->eof = n < 4;
    return CT_OK;
}

/* Decompress in[0..n) onto out. */
static ct_status zin_put(zin *z, const char *in, size_t n, ct_bytes *out, ct_error *err)
{
    if (z->kind == Z_GZIP)
        return gunzip_chunk(&z->zs, &z->ended, in, n, out, z->r.path, err);
    if (z->kind == Z_ZSTD)
        return unzstd_chunk(z->dctx, &z->zlast, in, n, out, z->r.path, err);
    return ct_bytes_put(out, in, n) == 0 ? CT_OK : pu_oom(err);
}

/* Read the next chunk onto out (sets z->eof at the end of the input). */
static ct_status zin_more(zin *z, ct_bytes *out, ct_error *err)
{
    size_t n = 0;
    ct_status rc = read_chunk(&z->r, z->chunk, z->cap, &n, err);

    if (rc == CT_OK && n > 0)
        rc = zin_put(z, z->chunk, n, out, err);
    if (rc == CT_OK && n < z->cap) {
        z->eof = 1;
        if ((z->kind == Z_GZIP && !z->ended) || (z->kind == Z_ZSTD && z->zlast != 0))
            rc = ct_error_set(err, CT_ERR_PARSE, 0,
                              "'%s' is truncated (%s stream not finished)", z->r.path,
                              z->kind == Z_GZIP ? "gzip" : "zstd");
    }
    return rc;
}

static void zin_free(zin *z)
{
    if (z->z_inited)
        (void)inflateEnd(&z->zs);
    ZSTD_freeDCtx(z->dctx);
    free(z->chunk);
}

/* Where the part of buf[0..len) that may be parsed now ends: after its
 * last LF that is followed by a byte that is no TAB (a TAB-led line
 * continues the syslog message before it); 0 when there is none. */
static size_t part_end(const char *buf, size_t len)
{
    for (size_t i = len; i >= 2; i--)
        if (buf[i - 2] == '\n' && buf[i - 1] != '\t')
            return i - 1;
    return 0;
}

/* Parse the rest of the input in parts: buf holds what was read and not
 * yet parsed. */
static ct_status stream_rest(zin *z, ingest *in, ct_bytes *buf, ct_error *err)
{
    for (;;) {
        size_t cut = z->eof ? buf->len : part_end(buf->data, buf->len);
        ct_status rc;

        if (cut > 0 && (buf->len >= PART_BYTES || z->eof)) {
            rc = ingest_feed(in, buf->data, cut, err);
            if (rc != CT_OK)
                return rc;
            memmove(buf->data, buf->data + cut, buf->len - cut);
            buf->len -= cut;
        }
        if (z->eof && buf->len == 0)
            return CT_OK;
        if (!z->eof && (rc = zin_more(z, buf, err)) != CT_OK)
            return rc;
    }
}

ct_status ct_ingest_file(const char *path, const ct_ingest_opts *opts, ct_progress_fn progress,
                         void *progress_ctx, ct_ingest_stats *stats, ct_error *err)
{
    ct_ingest_stats local = {0};
    zin z;
    ct_bytes buf = {0};
    ct_ingest_opts o;
    ingest *in = NULL;
    struct stat st;
    int is_stdin, stream = 0;
    ct_status rc;

    if (path == NULL || opts == NULL)
        return ct_error_set(err, CT_ERR_INVALID, 0, "ingest needs a path and options");
    memset(&z, 0, sizeof(z));
    is_stdin = strcmp(path, "-") == 0;
    z.r.fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (z.r.fd < 0)
        return ct_error_set(err, errno == ENOENT ? CT_ERR_NOTFOUND : CT_ERR_IO, errno,
                            "cannot open '%s'", path);
    z.r.path = is_stdin ? "<stdin>" : path;
    z.r.progress = progress;
    z.r.progress_ctx = progress_ctx;
    z.r.next_report = PROGRESS_STEP;
    o = *opts;
    if (fstat(z.r.fd, &st) != 0) {
        rc = ct_error_set(err, CT_ERR_IO, errno, "cannot stat '%s'", z.r.path);
        goto out;
    }
    if (S_ISDIR(st.st_mode)) {
        rc = ct_error_set(err, CT_ERR_INVALID, 0, "'%s' is a directory", z.r.path);
        goto out;
    }
    if (S_ISREG(st.st_mode)) {
        z.r.total = (uint64_t)st.st_size;
        /* a year-less syslog line was written before the file's mtime */
        if (o.ref_ns == 0)
            o.ref_ns = (int64_t)st.st_mtim.tv_sec * NS_PER_SEC + st.st_mtim.tv_nsec;
    }
    if ((rc = zin_start(&z, err)) != CT_OK)
        goto out;
    rc = zin_put(&z, z.chunk, z.r.done < 4 ? (size_t)z.r.done : 4, &buf, err);
    while (rc == CT_OK && !z.eof && buf.len < CT_INGEST_HEAD)
        rc = zin_more(&z, &buf, err);
    if (rc == CT_OK)
        rc = ingest_begin(&o, stats != NULL ? stats : &local, buf.data, buf.len, z.eof, &in,
                          &stream, err);
    if (rc == CT_OK && stream) {
        rc = stream_rest(&z, in, &buf, err);
    } else if (rc == CT_OK) {
        while (rc == CT_OK && !z.eof)
            rc = zin_more(&z, &buf, err);
        if (rc == CT_OK)
            rc = ingest_feed(in, buf.data, buf.len, err);
    }
    if (rc == CT_OK && progress != NULL)
        progress(progress_ctx, z.r.done, z.r.total);
out:
    ingest_end(in);
    zin_free(&z);
    ct_bytes_release(&buf);
    if (!is_stdin)
        (void)close(z.r.fd);
    return rc;
}

/* pread exactly n bytes at off into buf. */
static int pread_all(int fd, char *buf, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t k = pread(fd, buf, n, (off_t)off);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        buf += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

int ct_ingest_fingerprint(int fd, uint64_t len, char hex[65])
{
    enum { ALL = 1u << 20, EDGE = 256u << 10, PIECE = 4u << 10, PIECES = 64 };
    crypto_generichash_state st;
    unsigned char h[32], n8[8];
    char *buf = malloc(EDGE);
    int rc = 0;

    if (buf == NULL)
        return -1;
    for (int i = 0; i < 8; i++)
        n8[i] = (unsigned char)(len >> (8 * i));
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, n8, sizeof(n8));
    if (len <= ALL) {
        for (uint64_t at = 0; rc == 0 && at < len; at += EDGE) {
            size_t n = len - at < EDGE ? (size_t)(len - at) : EDGE;

            if ((rc = pread_all(fd, buf, n, at)) == 0)
                crypto_generichash_update(&st, (unsigned char *)buf, n);
        }
    } else {
        if ((rc = pread_all(fd, buf, EDGE, 0)) == 0)
            crypto_generichash_update(&st, (unsigned char *)buf, EDGE);
        for (uint64_t i = 0; rc == 0 && i < PIECES; i++) {
            uint64_t at = EDGE + (len - 2 * EDGE - PIECE) * i / (PIECES - 1);

            if ((rc = pread_all(fd, buf, PIECE, at)) == 0)
                crypto_generichash_update(&st, (unsigned char *)buf, PIECE);
        }
        if (rc == 0 && (rc = pread_all(fd, buf, EDGE, len - EDGE)) == 0)
            crypto_generichash_update(&st, (unsigned char *)buf, EDGE);
    }
    free(buf);
    if (rc != 0)
        return -1;
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(hex, 65, h, sizeof(h));
    return 0;
}
