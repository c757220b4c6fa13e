/* pgsidecar-wal: PostgreSQL's archive_command and restore_command as one static binary.
 *
 *   archive_command = '/pgsidecar/bin/wal-archiver push %p'
 *   restore_command = '/pgsidecar/bin/wal-archiver fetch %f %p'
 *
 * It speaks the protocol documented once in the protocol module
 * (protocol/src/main/java/io/pgsidecar/protocol/package-info.java: where the agent listens, the
 * push and fetch requests, the X-Pgsidecar-* headers, the exit codes in WalExitCodes.java), as
 * the Java client (wal-archiver/) does, to the agent's unix socket,
 * and needs nothing in the postgres container: no JVM, no curl, no shared library (static,
 * and no NSS lookup happens). A JVM start per segment cost 70-400 ms; this costs about a
 * millisecond beside the agent's own work.
 *
 * Exit codes (PostgreSQL reads them):
 *   push   0 the agent answered 200 (the segment is durably stored); 1 anything else
 *          (PostgreSQL keeps the segment .ready and retries), bad arguments and non-WAL names
 *          included: above 125 the archiver would exit without counting a failure.
 *   fetch  0 the file is at %p, whole and verified; 1 only on the agent's 404 naming the file (not in
 *          the archive: PostgreSQL ends recovery there); 255 for everything else (agent down
 *          after --wait, storage failing, bad arguments, a bad WAL name, an unexpected answer),
 *          which makes PostgreSQL stop instead of ending recovery at the wrong point.
 *
 * Options (flag, then env, then default): --socket / PGSIDECAR_SOCKET /
 * /pgsidecar/run/agent.sock; --url http://IPv4:PORT / PGSIDECAR_URL (TCP, bearer token from
 * PGSIDECAR_TOKEN); --wait SECONDS / PGSIDECAR_WAIT / 30 (waits for an agent that is not up:
 * socket missing, connection refused, 503); --cluster NAME (fetch another cluster's WAL).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sha256.h"

enum { OK = 0, PUSH_FAILED = 1, NOT_FOUND = 1, PUSH_USAGE = 1, FETCH_FAILED = 255 };
enum { ATTEMPTS = 3, IOBUF = 1 << 20 };

static const char *prog = "wal-archiver";

static void say(const char *fmt, ...) {
  char line[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line - 1, fmt, ap);
  va_end(ap);
  if (n < 0) {
    return;
  }
  if (n > (int)sizeof line - 2) {
    n = (int)sizeof line - 2;
  }
  line[n++] = '\n';
  /* one write: PostgreSQL's log gets the line whole */
  ssize_t w = write(2, line, (size_t)n);
  (void)w;
}

static const char USAGE_TEXT[] =
    "usage: wal-archiver [options] push <path>          (archive_command: push %p)\n"
    "       wal-archiver [options] fetch <name> <path>  (restore_command: fetch %f %p)\n"
    "options:\n"
    "  --socket PATH    the agent's unix socket (env PGSIDECAR_SOCKET, default "
    "/pgsidecar/run/agent.sock)\n"
    "  --url URL        the agent's TCP listener instead, http://127.0.0.1:PORT (env "
    "PGSIDECAR_URL;\n"
    "                   bearer token from env PGSIDECAR_TOKEN)\n"
    "  --wait SECONDS   how long to wait for an agent that is not up yet (env PGSIDECAR_WAIT, "
    "default 30)\n"
    "  --cluster NAME   fetch WAL of another cluster's archive (restore from another cluster)\n"
    "exit codes: push 0 archived, 1 not archived or bad arguments (PostgreSQL retries);\n"
    "            fetch 0 written, 1 not in the archive, 255 failed (PostgreSQL stops recovery)\n";

/* ---------------------------------------------------------------- WAL names */

static int is_hex(const char *s, int from, int to) {
  for (int i = from; i < to; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
      return 0;
    }
  }
  return 1;
}

/* A timeline is 8 upper-case hex digits and never 0. */
static int timeline_ok(const char *s) {
  return is_hex(s, 0, 8) && strncmp(s, "00000000", 8) != 0;
}

/* Names PostgreSQL produces: a segment (24 hex), <segment>.partial, <segment>.<8 hex>.backup,
 * <8 hex>.history; upper-case hex (%08X), timeline >= 1. */
