/* A C host with its own epoll loop that runs tide queries beside its other
 * work (here: a timerfd ticking every 10 ms).
 *
 *   epoll_host DATABASE_URL
 *
 * Each turn it asks the loop which sockets to watch (tide_loop_fds) and how
 * long it may sleep (tide_loop_timeout), brings its epoll set in line, waits
 * on everything at once, and lets tide advance with tide_loop_poll(loop, 0).
 * It prints the results, how many ticks it served meanwhile and the longest
 * gap between two ticks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "tide.h"

#define QUERIES 8
#define MAX_FDS 64

static int answered, failed;
static long long sum;

static void on_result(void *ud, tide_result *res, const tide_error *err)
{
    (void)ud;
    answered++;
    if (!res) {
        fprintf(stderr, "query: %s\n", tide_error_message(err));
        failed++;
        return;
    }
    sum += strtoll(tide_result_text(res, 0, 0, NULL), NULL, 10);
    tide_result_free(res);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The fds the epoll set holds, and what for. */
static int reg_fd[MAX_FDS], reg_ev[MAX_FDS], nreg;

static void sync_epoll(int ep, const tide_pollfd *fds, int n)
{
    for (int i = 0; i < nreg; i++) { /* no longer wanted */
        int still = 0;
        for (int j = 0; j < n && !still; j++)
            still = fds[j].fd == reg_fd[i];
        if (!still) { /* the last entry takes its place */
            epoll_ctl(ep, EPOLL_CTL_DEL, reg_fd[i], NULL);
            nreg--;
            reg_fd[i] = reg_fd[nreg];
            reg_ev[i] = reg_ev[nreg];
            i--;
        }
    }
    for (int j = 0; j < n; j++) {
        int ev = (fds[j].events & TIDE_WANT_READ ? EPOLLIN : 0) | (fds[j].events & TIDE_WANT_WRITE ? EPOLLOUT : 0);
        struct epoll_event e = {.events = (uint32_t)ev, .data.fd = fds[j].fd};
        int i = 0;
        while (i < nreg && reg_fd[i] != fds[j].fd)
            i++;
        if (i == nreg) {
            epoll_ctl(ep, EPOLL_CTL_ADD, fds[j].fd, &e);
            reg_fd[nreg] = fds[j].fd;
            reg_ev[nreg++] = ev;
        } else if (reg_ev[i] != ev) {
            epoll_ctl(ep, EPOLL_CTL_MOD, fds[j].fd, &e);
            reg_ev[i] = ev;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATABASE_URL\n", argv[0]);
        return 2;
    }
    tide_error *err = tide_error_new();
    tide_pool_options o;
    tide_pool_options_init(&o);
    o.conninfo = argv[1];
    o.min_size = 0;
    o.max_size = 4;
    tide_pool *pool = tide_pool_new(&o, err);
    tide_loop *loop = pool ? tide_loop_new(err) : NULL;
    if (!loop) {
        fprintf(stderr, "epoll_host: %s\n", tide_error_message(err));
        return 1;
    }
    for (int i = 1; i <= QUERIES; i++) {
        tide_value v = {.kind = TIDE_KIND_INT, .as.i = i};
        if (tide_loop_query(loop, pool, "SELECT $1::int FROM pg_sleep(0.2)", 1, &v, 0, on_result, NULL, NULL, err) !=
            TIDE_OK) {
            fprintf(stderr, "submit: %s\n", tide_error_message(err));
            return 1;
        }
    }

    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tick = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec every = {{0, 10000000}, {0, 10000000}};
    timerfd_settime(tick, 0, &every, NULL);
    struct epoll_event te = {.events = EPOLLIN, .data.fd = tick};
    epoll_ctl(ep, EPOLL_CTL_ADD, tick, &te);

    int ticks = 0;
    double t0 = now_s(), last = t0, worst = 0;
    while (tide_loop_pending(loop) > 0) {
        tide_pollfd fds[MAX_FDS];
        int n = tide_loop_fds(loop, fds, MAX_FDS);
        sync_epoll(ep, fds, n < MAX_FDS ? n : MAX_FDS);
        struct epoll_event ready[MAX_FDS];
        int k = epoll_wait(ep, ready, MAX_FDS, tide_loop_timeout(loop));
        for (int i = 0; i < k; i++) {
            if (ready[i].data.fd == tick) {
                uint64_t expirations;
                if (read(tick, &expirations, sizeof expirations) > 0) {
                    ticks++;
                    double t = now_s();
                    if (t - last > worst)
                        worst = t - last;
                    last = t;
                }
            }
        }
        tide_loop_poll(loop, 0); /* whatever is ready now, without waiting */
    }
    double took = now_s() - t0;
    printf("epoll_host: %d answered, %d failed, sum %lld, in %.0f ms; %d ticks meanwhile, longest gap %.1f ms\n",
           answered, failed, sum, took * 1000, ticks, worst * 1000);
    int ok = answered == QUERIES && !failed && sum == QUERIES * (QUERIES + 1) / 2 && took < 0.7 && ticks >= 10 &&
             worst < 0.05;
    if (ok)
        printf("epoll_host: ok\n");
    close(tick);
    close(ep);
    tide_loop_free(loop);
    tide_pool_free(pool);
    tide_error_free(err);
    return ok ? 0 : 1;
}
