#include "attach/run_cmd.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace sipalg {

int run_cmd(const std::vector<std::string> &argv, std::string *out) {
    int p[2];
    if (argv.empty() || ::pipe2(p, O_CLOEXEC) != 0)
        return -1;
    const pid_t pid = ::fork();
    if (pid < 0) {
        ::close(p[0]);
        ::close(p[1]);
        return -1;
    }
    if (pid == 0) {
        ::dup2(p[1], 1);
        std::freopen("/dev/null", "w", stderr);
        std::freopen("/dev/null", "r", stdin);
        std::vector<char *> args;
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(p[1]);
    char buf[4096];
    ssize_t n;
    while ((n = ::read(p[0], buf, sizeof(buf))) > 0) {
        if (out)
            out->append(buf, static_cast<size_t>(n));
    }
    ::close(p[0]);
    int st = 0;
    if (::waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

} // namespace sipalg