static int wal_name_ok(const char *n) {
  size_t len = strlen(n);
  if (len == 24) {
    return is_hex(n, 0, 24) && timeline_ok(n);
  }
  if (len == 16) {
    return strcmp(n + 8, ".history") == 0 && timeline_ok(n);
  }
  if (len == 32) {
    return strcmp(n + 24, ".partial") == 0 && is_hex(n, 0, 24) && timeline_ok(n);
  }
  if (len == 40) {
    return strcmp(n + 33, ".backup") == 0 && is_hex(n, 0, 24) && n[24] == '.'
           && is_hex(n, 25, 33) && timeline_ok(n);
  }
  return 0;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* ---------------------------------------------------------------- the agent's address */

typedef struct {
  int tcp;
  struct sockaddr_un un;
  struct sockaddr_in in;
  char desc[600];
  const char *token;
} agent_t;

static int parse_uint(const char *s, long max, long *out) {
  long v = 0;
  if (!*s) {
    return -1;
  }
  for (; *s; s++) {
    if (*s < '0' || *s > '9') {
      return -1;
    }
    v = v * 10 + (*s - '0');
    if (v > max) {
      return -1;
    }
  }
  *out = v;
  return 0;
}

/* Returns NULL when fine, else what is wrong. */
static const char *resolve_agent(agent_t *a, const char *socket_flag, const char *url_flag) {
  memset(a, 0, sizeof *a);
  const char *url = url_flag ? url_flag : getenv("PGSIDECAR_URL");
  if (url && *url && !socket_flag) {
    /* http://IPv4:PORT or http://localhost:PORT, nothing after it */
    const char *p = url;
    if (strncmp(p, "http://", 7) != 0) {
      return "--url / PGSIDECAR_URL must look like http://127.0.0.1:PORT";
    }
    p += 7;
    const char *colon = strchr(p, ':');
    if (!colon || colon - p > 63) {
      return "--url / PGSIDECAR_URL must look like http://127.0.0.1:PORT";
    }
    char host[64];
    memcpy(host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    char port[16];
    size_t plen = strcspn(colon + 1, "/");
    if (plen == 0 || plen >= sizeof port || (colon[1 + plen] && strcmp(colon + 1 + plen, "/"))) {
      return "--url / PGSIDECAR_URL must look like http://127.0.0.1:PORT";
    }
    memcpy(port, colon + 1, plen);
    port[plen] = 0;
    long portv;
    if (parse_uint(port, 65535, &portv) || portv == 0) {
      return "--url / PGSIDECAR_URL has no valid port";
    }
    a->tcp = 1;
    a->in.sin_family = AF_INET;
    a->in.sin_port = htons((uint16_t)portv);
    if (strcmp(host, "localhost") == 0) {
      a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (inet_pton(AF_INET, host, &a->in.sin_addr) != 1) {
      return "--url / PGSIDECAR_URL must name an IPv4 address (this client does no DNS lookup)";
    }
    a->token = getenv("PGSIDECAR_TOKEN");
    snprintf(a->desc, sizeof a->desc, "%s", url);
    return NULL;
  }
  const char *path = socket_flag ? socket_flag : getenv("PGSIDECAR_SOCKET");
  if (!path || !*path) {
    path = "/pgsidecar/run/agent.sock";
  }
  if (strlen(path) >= sizeof a->un.sun_path) {
    return "the socket path is too long for a unix socket (108 bytes at most)";
  }
  a->un.sun_family = AF_UNIX;
  strcpy(a->un.sun_path, path);
  snprintf(a->desc, sizeof a->desc, "%s", path);
  return NULL;
}

/* ---------------------------------------------------------------- time */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

/* ---------------------------------------------------------------- HTTP */

typedef struct {
  int fd;
  char buf[65536];
  size_t pos, len;
  /* the response */
  int status;
  long long content_length; /* -1: none */
  int chunked;
  int verified;
  char sha[80];
  char handoff[4096];
  long long handoff_size;
  char missing[80]; /* X-Pgsidecar-Missing: the agent's own "not in the archive" names the file */
  /* body framing state */
  long long left;     /* bytes left in a length body or in the current chunk */
  int body_done;
  char err[9000]; /* what went wrong, for the message */
} conn_t;

enum { X_DONE = 0, X_UNAVAILABLE = 1, X_IO = 2 };

static int connect_agent(const agent_t *a, conn_t *c) {
  int fd = socket(a->tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    snprintf(c->err, sizeof c->err, "cannot create a socket: %s", strerror(errno));
    return X_IO;
  }
  int rc = a->tcp ? connect(fd, (const struct sockaddr *)&a->in, sizeof a->in)
                  : connect(fd, (const struct sockaddr *)&a->un, sizeof a->un);
  if (rc != 0) {
    int e = errno;
    close(fd);
    snprintf(c->err, sizeof c->err, "cannot connect to the agent at %s: %s", a->desc,
             strerror(e));
    return X_UNAVAILABLE;
  }
  if (a->tcp) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  c->fd = fd;
  c->pos = c->len = 0;
  return X_DONE;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Fills the buffer; 0 at end of stream, -1 on error. */
static ssize_t fill(conn_t *c) {
  for (;;) {
    ssize_t n = read(c->fd, c->buf, sizeof c->buf);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n > 0) {
      c->pos = 0;
      c->len = (size_t)n;
    }
    return n;
  }
}

/* One CRLF (or LF) terminated line into out, without the ending; -1 on EOF/error/too long. */
static int read_line(conn_t *c, char *out, size_t cap) {
  size_t n = 0;
  for (;;) {
    if (c->pos == c->len) {
      ssize_t r = fill(c);
      if (r <= 0) {
        snprintf(c->err, sizeof c->err, "the agent closed the connection in the middle of its"
                 " answer%s%s", r < 0 ? ": " : "", r < 0 ? strerror(errno) : "");
        return -1;
      }
    }
    char ch = c->buf[c->pos++];
    if (ch == '\n') {
      if (n && out[n - 1] == '\r') {
        n--;
      }
      out[n] = 0;
      return 0;
    }
    if (n + 1 >= cap) {
      snprintf(c->err, sizeof c->err, "the agent sent a header line longer than %zu bytes", cap);
      return -1;
    }
    out[n++] = ch;
  }
}

static int header_is(const char *line, const char *name, const char **value) {
  size_t n = strlen(name);
  if (strncasecmp(line, name, n) != 0 || line[n] != ':') {
    return 0;
  }
  const char *v = line + n + 1;
  while (*v == ' ' || *v == '\t') {
    v++;
  }
  *value = v;
  return 1;
}

static int parse_ll(const char *s, int base, long long *out) {
  long long v = 0;
  int any = 0;
  for (; *s && *s != ' ' && *s != '\t' && *s != ';'; s++) {
    int d;
    if (*s >= '0' && *s <= '9') {
      d = *s - '0';
    } else if (base == 16 && ((*s | 32) >= 'a' && (*s | 32) <= 'f')) {
      d = (*s | 32) - 'a' + 10;
    } else {
      return -1;
    }
    if (v > (long long)(1LL << 50)) {
      return -1;
    }
    v = v * base + d;
    any = 1;
  }
  if (!any) {
    return -1;
  }
  *out = v;
  return 0;
}

/* Sends one request and reads the status line and headers. */
static int exchange_once(const agent_t *a, conn_t *c, const char *method, const char *target,
                         const char *extra_header, const char *body, size_t body_len) {
  int rc = connect_agent(a, c);
  if (rc != X_DONE) {
    return rc;
  }
  char head[8192];
  int n = snprintf(head, sizeof head,
                   "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n"
                   "User-Agent: pgsidecar-wal\r\n%s%s%s%s",
                   method, target, a->tcp ? "127.0.0.1" : "localhost",
                   a->token && *a->token ? "Authorization: Bearer " : "",
                   a->token && *a->token ? a->token : "", a->token && *a->token ? "\r\n" : "",
                   extra_header ? extra_header : "");
  if (n < 0 || n >= (int)sizeof head - 64) {
    snprintf(c->err, sizeof c->err, "request too long");
    return X_IO;
  }
  if (body) {
    n += snprintf(head + n, sizeof head - (size_t)n,
                  "Content-Type: application/json\r\nContent-Length: %zu\r\n", body_len);
  }
  n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
  /* head and a small body in one write: one segment, one wake-up of the agent */
  char one[8192 + 8192];
  const char *out = head;
  size_t out_len = (size_t)n;
  if (body && (size_t)n + body_len <= sizeof one) {
    memcpy(one, head, (size_t)n);
    memcpy(one + n, body, body_len);
    out = one;
    out_len = (size_t)n + body_len;
    body = NULL;
  }
  if (write_all(c->fd, out, out_len) || (body && write_all(c->fd, body, body_len))) {
    snprintf(c->err, sizeof c->err, "sending the request to the agent at %s failed: %s", a->desc,
             strerror(errno));
    close(c->fd);
    return X_IO;
  }
  char line[8192];
  for (;;) {
    if (read_line(c, line, sizeof line)) {
      close(c->fd);
      return X_IO;
    }
    /* "HTTP/1.1 200 OK" */
    const char *sp = strchr(line, ' ');
    if (strncmp(line, "HTTP/1.", 7) != 0 || !sp || strlen(sp) < 4 || sp[1] < '1'
        || sp[1] > '5' || sp[2] < '0' || sp[2] > '9' || sp[3] < '0' || sp[3] > '9') {
      snprintf(c->err, sizeof c->err, "the agent at %s sent a malformed status line: %.200s",
               a->desc, line);
      close(c->fd);
      return X_IO;
    }
    c->status = (sp[1] - '0') * 100 + (sp[2] - '0') * 10 + (sp[3] - '0');
    c->content_length = -1;
    c->chunked = c->verified = 0;
    c->sha[0] = c->handoff[0] = c->missing[0] = 0;
    c->handoff_size = -1;
    for (;;) {
      if (read_line(c, line, sizeof line)) {
        close(c->fd);
        return X_IO;
      }
      if (!line[0]) {
        break;
      }
      const char *v;
      if (header_is(line, "content-length", &v)) {
        if (parse_ll(v, 10, &c->content_length)) {
          snprintf(c->err, sizeof c->err, "the agent sent a bad Content-Length: %.100s", v);
          close(c->fd);
          return X_IO;
        }
      } else if (header_is(line, "transfer-encoding", &v)) {
        c->chunked = strcasestr(v, "chunked") != NULL;
      } else if (header_is(line, "x-pgsidecar-verified", &v)) {
        c->verified = strcasestr(v, "sha256") != NULL;
      } else if (header_is(line, "x-pgsidecar-sha256", &v)) {
        snprintf(c->sha, sizeof c->sha, "%s", v);
      } else if (header_is(line, "x-pgsidecar-missing", &v)) {
        snprintf(c->missing, sizeof c->missing, "%s", v);
      } else if (header_is(line, "x-pgsidecar-handoff", &v)) {
        snprintf(c->handoff, sizeof c->handoff, "%s", v);
      } else if (header_is(line, "x-pgsidecar-size", &v)) {
        if (parse_ll(v, 10, &c->handoff_size)) {
          c->handoff_size = -1;
        }
      }
    }
    if (c->status >= 200) {
      break; /* 1xx: the real answer follows */
    }
  }
  c->body_done = 0;
  c->left = c->chunked ? 0 : c->content_length;
  if (!c->chunked && c->content_length == 0) {
    c->body_done = 1;
  }
  return X_DONE;
}

/* Reads body bytes into out: > 0 count, 0 at the end of the body, -1 on error (c->err). A body
 * shorter than announced, or a chunked one without its last chunk, is an error, never an end. */
static ssize_t read_body(conn_t *c, char *out, size_t cap) {
  if (c->body_done) {
    return 0;
  }
  if (c->chunked && c->left == 0) {
    char line[256];
    if (read_line(c, line, sizeof line) || parse_ll(line, 16, &c->left)) {
      snprintf(c->err, sizeof c->err, "the agent's chunked answer broke off or is malformed");
      return -1;
    }
    if (c->left == 0) {
      do { /* trailers up to the empty line */
        if (read_line(c, line, sizeof line)) {
          snprintf(c->err, sizeof c->err, "the agent's chunked answer ended before its last line");
          return -1;
        }
      } while (line[0]);
      c->body_done = 1;
      return 0;
    }
  }
  size_t want = cap;
  if (c->left >= 0 && (long long)want > c->left) {
    want = (size_t)c->left;
  }
  ssize_t n;
  if (c->pos < c->len) {
    n = (ssize_t)(c->len - c->pos < want ? c->len - c->pos : want);
    memcpy(out, c->buf + c->pos, (size_t)n);
    c->pos += (size_t)n;
  } else {
    do {
      n = read(c->fd, out, want);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      snprintf(c->err, sizeof c->err, "reading the agent's answer failed: %s", strerror(errno));
      return -1;
    }
    if (n == 0) {
      if (c->left < 0) { /* no framing: the end of the connection ends the body */
        c->body_done = 1;
        return 0;
      }
      snprintf(c->err, sizeof c->err, "the agent's answer ended %lld bytes early (the agent"
               " resets the connection when a segment fails its checksum)", c->left);
      return -1;
    }
  }
  if (c->left > 0) {
    c->left -= n;
    if (c->left == 0) {
      if (c->chunked) {
        char crlf[8];
        if (read_line(c, crlf, sizeof crlf) || crlf[0]) {
          snprintf(c->err, sizeof c->err, "malformed chunked answer from the agent");
          return -1;
        }
      } else {
        c->body_done = 1;
      }
    }
  }
  return n;
}

/* The body as text (for error messages), at most cap-1 bytes, control characters as spaces. */
static void body_text(conn_t *c, char *out, size_t cap) {
  size_t n = 0;
  ssize_t r;
  while (n + 1 < cap && (r = read_body(c, out + n, cap - 1 - n)) > 0) {
    n += (size_t)r;
  }
  out[n] = 0;
  for (size_t i = 0; i < n; i++) {
    if ((unsigned char)out[i] < 32) {
      out[i] = ' ';
    }
  }
}

/* An exchange that waits, until wait_ms after start, for an agent that is not up yet: socket
 * missing, connection refused, or 503 while it starts. The agent and PostgreSQL start side by
 * side in a pod, so the first call may well come before the agent. */
static int exchange(const agent_t *a, conn_t *c, int64_t start, int64_t wait_ms,
                    const char *method, const char *target, const char *extra_header,
                    const char *body, size_t body_len) {
  int64_t pause = 50;
  for (;;) {
    int rc = exchange_once(a, c, method, target, extra_header, body, body_len);
    if (rc == X_DONE && c->status != 503) {
      return X_DONE;
    }
    if (rc == X_IO) {
      return X_IO;
    }
    int64_t left = wait_ms - (now_ms() - start);
    if (left <= 0) {
      if (rc == X_UNAVAILABLE) {
        size_t l = strlen(c->err);
        snprintf(c->err + l, sizeof c->err - l, " (waited %lld s; is the pgsidecar agent"
                 " running? --wait / PGSIDECAR_WAIT set how long to wait)",
                 (long long)(wait_ms / 1000));
      }
      return rc; /* X_DONE with a 503, or X_UNAVAILABLE */
    }
    if (rc == X_DONE) {
      close(c->fd); /* a 503: ask again */
    }
    sleep_ms(pause < left ? pause : left);
    pause = pause * 2 > 1000 ? 1000 : pause * 2;
  }
}

/* ---------------------------------------------------------------- push */

static void json_quote(const char *s, char *out, size_t cap) {
  size_t n = 0;
  out[n++] = '"';
  for (; *s && n + 8 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\') {
      out[n++] = '\\';
      out[n++] = (char)ch;
    } else if (ch < 0x20) {
      n += (size_t)snprintf(out + n, cap - n, "\\u%04x", ch);
    } else {
      out[n++] = (char)ch; /* UTF-8 passes as is */
    }
  }
  out[n++] = '"';
  out[n] = 0;
}

static int push(const agent_t *a, const char *path, const char *cluster, int64_t start,
                int64_t wait_ms) {
  const char *name = base_name(path);
  if (!wal_name_ok(name)) {
    say("%s: push: %s is not a WAL file name (expected a segment, a .history, .partial or"
        " .backup file); archive_command should pass %%p", prog, name);
    return PUSH_USAGE;
  }
  if (strlen(path) > 4000 || (cluster && strlen(cluster) > 200)) {
    say("%s: push: the path is too long: %.100s...", prog, path);
    return PUSH_USAGE;
  }
  char qpath[4096 * 6 + 8], qcluster[256 * 6 + 8], body[4096 * 6 + 2048];
  json_quote(path, qpath, sizeof qpath);
  if (cluster) {
    json_quote(cluster, qcluster, sizeof qcluster);
  }
  int n = snprintf(body, sizeof body, "{\"path\":%s,\"cluster\":%s}", qpath,
                   cluster ? qcluster : "null");
  conn_t *c = calloc(1, sizeof *c);
  if (!c) {
    say("%s: push of %s failed: out of memory", prog, path);
    return PUSH_FAILED;
  }
  int rc = exchange(a, c, start, wait_ms, "POST", "/v1/wal/push", NULL, body, (size_t)n);
  if (rc != X_DONE) {
    say("%s: push of %s failed: %s (PostgreSQL will retry the segment; check that the"
        " pgsidecar agent is running)", prog, path, c->err);
    return PUSH_FAILED;
  }
  if (c->status == 200) {
    return OK; /* the agent answers 200 only once the segment is durable */
  }
  char text[4096];
  body_text(c, text, sizeof text);
  close(c->fd);
  say("%s: push of %s failed: the agent at %s answered HTTP %d: %s (PostgreSQL will retry the"
      " segment)", prog, path, a->desc, c->status, text);
  return PUSH_FAILED;
}

/* ---------------------------------------------------------------- fetch */

typedef struct {
  char dir[4096];
  char tmp[4200];
  const char *dest;
} target_t;

static int fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return -1;
  }
  int rc = fsync(fd);
  close(fd);
  return rc;
}

