// A memory cgroup of the bench's own, as the kernel's benchs/bench_htab_mem.c measures a map's
// memory: create a child cgroup, move this process (all its threads) into it, and read what is
// charged there. A BPF map is charged to the memory cgroup of the process that creates it, so a
// map created after join() is accounted in a cgroup nobody else uses.
//
// Where: cgroup v2 first (a child of this process's cgroup if that delegates the memory
// controller, else of the v2 root, as the selftests do), then cgroup v1's memory hierarchy (a
// child of this process's memory cgroup). If neither can be created and joined, ok() is false
// and why() says what failed; the caller measures in the shared cgroup instead.
#pragma once

#include <string>

namespace bench {

class MemCgroup {
  public:
    MemCgroup() = default;
    ~MemCgroup() { leave(); }
    MemCgroup(const MemCgroup &) = delete;
    MemCgroup &operator=(const MemCgroup &) = delete;

    // Creates a child cgroup named `name` and joins it.
    bool join(const std::string &name);
    // Moves the process back to where it was and removes the child. Idempotent; safe to call
    // from a signal-handling thread.
    void leave();

    bool ok() const { return !dir_.empty(); }
    const std::string &why() const { return why_; }   // when !ok()
    const std::string &what() const { return what_; } // which counter kernel_bytes() reads
    // Kernel memory charged to the child (v2: memory.stat `kernel`, or memory.current if the
    // kernel has no such line; v1: memory.kmem.usage_in_bytes), bytes; -1 when !ok().
    long long kernel_bytes() const;
    // Everything charged to the child (v2 memory.current, v1 memory.usage_in_bytes).
    long long current_bytes() const;

  private:
    bool try_join(const std::string &dir, const std::string &home, bool v2);

    std::string dir_;  // the child, joined
    std::string home_; // the cgroup directory to move back to
    bool v2_ = false;
    std::string why_, what_;
};

// This process's own memory cgroup's kernel-memory counter, read only: the shared-cgroup
// fallback (other processes in it add noise). ok() false when there is none.
struct SharedMemcg {
    std::string path;
    bool v2 = false;
    std::string what;

    static SharedMemcg find();
    bool ok() const { return !path.empty(); }
    long long read() const;
};

} // namespace bench
