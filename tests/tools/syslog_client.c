/*
 * tests/tools/syslog_client.c - a real syslog(3) client for
 * tests/integration/syslog_recv.sh.
 *
 *   syslog_client IDENT MESSAGE...
 *
 * openlog(IDENT, LOG_PID | LOG_NDELAY, LOG_LOCAL2), then one
 * syslog(LOG_WARNING, "%s", MESSAGE) per argument, then closelog().  glibc
 * writes to /dev/log only (a datagram socket, else a stream socket, where
 * it ends each message with a NUL and keeps the connection for the next
 * one), so the test runs this in a mount namespace where /dev/log is
 * ctrail's socket.
 */
#include <syslog.h>

int main(int argc, char **argv)
{
    if (argc < 3)
        return 2;
    openlog(argv[1], LOG_PID | LOG_NDELAY, LOG_LOCAL2);
    for (int i = 2; i < argc; i++)
        syslog(LOG_WARNING, "%s", argv[i]);
    closelog();
    return 0;
}
