/*
 * ctrail/syslog.h - syslog from the network: stream framing.
 *
 * The receivers themselves (UDP, TCP, unix sockets) are a `ctrail serve`
 * component: ct_syslog_start() in ctrail/serve.h, collector/syslog_recv.c.
 * Parsing one message is ct_syslog_parse() in ctrail/ingest.h.
 */
#ifndef CTRAIL_SYSLOG_H
#define CTRAIL_SYSLOG_H

#include <stddef.h>
#include <stdint.h>

#include "ctrail/error.h"

/* --- syslog over a byte stream (TCP, unix stream sockets) ---
 *
 * Frames are found one at a time at the start of each message: "LEN SP <"
 * (RFC 6587 octet counting, LEN of 1 to 10 digits, no leading 0) counts LEN
 * bytes; anything else runs to the next LF or NUL (non-transparent framing;
 * glibc's syslog(3) ends its messages with a NUL on a stream socket), so a
 * sender may use either and even switch.  A NUL inside a counted frame is
 * data.  A trailing CR (and for octet
 * counting a trailing LF, then CR, which rsyslog counts) is not part of the
 * message; LF, CR and NUL bytes between frames are skipped, and so is a
 * message that is empty once they are taken off.  Memory is bounded by
 * max_msg: a longer message is delivered cut to its first max_msg bytes
 * (CT_FRAME_CUT) when its frame ends, and the rest of it is skipped. */
#define CT_FRAME_CUT     1u /* longer than max_msg: only its first max_msg bytes */
#define CT_FRAME_PARTIAL 2u /* the stream ended inside it (octet counting) */

#define CT_FRAME_MIN_MAX_MSG 64 /* max_msg is raised to this */

/* msg is borrowed for the call.  full_len: the message's length as sent
 * (the declared or counted length, less the terminators above); more than
 * len for a cut message. */
typedef void (*ct_frame_fn)(void *ctx, const char *msg, size_t len, unsigned flags,
                            uint64_t full_len);

typedef struct ct_syslog_framer {
    size_t max_msg;
    /* private state */
    char *buf; /* owned: a message not yet complete */
    size_t len, cap;
    int state;     /* FR_START, FR_HEAD, FR_COUNT, FR_LINE */
    char head[12]; /* FR_HEAD: "LEN SP" seen so far */
    size_t head_len;
    uint64_t want;         /* FR_COUNT: bytes of the frame still to come */
    uint64_t seen;         /* bytes of the message seen so far (kept or not) */
    unsigned char tail[2]; /* the last two bytes seen of the message */
    int oom;               /* memory ran out: the message is cut at what is held */
} ct_syslog_framer;

void ct_syslog_framer_init(ct_syslog_framer *fr, size_t max_msg);
void ct_syslog_framer_release(ct_syslog_framer *fr);
/* Feed the next bytes of the stream; fn is called for every complete
 * message.  CT_ERR_NOMEM only (the framer then drops what it held and
 * starts again at the next message boundary it can find). */
ct_status ct_syslog_framer_feed(ct_syslog_framer *fr, const char *data, size_t len, ct_frame_fn fn,
                                void *ctx, ct_error *err);
/* The stream ended: deliver what is left of a message (CT_FRAME_PARTIAL
 * for an octet-counted frame cut short; a last line without its LF is a
 * whole message).  The framer is ready for a new stream afterwards. */
void ct_syslog_framer_finish(ct_syslog_framer *fr, ct_frame_fn fn, void *ctx);
/* Bytes held for an incomplete message. */
size_t ct_syslog_framer_pending(const ct_syslog_framer *fr);

#endif
