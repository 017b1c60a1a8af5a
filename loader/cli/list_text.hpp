// Comma-separated lists in the human renderers ("5060,5080", "40000,40002*").
#pragma once

#include <string>
#include <string_view>

namespace sipalg {

// Appends in place: building `(list.empty() ? "" : ",") + item` instead goes through
// std::string's insert path, where GCC 12 at -O3 reports a false -Wrestrict overlap inside
// memcpy and stops a Release build with -Werror.
inline void append_listed(std::string &list, std::string_view item) {
    if (!list.empty())
        list += ',';
    list += item;
}

} // namespace sipalg
