#include "proc.hpp"

#include "text.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>

extern char **environ;

namespace bench {
namespace {

struct SpawnAttr {
    posix_spawnattr_t a;
    SpawnAttr() {
        posix_spawnattr_init(&a);
        sigset_t empty, def;
        sigemptyset(&empty);
        sigemptyset(&def);
        for (int sig : {SIGINT, SIGTERM, SIGHUP})
            sigaddset(&def, sig);
        posix_spawnattr_setsigmask(&a, &empty);
        posix_spawnattr_setsigdefault(&a, &def);
        posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    }
    ~SpawnAttr() { posix_spawnattr_destroy(&a); }
    SpawnAttr(const SpawnAttr &) = delete;
    SpawnAttr &operator=(const SpawnAttr &) = delete;
};

} // namespace

int sh(const std::string &cmd) {
    const std::string full = "PATH=$PATH:/usr/sbin:/sbin; " + cmd + " >/dev/null 2>&1";
    const char *argv[] = {"/bin/sh", "-c", full.c_str(), nullptr};
    SpawnAttr attr;
    pid_t pid = 0;
    if (posix_spawn(&pid, "/bin/sh", nullptr, &attr.a, const_cast<char **>(argv), environ) != 0)
        return -1;
    int st = 0;
    for (int i = 0; i < 60000; ++i) {
        const pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0)
            return -1;
        usleep(1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

void must_sh(const std::string &cmd) {
    if (sh(cmd) != 0)
        throw std::runtime_error("command failed: " + cmd);
}

double timed_spawn(const std::vector<std::string> &args) {
    std::vector<char *> argv;
    for (const auto &a : args)
        argv.push_back(const_cast<char *>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    SpawnAttr attr;
    const double t0 = now_ns();
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, argv[0], &fa, &attr.a, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        throw std::runtime_error("cannot start " + args[0]);
    int st = 0;
    const double deadline = t0 + 20e9;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ns() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            throw std::runtime_error(args[0] + " " + args[1] + " timed out");
        }
        usleep(50);
    }
    const double t1 = now_ns();
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        throw std::runtime_error(args[0] + " " + args[1] + " failed");
    return (t1 - t0) / 1e6;
}

} // namespace bench
