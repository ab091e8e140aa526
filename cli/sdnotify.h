/* The service manager's readiness protocol (sd_notify(3)), by hand: one
 * datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ("@name": the
 * abstract namespace). Without $NOTIFY_SOCKET nothing is sent. */
#ifndef MESH_SDNOTIFY_H
#define MESH_SDNOTIFY_H

/** Send `state` (newline-separated KEY=VALUE assignments, e.g. "READY=1").
 * Returns 1 when sent, 0 when no service manager listens ($NOTIFY_SOCKET
 * unset or empty), -1 on an error (errno set: EINVAL for a socket name too
 * long or not absolute, else sendto's). Never blocks. */
int mesh_sd_notify(const char *state);

#endif