/* Hashes an open file from its start; 0 and hex filled, -1 on a read error. */
static int hash_file(int fd, char hex[65], long long *size, char *buf) {
  sha256_ctx h;
  sha256_init(&h);
  long long total = 0;
  for (;;) {
    ssize_t n = read(fd, buf, IOBUF);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return -1;
    }
    if (n == 0) {
      break;
    }
    sha256_update(&h, buf, (size_t)n);
    total += n;
  }
  sha256_final_hex(&h, hex);
  *size = total;
  return 0;
}

/* The spool file the agent names, hard-linked beside %p and renamed over it: no bytes over the
 * socket and no write while recovery waits. 0 when done; -1 when it cannot be linked from here
 * (another file system, another user) or does not match what the agent announced: then the
 * bytes are asked for. */
static int take_handoff(conn_t *c, target_t *t, char *buf) {
  unlink(t->tmp);
  if (link(c->handoff, t->tmp) != 0) {
    return -1;
  }
  /* The agent verified and fsynced it; check again here (cheap with the SHA extensions) that
   * the link found the file the agent meant, whole. */
  int fd = open(t->tmp, O_RDONLY | O_CLOEXEC);
  char hex[65];
  long long size;
  int good = fd >= 0 && hash_file(fd, hex, &size, buf) == 0 && c->sha[0]
             && strcasecmp(hex, c->sha) == 0 && (c->handoff_size < 0 || size == c->handoff_size);
  if (fd >= 0) {
    close(fd);
  }
  if (!good || rename(t->tmp, t->dest) != 0) {
    unlink(t->tmp);
    return -1;
  }
  fsync_dir(t->dir);
  return 0;
}

