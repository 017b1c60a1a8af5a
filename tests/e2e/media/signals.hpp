// What the e2e media tools share to stop cleanly when the harness signals them.
#pragma once

#include <signal.h>

#include <initializer_list>

namespace e2e_media {

// No SA_RESTART: a blocking poll() or send returns EINTR, so the loop sees its flag at once.
inline void on_signals(void (*handler)(int), std::initializer_list<int> signals) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    for (int s : signals)
        sigaction(s, &sa, nullptr);
}

} // namespace e2e_media
