// The BPF object's maps and admin program pinned the way `sipalg load` pins them, and opened the
// way the daemon opens them: the slow path's state (MapSlowState) over the real admin program,
// for tests of the daemon's processing. pin() in SetUp, unpin() in TearDown before the object is
// destroyed.
#pragma once

#include "sipalg.skel.h"
#include "slow/state.hpp"

#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <string>

namespace sipalg::test {

class PinnedState {
  public:
    void pin(sipalg_bpf *skel, const std::string &tag) {
        skel_ = skel;
        dir_ = "/sys/fs/bpf/sipalg-test-" + tag + "-" + std::to_string(getpid());
        ASSERT_EQ(mkdir(dir_.c_str(), 0700), 0) << "bpffs not mounted at /sys/fs/bpf?";
        ASSERT_EQ(bpf_object__pin_maps(skel->obj, dir_.c_str()), 0);
        ASSERT_EQ(bpf_program__pin(skel->progs.sipalg_admin, (dir_ + "/prog_admin").c_str()), 0);
        maps_ = std::make_unique<sipalg::InstanceMaps>(
                sipalg::InstanceMaps::open(dir_, "test", true));
        state_ = std::make_unique<slow::MapSlowState>(*maps_,
                                                      bpf_program__fd(skel->progs.sipalg_admin));
    }
    void unpin() {
        state_.reset();
        maps_.reset();
        if (!dir_.empty()) {
            bpf_object__unpin_maps(skel_->obj, dir_.c_str());
            std::remove((dir_ + "/prog_admin").c_str());
            rmdir(dir_.c_str());
            dir_.clear();
        }
    }
    slow::MapSlowState &state() { return *state_; }

  private:
    sipalg_bpf *skel_ = nullptr;
    std::string dir_;
    std::unique_ptr<sipalg::InstanceMaps> maps_;
    std::unique_ptr<slow::MapSlowState> state_;
};

} // namespace sipalg::test