/* The body into the temp file, checked (length, SHA-256), fsynced, renamed over %p, directory
 * fsynced. 0 when done, -1 with c->err set (the temp file is gone). */
static int take_stream(conn_t *c, target_t *t, char *buf) {
  int fd = open(t->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    snprintf(c->err, sizeof c->err, "cannot create %s: %s", t->tmp, strerror(errno));
    return -1;
  }
  sha256_ctx h;
  sha256_init(&h);
  long long written = 0;
  ssize_t n;
  while ((n = read_body(c, buf, IOBUF)) > 0) {
    sha256_update(&h, buf, (size_t)n);
    if (write_all(fd, buf, (size_t)n)) {
      snprintf(c->err, sizeof c->err, "writing %s failed: %s", t->tmp, strerror(errno));
      n = -1;
      break;
    }
    written += n;
  }
  if (n == 0 && c->content_length >= 0 && written != c->content_length) {
    snprintf(c->err, sizeof c->err, "got %lld bytes, the agent announced %lld", written,
             c->content_length);
    n = -1;
  }
  char hex[65];
  sha256_final_hex(&h, hex);
  if (n == 0 && c->sha[0] && strcasecmp(hex, c->sha) != 0) {
    snprintf(c->err, sizeof c->err, "SHA-256 of the received %lld bytes is %s, the agent"
             " announced %.70s", written, hex, c->sha);
    n = -1;
  }
  if (n == 0 && fsync(fd) != 0) {
    snprintf(c->err, sizeof c->err, "fsync of %s failed: %s", t->tmp, strerror(errno));
    n = -1;
  }
  if (close(fd) != 0 && n == 0) {
    snprintf(c->err, sizeof c->err, "closing %s failed: %s", t->tmp, strerror(errno));
    n = -1;
  }
  if (n == 0 && rename(t->tmp, t->dest) != 0) {
    snprintf(c->err, sizeof c->err, "renaming %s to %s failed: %s", t->tmp, t->dest,
             strerror(errno));
    n = -1;
  }
  if (n != 0) {
    unlink(t->tmp);
    return -1;
  }
  if (fsync_dir(t->dir) != 0) {
    snprintf(c->err, sizeof c->err, "fsync of the directory %s failed: %s", t->dir,
             strerror(errno));
    return -1;
  }
  return 0;
}

