/*
 * Load client for the daemon benchmark: N threads, each sending requests
 * one connection per request (as qrexec-daemon does): connect, write the
 * request, read the answer until EOF, close. Bounded by a request count
 * and a time limit. Prints one JSON object with the totals and latencies.
 *
 * usage: load-client SOCKET CLIENTS MAX_REQUESTS MAX_SECONDS REQUESTS_FILE
 * REQUESTS_FILE holds the requests separated by NUL bytes; each thread
 * cycles through them from its own offset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_un addr;
static char **reqs;
static size_t *req_len;
static long nreqs;
static long max_requests;
static double deadline;
static long issued; /* shared request counter (atomic) */

struct result {
    long done, errors, allow, deny;
    double *lat;
    long cap;
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* A `result=allow` line anywhere: 1; the answer `result=deny` alone: 0; else -1.
 * (Qubes' daemon ends its answers without the final newline ours writes.) */
static int has_line(const char *buf, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = buf; (p = strstr(p, line)) != NULL; p += n)
        if ((p == buf || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
            return 1;
    return 0;
}

static int classify(const char *buf)
{
    if (has_line(buf, "result=allow"))
        return 1;
    if (strcmp(buf, "result=deny\n") == 0 || strcmp(buf, "result=deny") == 0)
        return 0;
    return -1;
}

static int one(const char *req, size_t len, char *buf, size_t bufsize)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, req + off, len - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, bufsize - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got >= bufsize - 1)
            break;
    }
    close(fd);
    buf[got] = 0;
    return classify(buf);
}

static void *run(void *arg)
{
    struct result *res = arg;
    char buf[8192];
    for (;;) {
        long k = __atomic_fetch_add(&issued, 1, __ATOMIC_RELAXED);
        if (k >= max_requests || now() >= deadline)
            break;
        double t0 = now();
        int r = one(reqs[k % nreqs], req_len[k % nreqs], buf, sizeof buf);
        double dt = now() - t0;
        if (res->done < res->cap)
            res->lat[res->done] = dt;
        res->done++;
        if (r < 0)
            res->errors++;
        else if (r)
            res->allow++;
        else
            res->deny++;
    }
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s SOCKET CLIENTS MAX_REQUESTS MAX_SECONDS REQUESTS_FILE\n", argv[0]);
        return 2;
    }
    addr.sun_family = AF_UNIX;
    if (strlen(argv[1]) >= sizeof addr.sun_path) {
        fprintf(stderr, "socket path too long\n");
        return 2;
    }
    strcpy(addr.sun_path, argv[1]);
    int clients = atoi(argv[2]);
    max_requests = atol(argv[3]);
    double seconds = atof(argv[4]);
    if (clients < 1 || clients > 256 || max_requests < 1 || seconds <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }

    FILE *f = fopen(argv[5], "rb");
    if (!f) {
        perror(argv[5]);
        return 2;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)size + 1);
    if (!data || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "cannot read %s\n", argv[5]);
        return 2;
    }
    fclose(f);
    data[size] = 0;
    for (long i = 0; i < size; i++)
        if (data[i] == 0)
            nreqs++;
    reqs = malloc(sizeof *reqs * (size_t)nreqs);
    req_len = malloc(sizeof *req_len * (size_t)nreqs);
    long start = 0, n = 0;
    for (long i = 0; i < size; i++)
        if (data[i] == 0) {
            reqs[n] = data + start;
            req_len[n] = (size_t)(i - start);
            n++;
            start = i + 1;
        }
    if (nreqs == 0) {
        fprintf(stderr, "no requests\n");
        return 2;
    }

    pthread_t th[256];
    struct result res[256];
    double t0 = now();
    deadline = t0 + seconds;
    for (int i = 0; i < clients; i++) {
        memset(&res[i], 0, sizeof res[i]);
        res[i].cap = max_requests;
        res[i].lat = malloc(sizeof(double) * (size_t)max_requests);
        pthread_create(&th[i], NULL, run, &res[i]);
    }
    long done = 0, errors = 0, allow = 0, deny = 0;
    for (int i = 0; i < clients; i++) {
        pthread_join(th[i], NULL);
        done += res[i].done;
        errors += res[i].errors;
        allow += res[i].allow;
        deny += res[i].deny;
    }
    double elapsed = now() - t0;
    double *all = malloc(sizeof(double) * (size_t)(done ? done : 1));
    long k = 0;
    for (int i = 0; i < clients; i++)
        for (long j = 0; j < res[i].done; j++)
            all[k++] = res[i].lat[j];
    qsort(all, (size_t)k, sizeof(double), cmp);
    double p50 = k ? all[k / 2] : 0, p99 = k ? all[(long)(k * 0.99)] : 0;
    printf("{\"requests\": %ld, \"seconds\": %.4f, \"errors\": %ld, \"allow\": %ld, \"deny\": %ld, "
           "\"p50_ms\": %.4f, \"p99_ms\": %.4f}\n",
           done, elapsed, errors, allow, deny, p50 * 1e3, p99 * 1e3);
    return 0;
}
