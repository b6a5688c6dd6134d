/* kvw bench: clocks, CPU, memory and the latency histogram. */
#define _GNU_SOURCE

#include "bench.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ time, memory */

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

void sleep_us(int n)
{
    struct timespec ts = {0, (long)n * 1000L};
    nanosleep(&ts, NULL);
}

/* A field of /proc/self/status in bytes (VmRSS, VmHWM), 0 if unreadable. */
uint64_t proc_status_bytes(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return 0;
    char line[256];
    uint64_t kb = 0;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            kb = strtoull(line + n + 1, NULL, 10);
            break;
        }
    fclose(f);
    return kb * 1024;
}

/* Bytes allocated with malloc and not yet freed, over all arenas: what the
 * process still holds, as opposed to RSS, which also counts free memory the
 * allocator keeps. */
uint64_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();
    return (uint64_t)mi.uordblks + (uint64_t)mi.hblkhd;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0). 0 on success. */
int reset_peak_rss(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}


pid_t bench_server_pid;

/* utime + stime of process `pid` from /proc/PID/stat, in ns. */
static uint64_t proc_cpu_ns(pid_t pid)
{
    if (pid <= 0)
        return 0;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return 0;
    unsigned long long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return (ut + st) * (1000000000ull / (unsigned long long)(hz > 0 ? hz : 100));
}

cpu_use cpu_now(void)
{
    struct rusage ru;
    cpu_use c;
    memset(&c, 0, sizeof c);
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        c.cpu_ns = (uint64_t)ru.ru_utime.tv_sec * 1000000000u + (uint64_t)ru.ru_utime.tv_usec * 1000u +
                   (uint64_t)ru.ru_stime.tv_sec * 1000000000u + (uint64_t)ru.ru_stime.tv_usec * 1000u;
        c.switches = (uint64_t)ru.ru_nvcsw + (uint64_t)ru.ru_nivcsw;
    }
    c.server_cpu_ns = proc_cpu_ns(bench_server_pid);
    return c;
}

/* ------------------------------------------------------------ histogram */


void hist_add(hist *h, uint64_t v)
{
    unsigned i;
    if (v < HIST_LINEAR) {
        i = (unsigned)v;
    } else {
        int e = 63 - __builtin_clzll(v);
        if (e > HIST_MAX_EXP) {
            e = HIST_MAX_EXP;
            v = (UINT64_C(2) << e) - 1;
        }
        unsigned sub = (unsigned)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
        i = HIST_LINEAR + (unsigned)(e - HIST_SUB_BITS - 1) * HIST_SUB + sub;
    }
    h->b[i]++;
    h->count++;
}

void hist_merge(hist *into, const hist *h)
{
    into->count += h->count;
    for (unsigned i = 0; i < HIST_BUCKETS; i++)
        into->b[i] += h->b[i];
}

/* The value (ns, bucket midpoint) below which a fraction p of samples lie. */
double hist_quantile(const hist *h, double p)
{
    if (h->count == 0)
        return 0;
    uint64_t target = (uint64_t)(p * (double)h->count);
    if (target < 1)
        target = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= target) {
            if (i < HIST_LINEAR)
                return i;
            unsigned e = HIST_SUB_BITS + 1 + (i - HIST_LINEAR) / HIST_SUB;
            unsigned sub = (i - HIST_LINEAR) % HIST_SUB;
            double width = (double)(UINT64_C(1) << (e - HIST_SUB_BITS));
            return (double)(HIST_SUB + sub) * width + width / 2;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ medians */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