static void url_encode(const char *s, char *out, size_t cap) {
  static const char hexd[] = "0123456789ABCDEF";
  size_t n = 0;
  for (; *s && n + 4 < cap; s++) {
    unsigned char ch = (unsigned char)*s;
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
        || ch == '-' || ch == '.' || ch == '_' || ch == '*') {
      out[n++] = (char)ch;
    } else if (ch == ' ') {
      out[n++] = '+';
    } else {
      out[n++] = '%';
      out[n++] = hexd[ch >> 4];
      out[n++] = hexd[ch & 15];
    }
  }
  out[n] = 0;
}

static int fetch(const agent_t *a, const char *name, const char *dest, const char *cluster,
                 int64_t start, int64_t wait_ms) {
  if (!wal_name_ok(name)) {
    say("%s: fetch: %s is not a WAL file name (expected a segment, a .history, .partial or"
        " .backup file); restore_command should pass %%f %%p; exiting 255 so that PostgreSQL"
        " stops recovery", prog, name);
    return FETCH_FAILED;
  }
  size_t dlen = strlen(dest);
  if (dlen == 0 || dlen >= 4000 || dest[dlen - 1] == '/' || (cluster && strlen(cluster) > 200)) {
    say("%s: fetch: bad destination path '%.200s'; restore_command should pass %%f %%p;"
        " exiting 255 so that PostgreSQL stops recovery", prog, dest);
    return FETCH_FAILED;
  }
  target_t t;
  t.dest = dest;
  const char *slash = strrchr(dest, '/');
  if (!slash) {
    strcpy(t.dir, ".");
  } else if (slash == dest) {
    strcpy(t.dir, "/");
  } else {
    memcpy(t.dir, dest, (size_t)(slash - dest));
    t.dir[slash - dest] = 0;
  }
  snprintf(t.tmp, sizeof t.tmp, "%s/.%s.pgsidecar-tmp", t.dir, base_name(dest));

  char target[1024];
  char enc[800];
  if (cluster) {
    url_encode(cluster, enc, sizeof enc);
  }
  snprintf(target, sizeof target, "/v1/wal/%s%s%s", name, cluster ? "?cluster=" : "",
           cluster ? enc : "");
  conn_t *c = calloc(1, sizeof *c);
  char *buf = malloc(IOBUF);
  if (!c || !buf) {
    say("%s: fetch of %s failed: out of memory; exiting 255", prog, name);
    return FETCH_FAILED;
  }
  int link_ok = 1; /* ask for a hand-off until one could not be linked from here */
  for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
    if (attempt > 1) {
      sleep_ms(250LL << (attempt - 2));
    }
    int rc = exchange(a, c, start, wait_ms, "GET", target,
                      link_ok ? "X-Pgsidecar-Handoff: link\r\n" : NULL, NULL, 0);
    if (rc == X_UNAVAILABLE) {
      break; /* exchange already waited for it */
    }
    if (rc == X_IO) {
      continue;
    }
    if (c->status == 200) {
      if (c->handoff[0]) {
        close(c->fd);
        if (c->verified && take_handoff(c, &t, buf) == 0) {
          return OK;
        }
        if (link_ok) { /* not linkable from here: ask for the bytes, at once */
          link_ok = 0;
          attempt--;
        } else {
          snprintf(c->err, sizeof c->err, "the agent answered with a hand-off that was not asked for");
        }
        continue;
      }
      int done = take_stream(c, &t, buf);
      close(c->fd);
      if (done == 0) {
        return OK;
      }
      continue;
    }
    char text[4096];
    body_text(c, text, sizeof text);
    close(c->fd);
    /* Exit 1 tells PostgreSQL "not in the archive", which can end recovery: only the agent's own
       * answer naming this file counts. Any other 404 (a wrong route, a proxy) is a failure. */
    if (c->status == 404 && strcmp(c->missing, name) == 0) {
      say("%s: fetch: %s is not in the archive%s%s (%s)", prog, name,
          cluster ? " of cluster " : "", cluster ? cluster : "", text);
      return NOT_FOUND;
    }
    snprintf(c->err, sizeof c->err, "the agent at %s answered HTTP %d: %.900s", a->desc,
             c->status, text);
    if (c->status < 500) {
      break; /* a refusal (bad request, unauthorized) does not change by asking again */
    }
  }
  say("%s: fetch of %s into %s failed: %s; exiting 255 so that PostgreSQL stops recovery"
      " rather than end it at the wrong point (fix the agent or its storage, then start"
      " PostgreSQL again)", prog, name, dest, c->err);
  return FETCH_FAILED;
}

