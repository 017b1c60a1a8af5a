#include "attach/run_cmd.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

namespace sipalg {

int run_cmd(const std::vector<std::string> &argv, std::string *out, const std::string &input) {
    int o[2], in[2] = {-1, -1};
    if (argv.empty() || ::pipe2(o, O_CLOEXEC) != 0)
        return -1;
    if (!input.empty() && ::pipe2(in, O_CLOEXEC) != 0) {
        ::close(o[0]);
        ::close(o[1]);
        return -1;
    }
    const pid_t pid = ::fork();
    if (pid < 0) {
        for (int fd : {o[0], o[1], in[0], in[1]})
            if (fd >= 0)
                ::close(fd);
        return -1;
    }
    if (pid == 0) {
        ::dup2(o[1], 1);
        std::freopen("/dev/null", "w", stderr);
        if (in[0] >= 0)
            ::dup2(in[0], 0);
        else
            std::freopen("/dev/null", "r", stdin);
        std::vector<char *> args;
        for (const auto &a : argv)
            args.push_back(const_cast<char *>(a.c_str()));
        args.push_back(nullptr);
        ::execvp(args[0], args.data());
        ::_exit(127);
    }
    ::close(o[1]);
    if (in[0] >= 0) {
        ::close(in[0]);
        // All of it before any output is read: the tools given input (nft -f -) read it whole
        // first. A short write shows in the tool's exit status.
        for (size_t done = 0; done < input.size();) {
            const ssize_t n = ::write(in[1], input.data() + done, input.size() - done);
            if (n <= 0)
                break;
            done += static_cast<size_t>(n);
        }
        ::close(in[1]);
    }
    char buf[4096];
    ssize_t n;
    while ((n = ::read(o[0], buf, sizeof(buf))) > 0) {
        if (out)
            out->append(buf, static_cast<size_t>(n));
    }
    ::close(o[0]);
    int st = 0;
    if (::waitpid(pid, &st, 0) < 0)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

} // namespace sipalg