/* ---------------------------------------------------------------- install */

/* `pgsidecar-install-client DIR` (this binary under that name, or `install DIR`): copies this
 * binary, and nothing else, to DIR/bin/wal-archiver through a temp file and a rename. It is what
 * the chart's init container runs to fill the emptyDir the postgres container mounts: the image
 * needs no cp, mkdir or shell for it. */
static int install(const char *dir, const char *self) {
  char bin[4096], tmp[4200], dest[4200];
  if (strlen(dir) == 0 || strlen(dir) > 3000) {
    say("%s: usage: pgsidecar-install-client DIR (installs DIR/bin/wal-archiver)", prog);
    return 2;
  }
  snprintf(bin, sizeof bin, "%s/bin", dir);
  snprintf(tmp, sizeof tmp, "%s/.wal-archiver.tmp", bin);
  snprintf(dest, sizeof dest, "%s/wal-archiver", bin);
  if ((mkdir(dir, 0755) != 0 && errno != EEXIST) || (mkdir(bin, 0755) != 0 && errno != EEXIST)) {
    say("%s: install: cannot create %s: %s", prog, bin, strerror(errno));
    return 1;
  }
  int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (in < 0) {
    in = open(self, O_RDONLY | O_CLOEXEC);
  }
  int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  char *buf = malloc(IOBUF);
  if (in < 0 || out < 0 || !buf) {
    say("%s: install: cannot copy this binary to %s: %s", prog, tmp, strerror(errno));
    return 1;
  }
  ssize_t n;
  while ((n = read(in, buf, IOBUF)) > 0) {
    if (write_all(out, buf, (size_t)n)) {
      n = -1;
      break;
    }
  }
  if (n < 0 || fchmod(out, 0755) != 0 || fsync(out) != 0 || close(out) != 0
      || rename(tmp, dest) != 0) {
    say("%s: install: writing %s failed: %s", prog, dest, strerror(errno));
    unlink(tmp);
    return 1;
  }
  fsync_dir(bin);
  printf("installed %s\n", dest);
  return OK;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  int64_t start = now_ms();
  signal(SIGPIPE, SIG_IGN); /* a closed socket is an error to report, not a silent death */
  if (argc > 0 && strcmp(base_name(argv[0]), "pgsidecar-install-client") == 0) {
    return install(argc == 2 ? argv[1] : "", argv[0]);
  }
  if (argc == 3 && strcmp(argv[1], "install") == 0) {
    return install(argv[2], argv[0]);
  }
  const char *socket_flag = NULL, *url_flag = NULL, *cluster = NULL;
  const char *wait_text = getenv("PGSIDECAR_WAIT");
  const char *pos[8];
  int count = 0, help = 0;
  const char *problem = NULL;
  char problem_buf[512];
  for (int i = 1; i < argc && !problem; i++) {
    const char *arg = argv[i];
    const char *eq = strncmp(arg, "--", 2) == 0 ? strchr(arg, '=') : NULL;
    char flag[32];
    size_t flen = eq ? (size_t)(eq - arg) : strlen(arg);
    snprintf(flag, sizeof flag, "%.*s", (int)(flen < 31 ? flen : 31), arg);
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      help = 1;
    } else if (!strcmp(flag, "--socket") || !strcmp(flag, "--url") || !strcmp(flag, "--wait")
               || !strcmp(flag, "--cluster")) {
      const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
      if (!value) {
        snprintf(problem_buf, sizeof problem_buf, "%s needs a value", flag);
        problem = problem_buf;
      } else if (!strcmp(flag, "--socket")) {
        socket_flag = value;
      } else if (!strcmp(flag, "--url")) {
        url_flag = value;
      } else if (!strcmp(flag, "--wait")) {
        wait_text = value;
      } else {
        cluster = value;
      }
    } else if (!strncmp(arg, "--", 2)) {
      snprintf(problem_buf, sizeof problem_buf, "unknown option %.200s", arg);
      problem = problem_buf;
    } else if (count < 8) {
      pos[count++] = arg;
    } else {
      problem = "too many arguments";
    }
  }
  int is_fetch = count > 0 && !strcmp(pos[0], "fetch");
  int usage_code = is_fetch || (count > 0 && strcmp(pos[0], "push")) ? FETCH_FAILED : PUSH_USAGE;
  if (help) {
    fputs(USAGE_TEXT, stderr);
    return OK;
  }
  /* hidden: `sha256 FILE` prints the digest (tests compare both implementations) */
  if (!problem && count == 2 && !strcmp(pos[0], "sha256")) {
    int fd = open(pos[1], O_RDONLY);
    char hex[65];
    long long size;
    char *buf = malloc(IOBUF);
    if (fd < 0 || !buf || hash_file(fd, hex, &size, buf)) {
      say("%s: sha256: cannot read %s: %s", prog, pos[1], strerror(errno));
      return 2;
    }
    printf("%s  %s (%s)\n", hex, pos[1], sha256_impl());
    return OK;
  }
  long wait_s = 30;
  if (!problem && wait_text && *wait_text && parse_uint(wait_text, 86400 * 7, &wait_s)) {
    snprintf(problem_buf, sizeof problem_buf, "--wait / PGSIDECAR_WAIT must be a whole number"
             " of seconds, not %.100s", wait_text);
    problem = problem_buf;
  }
  if (!problem && cluster && !*cluster) {
    problem = "--cluster needs a non-empty name";
  }
  if (!problem && count == 0) {
    problem = "no command given";
  }
  if (!problem && strcmp(pos[0], "push") && strcmp(pos[0], "fetch")) {
    snprintf(problem_buf, sizeof problem_buf, "unknown command %.100s (expected push or fetch)",
             pos[0]);
    problem = problem_buf;
  }
  int expected = is_fetch ? 2 : 1;
  if (!problem && count - 1 != expected) {
    snprintf(problem_buf, sizeof problem_buf, "%s takes %d argument%s, got %d", pos[0], expected,
             expected == 1 ? "" : "s", count - 1);
    problem = problem_buf;
  }
  agent_t agent;
  if (!problem) {
    problem = resolve_agent(&agent, socket_flag, url_flag);
  }
  if (problem) {
    say("%s: %s%s", prog, problem,
        usage_code == FETCH_FAILED ? " (exiting 255 so that PostgreSQL stops recovery)" : "");
    fputs(USAGE_TEXT, stderr);
    return usage_code;
  }
  if (is_fetch) {
    return fetch(&agent, pos[1], pos[2], cluster, start, wait_s * 1000);
  }
  return push(&agent, pos[1], cluster, start, wait_s * 1000);
}
